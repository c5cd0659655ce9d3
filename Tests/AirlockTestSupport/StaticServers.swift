// Plain file servers in front of an `airlock export-static` tree, started by the tests on 127.0.0.1
// and stopped after: Debian's nginx with its own config and prefix (the export's two snippets
// included, as the README says), and `python3 -m http.server`. Each runs under a small sh wrapper
// that picks a free port, prints the base URL once the server answers (a bounded poll), and stops
// the server when it is itself stopped, so a test that ends early leaves nothing running.

public import AirlockCore
import Foundation

public enum StaticServer {
    public static var nginxPath: String? { ChildProcess.locate("nginx") ?? ChildProcess.locate("/usr/sbin/nginx") }

    /// nginx serving `root` (an export) with its snippets; the first line is the base URL.
    public static func nginx(root: String, scratch: String) async throws -> BackgroundProcess {
        guard let nginx = nginxPath else { throw EngineUnavailable(reason: "nginx is not installed (apt-get install -y nginx)") }
        try FileSystem.makeDirectory(scratch + "/logs")
        let script = """
            port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
            # As root, nginx's workers would run as nobody, who cannot enter a test's private directory.
            user=""; [ "$(id -u)" = 0 ] && user="user root;"
            cat >'\(scratch)/nginx.conf' <<EOF
            $user
            daemon off;
            worker_processes 1;
            pid \(scratch)/nginx.pid;
            error_log \(scratch)/logs/error.log;
            events { worker_connections 256; }
            http {
                include /etc/nginx/mime.types;
                access_log off;
                client_body_temp_path \(scratch)/body;
                proxy_temp_path \(scratch)/proxy;
                fastcgi_temp_path \(scratch)/fastcgi;
                uwsgi_temp_path \(scratch)/uwsgi;
                scgi_temp_path \(scratch)/scgi;
                include \(root)/_airlock/nginx-http.conf;
                server {
                    listen 127.0.0.1:$port;
                    root \(root);
                    include \(root)/_airlock/nginx-server.conf;
                }
            }
            EOF
            '\(nginx)' -c '\(scratch)/nginx.conf' -p '\(scratch)' &
            pid=$!
            trap 'kill -QUIT $pid; wait $pid; exit 0' TERM
            \(readyLoop)
            wait $pid
            """
        return try await wrapped(script)
    }

    /// `python3 -m http.server` serving `root`; the first line is the base URL.
    public static func python(root: String) async throws -> BackgroundProcess {
        let script = """
            port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
            python3 -m http.server --bind 127.0.0.1 --directory '\(root)' "$port" >/dev/null 2>&1 &
            pid=$!
            trap 'kill -TERM $pid; wait $pid; exit 0' TERM
            \(readyLoop)
            wait $pid
            """
        return try await wrapped(script)
    }

    /// Prints the URL once the server answers; at most 10 s.
    private static let readyLoop = """
        i=0
        while [ $i -lt 100 ]; do
          if curl -s -o /dev/null "http://127.0.0.1:$port/healthz"; then echo "http://127.0.0.1:$port"; break; fi
          kill -0 $pid 2>/dev/null || { echo "exited"; exit 1; }
          sleep 0.1; i=$((i+1))
        done
        """

    private static func wrapped(_ script: String) async throws -> BackgroundProcess {
        let process = try await BackgroundProcess.start(
            ChildProcess(
                executable: "/bin/sh", arguments: ["-c", script], environment: ["PATH": "/usr/sbin:/usr/bin:/bin"],
                stopSignal: ChildProcess.terminateSignal, stopGrace: .seconds(10)
            )
        )
        guard process.firstLine.hasPrefix("http://") else {
            _ = await process.stop()
            throw EngineUnavailable(reason: "the file server did not start: \(process.firstLine)")
        }
        return process
    }
}
