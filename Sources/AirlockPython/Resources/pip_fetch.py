# Airlock's fetch through pip's network session, run as `python3 -c <this> REQUEST-JSON`: one GET,
# the body raw on stdout, reports on stderr as `@airlock <json>` lines. See FetchViaPip.swift.
import json, sys, urllib.parse


def say(record):
    sys.stderr.write("@airlock " + json.dumps(record) + "\n")
    sys.stderr.flush()


def main(argv):
    if len(argv) != 1:
        say({"error": "usage: pip_fetch.py REQUEST-JSON"})
        sys.exit(2)
    request = json.loads(argv[0])
    try:
        from pip._internal.commands import create_command
    except Exception as e:
        say({"error": "%s cannot import pip (%s)" % (sys.executable, e)})
        return
    command = create_command("download")
    options, _ = command.parse_args(["--no-input", "--no-cache-dir"])
    with command.main_context():
        session = command.get_default_session(options)
        fetch(session, request)


def fetch(session, request):
    url, headers = request["url"], request["headers"]
    extra = {"verify": request["bundle"]} if request.get("bundle") else {}
    hops = 0
    while True:
        try:
            r = session.get(url, headers=headers, stream=True, allow_redirects=False, **extra)
        except Exception as e:
            say({"error": str(e)})
            return
        location = r.headers.get("Location")
        if not (r.is_redirect and location):
            break
        r.close()
        target = urllib.parse.urljoin(url, location)
        # Judge the scheme by the header as sent, as the URLSession path does.
        shown = location if urllib.parse.urlsplit(location).scheme else target
        old = urllib.parse.urlsplit(url).scheme.lower()
        new = urllib.parse.urlsplit(shown).scheme.lower()
        hops += 1
        if new not in ("http", "https") or new != old:
            say({"refused": "redirect from %s to %s refused: it changes the scheme" % (url, shown)})
            return
        if hops > request["maxRedirects"]:
            say({"refused": "more than %d redirects (the last to %s)" % (request["maxRedirects"], shown)})
            return
        url = target
    names = ("Content-Range", "Content-Length", "Content-Encoding", "Content-Type")
    say({"status": r.status_code, "url": url, "headers": {n: r.headers[n] for n in names if n in r.headers}})
    out, n = sys.stdout.buffer, 0
    try:
        for chunk in r.raw.stream(1 << 16, decode_content=False):
            out.write(chunk)
            n += len(chunk)
        out.flush()
    except BrokenPipeError:
        return
    except Exception as e:
        say({"error": str(e)})
        return
    length = r.headers.get("Content-Length", "")
    if length.isdigit() and n < int(length):
        say({"error": "the connection closed after %d of %s bytes" % (n, length)})
        return
    say({"end": n})


if __name__ == "__main__":
    main(sys.argv[1:])
