# Copyright (c) 2026 The chat authors.
#
# test_hostile: one regression test for each attack of issue 14, over
# real sockets: watch lists with repeats, who/watch/resume in a loop,
# a flood in the rhythm of the rate limit, one sender filling the store
# (quotas, also across a restart), memory counted as held, a token that
# never expires,
# a frame header announcing more than --max-message (refused before any
# payload), a request head in bare LFs (refused at once).  Each case
# names its item.  Item 1, the use-after-free when a watcher is cut off
# while told that a user left, is reproduced deterministically by
# test_router (test_cut_watcher) and exercised at random by test_stress;
# over sockets it depends on how much the kernel buffers.

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
    try:
        got = ws.recv_close(timeout)
    except OSError:		# socket.timeout included
        return None
    return got[0] if got else None


def stats(s):
    """The server's /stats as a dict."""
    r = chatlib.raw_http(s.port, b"GET /stats HTTP/1.1\r\nHost: h\r\n\r\n")
    return json.loads(r.split(b"\r\n\r\n", 1)[1])


def next_json(w, timeout=5):
    """The next text message, or None at a timeout or the end."""
    try:
        return w.recv_json(timeout)
    except (OSError, EOFError, ValueError):
        return None


def test_watch_dedup():
    """Item 2: a watch list naming one id 256 times is one watch: one
    answer, then one event per change (a who after each step is the
    barrier: it must come next)."""
    with chatlib.Server(name="dedup") as s:
        w = user(s, "watcher")
        w.send_json({"type": "watch", "users": ["bob"] * 200 + ["amy"] +
                     ["bob"] * 55})
        got = [next_json(w) for _ in range(2)]
        check([(m or {}).get("user") for m in got] == ["bob", "amy"],
              "item 2: one answer per distinct id, in order: %r" % got)
        w.send_json({"type": "who"})
        m = next_json(w)
        check(m and m.get("type") == "who", "item 2: nothing more "
              "before the who answer: %r" % m)
        bob = user(s, "bob")
        m = next_json(w)
        check(m == {"type": "presence", "user": "bob", "online": True},
              "item 2: bob online, once: %r" % m)
        w.send_json({"type": "who"})
        m = next_json(w)
        check(m and m.get("type") == "who", "item 2: one event per "
              "change, not 256: %r" % m)
        bob.close()
        m = next_json(w)
        check(m == {"type": "presence", "user": "bob", "online": False},
              "item 2: bob offline, once: %r" % m)
        w.send_json({"type": "who"})
        m = next_json(w)
        check(m and m.get("type") == "who", "item 2: one offline event")
        w.close()


def test_query_budget():
    """Item 3: who, watch and resume have a per-connection budget, with
    or without --rate: 10 at once, then 2 a second; beyond it each is
    refused with rate_limited (and its id), the connection stays, and
    the answers of the same online set are one shared text."""
    with chatlib.Server(name="budget") as s:
        w = user(s, "asker")
        for i in range(14):
            w.send_json({"type": "who", "id": i})
        got = [next_json(w) for _ in range(14)]
        answers = [m for m in got if m and m.get("type") == "who"]
        refused = [m for m in got if m and m.get("error") == "rate_limited"]
        check(len(answers) == 10 and len(refused) == 4,
              "item 3: 10 who answered, 4 refused: %d, %d"
              % (len(answers), len(refused)))
        check(all(a == answers[0] for a in answers) and
              answers[0]["users"] == ["asker"], "item 3: the same answer "
              "each time: %r" % answers[0])
        check([m.get("id") for m in refused] == [10, 11, 12, 13],
              "item 3: refusals carry the request's id: %r" % refused)
        # Refilled at 2 a second: one more passes half a second later.
        deadline = time.monotonic() + 3
        ok = False
        while time.monotonic() < deadline and not ok:
            time.sleep(0.25)	# the budget refills with time itself
            w.send_json({"type": "watch", "users": ["x"]})
            m = next_json(w)
            ok = m and m.get("type") == "presence"
        check(ok, "item 3: the budget refills")
        check(pair_ok(s, "after"), "item 3: others chat meanwhile")
        w.send_json({"type": "who"})
        m = next_json(w)
        check(m is not None, "item 3: the asker is still connected: %r" % m)
        w.close()


def test_rate_rhythm():
    """Item 4: with --rate 5 --burst 5, a client sending 100 messages a
    second is closed with 1008 within 2 s, although a token refills
    every 200 ms (one message in twenty passed and used to reset the
    count of refusals in a row); one that bursts 10 at once now and
    then is refused a few, never closed."""
    with chatlib.Server("--rate", "5", "--burst", "5", name="rate") as s:
        sink = user(s, "sink")
        fl = user(s, "flooder")
        t0 = time.monotonic()
        closed = None
        while time.monotonic() - t0 < 12 and closed is None:
            try:
                fl.send_json({"message": "x", "target_user": "sink"})
            except OSError:
                closed = "reset"
                break
            fl.sock.setblocking(False)
            try:
                data = fl.sock.recv(65536)
                if not data:
                    closed = "eof"
                fl.buf += data
            except BlockingIOError:
                pass
            finally:
                fl.sock.setblocking(True)
            while closed is None and len(fl.buf) >= 2:
                try:
                    fin, op, p = fl.recv_frame(0.01)
                except (OSError, EOFError):
                    break
                if op == 8:
                    closed = int.from_bytes(p[:2], "big")
            time.sleep(0.01)	# the attack's rhythm: 100 a second
        dt = time.monotonic() - t0
        check(closed == 1008 and dt < 2, "item 4: a steady flood at 20x "
              "the rate is closed with 1008 (got %r after %.1f s)"
              % (closed, dt))
        fl.close()
        b = user(s, "burster")
        for rnd in range(3):
            for i in range(10):
                b.send_json({"message": "b%d" % i, "target_user": "sink",
                             "id": "%d.%d" % (rnd, i)})
            got = [next_json(b) for _ in range(10)]
            ok = len([m for m in got if m and "status" in m])
            no = len([m for m in got if m and m.get("error") ==
                      "rate_limited"])
            check(ok == 5 and no == 5, "item 4: burst %d: 5 pass, 5 are "
                  "refused (%d, %d)" % (rnd, ok, no))
            if rnd < 2:
                time.sleep(2)	# now and then: the pause is the point
        b.send_json({"type": "who"})
        m = next_json(b)
        check(m and m.get("type") == "who", "item 4: the burster is "
              "still connected: %r" % m)
        b.close()
        sink.close()


def flood(w, prefix, size, limit, timeout=10):
    """Send messages of size bytes to made-up ids prefix0, prefix1, ...
    without waiting (a window of 64), until refused: (accepted, the
    refusal or None)."""
    body = "f" * size
    sent = acked = 0
    refusal = None
    inflight = 0
    deadline = time.monotonic() + timeout
    while refusal is None and time.monotonic() < deadline and acked < limit:
        while inflight < 64 and sent < limit:
            w.send_json({"message": body, "target_user": "%s%d"
                         % (prefix, sent), "id": sent})
            sent += 1
            inflight += 1
        m = next_json(w, 5)
        if m is None:
            break
        if m.get("type") == "ack":
            acked += 1
            inflight -= 1
        elif m.get("type") == "error":
            refusal = m
    return acked, refusal


def chat_and_queue(s, tag):
    """Two other users chat (delivered) and queue for one away (queued)."""
    a, b = user(s, tag + "a"), user(s, tag + "b")
    try:
        a.send_json({"message": "hi", "target_user": b.user, "id": 1})
        ack = next_json(a)
        got = next_json(b)
        a.send_json({"message": "later", "target_user": tag + "away",
                     "id": 2})
        ack2 = next_json(a)
        return ((ack or {}).get("status"), (got or {}).get("message"),
                (ack2 or {}).get("status"))
    finally:
        a.close()
        b.close()


def test_sender_quota():
    """Item 5: one sender floods 60 KB messages to made-up offline ids:
    it is refused once its own quota is used (an eighth of
    --history-bytes by default), and others still chat (delivered) and
    still queue for users away (queued); with --store, after a restart
    too (the quotas are rebuilt from the file)."""
    db = os.path.join(chatlib.TMP, "quota.db")
    for extra in ([], ["--store", db]):
        kind = "sqlite" if extra else "memory"
        with chatlib.Server("--history-bytes", "16m", *extra,
                            name="quota-" + kind) as s:
            fl = user(s, "flooder")
            n, refusal = flood(fl, "nobody", 60000, 2000)
            fl.close()
            check(refusal is not None and refusal.get("error") ==
                  "queue_full" and 20 <= n <= 40,
                  "item 5 (%s): the flooder is refused after its 2 MB "
                  "quota: %d accepted, then %r" % (kind, n, refusal))
            r = chat_and_queue(s, "p")
            check(r == ("delivered", "hi", "queued"), "item 5 (%s): others "
                  "still chat and queue: %r" % (kind, r))
            st = stats(s)
            check(st["stored_bytes"] <= 16 << 20, "item 5 (%s): the store "
                  "holds %d bytes, under the total" % (kind,
                                                       st["stored_bytes"]))
        if not extra:
            continue
        with chatlib.Server("--history-bytes", "16m", *extra,
                            name="quota-again") as s:
            fl = user(s, "flooder")
            n2, refusal = flood(fl, "again", 60000, 100)
            fl.close()
            check(n2 == 0 and refusal is not None,
                  "item 5 (sqlite): after a restart the flooder's quota is "
                  "still used: %d accepted, %r" % (n2, refusal))
            r = chat_and_queue(s, "q")
            check(r == ("delivered", "hi", "queued"), "item 5 (sqlite): "
                  "after a restart others still chat and queue: %r" % (r,))


def rss_kb(s):
    with open("/proc/%d/status" % s.proc.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_memory_bound():
    """Item 6: empty messages to distinct ids until the memory store is
    full: what it counts is what it holds, so the server's RSS grows by
    at most 1.5 times --history-bytes (plus the idle baseline).  The
    quotas are lifted so that the total is what is measured."""
    with chatlib.Server("--history-bytes", "8m", "--sender-limit",
                        "100000000", "--sender-bytes", "8m",
                        "--target-bytes", "8m", name="membound") as s:
        base = rss_kb(s)
        fl = user(s, "filler")
        n, refusal = flood(fl, "u", 0, 200000, timeout=60)
        fl.close()
        grew = rss_kb(s) - base
        st = stats(s)
        print("item 6: %d empty messages to distinct ids, %d bytes "
              "counted, RSS +%d KB (bound 8 MB)" % (n, st["stored_bytes"],
                                                    grew))
        check(refusal is not None and refusal.get("error") == "queue_full",
              "item 6: the store fills, then queue_full: %r" % refusal)
        lim = 1.5 * 8192
        if "libasan" in open("/proc/%d/maps" % s.proc.pid).read():
            lim = 3 * 8192 + 320 * 1024	# ASan keeps freed memory
        check(grew <= lim, "item 6: RSS grew %d KB, at most 1.5 x the "
              "bound (%d KB)" % (grew, lim))


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


TESTS = [test_watch_dedup, test_query_budget,
         test_rate_rhythm, test_sender_quota, test_memory_bound,
         test_jwt_forever, test_oversize_header, test_bare_lf]


def main():
    """Every case, or those named on the command line (by hand)."""
    for t in TESTS:
        if len(sys.argv) < 2 or t.__name__ in sys.argv[1:]:
            t()
    chatlib.done()


main()
