// AirlockContainer owns "matched version" builds: container runtimes behind one protocol (bubblewrap
// over a rootfs unpacked from an image in the store, which needs no daemon; docker and podman with
// the network off), OCI images kept in the store as blobs, and sandboxed runs with read-only inputs,
// one writable output, a clean environment and a time limit. It knows nothing of Python or Go.

public import AirlockCore
