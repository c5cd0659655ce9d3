#!/usr/bin/env python3
"""A GOPROXY on 127.0.0.1 for the tests, the demo and the bench (the public module proxy is not
reachable here). It serves a GOPROXY tree (PATH/@v/list, VERSION.info, .mod, .zip) from --root, or
first builds one there from module sources (--modules DIR holding PATH@VERSION/ directories, with
`!`-free plain paths). Prints the port on its first line, then serves until it is stopped.

  --auth USER:PASS   answer 401 without that basic authentication
  --log FILE         append every request's path to FILE
  --drop-after N     end .zip responses after N bytes (the client must resume with Range)
  --build-only       build the tree from --modules and exit

Range requests are honoured (206), as proxies behind a CDN do."""

import argparse, base64, http.server, json, os, threading, time, urllib.parse, zipfile


def esc(s):
    return "".join("!" + c.lower() if "A" <= c <= "Z" else c for c in s)


def build(modules, root):
    for name in sorted(os.listdir(modules)):
        path, _, version = name.rpartition("@")
        if not path:
            continue
        # The directory name holds the path with '/' as '+' so that it is one directory.
        path = path.replace("+", "/")
        src = os.path.join(modules, name)
        d = os.path.join(root, esc(path), "@v")
        os.makedirs(d, exist_ok=True)
        v = esc(version)
        with open(os.path.join(d, "list"), "a") as f:
            f.write(version + "\n")
        with open(os.path.join(d, v + ".info"), "w") as f:
            json.dump({"Version": version, "Time": "2024-01-01T00:00:00Z"}, f)
        with open(os.path.join(src, "go.mod"), "rb") as f:
            mod = f.read()
        with open(os.path.join(d, v + ".mod"), "wb") as f:
            f.write(mod)
        with zipfile.ZipFile(os.path.join(d, v + ".zip"), "w", zipfile.ZIP_DEFLATED) as z:
            for dirpath, _, files in os.walk(src):
                for file in sorted(files):
                    full = os.path.join(dirpath, file)
                    rel = os.path.relpath(full, src)
                    info = zipfile.ZipInfo(path + "@" + version + "/" + rel, (1980, 1, 1, 0, 0, 0))
                    info.compress_type = zipfile.ZIP_DEFLATED
                    with open(full, "rb") as f:
                        z.writestr(info, f.read())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--modules")
    parser.add_argument("--auth")
    parser.add_argument("--log")
    parser.add_argument("--drop-after", type=int, default=0)
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args()
    if args.modules:
        build(args.modules, args.root)
    if args.build_only:
        return
    root = os.path.abspath(args.root)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_GET(self):
            path = urllib.parse.unquote(self.path.split("?")[0])
            if args.log:
                with open(args.log, "a") as f:
                    f.write(path + "\n")
            if args.auth:
                want = "Basic " + base64.b64encode(args.auth.encode()).decode()
                if self.headers.get("Authorization") != want:
                    return self.answer(401, b"unauthorized\n")
            rel = path.lstrip("/")
            full = os.path.realpath(os.path.join(root, rel))
            if not full.startswith(root + "/") or not os.path.isfile(full):
                return self.answer(404, b"not found\n")
            with open(full, "rb") as f:
                data = f.read()
            start = 0
            rng = self.headers.get("Range")
            if rng and rng.startswith("bytes=") and rng.endswith("-"):
                start = int(rng[6:-1])
                if start >= len(data):
                    return self.answer(416, b"")
                body = data[start:]
                self.send_response(206)
                self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
            else:
                body = data
                self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if args.drop_after and full.endswith(".zip") and start == 0 and len(body) > args.drop_after:
                self.wfile.write(body[: args.drop_after])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

        def answer(self, status, body):
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    # A server whose starter is gone (a test process that ended before it could stop it) stops too.
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
