# Copyright (c) 2026 The chat authors.
#
# test_hostile: one regression test for each attack of issue 14, over
# real sockets: a watcher cut off while it is told a user left (the
# use-after-free), a token that never expires, a frame header announcing
# more than --max-message (refused before any payload), a request head
# in bare LFs (refused at once).  Each case names its item.

import base64
import hashlib
import hmac
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chatlib  # noqa: E402
from chatlib import check, RawWS, frame  # noqa: E402

TEXT, CONT = 1, 0
KB = 1024


def user(s, name, **kw):
    r = RawWS(s.port, "/demo/ws/" + name, **kw)
    r.user = name
    return r


def pair_ok(s, tag):
    """A fresh pair still chats: the server is well."""
    a, b = user(s, tag + "-a"), user(s, tag + "-b")
    try:
        a.send_json({"message": "still well", "target_user": b.user})
        while True:
            m = b.recv_json(5)
            if m.get("message") == "still well":
                return True
    except (OSError, EOFError, ValueError):
        return False
    finally:
        a.close()
        b.close()


def close_code(ws, timeout):
    """The code of the server's close frame, or None."""
    got = ws.recv_close(timeout)
    return got[0] if got else None


def stats(s):
    """The server's /stats as a dict."""
    r = chatlib.raw_http(s.port, b"GET /stats HTTP/1.1\r\nHost: h\r\n\r\n")
    return json.loads(r.split(b"\r\n\r\n", 1)[1])


def test_cut_watcher():
    """Item 1: each of 64 users b<i> has one watcher w<i> that watches
    it 256 times, never reads, and has its output filled to a level
    graded by i below --max-output; every b<i> leaves: the 256 offline
    events cut some watchers off midway, and such a cut drops the last
    watch of b<i>.  Before the fix that freed b<i> under router_detach()
    (ASan: heap use after free; release build: a SIGSEGV or worse).
    The graded levels (876 bytes apart, the fan-out is 12 KB) make sure
    some watcher is within one fan-out of its cap whatever the kernel's
    socket buffers absorb.  The old server under ASan failed this 3 runs
    of 3."""
    n = 64
    with chatlib.Server("-m", "2k", "-o", "48k", name="cutwatch") as s:
        bobs, watchers = [], []
        for i in range(n):
            bobs.append(user(s, "b%d" % i))
            w = user(s, "w%d" % i, rcvbuf=4096)
            w.send_json({"type": "watch", "users": ["b%d" % i] * 256})
            watchers.append(w)
        # Invalid messages each make a 73-byte error event the watcher
        # never reads: watcher i gets i * 876 bytes more, and b<i>
        # leaves right after, so that the server reads both in one pass
        # (before it flushes anything to the watcher's socket).
        junk = frame(TEXT, "{")
        check(pair_ok(s, "before"), "item 1: the server chats before")
        before = s.log().count("cut off")
        for i in range(n):
            watchers[i].send(junk * (i * 12))
            bobs[i].close()
        for i in range(n):
            check(s.wait_log(r"user b%d .*disconnected" % i),
                  "item 1: b%d left" % i)
        check(pair_ok(s, "after"), "item 1: the server survives the "
              "offline fan-out to watchers at their cap, and chats")
        cut = s.log().count("cut off") - before
        print("item 1: %d of %d watchers cut off by the fan-out" % (cut, n))
        check(cut >= 1, "item 1: the fan-out reached a cap (some watcher "
              "was cut off, so the dangerous path ran)")
        for w in watchers:
            w.close()


def make_token(key, payload):
    def b64(x):
        return base64.urlsafe_b64encode(x).rstrip(b"=").decode()
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(payload).encode())
    sig = b64(hmac.new(key, (head + "." + body).encode(),
                       hashlib.sha256).digest())
    return head + "." + body + "." + sig


def test_jwt_forever():
    """Item 7: a validly signed token with exp near INT64_MAX is a token
    that never expires, not an overflow (UBSan) or 'expired'."""
    key = b"0123456789abcdef0123456789abcdef-hostile"
    path = os.path.join(chatlib.TMP, "secret")
    with open(path, "wb") as f:
        f.write(key + b"\n")
    with chatlib.Server("--jwt-secret-file", path, name="jwt") as s:
        for exp in (2 ** 63 - 1, 2 ** 63 - 30, 2 ** 62):
            tok = make_token(key, {"sub": "forever", "exp": exp})
            try:
                w = RawWS(s.port, "/demo/ws/forever?token=" + tok)
                ok = w.status == 101
                w.close()
            except ConnectionError as e:
                ok = False
                print(e)
            check(ok, "item 7: exp %d is accepted" % exp)
        tok = make_token(key, {"sub": "forever", "exp": -2 ** 63})
        r = chatlib.raw_http(s.port, (
            "GET /demo/ws/forever?token=%s HTTP/1.1\r\nHost: h\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n" % tok).encode())
        check(r.startswith(b"HTTP/1.1 401") and b"expired" in r,
              "item 7: exp -2^63 is expired: %r" % r[:60])


def test_oversize_header():
    """Item 8: a data frame whose header announces more than
    --max-message is refused with 1009 as soon as the header is in,
    with no payload byte sent; a fragmented message is refused at the
    header of the continuation that would pass the limit."""
    with chatlib.Server("-m", "64k", name="oversize") as s:
        for n, what in ((2 ** 40, "2^40"), (70000, "70,000")):
            w = user(s, "big")
            t0 = time.monotonic()
            w.send(frame(TEXT, b"", length=n)[:14])
            code = close_code(w, 3)
            dt = time.monotonic() - t0
            check(code == 1009 and dt < 2, "item 8: a header announcing "
                  "%s bytes: 1009 at once (got %r after %.2f s)"
                  % (what, code, dt))
            w.close()
        w = user(s, "frag")
        w.send(frame(TEXT, b"x" * 40000, fin=False))
        w.send(frame(CONT, b"", length=30000)[:8])
        code = close_code(w, 3)
        check(code == 1009, "item 8: a continuation that would pass the "
              "limit: 1009 at its header (got %r)" % code)
        w.close()
        # Within the limit, a header alone waits for its payload.
        w = user(s, "fits")
        w.send(frame(TEXT, b"", length=60000)[:8])
        try:
            w.sock.settimeout(0.5)
            got = w.sock.recv(100)
        except socket.timeout:
            got = None
        check(got is None, "item 8: a frame within the limit waits for "
              "its payload (got %r)" % got)
        w.close()
        check(pair_ok(s, "after"), "item 8: the server still chats")


def test_bare_lf():
    """Item 9: a request head in bare LFs gets 400 at once (it used to
    wait for the handshake timeout, holding its slot)."""
    with chatlib.Server("--handshake-timeout", "30s", name="lf") as s:
        for req, what in (
                (b"GET /demo/ws/lf HTTP/1.1\nHost: h\nUpgrade: websocket\n"
                 b"Connection: Upgrade\nSec-WebSocket-Version: 13\n"
                 b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n\n",
                 "a whole head"),
                (b"GET /demo/ws/lf HTTP/1.1\n", "its first line")):
            t0 = time.monotonic()
            r = chatlib.raw_http(s.port, req, timeout=5)
            dt = time.monotonic() - t0
            check(r.startswith(b"HTTP/1.1 400") and dt < 2,
                  "item 9: bare LF in %s: 400 at once (%r after %.2f s)"
                  % (what, r[:30], dt))
        check(pair_ok(s, "after"), "item 9: the server still chats")


def main():
    test_cut_watcher()
    test_jwt_forever()
    test_oversize_header()
    test_bare_lf()
    chatlib.done()


main()
