// Re-exports OpenSSL's libcrypto for Swift, plus the function-like macros Swift cannot import.
#ifndef AIRLOCK_COPENSSL_SHIM_H
#define AIRLOCK_COPENSSL_SHIM_H
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/pkcs12.h>

static inline long CAirlock_BIO_get_mem_data(BIO *bio, char **pp) { return BIO_get_mem_data(bio, pp); }
static inline void CAirlock_OPENSSL_free(void *p) { OPENSSL_free(p); }
#endif
