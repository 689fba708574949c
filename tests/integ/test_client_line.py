# Copyright (c) 2026 The chat authors.
#
# chat-client's line mode against a real server: options and exit
# status 2, an unreachable server (exit 1, quickly, with the reason),
# sending from a pipe to a python3-websockets peer, receiving into
# stdout as "HH:MM:SS FROM: TEXT" and as JSON, offline targets (ack
# "queued", delivery on connect), /who, and commands that fail.

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["TOP"], "tests/integ"))
from chatlib import (CLIENT, Server, check, connect, done, recv_json, run,
                     settle)


def client(*args, stdin=b"", timeout=20):
    """Run chat-client to completion; returns (rc, stdout, stderr, secs)."""
    t0 = time.monotonic()
    p = subprocess.run([CLIENT] + list(args), input=stdin,
                       capture_output=True, timeout=timeout)
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"), time.monotonic() - t0)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_options():
    rc, out, err, _ = client()
    check(rc == 2 and "missing --user" in err and "usage:" in err,
          "no --user: exit 2 with usage (%r, %r)" % (rc, err))
    rc, out, err, _ = client("--help")
    check(rc == 0 and out.startswith("usage: chat-client"),
          "--help: usage on stdout, exit 0")
    rc, out, err, _ = client("-V")
    check(rc == 0 and re.match(r"chat-client \d+\.\d+\.\d+\n$", out),
          "-V prints the version (%r)" % out)
    rc, out, err, _ = client("-u", "8888", "--to", "bad id")
    check(rc == 2 and "invalid user id 'bad id' for --to" in err,
          "bad --to: exit 2 (%r)" % err)
    rc, out, err, _ = client("-u", "8888", "-s", "http://x")
    check(rc == 2 and "invalid server URL 'http://x'" in err,
          "bad URL: exit 2 (%r)" % err)
    rc, out, err, _ = client("-u", "8888", "--wait", "5x")
    check(rc == 2 and "--wait" in err, "bad --wait: exit 2 (%r)" % err)
    rc, out, err, _ = client("-u", "8888", "--bogus")
    check(rc == 2, "unknown option: exit 2")


def test_unreachable():
    url = "ws://127.0.0.1:%d" % free_port()
    rc, out, err, secs = client("-u", "8888", "-t", "6666", "-s", url,
                                stdin=b"hello\n")
    check(rc == 1, "unreachable: exit 1 (%r)" % rc)
    check(secs < 5, "unreachable: gives up quickly (%.1fs)" % secs)
    check("chat-client: cannot connect to '%s': Connection refused" % url
          in err, "unreachable: the reason names the URL (%r)" % err)


async def test_send(srv):
    peer = await connect(srv, "6666")
    rc, out, err, _ = await asyncio.to_thread(
        client, "-u", "8888", "-t", "6666", "-s", srv.url,
        stdin="hello there\n你好, 世界\n//slash\n\n".encode())
    check(rc == 0, "send: exit 0 (%r, %r)" % (rc, err))
    got = []
    for _ in range(3):
        try:
            got.append(await recv_json(peer, 5))
        except asyncio.TimeoutError:
            break
    texts = [m.get("message") for m in got]
    check(texts == ["hello there", "你好, 世界", "/slash"],
          "send: messages arrive in order (%r)" % texts)
    check(all(m.get("from_user") == "8888" for m in got),
          "send: from_user is 8888")
    extra = await settle(peer)
    check(extra == [], "send: the empty line sent nothing (%r)" % extra)
    await peer.close()


async def test_receive(srv, json_mode):
    me = "json6666" if json_mode else "line6666"
    args = [CLIENT, "-u", me, "-s", srv.url]
    if json_mode:
        args.append("--json")
    p = await asyncio.create_subprocess_exec(
        *args, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    ok = srv.wait_log(r"user %s connected" % me, 5)
    check(ok, "receive: client connected")
    peer = await connect(srv, "8888")
    await peer.send(json.dumps({"message": "hi \x1b[2J there",
                                "target_user": me, "id": 1}))
    ack = await recv_json(peer)
    check(ack.get("status") == "delivered", "receive: delivered (%r)" % ack)
    try:
        line = await asyncio.wait_for(p.stdout.readline(), 5)
    except asyncio.TimeoutError:
        line = b""
    line = line.decode()
    if json_mode:
        try:
            obj = json.loads(line)
        except ValueError:
            obj = {}
        check(obj.get("message") == "hi \x1b[2J there" and
              obj.get("from_user") == "8888",
              "--json: the server's object, one per line (%r)" % line)
    else:
        check(re.fullmatch(r"\d\d:\d\d:\d\d 8888: hi \?\[2J there\n", line),
              "receive: 'HH:MM:SS FROM: TEXT', controls defused (%r)"
              % line)
    p.stdin.close()
    try:
        rc = await asyncio.wait_for(p.wait(), 10)
    except asyncio.TimeoutError:
        p.kill()
        rc = await p.wait()
    check(rc == 0, "receive: exit 0 at end of input (%r)" % rc)
    await peer.close()


async def test_offline(srv):
    rc, out, err, _ = await asyncio.to_thread(
        client, "-u", "8888", "-t", "7777", "-s", srv.url, "--json",
        stdin=b"for later\n")
    acks = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    check(rc == 0 and any(a.get("type") == "ack" and
                          a.get("status") == "queued" for a in acks),
          "offline: ack queued, exit 0 (%r, %r)" % (out, err))
    # 7777 connects later and gets it; stdin stays open for a moment.
    p = await asyncio.create_subprocess_exec(
        CLIENT, "-u", "7777", "-s", srv.url, "--wait", "1",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    try:
        line = (await asyncio.wait_for(p.stdout.readline(), 5)).decode()
    except asyncio.TimeoutError:
        line = ""
    check(line.endswith(" 8888: for later\n"),
          "offline: delivered on connect (%r)" % line)
    p.stdin.close()
    await asyncio.wait_for(p.wait(), 10)


async def test_who(srv):
    peer = await connect(srv, "5555")
    rc, out, err, _ = await asyncio.to_thread(
        client, "-u", "8888", "-s", srv.url, stdin=b"/who\n")
    m = re.search(r"^online: (.*)$", out, re.M)
    users = m.group(1).split() if m else []
    check(rc == 0 and "5555" in users and "8888" in users,
          "/who lists the users online (%r)" % out)
    rc, out, err, _ = await asyncio.to_thread(
        client, "-u", "8888", "-s", srv.url, stdin=b"no target\n")
    check(rc == 1 and "no target" in err,
          "a message without a target fails: exit 1 (%r)" % err)
    rc, out, err, _ = await asyncio.to_thread(
        client, "-u", "8888", "-t", "5555", "-s", srv.url,
        stdin=b"/frob\n/to bad!id\nok\n")
    check(rc == 1 and "unknown command '/frob'" in err and
          "usage: /to" in err, "bad commands fail: exit 1 (%r)" % err)
    try:
        msg = await recv_json(peer)
    except asyncio.TimeoutError:
        msg = {}
    check(msg.get("message") == "ok", "good lines still go out")
    await peer.close()


async def fake_server(handler):
    """A python3-websockets server that answers chats with handler."""
    import websockets

    async def serve(ws, path=None):
        async for data in ws:
            reply = handler(json.loads(data))
            if reply is not None:
                await ws.send(json.dumps(reply))
    return await websockets.serve(serve, "127.0.0.1", 0)


async def test_failures():
    def refuse(m):
        if "message" in m:
            return {"type": "error", "error": "queue_full",
                    "detail": "too many queued", "id": m.get("id")}
        return None
    server = await fake_server(refuse)
    port = server.sockets[0].getsockname()[1]
    rc, out, err, _ = await asyncio.to_thread(
        client, "-u", "8888", "-t", "6666", "-s",
        "ws://127.0.0.1:%d" % port, stdin=b"refused\n")
    check(rc == 1 and "queue_full: too many queued" in err,
          "an error for our id: exit 1 with the reason (%r)" % err)
    server.close()
    await server.wait_closed()

    server = await fake_server(lambda m: None)
    port = server.sockets[0].getsockname()[1]
    rc, out, err, secs = await asyncio.to_thread(
        client, "-u", "8888", "-t", "6666", "-s",
        "ws://127.0.0.1:%d" % port, "-w", "1", stdin=b"lost\n")
    check(rc == 1 and "1 message not acknowledged after 1 s" in err,
          "no ack: exit 1 after --wait (%r)" % err)
    check(secs < 5, "no ack: the wait is bounded (%.1fs)" % secs)
    server.close()
    await server.wait_closed()


async def main():
    test_options()
    test_unreachable()
    with Server() as srv:
        await test_send(srv)
        await test_receive(srv, False)
        await test_receive(srv, True)
        await test_offline(srv)
        await test_who(srv)
    await test_failures()


run(main())
done()
