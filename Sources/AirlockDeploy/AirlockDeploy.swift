// AirlockDeploy owns what the operator runs inside the enclave to put a built artifact live: Cloud
// Shell deploy kits (the zip, its hash and a deploy script that waits until the functions are
// listed), and later container and Kubernetes manifests. It writes files; it never calls Azure.

public import AirlockCore
