# Copyright (c) 2026 The chat authors.
#
# Security options of chat-server: HS256 tokens (header and query,
# expired, another user, wrong signature, alg none, missing, expiring
# during a connection, never in the log), the origin policy, the rate
# limit and its error and close, the per-address limit, /healthz and
# /stats after a scripted exchange, and chat-server token.

import asyncio
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.environ.get("TOP", "."), "tests/integ"))
import chatlib  # noqa: E402
from chatlib import check  # noqa: E402
import websockets  # noqa: E402

SECRET = os.path.join(chatlib.TMP, "secret")
KEY = b"0123456789abcdef0123456789abcdef-test"
with open(SECRET, "wb") as f:
    f.write(KEY + b"\n")


def b64(x):
    return base64.urlsafe_b64encode(x).rstrip(b"=").decode()


def make(payload, alg="HS256", key=KEY):
    """A token made here, independently of the server's code."""
    head = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = b64(json.dumps(payload).encode())
    sig = b64(hmac.new(key, (head + "." + body).encode(),
                       hashlib.sha256).digest()) if alg == "HS256" else ""
    return head + "." + body + "." + sig


def minted(user, ttl="1h"):
    return subprocess.check_output(
        [chatlib.SERVER, "token", "--jwt-secret-file", SECRET, "-u", user,
         "-t", ttl], timeout=10).decode().strip()


async def status_of(url, **kw):
    """HTTP status of a refused upgrade, or 101."""
    try:
        ws = await websockets.connect(url, open_timeout=5, **kw)
        await ws.close()
        return 101
    except websockets.exceptions.InvalidStatusCode as e:
        return e.status_code


def http(url, token=None):
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


async def test_tokens():
    now = int(time.time())
    with chatlib.Server("--jwt-secret-file", SECRET) as s:
        u = s.url + "/demo/ws/8888"
        tok = minted("8888")
        check(tok.count(".") == 2, "chat-server token prints a JWT")
        check(await status_of(u, extra_headers={
            "Authorization": "Bearer " + tok}) == 101,
            "minted token in the header: accepted")
        check(await status_of(u + "?token=" + tok) == 101,
              "minted token in the query: accepted")
        own = make({"sub": "8888", "exp": now + 600})
        check(await status_of(u + "?token=" + own) == 101,
              "token made by another HS256 implementation: accepted")
        cases = [
            ("missing", None, 401),
            ("expired", make({"sub": "8888", "exp": now - 120}), 401),
            ("not yet valid", make({"sub": "8888", "exp": now + 600,
                                    "nbf": now + 300}), 401),
            ("no exp", make({"sub": "8888"}), 401),
            ("another user", make({"sub": "6666", "exp": now + 600}), 403),
            ("wrong signature", make({"sub": "8888", "exp": now + 600},
                                     key=b"another key, long enough!!"),
             401),
            ("alg none", make({"sub": "8888", "exp": now + 600},
                              alg="none"), 401),
            ("garbage", "a.b.c", 401),
        ]
        for name, t, want in cases:
            h = {"Authorization": "Bearer " + t} if t else {}
            got = await status_of(u, extra_headers=h)
            check(got == want, "token %s: %d (got %r)" % (name, want, got))
        # The reason is in the body, in words.
        st, body = http(s.url.replace("ws:", "http:") + "/demo/ws/8888")
        check(st == 401 or st == 400, "plain GET without token refused")
        check(await status_of(s.url + "/demo/ws/8888?token=" +
                              make({"sub": "8888", "exp": now - 120})) ==
              401, "expired token in the query: 401")
        # Echo does not need a token.
        check(await status_of(s.url + "/demo/echo") == 101,
              "the echo endpoint needs no token")
        # Expiring during a connection: exp 25 s ago is still within the
        # 30 s skew, so it is accepted and must end about 5 s later.
        # (The time now, not at the start: the steps above take time.)
        soon = make({"sub": "7777", "exp": int(time.time()) - 25})
        ws = await websockets.connect(s.url + "/demo/ws/7777?token=" + soon,
                                      ping_interval=None)
        t0 = time.monotonic()
        try:
            await asyncio.wait_for(ws.recv(), 15)
        except websockets.exceptions.ConnectionClosed:
            pass
        except asyncio.TimeoutError:
            pass
        check(ws.close_code == 1008 and ws.close_reason == "token expired",
              "a token expiring during the connection closes it with 1008 "
              "(got %r %r after %.1f s)" % (ws.close_code, ws.close_reason,
                                            time.monotonic() - t0))
        log = s.log()
        for t in (tok, own, soon):
            check(t.split(".")[2] not in log,
                  "no token signature appears in the log")
        check("token has expired" in log and "refused: 401" in log,
              "refusals are logged with their reason")


async def test_origin_rate_ip():
    with chatlib.Server("--allow-origin", "https://chat.example",
                        "--allow-origin", "http://localhost:3000",
                        "--rate", "20", "--burst", "5",
                        "--max-per-ip", "6") as s:
        u = s.url + "/demo/ws/o1"
        check(await status_of(u, origin="https://chat.example") == 101,
              "allowed origin accepted")
        check(await status_of(u, origin="http://localhost:3000") == 101,
              "second allowed origin accepted")
        check(await status_of(u, origin="https://evil.example") == 403,
              "other origin refused with 403")
        check(await status_of(u) == 101, "no Origin (not a browser) accepted")

        # r1 sends its ten in one write: the server reads them at one
        # time, so no token comes back in between.
        a = chatlib.RawWS(s.port, "/demo/ws/r1")
        b = await chatlib.connect(s, "r2")
        a.send(b"".join(chatlib.frame(1, json.dumps(
            {"message": str(i), "target_user": "r2", "id": i}))
            for i in range(10)))
        answers = [a.recv_json() for _ in range(10)]
        ok = [m for m in answers if m.get("type") == "ack"]
        limited = [m for m in answers if m.get("error") == "rate_limited"]
        check(len(ok) >= 5 and len(limited) >= 1 and
              len(ok) + len(limited) == 10,
              "burst of 5 passes, the rest is rate_limited (%d ok, %d "
              "limited)" % (len(ok), len(limited)))
        check(all("id" in m for m in limited),
              "rate_limited errors carry the message id")
        got = [m.get("message") for m in await chatlib.take(b, len(ok))]
        got += [m.get("message", m) for m in await chatlib.settle(b)]
        check(got == [str(m["id"]) for m in ok],
              "exactly the accepted messages arrive: %r" % got)
        # Not a synchronization: the bucket refills with time (20/s).
        await asyncio.sleep(0.6)
        a.send_json({"message": "later", "target_user": "r2"})
        m = await chatlib.recv_json(b)
        check(m.get("message") == "later", "after a pause the limit refills")
        # A flood that keeps going is closed with 1008.
        try:
            for i in range(400):
                a.send_json({"message": "f", "target_user": "r2"})
        except OSError:
            pass
        c = a.recv_close(5)
        check(c is not None and c[0] == 1008 and b"rate limit" in c[1],
              "a persistent flood is closed 1008 (got %r)" % (c,))
        a.close()
        await b.close()
        check(await chatlib.gone(s, "r1") and await chatlib.gone(s, "r2"),
              "r1 and r2 gone")
        # Per address: 6 at once from 127.0.0.1, the 7th gets 503.
        conns = [await chatlib.connect(s, "ip%d" % i) for i in range(6)]
        check(await status_of(s.url + "/demo/ws/ip9") == 503,
              "connection beyond --max-per-ip refused with 503")
        for c in conns:
            await c.close()
        for i in range(6):
            check(await chatlib.gone(s, "ip%d" % i), "ip%d gone" % i)
        check(await status_of(s.url + "/demo/ws/ip9") == 101,
              "accepted again once others left")


async def test_operator():
    with chatlib.Server("--stats-token", "sesame") as s:
        base = s.url.replace("ws:", "http:")
        st, body = http(base + "/healthz")
        check((st, body) == (200, "ok\n"), "/healthz: 200 ok (%r %r)" %
              (st, body))
        st, _ = http(base + "/stats")
        check(st == 401, "/stats without the token: 401")
        st, _ = http(base + "/stats", token="wrong")
        check(st == 401, "/stats with a wrong token: 401")
        a = await chatlib.connect(s, "s1")
        b = await chatlib.connect(s, "s2")
        await a.send(json.dumps({"message": "x", "target_user": "s2",
                                 "id": 1}))
        await chatlib.recv_json(b)
        await chatlib.recv_json(a)
        await a.send(json.dumps({"message": "y", "target_user": "away",
                                 "id": 2}))
        await chatlib.recv_json(a)
        st, body = http(base + "/stats", token="sesame")
        check(st == 200, "/stats with the token: 200")
        d = json.loads(body)
        check(d["users_online"] == 2 and d["messages_routed"] == 1 and
              d["messages_queued"] == 1 and d["messages_refused"] == 0,
              "/stats counts the exchange: %r" % d)
        check(d["connections"] >= 2 and d["bytes_in"] > 0 and
              d["bytes_out"] > 0 and d["uptime_s"] >= 0,
              "/stats has connections, bytes and uptime: %r" % d)
        st, body = http(base + "/stats?token=sesame")
        check(st == 200, "/stats token in the query: 200")
        await a.close()
        await b.close()


def test_options():
    r = subprocess.run([chatlib.SERVER, "--jwt-secret-file", "/nonexistent"],
                       capture_output=True, timeout=10)
    check(r.returncode == 2 and b"/nonexistent" in r.stderr,
          "missing secret file: exit 2 naming it")
    short = os.path.join(chatlib.TMP, "short")
    with open(short, "w") as f:
        f.write("tiny\n")
    r = subprocess.run([chatlib.SERVER, "--jwt-secret-file", short],
                       capture_output=True, timeout=10)
    check(r.returncode == 2 and b"too short" in r.stderr,
          "secret shorter than 16 bytes: exit 2")
    r = subprocess.run([chatlib.SERVER, "token", "-u", "bad id!",
                        "--jwt-secret-file", SECRET], capture_output=True,
                       timeout=10)
    check(r.returncode == 2, "token with an invalid user: exit 2")
    r = subprocess.run([chatlib.SERVER, "--rate", "fast"],
                       capture_output=True, timeout=10)
    check(r.returncode == 2 and b"--rate" in r.stderr, "bad --rate: exit 2")


async def main():
    await test_tokens()
    await test_origin_rate_ip()
    await test_operator()


test_options()
chatlib.run(main())
chatlib.done()
