# Copyright (c) 2026 The chat authors.
#
# test_web: the browser client's files as HTTP answers, without a
# browser (test_browser.py drives one): byte for byte the files of web/,
# with their Content-Type, nosniff, a strict Content-Security-Policy,
# no-cache with an ETag and 304 on If-None-Match; other paths still 404;
# a WebSocket from the page's own origin is accepted even with
# --allow-origin, other origins follow the list.

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chatlib  # noqa: E402
from chatlib import check  # noqa: E402

WEB = os.path.join(os.environ.get("TOP", "."), "web")
FILES = {"/": ("index.html", "text/html; charset=utf-8"),
         "/index.html": ("index.html", "text/html; charset=utf-8"),
         "/app.js": ("app.js", "text/javascript; charset=utf-8"),
         "/app.css": ("app.css", "text/css; charset=utf-8"),
         "/favicon.svg": ("favicon.svg", "image/svg+xml")}
KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def get(port, path, extra=""):
    """(status, {lowercase header: value}, body) of a plain GET."""
    raw = chatlib.raw_http(port, ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                                  "%s\r\n" % (path, port, extra)).encode())
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines[0].startswith("HTTP/") else 0
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, body


def upgrade(port, path, origin=None, host=None):
    extra = "Origin: %s\r\n" % origin if origin else ""
    raw = chatlib.raw_http(port, (
        "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
        "Sec-WebSocket-Version: 13\r\n%s\r\n"
        % (path, host or "127.0.0.1:%d" % port, KEY, extra)).encode(),
        timeout=1)
    m = re.match(rb"HTTP/1\.1 (\d+)", raw)
    return int(m.group(1)) if m else 0


def main():
    with chatlib.Server("--allow-origin", "https://chat.example") as s:
        tags = {}
        for path, (name, ctype) in FILES.items():
            with open(os.path.join(WEB, name), "rb") as f:
                want = f.read()
            st, h, body = get(s.port, path)
            check(st == 200 and body == want,
                  "%s: 200 with web/%s (%d, %d bytes)" % (path, name, st,
                                                          len(body)))
            check(h.get("content-type") == ctype,
                  "%s: Content-Type %r" % (path, h.get("content-type")))
            check(h.get("content-length") == str(len(want)),
                  "%s: Content-Length" % path)
            check(h.get("x-content-type-options") == "nosniff",
                  "%s: nosniff" % path)
            csp = h.get("content-security-policy", "")
            check("default-src 'none'" in csp and "script-src 'self'" in csp
                  and "connect-src 'self'" in csp and "unsafe" not in csp
                  and "frame-ancestors 'none'" in csp,
                  "%s: a strict CSP (%r)" % (path, csp))
            check(h.get("cache-control") == "no-cache" and
                  re.fullmatch(r'"[0-9a-f]{16}"', h.get("etag", "")),
                  "%s: no-cache and an ETag (%r)" % (path, h))
            tags[name] = h.get("etag")
            st, h2, body = get(s.port, path, "If-None-Match: W/\"x\", %s\r\n"
                               % h.get("etag"))
            check(st == 304 and body == b"" and h2.get("etag") == h.get("etag")
                  and "content-length" not in h2,
                  "%s: 304 for its ETag (%d %r)" % (path, st, body[:40]))
            st, _, body = get(s.port, path, 'If-None-Match: "0000"\r\n')
            check(st == 200 and body == want, "%s: 200 for another tag" % path)
        check(len(set(tags.values())) == len(tags), "one ETag per file")
        # No inline script or style anywhere: the CSP would block them.
        with open(os.path.join(WEB, "index.html"), encoding="utf-8") as f:
            page = f.read()
        check(not re.search(r"<script>|<style|\sstyle=|\son[a-z]+=", page),
              "index.html has no inline script, style or handler")

        st, _, _ = get(s.port, "/?user=a&to=b")
        check(st == 200, "/?user=ID&to=OTHER serves the page")
        for path in ("/nope.js", "/web/app.js", "/../app.js", "/app.js/x",
                     "//app.js"):
            st, _, body = get(s.port, path)
            check(st == 404, "%s: 404 (%d)" % (path, st))

        # Origins: the page's own always; others by --allow-origin.
        own = "http://127.0.0.1:%d" % s.port
        u = "/demo/ws/web1"
        check(upgrade(s.port, u, origin=own) == 101,
              "the page's own origin is accepted")
        check(upgrade(s.port, u, origin=own.upper().replace("HTTP", "http"))
              == 101, "the origin's host compares without case")
        check(upgrade(s.port, u, origin="https://chat.example") == 101,
              "an --allow-origin origin is accepted")
        check(upgrade(s.port, u, origin="http://evil.example") == 403,
              "another origin is refused")
        check(upgrade(s.port, u, origin="https://127.0.0.1:%d" % s.port)
              == 403, "the own host with another scheme is refused")
    with chatlib.Server() as s:
        check(upgrade(s.port, "/demo/ws/web2",
                      origin="http://elsewhere.example") == 101,
              "without --allow-origin any origin is accepted")
    chatlib.done()


if __name__ == "__main__":
    main()
