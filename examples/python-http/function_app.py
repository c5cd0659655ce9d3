"""An Azure Functions Python (v2 programming model) HTTP app with a compiled dependency.

`make demo` locks, fetches and builds it offline into a `.python_packages` zip for Python 3.11 on
the Functions v4 image (glibc 2.31), then seals it and writes a Cloud Shell deploy kit.
"""

import json

import azure.functions as func
from cryptography.hazmat.primitives import hashes

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="hello", methods=["GET"])
def hello(req: func.HttpRequest) -> func.HttpResponse:
    name = req.params.get("name", "world")
    return func.HttpResponse(f"Hello, {name}!", mimetype="text/plain")


@app.route(route="digest", methods=["POST"])
def digest(req: func.HttpRequest) -> func.HttpResponse:
    """SHA-256 of the request body, computed by cryptography's compiled (Rust) backend."""
    h = hashes.Hash(hashes.SHA256())
    h.update(req.get_body())
    body = {"sha256": h.finalize().hex(), "bytes": len(req.get_body())}
    return func.HttpResponse(json.dumps(body), mimetype="application/json")
