# Copyright (c) 2026 The chat authors.
#
# chat-client's line mode against a real server: options and exit
# status 2, an unreachable server (exit 1, quickly, with the reason),
# sending from a pipe to a python3-websockets peer, receiving into
# stdout as "HH:MM:SS FROM: TEXT" and as JSON, offline targets (ack
# "queued", delivery on connect), /who, commands that fail, and
# permessage-deflate (on by default, --no-compress) with our server and
# with python3-websockets' server, which keeps its window between
# messages.

import asyncio
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["TOP"], "tests/integ"))
from chatlib import (CLIENT, Server, check, connect, done, free_port,
                     recv_json, run, send, settle)


def client(*args, stdin=b"", timeout=20):
    """Run chat-client to completion; returns (rc, stdout, stderr, secs)."""
    t0 = time.monotonic()
    p = subprocess.run([CLIENT] + list(args), input=stdin,
                       capture_output=True, timeout=timeout)
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"), time.monotonic() - t0)


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
        # --json shows every server object: the first is the answer
        # to the client's question for the epoch.
        if json_mode and b'"type":"resumed"' in line:
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


def client_env(*args, stdin=b"", env=None, timeout=20):
    """client() with extra environment variables."""
    e = dict(os.environ)
    e.update(env or {})
    t0 = time.monotonic()
    p = subprocess.run([CLIENT] + list(args), input=stdin, env=e,
                       capture_output=True, timeout=timeout)
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"), time.monotonic() - t0)


async def test_lines(srv):
    """Blank lines are not sent; lines up to 64 KiB are; longer ones and
    messages too long as JSON are refused with the reason."""
    peer = await connect(srv, "line5555")
    long_ok = "x" * 60000
    too_long_json = "\"" * 40000          # 80 KB once escaped
    stdin = ("   \n\t\n" + long_ok + "\n" + too_long_json + "\n" +
             "y" * 70000 + "\nafter\n").encode()
    rc, out, err, _ = await asyncio.to_thread(
        client, "-u", "8888", "-t", "line5555", "-s", srv.url, stdin=stdin)
    got = []
    for _ in range(2):
        try:
            got.append((await recv_json(peer, 5)).get("message"))
        except asyncio.TimeoutError:
            break
    check(got == [long_ok, "after"],
          "lines: blanks skipped, 60,000 bytes sent whole (%r)"
          % [len(g or "") for g in got])
    extra = await settle(peer)
    check(extra == [], "lines: nothing else was sent (%r)" % extra)
    check(rc == 1 and "line 4: message too long: 80" in err and
          "the server takes at most 65536" in err,
          "lines: too long as JSON is refused before sending (%r)" % err)
    check("line 5 is longer than 65536 bytes" in err,
          "lines: a line over 64 KiB is refused (%r)" % err)
    await peer.close()


async def test_listen_count_timeout(srv):
    # --listen --count 2: receive two messages, exit 0, stdin unread.
    p = await asyncio.create_subprocess_exec(
        CLIENT, "-u", "lst6666", "-s", srv.url, "--listen", "--count", "2",
        "--timeout", "20", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    check(srv.wait_log(r"user lst6666 connected", 5), "listen: connected")
    peer = await connect(srv, "lst8888")
    for i in range(3):
        await send(peer, {"message": "m%d" % i, "target_user": "lst6666"})
    try:
        out, err = await asyncio.wait_for(p.communicate(), 10)
    except asyncio.TimeoutError:
        p.kill()
        out, err = await p.communicate()
    lines = out.decode().splitlines()
    check(p.returncode == 0 and len(lines) == 2 and
          lines[1].endswith(" lst8888: m1"),
          "--count 2: two messages, exit 0 (%r, %r)" % (p.returncode, lines))
    # --timeout with --count not reached: exit 1 saying so, in time.
    rc, out, err, secs = await asyncio.to_thread(
        client, "-u", "lst7777", "-s", srv.url, "--listen", "--count", "5",
        "--timeout", "700ms")
    check(rc == 1 and "timed out after 700 ms: 0 of 5 messages received"
          in err, "--timeout before --count: exit 1 (%r, %r)" % (rc, err))
    check(secs < 5, "--timeout: on time (%.1fs)" % secs)
    # --listen --timeout alone: listening that long is a success.
    rc, out, err, secs = await asyncio.to_thread(
        client, "-u", "lst7777", "-s", srv.url, "--listen", "--timeout",
        "300ms")
    check(rc == 0 and secs < 5, "--listen --timeout: exit 0 (%r, %r)"
          % (rc, err))
    # /msg and /r in line mode.
    await send(peer, {"message": "who is there", "target_user": "lst7777"})
    rc, out, err, _ = await asyncio.to_thread(
        client, "-u", "lst7777", "-s", srv.url,
        stdin=b"/msg lst8888 by msg\n")
    m = await recv_json(peer)
    check(rc == 0 and m.get("message") == "by msg",
          "/msg in line mode (%r, %r)" % (rc, m))
    await peer.close()
    bad = [("--count", "0"), ("--count", "x"), ("--timeout", "0"),
           ("--timeout", "8d"), ("--color=sometimes",)]
    for args in bad:
        rc, out, err, _ = client("-u", "8888", *args)
        check(rc == 2 and "invalid value" in err,
              "%s: exit 2 (%r)" % (" ".join(args), err))


async def test_config_env(srv):
    home = os.path.join(os.environ.get("TEST_TMP", "/tmp"), "cfghome")
    cfgdir = os.path.join(home, "config", "chat-client")
    os.makedirs(cfgdir, exist_ok=True)
    with open(os.path.join(cfgdir, "config"), "w") as f:
        f.write("# chat-client settings\nuser = cfg8888\n"
                "server = %s\n  to = cfg6666\nbell = off\n" % srv.url)
    env = {"XDG_CONFIG_HOME": os.path.join(home, "config")}
    peer = await connect(srv, "cfg6666")
    rc, out, err, _ = await asyncio.to_thread(
        client_env, stdin=b"from the config\n", env=env)
    m = await recv_json(peer)
    check(rc == 0 and m.get("message") == "from the config" and
          m.get("from_user") == "cfg8888",
          "a plain chat-client works from the config file (%r, %r)"
          % (err, m))
    # The environment over the file, the command line over both.
    other = await connect(srv, "env7777")
    env2 = dict(env, CHAT_USER="env8888", CHAT_TO="env7777")
    rc, out, err, _ = await asyncio.to_thread(
        client_env, stdin=b"from the env\n", env=env2)
    m = await recv_json(other)
    check(rc == 0 and m.get("from_user") == "env8888",
          "CHAT_USER and CHAT_TO over the file (%r)" % m)
    rc, out, err, _ = await asyncio.to_thread(
        client_env, "-u", "opt8888", "-t", "cfg6666",
        stdin=b"from the options\n", env=env2)
    m = await recv_json(peer)
    check(rc == 0 and m.get("from_user") == "opt8888",
          "options over the environment (%r)" % m)
    rc, out, err, _ = client_env(env=dict(env, CHAT_SERVER="http://x"))
    check(rc == 2 and "invalid server URL 'http://x'" in err,
          "CHAT_SERVER is checked as --server is (%r)" % err)
    with open(os.path.join(cfgdir, "config"), "w") as f:
        f.write("user = ok\nfrob = 1\n")
    rc, out, err, _ = client_env(env=env)
    check(rc == 2 and "line 2: unknown key 'frob'" in err,
          "an unknown key is an error, with its line (%r)" % err)
    with open(os.path.join(cfgdir, "config"), "w") as f:
        f.write("user = bad id\n")
    rc, out, err, _ = client_env(env=env)
    check(rc == 2 and "invalid user id 'bad id' for user" in err,
          "a bad value is an error (%r)" % err)
    await peer.close()
    await other.close()
    # HOME that does not exist is not created.
    rc, out, err, _ = client_env(
        "-u", "8888", "-t", "6666", "-s", srv.url, stdin=b"x\n",
        env={"HOME": "/nonexistent-chat-home", "XDG_STATE_HOME": "",
             "XDG_CONFIG_HOME": ""})
    check(not os.path.exists("/nonexistent-chat-home"),
          "HOME=/nonexistent is not created")
    check(rc == 0 and "no home directory '/nonexistent-chat-home'" in err,
          "... and the client says it keeps no state (%r)" % err)


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


async def test_compress(srv):
    long_text = "compress me, 压缩我 " * 60
    peer = await connect(srv, "6060")
    for args, want in (((), True), (("--no-compress",), False),
                       (("--no-compress", "--compress"), True)):
        log = os.path.join(os.environ.get("TEST_TMP", "."), "c.log")
        if os.path.exists(log):
            os.unlink(log)
        rc, out, err, _ = await asyncio.to_thread(
            client, "-u", "6061", "-t", "6060", "-s", srv.url, "-v",
            "-l", log, *args, stdin=(long_text + "\n").encode())
        with open(log, encoding="utf-8", errors="replace") as f:
            text = f.read()
        check(rc == 0 and ("(permessage-deflate)" in text) == want,
              "%r: deflate %s (%r, %r)" % (args, want, rc, text[-300:]))
        try:
            msg = await recv_json(peer)
        except asyncio.TimeoutError:
            msg = {}
        check(msg.get("message") == long_text, "%r: message intact" % (args,))
    await peer.close()

    # A server that keeps its window: three related messages inflate.
    import websockets

    async def push(ws, path=None):
        for i in range(3):
            await ws.send(json.dumps({"message": long_text + str(i),
                                      "from_user": "w", "seq": i + 1}))
        await ws.wait_closed()
    server = await websockets.serve(push, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    p = await asyncio.create_subprocess_exec(
        CLIENT, "-u", "6062", "-s", "ws://127.0.0.1:%d" % port, "--json",
        "--no-resume", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE)
    got = []
    try:
        for _ in range(3):
            got.append(json.loads(await asyncio.wait_for(
                p.stdout.readline(), 5)).get("message"))
    except (asyncio.TimeoutError, ValueError):
        pass
    check(got == [long_text + str(i) for i in range(3)],
          "context takeover from the server: %d of 3 intact" % len(got))
    p.stdin.close()
    try:
        await asyncio.wait_for(p.wait(), 10)
    except asyncio.TimeoutError:
        p.kill()
        await p.wait()
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
        await test_lines(srv)
        await test_listen_count_timeout(srv)
        await test_config_env(srv)
        await test_compress(srv)
    await test_failures()


run(main())
done()
