# Copyright (c) 2026 The chat authors.
#
# test_core: the chat server's main paths against python3-websockets and
# against our own C frame layer (build/tests/wsc): chat, acks, who,
# watch, several connections per user, offline queues, order, the HTTP
# refusals, the echo endpoint, log lines and a graceful shutdown.

import asyncio
import ctypes
import errno
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chatlib  # noqa: E402
from chatlib import (check, chat_ack, connect, recv_json,  # noqa: E402
                     upath)

import websockets  # noqa: E402

WSC = os.path.join(chatlib.BUILD, "tests", "wsc")
SLOW = os.environ.get("CHAT_VALGRIND") == "1"


async def send(ws, obj):
    await ws.send(json.dumps(obj))


async def recv_raw(ws, timeout=5):
    return await asyncio.wait_for(ws.recv(), timeout)


async def closed(ws, timeout=5):
    """Wait for the connection to close; (code, reason)."""
    try:
        await asyncio.wait_for(ws.wait_closed(), timeout)
    except asyncio.TimeoutError:
        return (None, None)
    return (ws.close_code, ws.close_reason)


async def wsc_line(proc, timeout=5):
    line = await asyncio.wait_for(proc.stdout.readline(), timeout)
    return line.decode().rstrip("\n")


async def test_seed_flow_wsc(s):
    """C client 8888 (wsc) and python 6666 talk both ways."""
    check(os.access(WSC, os.X_OK), "build/tests/wsc exists (make test-bins)")
    py = await connect(s, "6666")
    proc = await asyncio.create_subprocess_exec(
        WSC, s.url + "/demo/ws/8888", stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        check(s.wait_log(r"user 8888 connected", 10),
              "log: user 8888 connected")
        proc.stdin.write(b'{"message":"hello from C","target_user":"6666"}\n')
        await proc.stdin.drain()
        m = await recv_json(py)
        check(m.get("message") == "hello from C" and
              m.get("from_user") == "8888", "python got C's chat: %r" % m)
        text = "hi C: \u00e9\u2713\U0001F600 \"q\" \\ \n tab\t"
        await send(py, {"message": text, "target_user": "8888", "id": 7})
        a = await recv_json(py)
        check(a == {"type": "ack", "id": 7, "status": "delivered"},
              "python gets ack delivered: %r" % a)
        line = await wsc_line(proc)
        m = json.loads(line)
        check(m.get("message") == text and m.get("from_user") == "6666",
              "C got python's chat intact: %r" % line)
        proc.stdin.write(b'{"message":"with id","target_user":"6666",'
                         b'"id":"c-1"}\n')
        await proc.stdin.drain()
        a = json.loads(await wsc_line(proc))
        check(a == {"type": "ack", "id": "c-1", "status": "delivered"},
              "C gets its ack: %r" % a)
        m = await recv_json(py)
        check(m.get("message") == "with id", "python got 2nd C chat")
        proc.stdin.write(b'{"type":"who"}\n')
        await proc.stdin.drain()
        w = json.loads(await wsc_line(proc))
        check(w.get("type") == "who" and
              sorted(w.get("users", [])) == ["6666", "8888"],
              "C's who lists both: %r" % w)
        # A big message both ways: exercises 64-bit and 16-bit lengths.
        big = "x" * 60000
        await send(py, {"message": big, "target_user": "8888"})
        m = json.loads(await wsc_line(proc))
        check(m.get("message") == big, "C got a 60000-byte message")
        proc.stdin.write(json.dumps({"message": big,
                                     "target_user": "6666"}).encode() +
                         b"\n")
        await proc.stdin.drain()
        m = await recv_json(py)
        check(m.get("message") == big, "python got a 60000-byte message")
        proc.stdin.close()
        rc = await asyncio.wait_for(proc.wait(), 10)
        err = (await proc.stderr.read()).decode()
        check(rc == 0, "wsc exits 0 after EOF (rc %r, %r)" % (rc, err))
        check("closed 1000" in err, "wsc reports closed 1000: %r" % err)
        m = re.search(r"#(\d+) user 8888 connected", s.log())
        cid = m.group(1) if m else "?"
        check(s.wait_log(r"#%s (user 8888 )?disconnected: closed \(close "
                         r"sent 1000, received 1000\)" % cid),
              "log: 8888 disconnected with close codes")
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await py.close()


async def test_wsc_echo_vs_python_server():
    """wsc -e against a python-websockets server: text, binary, close."""
    got = {}

    async def handler(ws, path):
        got["path"] = path
        msgs = ["short", "", "\u00e9" * 200, "y" * 70000]
        for t in msgs:
            await ws.send(t)
            got.setdefault("text", []).append(
                await asyncio.wait_for(ws.recv(), 5) == t)
        b = os.urandom(100000)
        await ws.send(b)
        got["binary"] = await asyncio.wait_for(ws.recv(), 5) == b
        await ws.close(1000, "bye")

    server = await websockets.serve(handler, "127.0.0.1", 0,
                                    max_size=1 << 24)
    port = server.sockets[0].getsockname()[1]
    proc = await asyncio.create_subprocess_exec(
        WSC, "-e", "ws://127.0.0.1:%d/echo/path?q=1" % port,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    try:
        rc = await asyncio.wait_for(proc.wait(), 20)
    except asyncio.TimeoutError:
        proc.kill()
        rc = await proc.wait()
    err = (await proc.stderr.read()).decode()
    server.close()
    await server.wait_closed()
    check(got.get("path") == "/echo/path?q=1",
          "wsc asks for path and query: %r" % got.get("path"))
    check(got.get("text") == [True] * 4, "wsc echoes text: %r"
          % got.get("text"))
    check(got.get("binary") is True, "wsc echoes 100 kB binary")
    check(rc == 0 and "closed 1000" in err,
          "wsc -e exits 0 on the server's close 1000 (%r, %r)" % (rc, err))


async def test_wsc_refused(s):
    proc = await asyncio.create_subprocess_exec(
        WSC, s.url + "/nowhere", stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    rc = await asyncio.wait_for(proc.wait(), 10)
    err = (await proc.stderr.read()).decode()
    check(rc == 1 and "wsc:" in err and "404" in err,
          "wsc reports a 404 and exits 1: %r %r" % (rc, err))


async def test_chat_basics(s):
    a = await connect(s, "alice")
    b = await connect(s, "bob")
    t0 = int(time.time() * 1000)
    await send(a, {"message": "hi bob", "target_user": "bob"})
    raw = await recv_raw(b)
    m = json.loads(raw)
    check(list(m.keys()) == ["message", "from_user", "ts", "seq"],
          "chat event key order: %r" % raw)
    check(m["message"] == "hi bob" and m["from_user"] == "alice",
          "chat event content")
    check(isinstance(m["ts"], int) and abs(m["ts"] - t0) < 60000,
          "ts is wall-clock ms: %r vs %r" % (m["ts"], t0))
    extra = await chatlib.settle(a)
    check(extra == [], "no ack without an id: %r" % extra)
    # Ids: string and number, echoed as given.
    for mid in ("m-1", 42, 3.5, ""):
        await send(a, {"message": "x", "target_user": "bob", "id": mid})
        ack = await recv_json(a)
        check(ack == {"type": "ack", "id": mid, "status": "delivered"},
              "ack echoes id %r: %r" % (mid, ack))
        await recv_json(b)
    # Explicit "type":"chat" works too.
    await send(a, {"type": "chat", "message": "typed", "target_user": "bob"})
    m = await recv_json(b)
    check(m.get("message") == "typed", "type chat accepted")
    # Talking to oneself.
    await send(a, {"message": "me", "target_user": "alice", "id": 1})
    got = [await recv_json(a), await recv_json(a)]
    check({"type": "ack", "id": 1, "status": "delivered"} in got and
          any(g.get("from_user") == "alice" for g in got),
          "a message to oneself is delivered: %r" % got)
    # Unicode and escapes round trip exactly.
    text = "\u00e9\u4e2d\U0001F600 \"\\/\b\f\n\r\t \u0001 \u2028"
    await send(a, {"message": text, "target_user": "bob"})
    m = await recv_json(b)
    check(m.get("message") == text, "unicode and escapes round trip")
    # Empty message.
    await send(a, {"message": "", "target_user": "bob"})
    m = await recv_json(b)
    check(m.get("message") == "", "empty message delivered")
    await a.close()
    await b.close()


async def test_who_watch(s):
    a = await connect(s, "w1")
    await send(a, {"type": "who"})
    w = await recv_json(a)
    check(w == {"type": "who", "users": ["w1"]}, "who alone: %r" % w)
    b = await connect(s, "w2")
    await send(a, {"type": "who"})
    w = await recv_json(a)
    check(w.get("type") == "who" and sorted(w["users"]) == ["w1", "w2"],
          "who lists both: %r" % w)
    await send(a, {"type": "watch", "users": ["w2", "w3", "w1"]})
    got = [await recv_json(a) for _ in range(3)]
    check(got == [{"type": "presence", "user": "w2", "online": True},
                  {"type": "presence", "user": "w3", "online": False},
                  {"type": "presence", "user": "w1", "online": True}],
          "watch answers presence at once, in order: %r" % got)
    c1 = await connect(s, "w3")
    p = await recv_json(a)
    check(p == {"type": "presence", "user": "w3", "online": True},
          "presence: w3 online: %r" % p)
    c2 = await connect(s, "w3")
    extra = await chatlib.settle(a)
    check(extra == [], "no presence for a 2nd connection of w3: %r" % extra)
    # close() returns once the server answered the close, which it does
    # after taking the connection out of the routing.
    await c1.close()
    extra = await chatlib.settle(a)
    check(extra == [], "no presence while w3 has a connection: %r"
          % extra)
    await c2.close()
    p = await recv_json(a)
    check(p == {"type": "presence", "user": "w3", "online": False},
          "presence: w3 offline: %r" % p)
    await b.close()
    p = await recv_json(a)
    check(p == {"type": "presence", "user": "w2", "online": False},
          "presence: w2 offline")
    # A new watch list replaces the old one.
    await send(a, {"type": "watch", "users": ["w4"]})
    p = await recv_json(a)
    check(p == {"type": "presence", "user": "w4", "online": False},
          "rewatch: w4 offline")
    b = await connect(s, "w2")
    extra = await chatlib.settle(a)
    check(extra == [], "w2 no longer watched: %r" % extra)
    c = await connect(s, "w4")
    p = await recv_json(a)
    check(p.get("user") == "w4" and p.get("online") is True,
          "w4 online after rewatch")
    await send(a, {"type": "watch", "users": []})
    # A round trip on a, so the empty list is in force before c leaves
    # (two connections' events have no order of their own).
    await send(a, {"type": "who"})
    p = await recv_json(a)
    check(p.get("type") == "who", "who answered after the empty watch")
    await c.close()
    extra = await chatlib.settle(a)
    check(extra == [], "empty watch list stops presence: %r" % extra)
    await a.close()
    await b.close()


async def test_multi_conn():
    with chatlib.Server("--max-per-user", "3", name="multi") as s:
        conns = [await connect(s, "multi") for _ in range(3)]
        snd = await connect(s, "sender")
        await send(snd, {"message": "to all", "target_user": "multi",
                         "id": "x"})
        ack = await recv_json(snd)
        check(ack.get("status") == "delivered", "ack delivered to multi")
        for i, c in enumerate(conns):
            m = await recv_json(c)
            check(m.get("message") == "to all",
                  "connection %d of multi got it" % i)
        extra = await connect(s, "multi")
        code, reason = await closed(extra)
        check(code == 1008 and reason == "too many connections for this "
              "user", "4th connection closed 1008: %r %r" % (code, reason))
        check(s.wait_log(r"user multi refused: more than 3"),
              "log: refused over the per-user cap")
        await send(snd, {"message": "again", "target_user": "multi"})
        for i, c in enumerate(conns):
            m = await recv_json(c)
            check(m.get("message") == "again",
                  "connection %d still served" % i)
        n = s.count(r"user multi disconnected")
        await conns[0].close()
        check(await chatlib.gone(s, "multi", n + 1), "multi's first "
              "connection gone")
        again = await connect(s, "multi")
        await send(snd, {"message": "third", "target_user": "multi"})
        m = await recv_json(again)
        check(m.get("message") == "third", "a freed slot can be reused")
        for c in conns[1:] + [again, snd]:
            await c.close()


async def test_other_devices(s):
    """A message sent from one connection of a user is copied, as
    {"type":"sent"}, to the user's other connections, once accepted;
    live only: not to the sender, not to others, not replayed."""
    phone = await connect(s, "dev8888")
    laptop = await connect(s, "dev8888")
    peer = await connect(s, "dev6666")
    ack = await chat_ack(phone, "dev6666", "from the phone\nline 2", "p1")
    check(ack.get("status") == "delivered", "devices: delivered (%r)" % ack)
    m = await recv_json(laptop)
    check(m.get("type") == "sent" and m.get("message") ==
          "from the phone\nline 2" and m.get("target_user") == "dev6666"
          and isinstance(m.get("ts"), int) and "from_user" not in m,
          "devices: the other connection gets a sent copy (%r)" % m)
    got = await recv_json(peer)
    check(got.get("message") == "from the phone\nline 2" and
          got.get("ts") == m.get("ts"),
          "devices: the target gets it, same ts (%r)" % got)
    extra = await chatlib.settle(phone)
    check(extra == [], "devices: no copy to the sender: %r" % extra)
    extra = await chatlib.settle(peer)
    check(extra == [], "devices: no copy to the target: %r" % extra)
    # To an offline user: the copy comes with the ack "queued".
    ack = await chat_ack(laptop, "devnobody", "kept", "l1")
    check(ack.get("status") == "queued", "devices: queued (%r)" % ack)
    m = await recv_json(phone)
    check(m.get("type") == "sent" and m.get("target_user") == "devnobody",
          "devices: a queued message is copied too (%r)" % m)
    # Alone, nothing is copied; a new connection is not replayed copies.
    await laptop.close()
    ack = await chat_ack(phone, "dev6666", "alone now", "p2")
    check(ack.get("status") == "delivered", "devices: delivered alone")
    await recv_json(peer)
    again = await connect(s, "dev8888", path=upath("dev8888", since=0))
    first = await recv_json(again)
    check(first.get("type") == "resumed", "devices: resumed (%r)" % first)
    extra = await chatlib.settle(again)
    check(extra == [], "devices: copies are not replayed: %r" % extra)
    for c in (phone, peer, again):
        await c.close()


async def test_offline_queue(s):
    a = await connect(s, "qsender")
    for i in range(5):
        await send(a, {"message": "q%d" % i, "target_user": "qlater",
                       "id": i})
        ack = await recv_json(a)
        check(ack == {"type": "ack", "id": i, "status": "queued"},
              "ack queued %d: %r" % (i, ack))
    await send(a, {"message": "no id", "target_user": "qlater"})
    extra = await chatlib.settle(a)
    check(extra == [], "queued without id: no ack: %r" % extra)
    b = await connect(s, "qlater")
    got = [(await recv_json(b))["message"] for _ in range(6)]
    check(got == ["q0", "q1", "q2", "q3", "q4", "no id"],
          "queue delivered in order on connect: %r" % got)
    extra = await chatlib.settle(b)
    check(extra == [], "queue delivered once: %r" % extra)
    await send(a, {"message": "live", "target_user": "qlater", "id": "L"})
    ack = await recv_json(a)
    check(ack.get("status") == "delivered", "then delivered live")
    await b.close()
    # Disconnected again: queued again; reconnect gets it once.
    check(await chatlib.gone(s, "qlater"), "qlater gone")
    await send(a, {"message": "later", "target_user": "qlater", "id": "Z"})
    ack = await recv_json(a)
    check(ack.get("status") == "queued", "queued after disconnect: %r"
          % ack)
    b = await connect(s, "qlater")
    m = await recv_json(b)
    check(m.get("message") == "later", "got it on reconnect")
    extra = await chatlib.settle(b)
    check(extra == [], "nothing more: %r" % extra)
    await a.close()
    await b.close()


async def test_order(s):
    a = await connect(s, "ord-a")
    b = await connect(s, "ord-b")
    n = 500
    for i in range(n):
        await send(a, {"message": str(i), "target_user": "ord-b"})
    got = []
    try:
        while len(got) < n:
            got.append(int((await recv_json(b, 10))["message"]))
    except asyncio.TimeoutError:
        pass
    check(got == list(range(n)), "500 messages in order (got %d)"
          % len(got))
    # Half queued, half live, across the reconnect: order still holds.
    await b.close()
    check(await chatlib.gone(s, "ord-b"), "ord-b gone")
    for i in range(100):
        await send(a, {"message": str(i), "target_user": "ord-b"})
    b = await connect(s, "ord-b")
    for i in range(100, 200):
        await send(a, {"message": str(i), "target_user": "ord-b"})
    got = []
    try:
        while len(got) < 200:
            got.append(int((await recv_json(b, 10))["message"]))
    except asyncio.TimeoutError:
        pass
    check(got == list(range(200)), "queued then live in order (got %d)"
          % len(got))
    await a.close()
    await b.close()


def http_parts(resp):
    head, _, body = resp.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = lines[0].split(b" ")
    code = int(status[1]) if len(status) > 1 and status[1].isdigit() else 0
    return code, lines[1:], body


REQ = ("GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
       "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
       "Sec-WebSocket-Version: %s\r\n\r\n")


def test_http_refusals(s):
    def req(path, version="13"):
        return (REQ % (path, version)).encode()

    def expect(data, status, what, header=None):
        resp = chatlib.raw_http(s.port, data)
        code, headers, body = http_parts(resp)
        check(code == status, "%s: HTTP %d (got %r)" % (what, status,
                                                      resp[:80]))
        if status != 101:
            check(body.count(b"\n") <= 1 and len(body.strip()) > 0,
                  "%s: one-line body %r" % (what, body))
            check(any(h.lower().startswith(b"content-type: text/plain")
                      for h in headers), "%s: text/plain" % what)
        if header is not None:
            check(header.encode() in headers, "%s: header %s" % (what,
                                                                 header))
        return resp

    for bad in ("a" * 65, "a%20b", "a/b", "", "caf%C3%A9", "a+b", "a:b"):
        expect(req("/demo/ws/" + bad), 400, "bad user id %r" % bad)
    expect(req("/ws/" + "b" * 65), 400, "bad user id on /ws/")
    expect(req("/nope"), 404, "unknown path")
    expect(req("/demo/wsx/a"), 404, "unknown path /demo/wsx/a")
    expect(req("/demo"), 404, "unknown path /demo")  # / is the web client
    expect(b"GET /demo/ws/plain HTTP/1.1\r\nHost: x\r\n\r\n", 400,
           "plain GET (no upgrade)")
    expect(req("/demo/ws/v", "8"), 426, "version 8",
           "Sec-WebSocket-Version: 13")
    expect(b"POST /demo/ws/p HTTP/1.1\r\nHost: x\r\nContent-Length: 0"
           b"\r\n\r\n", 405, "POST")
    expect(b"GET /demo/ws/big HTTP/1.1\r\nHost: x\r\nX-Pad: " +
           b"p" * 9000 + b"\r\n\r\n", 431, "9000-byte head")
    expect(b"GARBAGE\r\n\r\n", 400, "garbage request line")
    expect(b"GET /demo/ws/x HTTP/1.1\r\nno colon here\r\n\r\n", 400,
           "header without colon")
    # Good ones: the full id alphabet, 64 bytes; alias; query string.
    good = "Az09._-" + "k" * 57
    resp = chatlib.raw_http(s.port, req("/demo/ws/" + good), head=True)
    check(resp.startswith(b"HTTP/1.1 101"), "64-byte id upgrades: %r"
          % resp[:40])
    check(b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in resp,
          "RFC 6455 accept key")
    check(s.wait_log(r"refused: 400 invalid user id"),
          "log: refused: 400 ...")
    check(s.wait_log(r"refused: 404"), "log: refused: 404")
    # The 64-byte id's connection is closed above; the next test asks
    # who is online, so the server must have seen it go.
    check(s.wait_log(r"user %s disconnected" % re.escape(good), 30),
          "log: the 64-byte id disconnected")


async def test_paths(s):
    a = await connect(s, path="/ws/alias1")
    b = await connect(s, path="/demo/ws/q1?token=abc&x=%20")
    await send(a, {"type": "who"})
    w = await recv_json(a)
    check(sorted(w.get("users", [])) == ["alias1", "q1"],
          "alias and query-string users online: %r" % w)
    await send(a, {"message": "via alias", "target_user": "q1"})
    m = await recv_json(b)
    check(m.get("from_user") == "alias1", "alias user sends")
    await a.close()
    await b.close()


async def test_echo(s):
    e = await connect(s, path="/demo/echo")
    for t in ("hello", "", "\u00e9\U0001F600", "z" * 65000):
        await e.send(t)
        r = await recv_raw(e)
        check(r == t, "echo text %d chars" % len(t))
    for b in (b"\x00\xff\x80", b"", os.urandom(65536)):
        await e.send(b)
        r = await recv_raw(e)
        check(r == b and isinstance(r, bytes), "echo binary %d" % len(b))
    # JSON is not interpreted on the echo endpoint.
    await e.send('{"type":"who"}')
    check(await recv_raw(e) == '{"type":"who"}', "echo does not parse")
    e2 = await connect(s, path="/demo/echo?x=1")
    await e2.send("q")
    check(await recv_raw(e2) == "q", "echo with query string")
    await e.close()
    await e2.close()
    check(e.close_code == 1000, "echo closes with 1000")


async def test_shutdown(sig):
    s = chatlib.Server(name="shutdown-%d" % sig)
    try:
        a = await connect(s, "sd1")
        b = await connect(s, "sd2")
        e = await connect(s, path="/demo/echo")
        t0 = time.monotonic()
        s.proc.send_signal(sig)
        for name, ws in (("sd1", a), ("sd2", b), ("echo", e)):
            code, reason = await closed(ws, 10)
            check(code == 1001 and reason == "server shutting down",
                  "signal %d: %s gets 1001: %r %r" % (sig, name, code,
                                                      reason))
        try:
            rc = await asyncio.get_running_loop().run_in_executor(
                None, s.proc.wait, 20)
        except subprocess.TimeoutExpired:
            rc = None
        took = time.monotonic() - t0
        check(rc == 0, "signal %d: exit 0 (got %r)" % (sig, rc))
        check(took < (15 if SLOW else 3.5), "signal %d: exit within 3 s "
              "(%.1f s)" % (sig, took))
        check(s.wait_log(r"signal %d: closing 3 connection" % sig),
              "log: closing 3 connections")
    finally:
        s.kill()


async def test_shutdown_stuck_client():
    """A client that never answers the close does not hold the exit."""
    s = chatlib.Server(name="shutdown-stuck")
    try:
        raw = chatlib.RawWS(s.port, "/demo/ws/stuck")
        half = chatlib.socket.create_connection(("127.0.0.1", s.port))
        half.sendall(b"GET /demo/ws/half HTTP/1.1\r\n")
        # Accepted and read: a connection mid-handshake at the signal.
        check(chatlib.peer_read_all(half), "the server read the half "
              "request")
        t0 = time.monotonic()
        s.proc.send_signal(signal.SIGTERM)
        c = raw.recv_close(5)
        check(c is not None and c[0] == 1001, "raw client gets 1001: %r"
              % (c,))
        try:
            rc = s.proc.wait(20)
        except subprocess.TimeoutExpired:
            rc = None
        took = time.monotonic() - t0
        check(rc == 0, "exit 0 with an unresponsive client (got %r)" % rc)
        check(took < (15 if SLOW else 4.5), "exit within ~3 s (%.1f s)"
              % took)
        raw.close()
        half.close()
    finally:
        s.kill()


async def test_logs(s):
    a = await connect(s, "logger")
    check(s.wait_log(r"user logger connected \(1 connection\)"),
          "log: user logger connected")
    m = re.search(r"#(\d+) user logger connected", s.log())
    cid = m.group(1) if m else "?"
    await a.close()
    check(s.wait_log(r"#%s (user logger )?disconnected: closed \(close "
                     r"sent 1000, received 1000\)" % cid),
          "log: disconnected with codes")
    # The disconnect line names the user, as the connect line does,
    # also when the client started the close.
    check(s.wait_log(r"#%s user logger disconnected" % cid, 2),
          "log: disconnect line names the user after a client close")
    # Server-initiated end (abrupt loss): named too.
    b = chatlib.RawWS(s.port, "/demo/ws/logger2")
    check(s.wait_log(r"user logger2 connected"), "log: logger2 connected")
    b.close()
    check(s.wait_log(r"user logger2 disconnected: connection lost "
                     r"\(close sent 1006, received 1006\)"),
          "log: lost connection logged with 1006/1006")


def server_nodelay(s, peer):
    """TCP_NODELAY of the server's socket connected to peer (host, port),
    read through a copy of its descriptor (pidfd_getfd(2)), closed at
    once; None if no socket of the server has that peer."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(s.proc.pid)
    try:
        for name in os.listdir("/proc/%d/fd" % s.proc.pid):
            try:
                if not os.readlink("/proc/%d/fd/%s" % (s.proc.pid, name)
                                   ).startswith("socket:"):
                    continue
            except OSError:
                continue            # closed meanwhile
            fd = libc.syscall(438, pidfd, int(name), 0)   # pidfd_getfd
            if fd < 0 and ctypes.get_errno() == errno.EBADF:
                continue            # closed meanwhile
            check(fd >= 0, "pidfd_getfd: %s" %
                  os.strerror(ctypes.get_errno()))
            sk = socket.socket(fileno=fd)
            try:
                try:
                    if sk.getpeername()[:2] != peer:
                        continue
                except OSError:
                    continue        # a listener
                return sk.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            finally:
                sk.close()
    finally:
        os.close(pidfd)
    return None


async def test_nodelay(s):
    """Accepted sockets have TCP_NODELAY, inherited from the listener
    (set once there, not per connection)."""
    ws = await connect(s, "nagle")
    local = ws.local_address[:2]
    check(server_nodelay(s, local) == 1,
          "the server's socket for %s:%d has TCP_NODELAY" % local)
    await ws.close()


async def main():
    with chatlib.Server() as s:
        await test_seed_flow_wsc(s)
        await test_wsc_refused(s)
        await test_chat_basics(s)
        await test_who_watch(s)
        await test_offline_queue(s)
        await test_other_devices(s)
        await test_order(s)
        test_http_refusals(s)
        await test_paths(s)
        await test_echo(s)
        await test_logs(s)
        await test_nodelay(s)
        # After all that, a well-behaved client is still served.
        a = await connect(s, "final-a")
        b = await connect(s, "final-b")
        await send(a, {"message": "still here", "target_user": "final-b"})
        m = await recv_json(b)
        check(m.get("message") == "still here", "server still serves")
        await a.close()
        await b.close()
    await test_wsc_echo_vs_python_server()
    await test_multi_conn()
    await test_shutdown(signal.SIGTERM)
    await test_shutdown(signal.SIGINT)
    await test_shutdown_stuck_client()


chatlib.run(main())
chatlib.done()
