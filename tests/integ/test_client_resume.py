# Copyright (c) 2026 The chat authors.
#
# chat-client's resume state in line mode (issue #8): messages sent
# while it is away are printed by the next run, exactly once across
# runs; a second "device" (another state directory) gets what the first
# one was given meanwhile, which the seed behaviour (--no-resume) does
# not; --no-resume neither reads nor writes state; a retention gap is
# reported; a server whose numbering restarted is followed; a corrupt
# seq file is a warning.  Against a scripted server: duplicates by seq
# are dropped (also from --json), messages without seq are all shown,
# and the request carries ?since=N.  Every run has its own temporary
# XDG_STATE_HOME.

import asyncio
import json
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ["TOP"], "tests/integ"))
from chatlib import (CLIENT, TMP, Server, check, connect, done, gone,
                     recv_until, run)

_ids = 0


def state_dir(name):
    return tempfile.mkdtemp(prefix="state-%s-" % name, dir=TMP)


def seq_file(state, url, user):
    port = url.rsplit(":", 1)[1]
    return os.path.join(state, "chat-client",
                        "ws_127.0.0.1_%s_%s.seq" % (port, user))


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def texts(lines):
    """'HH:MM:SS FROM: TEXT' lines -> [TEXT]."""
    out = []
    for l in lines:
        m = re.fullmatch(r"\d\d:\d\d:\d\d [^ :]+: (.*)\n", l)
        out.append(m.group(1) if m else "?" + l)
    return out


async def send(peer, to, *msgs):
    """Send each message from peer to `to` and wait for its ack."""
    global _ids
    for t in msgs:
        _ids += 1
        await peer.send(json.dumps({"message": t, "target_user": to,
                                    "id": _ids}))
        m, _ = await recv_until(
            peer, lambda m: m.get("type") in ("ack", "error"), 5)
        check(m.get("type") == "ack", "ack for %r (%r)" % (t, m))


class Reader:
    """A line-mode chat-client that keeps stdin open while it reads."""

    def __init__(self, url, user, state, *extra):
        self.args = [CLIENT, "-u", user, "-s", url, "-w", "2"] + list(extra)
        self.env = dict(os.environ, XDG_STATE_HOME=state)
        self.lines = []

    async def start(self):
        self.p = await asyncio.create_subprocess_exec(
            *self.args, env=self.env, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)

    async def until(self, text, timeout=10):
        """Read lines until one contains text; returns those before."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                check(False, "timed out waiting for %r (got %r)"
                      % (text, self.lines))
                return self.lines
            try:
                line = await asyncio.wait_for(self.p.stdout.readline(),
                                              left)
            except asyncio.TimeoutError:
                continue
            if not line:
                check(False, "end of output waiting for %r (got %r)"
                      % (text, self.lines))
                return self.lines
            line = line.decode("utf-8", "replace")
            if text in line:
                before, self.lines = self.lines, []
                return before
            self.lines.append(line)

    async def finish(self):
        """Close stdin; returns (rc, rest of stdout, stderr)."""
        self.p.stdin.close()
        try:
            out, err = await asyncio.wait_for(self.p.communicate(), 15)
        except asyncio.TimeoutError:
            self.p.kill()
            out, err = await self.p.communicate()
        return (self.p.returncode, out.decode("utf-8", "replace"),
                err.decode("utf-8", "replace"))


async def wait_connected(srv, user, before, timeout=5):
    """Wait until the server logged one more connection of user."""
    pat = r"user %s connected" % re.escape(user)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(re.findall(pat, srv.log())) > before:
            return True
        await asyncio.sleep(0.02)
    return check(False, "%s did not connect" % user)


async def wait_gone(srv, user):
    """After a run of the client has ended: wait until the server has
    seen it go, so that what is sent next finds the user offline (and is
    queued, not delivered to the closing connection)."""
    n = len(re.findall(r"user %s connected" % re.escape(user), srv.log()))
    check(await gone(srv, user, n), "the server saw %s leave" % user)


async def session(srv, peer, user, state, *extra, marker=None, what=""):
    """
    One run of the line client: once connected, peer sends a marker;
    returns the texts printed before it, after it checks that nothing
    followed it, that the client exited 0 and that the server saw it
    leave.  Returns (texts, stderr).
    """
    global _ids
    marker = marker or "marker %d" % (_ids + 1)
    n = len(re.findall(r"user %s connected" % re.escape(user), srv.log()))
    r = Reader(srv.url, user, state, *extra)
    await r.start()
    await wait_connected(srv, user, n)
    await send(peer, user, marker)
    before = texts(await r.until(marker))
    rc, rest, err = await r.finish()
    check(rc == 0, "%s: exit 0 (%r, %r)" % (what, rc, err))
    check(rest == "", "%s: nothing after the marker (%r)" % (what, rest))
    await wait_gone(srv, user)
    return before, err


async def test_offline_once(srv, peer):
    st = state_dir("aa")
    got, err = await session(srv, peer, "aa", st, what="first run")
    check(got == [], "first run: nothing waiting (%r)" % got)
    first = (read(seq_file(st, srv.url, "aa")) or "").split()
    check(len(first) == 2 and first[0] == "1" and len(first[1]) == 16,
          "first run: the seq file holds 1 and the epoch, learnt on the "
          "first connection (%r)" % first)
    mode = os.stat(os.path.join(st, "chat-client")).st_mode & 0o777
    check(mode == 0o700, "the state directory has mode 0700 (%o)" % mode)

    await send(peer, "aa", "while away 1", "while away 2")
    got, _ = await session(srv, peer, "aa", st, what="second run")
    check(got == ["while away 1", "while away 2"],
          "second run: what came while away, in order (%r)" % got)
    await send(peer, "aa", "while away 3")
    got, _ = await session(srv, peer, "aa", st, what="third run")
    check(got == ["while away 3"],
          "third run: only the new message, nothing twice (%r)" % got)
    got, _ = await session(srv, peer, "aa", st, what="fourth run")
    check(got == [], "fourth run: nothing again (%r)" % got)
    seq = read(seq_file(st, srv.url, "aa"))
    check(seq.split()[0] == "7" and len(seq.split()[1]) == 16,
          "the seq file holds the last seq printed and the epoch (%r)"
          % seq)
    log = read(seq_file(st, srv.url, "aa")[:-4] + ".log") or ""
    entries = [json.loads(l) for l in log.splitlines()]
    check([e.get("seq") for e in entries] == list(range(1, 8)) and
          all(e.get("dir") == "in" and e.get("from") == "bb" and
              e.get("to") == "aa" for e in entries),
          "the log holds each message printed once (%r)" % entries)

    # --no-resume: the seed behaviour, and the state is left alone.
    await send(peer, "aa", "queued for seed")
    got, _ = await session(srv, peer, "aa", st, "--no-resume",
                           what="--no-resume")
    check(got == ["queued for seed"],
          "--no-resume: the queued message, as before (%r)" % got)
    got, _ = await session(srv, peer, "aa", st, "--no-resume",
                           what="--no-resume again")
    check(got == [], "--no-resume: no replay of what was delivered (%r)"
          % got)
    check(read(seq_file(st, srv.url, "aa")) == seq,
          "--no-resume: the seq file is not written")
    check(len((read(seq_file(st, srv.url, "aa")[:-4] + ".log") or "")
              .splitlines()) == 7, "--no-resume: the log is not written")
    fresh = state_dir("fresh")
    await session(srv, peer, "aa", fresh, "--no-resume",
                  what="--no-resume, fresh")
    check(os.listdir(fresh) == [],
          "--no-resume: no state directory is made (%r)"
          % os.listdir(fresh))
    # With resume again: everything after 7, including what the
    # --no-resume runs printed (they did not count as shown).
    got, _ = await session(srv, peer, "aa", st, what="resume after seed")
    check(got == ["queued for seed", "marker %d" % (_ids - 3),
                  "marker %d" % (_ids - 2), "marker %d" % (_ids - 1)],
          "resume: after the last seq this state shows (%r)" % got)


async def test_two_devices(srv, peer):
    d1, d2, d3 = state_dir("d1"), state_dir("d2"), state_dir("d3")
    got, _ = await session(srv, peer, "dd", d2, what="device 2, first")
    check(got == [], "device 2: nothing yet (%r)" % got)
    # Device 1 is online and gets two messages live.
    n = len(re.findall(r"user dd connected", srv.log()))
    r = Reader(srv.url, "dd", d1)
    await r.start()
    await wait_connected(srv, "dd", n)
    await send(peer, "dd", "live one", "live two")
    got = texts(await r.until("live two"))
    check(got == ["live one"], "device 1 gets them live (%r)" % got)
    rc, rest, err = await r.finish()
    check(rc == 0 and rest == "", "device 1 exits 0 (%r, %r)" % (rc, err))
    await wait_gone(srv, "dd")
    # Device 2 resumes after its own last message: it gets both.
    got, _ = await session(srv, peer, "dd", d2, what="device 2, again")
    check(got == ["live one", "live two"],
          "device 2 gets what device 1 was given (%r)" % got)
    # The seed behaviour gets nothing: those were delivered, not queued.
    got, _ = await session(srv, peer, "dd", d3, "--no-resume",
                           what="device 3")
    check(got == [], "--no-resume: delivered messages are not sent (%r)"
          % got)


async def test_corrupt(srv, peer):
    st = state_dir("cc")
    path = seq_file(st, srv.url, "cc")
    os.makedirs(os.path.dirname(path), mode=0o700)
    with open(path, "w") as f:
        f.write("garbage\n")
    await send(peer, "cc", "queued for cc")
    got, err = await session(srv, peer, "cc", st, what="corrupt state")
    check(got == ["queued for cc"],
          "corrupt state: starts without since (%r)" % got)
    check(err.count("warning") == 1 and "holds no seq number" in err and
          "starting without resume state" in err,
          "corrupt state: one warning (%r)" % err)
    check((read(path) or "").split()[0] == "2",
          "corrupt state: a good file replaces it (%r)" % read(path))


async def test_gap():
    with Server("--history-limit", "3", name="gap") as srv:
        peer = await connect(srv, "bb")
        g1, g2 = state_dir("g1"), state_dir("g2")
        await session(srv, peer, "gg", g2, what="gap, first")
        n = len(re.findall(r"user gg connected", srv.log()))
        r = Reader(srv.url, "gg", g1)
        await r.start()
        await wait_connected(srv, "gg", n)
        await send(peer, "gg", "y1", "y2", "y3", "y4", "y5")
        await r.until("y5")
        await r.finish()
        await wait_gone(srv, "gg")
        # seq 1 shown; 2..6 sent; the server keeps 4, 5, 6 only.
        got, err = await session(srv, peer, "gg", g2, what="gap")
        check(got == ["y3", "y4", "y5"],
              "gap: the kept messages are printed (%r)" % got)
        check("chat-client: 2 messages after #1 were removed by the "
              "server's retention before they reached you" in err,
              "gap: reported (%r)" % err)
        await peer.close()


async def test_restart():
    st = state_dir("rr")
    with Server(name="before") as srv:
        port = srv.port
        peer = await connect(srv, "bb")
        await send(peer, "rr", "r1", "r2")
        got, _ = await session(srv, peer, "rr", st, what="before restart")
        check(got == ["r1", "r2"], "before the restart (%r)" % got)
        # A second run resumes, and learns the server's epoch.
        got, _ = await session(srv, peer, "rr", st, what="again")
        check(got == [], "nothing twice before the restart (%r)" % got)
        await peer.close()
    before = read(seq_file(st, srv.url, "rr")).split()
    check(len(before) == 2 and before[0].isdigit(),
          "a seq and an epoch before the restart (%r)" % before)
    with Server("--port", str(port), name="after") as srv:
        check(srv.port == port, "the server is back on its port")
        peer = await connect(srv, "bb")
        # More than the old seq: only the epoch shows they are new.
        await send(peer, "rr", "n1", "n2", "n3", "n4")
        got, _ = await session(srv, peer, "rr", st, what="after restart")
        check(got == ["n1", "n2", "n3", "n4"], "after a restart: the new "
              "numbering is followed, nothing dropped (%r)" % got)
        after = read(seq_file(st, srv.url, "rr")).split()
        check(int(after[0]) >= 4 and after[1] != before[1],
              "after a restart: the seq file follows (%r)" % after)
        await peer.close()


async def test_scripted():
    """A server that repeats itself: dedupe by seq, and ?since=."""
    import websockets

    paths = []
    script = {}

    async def serve(ws, path=None):
        if path is None:
            path = getattr(ws, "path", None) or ws.request.path
        paths.append(path)
        for m in script["events"]:
            await ws.send(json.dumps(m))
        async for _ in ws:
            pass

    def chat(text, seq=None):
        m = {"message": text, "from_user": "zz", "ts": 1767225600000}
        if seq is not None:
            m["seq"] = seq
        return m

    server = await websockets.serve(serve, "127.0.0.1", 0)
    url = "ws://127.0.0.1:%d" % server.sockets[0].getsockname()[1]
    st = state_dir("scripted")

    script["events"] = [{"type": "resumed", "since": 0, "first": 0,
                         "last": 0, "epoch": "00000000000000aa",
                         "cursor": True},
                        chat("a", 1), chat("a", 1), chat("b", 2),
                        chat("old server", None), chat("old server", None),
                        chat("b", 2), chat("end", 3)]
    r = Reader(url, "me", st)
    await r.start()
    got = texts(await r.until("end"))
    rc, rest, err = await r.finish()
    check(got == ["a", "b", "old server", "old server"],
          "scripted: repeats by seq dropped, seq-less shown (%r)" % got)
    check(rc == 0 and rest == "", "scripted: exit 0 (%r, %r)" % (rc, err))
    check(paths[-1] == "/demo/ws/me?epoch=", "no since the first time, "
          "the epoch asked for (%r)" % paths[-1])

    script["events"] = [{"type": "resumed", "since": 3, "first": 6,
                         "last": 7, "epoch": "00000000000000aa"},
                        {"type": "expired", "after": 3, "before": 6},
                        chat("f", 6), chat("end", 3), chat("g", 7)]
    r = Reader(url, "me", st, "--json")
    await r.start()
    got = await r.until('"g"')
    rc, rest, err = await r.finish()
    check(paths[-1] == "/demo/ws/me?since=3&epoch=00000000000000aa",
          "?since=3 and the epoch the second time (%r)" % paths[-1])
    objs = [json.loads(l) for l in got]
    check([o.get("type") or o.get("message") for o in objs] ==
          ["resumed", "expired", "f"], "--json: the repeat is dropped (%r)"
          % objs)
    check("2 messages after #3 were removed by the server's retention"
          in err, "a gap reported by the server (%r)" % err)

    # --no-resume: neither since nor dropping.
    script["events"] = [chat("x", 1), chat("x", 1), chat("end", 2)]
    r = Reader(url, "me", st, "--no-resume")
    await r.start()
    got = texts(await r.until("end"))
    await r.finish()
    check(paths[-1] == "/demo/ws/me", "--no-resume: no since (%r)"
          % paths[-1])
    check(got == ["x", "x"], "--no-resume: nothing dropped (%r)" % got)
    server.close()
    await server.wait_closed()


async def main():
    with Server() as srv:
        peer = await connect(srv, "bb")
        await test_offline_once(srv, peer)
        await test_two_devices(srv, peer)
        await test_corrupt(srv, peer)
        await peer.close()
    await test_gap()
    await test_restart()
    await test_scripted()


run(main())
done()
