// How `airlock lock --resolver uv` drives uv: `uv pip compile` resolves for the target (uv evaluates
// environment markers for the target platform and Python, which pip does not) and writes pinned,
// hashed requirements; pip then pins each line to one file of the target, as for any hashed file.
//
// uv reads no pip.conf, so the index, find-links, trusted-host, CA, client-certificate and proxy
// settings pip would use are passed on to it: pip has to find the very files uv chose, and one
// configuration, the user's pip one, says where files come from.

import AirlockCore

package enum LockUV {
    /// The glibc minors uv 0.13 names in `--python-platform` (`x86_64-manylinux_2_31`, ...).
    package static let manylinuxMinors = [17, 28] + Array(31...40)

    /// uv's `--python-platform` for the target: the newest manylinux uv knows that is not newer than
    /// the target's glibc; `exact` is false when uv has no value for the glibc itself.
    package static func platform(for target: PythonTarget) -> (value: String, exact: Bool)? {
        let (major, minor) = target.glibcParts
        guard major == 2, let best = manylinuxMinors.last(where: { $0 <= minor }) else { return nil }
        return ("\(target.architecture)-manylinux_2_\(best)", best == minor)
    }

    /// The arguments after `uv`. `pip` (nil when the requirements file sets its own indexes) is the
    /// user's pip configuration, passed on as uv flags.
    package static func compileArguments(
        requirements: String,
        target: PythonTarget,
        platform: String,
        pip: PipConfiguration?
    ) -> [String] {
        let (major, minor) = target.versionParts
        var args = [
            "pip", "compile", requirements,
            "--python-platform", platform, "--python-version", "\(major).\(minor)",
            "--generate-hashes", "--only-binary", ":all:",
            "--no-header", "--no-annotate", "--quiet", "--emit-index-url", "--emit-find-links",
        ]
        if let pip {
            if pip.noIndex {
                args.append("--no-index")
            } else {
                if let index = pip.indexURL { args += ["--default-index", index] }
                for extra in pip.extraIndexURLs { args += ["--index", extra] }
            }
            for link in pip.findLinks { args += ["--find-links", link] }
            for host in pip.trustedHosts { args += ["--allow-insecure-host", host] }
        }
        return args
    }

    /// Environment changes that give uv pip's CA bundle, client certificate and proxy.
    package static func environment(pip: PipConfiguration) -> [String: String?] {
        var env: [String: String?] = [:]
        if let cert = pip.cert { env["SSL_CERT_FILE"] = cert }
        if let clientCert = pip.clientCert { env["SSL_CLIENT_CERT"] = clientCert }
        if let proxy = pip.proxy {
            env["HTTPS_PROXY"] = proxy
            env["HTTP_PROXY"] = proxy
        }
        return env
    }
}
