// libFuzzer's driver, for airlock-fuzz's own `main` (Sources/AirlockFuzzMain/FuzzMain.swift), the
// one caller. SwiftPM links an executable's entry point as `main` itself, so libFuzzer's `main`
// cannot be used: the fuzz build links libclang_rt.fuzzer_no_main and calls the driver instead
// (LLVM's documented way for a program with its own main). Nothing is linked by this module.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));
