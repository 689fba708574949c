# Copyright (c) 2026 The chat authors.
#
# test_store: durable per-user history (issue #8).  Every chat event
# carries the receiving user's seq; ?since=N in the URL or a first
# {"type":"resume","since":N} message replays what came after N; the
# SQLite store (--store FILE) keeps it all across a clean stop and a
# kill -9.  Covers: seq numbering, both resume forms, clamping, the
# seed behaviour without since, persistence, a kill -9 while four
# senders and three receivers are busy (every acked message exactly
# once, in order), a burst written into a socket nobody read, the
# retention limits, and the memory store's identical semantics.

import asyncio
import json
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chatlib  # noqa: E402
from chatlib import check, connect, recv_json, settle  # noqa: E402
from chatlib import RawWS, send  # noqa: E402
from chatlib import upath, resume, take, seqs, texts, chats  # noqa: E402
from chatlib import chat_ack, gone, lap  # noqa: E402
from chatlib import RState, SState, kreceiver, ksender  # noqa: E402
from chatlib import flow_settle, flow_verdict  # noqa: E402

import websockets  # noqa: E402

TMP = chatlib.TMP


# ---- helpers ----

def resumed_ok(r, since, first, last):
    return (r.get("type") == "resumed" and r.get("since") == since and
            r.get("first") == first and r.get("last") == last)


def all_gone(r):
    """What follows a "resumed" r when retention kept nothing: the gap
    after since, if there is one, told as an "expired" event."""
    if r.get("first") != 0 or r.get("last", 0) <= r.get("since", 0):
        return []
    return [{"type": "expired", "after": r["since"],
             "before": r["last"] + 1}]


def rst_close(sock):
    """Close with an RST (SO_LINGER 0): unread data is thrown away."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                    struct.pack("ii", 1, 0))
    sock.close()


# ---- seq numbering and the two resume forms ----

async def test_seq_basics(s, p):
    A, B, C = p + "alice", p + "bob", p + "carol"
    a1 = await connect(s, A)
    a2 = await connect(s, A)
    b = await connect(s, B)
    c = await connect(s, C)
    for i in range(1, 4):
        ack = await chat_ack(c, A, "a%d" % i, i)
        check(ack == {"type": "ack", "id": i, "status": "delivered"},
              "%s: ack delivered %d: %r" % (p, i, ack))
    e1 = await take(a1, 3)
    e2 = await take(a2, 3)
    check(seqs(e1) == [1, 2, 3], "%s: seq 1,2,3 for the receiver: %r"
          % (p, e1))
    check(e1 == e2, "%s: both connections of a user see the same events "
          "and seqs: %r vs %r" % (p, e1, e2))
    check(all(e.get("from_user") == C and isinstance(e.get("ts"), int)
              for e in e1) and texts(e1) == ["a1", "a2", "a3"],
          "%s: events keep message, from_user, ts" % p)
    # Another receiver counts on its own; seq is per receiver, not pair.
    await chat_ack(c, B, "b1", "b1")
    await chat_ack(c, B, "b2", "b2")
    await chat_ack(a1, B, "b3", "b3")
    eb = await take(b, 3)
    check(seqs(eb) == [1, 2, 3] and eb[2].get("from_user") == A,
          "%s: other user numbered independently: %r" % (p, eb))
    # alice's other connection gets a copy of what a1 sent (live only).
    copy = await recv_json(a2)
    check(copy.get("type") == "sent" and copy.get("message") == "b3" and
          copy.get("target_user") == B and "seq" not in copy,
          "%s: a2 gets a sent copy of a1's message: %r" % (p, copy))
    check(not await settle(a1) and not await settle(a2),
          "%s: nothing extra on alice's connections" % p)

    # URL form: resumed, then seq > since, then live.
    a3, r = await resume(s, A, 1)
    check(resumed_ok(r, 1, 1, 3), "%s: ?since=1 -> resumed since 1 first "
          "1 last 3: %r" % (p, r))
    rep = await take(a3, 2)
    check(rep == e1[1:], "%s: replay is seq 2,3, identical events: %r"
          % (p, rep))
    check(not await settle(a3), "%s: nothing after the replay" % p)
    await chat_ack(c, A, "a4", 4)
    live = [await recv_json(w) for w in (a1, a2, a3)]
    check(all(e.get("seq") == 4 and e.get("message") == "a4"
              for e in live) and live[0] == live[1] == live[2],
          "%s: live seq 4 on all three connections: %r" % (p, live))

    # Message form, on a connection that has nothing pending.
    a4 = await connect(s, A)
    check(not await settle(a4), "%s: no since: nothing re-sent to "
          "a new connection" % p)
    await send(a4, {"type": "resume", "since": 2})
    r = await recv_json(a4)
    check(resumed_ok(r, 2, 1, 4), "%s: resume message -> resumed since 2 "
          "first 1 last 4: %r" % (p, r))
    rep = await take(a4, 2)
    check(seqs(rep) == [3, 4] and texts(rep) == ["a3", "a4"],
          "%s: resume message replays 3,4: %r" % (p, rep))
    check(not await settle(a4), "%s: nothing more after the resume "
          "message's replay" % p)

    # since == last: resumed, nothing replayed.
    a5, r = await resume(s, A, 4)
    check(resumed_ok(r, 4, 1, 4), "%s: ?since=last: %r" % (p, r))
    check(not await settle(a5), "%s: ?since=last replays nothing"
          % p)
    # since beyond last: clamped to 0, everything replayed.
    a6, r = await resume(s, A, 100)
    check(resumed_ok(r, 0, 1, 4), "%s: ?since=100 > last: since clamped "
          "to 0: %r" % (p, r))
    rep = await take(a6, 4)
    check(seqs(rep) == [1, 2, 3, 4], "%s: clamped resume replays all: %r"
          % (p, seqs(rep)))
    check(not await settle(a6), "%s: and nothing more" % p)
    # since with a token, either order; a fresh user.
    a7, r = await resume(s, A, 3, "token=abc")
    check(resumed_ok(r, 3, 1, 4), "%s: ?since=3&token=abc: %r" % (p, r))
    rep = await take(a7, 1)
    check(seqs(rep) == [4], "%s: ... replays seq 4: %r" % (p, rep))
    a8 = await connect(s, path="/demo/ws/%s?token=abc&since=3" % A)
    r = await recv_json(a8)
    check(resumed_ok(r, 3, 1, 4), "%s: ?token=abc&since=3: %r" % (p, r))
    rep = await take(a8, 1)
    check(seqs(rep) == [4], "%s: ... replays seq 4: %r" % (p, rep))
    f1, r = await resume(s, p + "fresh", 0)
    check(resumed_ok(r, 0, 0, 0), "%s: fresh user since=0 -> first 0 "
          "last 0: %r" % (p, r))
    f2, r = await resume(s, p + "fresh2", 7)
    check(resumed_ok(r, 0, 0, 0), "%s: fresh user since=7 -> clamped "
          "to 0, first 0 last 0: %r" % (p, r))
    await chat_ack(c, p + "fresh", "hello", "f")
    m = await recv_json(f1)
    check(m.get("seq") == 1 and m.get("message") == "hello",
          "%s: fresh user's first live message is seq 1: %r" % (p, m))
    check(not await settle(f2), "%s: nothing for fresh2" % p)
    for w in (a1, a2, a3, a4, a5, a6, a7, a8, b, c, f1, f2):
        await w.close()


async def test_bad_since(s, p):
    """A since that is no seq: refused (400) or answered, never a crash;
    a bad resume message gets an error event."""
    for q in ("since=abc", "since=-1", "since=", "since=1x",
              "since=" + "9" * 25):
        try:
            w = await connect(s, path="/demo/ws/%sbad?%s" % (p, q))
            r = await recv_json(w)
            ok = r.get("type") == "resumed"
            await w.close()
        except websockets.InvalidStatusCode as e:
            ok = e.status_code == 400
            r = e.status_code
        check(ok, "%s: ?%s: 400 or resumed: %r" % (p, q, r))
    w = await connect(s, p + "bad")
    for bad in ({"type": "resume", "since": "3"},
                {"type": "resume", "since": -1},
                {"type": "resume"}):
        await send(w, bad)
        r = await recv_json(w)
        check(r.get("type") == "error" or r.get("type") == "resumed",
              "%s: %s: an error (or resumed): %r" % (p, json.dumps(bad), r))
    await send(w, {"type": "who"})
    r, _ = await chatlib.recv_until(w, lambda m: m.get("type") == "who")
    check(p + "bad" in r.get("users", []), "%s: still served" % p)
    await w.close()


async def test_resume_msg_with_pending(s, p):
    """The message form on a connection that got the offline queue
    first: what follows resumed is exactly seq > since."""
    U, C = p + "mf", p + "mfc"
    c = await connect(s, C)
    u = await connect(s, U)
    for i in range(1, 4):
        await chat_ack(c, U, "m%d" % i, i)
    await take(u, 3)
    await u.close()
    check(await gone(s, U), "%s: mf disconnected" % p)
    for i in range(4, 6):
        ack = await chat_ack(c, U, "m%d" % i, i)
        check(ack.get("status") == "queued", "%s: queued %d: %r"
              % (p, i, ack))
    u = await connect(s, U)
    await send(u, {"type": "resume", "since": 2})
    got = await settle(u)
    idx = [i for i, m in enumerate(got) if m.get("type") == "resumed"]
    check(len(idx) == 1, "%s: one resumed: %r" % (p, got))
    if idx:
        before, r, after = got[:idx[0]], got[idx[0]], got[idx[0] + 1:]
        check(resumed_ok(r, 2, 1, 5), "%s: resumed since 2 first 1 last 5:"
              " %r" % (p, r))
        check(seqs(before) in ([], [4], [4, 5]), "%s: before resumed at "
              "most the queued 4,5: %r" % (p, seqs(before)))
        check(seqs(after) == [3, 4, 5] and texts(after) == ["m3", "m4",
                                                            "m5"],
              "%s: after resumed exactly 3,4,5: %r" % (p, after))
    await u.close()
    await c.close()


async def test_no_since(s, p):
    """Without since: the seed's offline queue, sent once."""
    D, C = p + "dave", p + "dc"
    c = await connect(s, C)
    for i in range(1, 4):
        ack = await chat_ack(c, D, "q%d" % i, i)
        check(ack == {"type": "ack", "id": i, "status": "queued"},
              "%s: queued for offline %d: %r" % (p, i, ack))
    d = await connect(s, D)
    got = await take(d, 3)
    check(seqs(got) == [1, 2, 3] and texts(got) == ["q1", "q2", "q3"] and
          all(m.get("type") is None for m in got),
          "%s: no since: queue (seq 1..3) first, no resumed: %r" % (p, got))
    ack = await chat_ack(c, D, "live", "L")
    m = await recv_json(d)
    check(ack.get("status") == "delivered" and m.get("seq") == 4,
          "%s: then live seq 4: %r %r" % (p, ack, m))
    d2 = await connect(s, D)
    check(not await settle(d2), "%s: a second connection without "
          "since gets nothing already sent" % p)
    await d.close()
    await d2.close()
    check(await gone(s, D, 2), "%s: dave gone" % p)
    d = await connect(s, D)
    check(not await settle(d), "%s: reconnect without since: "
          "nothing re-sent" % p)
    await d.close()
    check(await gone(s, D, 3), "%s: dave gone again" % p)
    for i in (5, 6):
        await chat_ack(c, D, "q%d" % i, i)
    d = await connect(s, D)
    got = await settle(d)
    check(seqs(got) == [5, 6], "%s: only the new queued 5,6: %r"
          % (p, seqs(got)))
    await d.close()
    await c.close()


# ---- persistence across a clean stop and a kill -9 ----

async def test_persistence():
    store = os.path.join(TMP, "persist.db")
    s1 = chatlib.Server("--store", store, name="persist1")
    try:
        c = await connect(s1, "pc")
        on = await connect(s1, "pon")
        for i in range(1, 4):
            ack = await chat_ack(c, "poff", "off%d" % i, i)
            check(ack.get("status") == "queued", "queued %d: %r" % (i, ack))
            ack = await chat_ack(c, "pon", "on%d" % i, i)
            check(ack.get("status") == "delivered", "delivered %d" % i)
        evon = await take(on, 3)
        check(seqs(evon) == [1, 2, 3], "pon got 1..3: %r" % seqs(evon))
        await on.close()
        await c.close()
        await gone(s1, "pon")
    finally:
        rc = s1.stop()
    check(rc == 0, "SIGTERM with a store: exit 0 (got %r)" % rc)

    s2 = chatlib.Server("--store", store, name="persist2")
    try:
        off = await connect(s2, "poff")
        got = await take(off, 3)
        check(seqs(got) == [1, 2, 3] and texts(got) == ["off1", "off2",
                                                        "off3"],
              "after SIGTERM: offline queue kept: %r" % got)
        c = await connect(s2, "pc")
        await chat_ack(c, "poff", "off4", 4)
        m = await recv_json(off)
        check(m.get("seq") == 4, "seq continues after restart: %r" % m)
        on = await connect(s2, "pon")
        check(not await settle(on), "after restart, no since: "
              "messages sent before are not re-sent")
        on2, r = await resume(s2, "pon", 0)
        check(resumed_ok(r, 0, 1, 3), "after restart ?since=0: %r" % r)
        epoch = r.get("epoch", "")
        check(len(epoch) == 16 and "reset" not in r,
              "resumed names the store's epoch, no reset: %r" % r)
        rep = await take(on2, 3)
        check(rep == evon, "replay after restart is identical (text, "
              "from_user, ts, seq): %r vs %r" % (rep, evon))
        await on.close()
        await on2.close()
        await off.close()
        await gone(s2, "pon", 2)
        await gone(s2, "poff")
        for i in (1, 2):
            ack = await chat_ack(c, "poff2", "x%d" % i, i)
            check(ack.get("status") == "queued", "poff2 queued")
        for i in (4, 5):
            ack = await chat_ack(c, "pon", "on%d" % i, i)
            check(ack.get("status") == "queued", "pon queued %d" % i)
        await c.close()
        # No wait before the kill: an ack comes after the commit.
    finally:
        s2.kill()
    check(s2.proc.returncode == -9, "server killed with SIGKILL")

    s3 = chatlib.Server("--store", store, name="persist3")
    with s3:
        off2 = await connect(s3, "poff2")
        got = await take(off2, 2)
        check(seqs(got) == [1, 2] and texts(got) == ["x1", "x2"],
              "after kill -9: offline queue kept: %r" % got)
        on = await connect(s3, "pon")
        got = await settle(on)
        check(seqs(got) == [4, 5] and texts(got) == ["on4", "on5"],
              "after kill -9, no since: exactly the unsent 4,5: %r" % got)
        c = await connect(s3, "pc")
        ack = await chat_ack(c, "pon", "on6", 6)
        m = await recv_json(on)
        check(ack.get("status") == "delivered" and m.get("seq") == 6,
              "seq continues after kill -9 (6): %r" % m)
        off, r = await resume(s3, "poff", 0)
        check(resumed_ok(r, 0, 1, 4), "poff ?since=0: %r" % r)
        check(r.get("epoch") == epoch, "the same file keeps its epoch "
              "across kill -9: %r vs %r" % (r.get("epoch"), epoch))
        w, r = await resume(s3, "poff", 2, "epoch=" + epoch)
        check(resumed_ok(r, 2, 1, 4) and "reset" not in r,
              "?since=2 with our epoch: as asked: %r" % r)
        check(seqs(await take(w, 2)) == [3, 4], "then 3, 4")
        await w.close()
        got = await take(off, 4)
        check(seqs(got) == [1, 2, 3, 4], "poff history kept: %r"
              % seqs(got))
        for w in (off, off2, on, c):
            await w.close()

    # A new, empty store file: numbering restarts, since is clamped.
    with chatlib.Server("--store", os.path.join(TMP, "other.db"),
                        name="persist-new") as s4:
        w, r = await resume(s4, "pon", 6)
        check(resumed_ok(r, 0, 0, 0) and r.get("reset") is True,
              "new store file: ?since=6 -> since 0 first 0 last 0, "
              "reset: %r" % r)
        check(r.get("epoch") not in ("", None, epoch),
              "a new file has a new epoch: %r" % r)
        await w.close()


async def test_memory_restart():
    """The memory store forgets on restart: since is clamped to 0."""
    with chatlib.Server(name="mem-a") as s:
        c = await connect(s, "mc")
        for i in range(3):
            await chat_ack(c, "mu", "m%d" % i, i)
        w, r = await resume(s, "mu", 0)
        check(resumed_ok(r, 0, 1, 3), "memory: ?since=0: %r" % r)
        await take(w, 3)
        await w.close()
        await c.close()
    epoch_a = r.get("epoch", "")
    with chatlib.Server(name="mem-b") as s:
        w, r = await resume(s, "mu", 3)
        check(resumed_ok(r, 0, 0, 0), "memory after restart: ?since=3 "
              "-> since 0 first 0 last 0: %r" % r)
        check(r.get("epoch") != epoch_a, "a new run, a new epoch: %r" % r)
        c = await connect(s, "mc")
        await chat_ack(c, "mu", "new", 1)
        m = await recv_json(w)
        check(m.get("seq") == 1, "memory after restart: seq 1 again: %r"
              % m)
        await w.close()
        # More than since arrived meanwhile: without the epoch, since=2
        # would skip 1 and 2; with it, they are replayed.
        for i in range(2, 6):
            await chat_ack(c, "mu", "new%d" % i, i)
        w, r = await resume(s, "mu", 2, "epoch=" + epoch_a)
        check(resumed_ok(r, 0, 1, 5) and r.get("reset") is True,
              "memory after restart, ?since=2&epoch=old: reset to 0: %r"
              % r)
        got = await take(w, 5)
        check(seqs(got) == [1, 2, 3, 4, 5], "all five replayed: %r"
              % seqs(got))
        await w.close()
        await c.close()


# ---- kill -9 while messages flow ----

RECEIVERS = ["kr0", "kr1", "kr2"]
NSEND = 4


async def test_kill9_flow():
    store = os.path.join(TMP, "kill9.db")
    rs = {u: RState(u) for u in RECEIVERS}
    ss = [SState(i, "ks", RECEIVERS) for i in range(NSEND)]
    kills = 3
    t0 = time.monotonic()
    for phase in range(kills + 1):
        # Both sync modes survive a kill -9 of the server.
        sync = ("normal", "full")[phase % 2]
        s = chatlib.Server("--store", store, "--history-limit", "100000",
                           "--queue-limit", "100000", "--store-sync", sync,
                           name="kill9-%d" % phase)
        try:
            rtasks = [asyncio.ensure_future(
                kreceiver(s.url, rs[u], check_resumed=True))
                for u in RECEIVERS]
            # Receivers first, so the flow is live.
            deadline = time.monotonic() + 5
            while (any(len(r.resumed) < phase + 1 for r in rs.values())
                   and time.monotonic() < deadline):
                await asyncio.sleep(0.01)
            stop = asyncio.Event()
            final = phase == kills
            acked0 = sum(len(x.acked) for x in ss)
            stasks = [asyncio.ensure_future(
                ksender(s.url, x, stop, 300 if final else None,
                        ack_wait=20, close_wait=15))
                for x in ss]
            if not final:
                deadline = time.monotonic() + 4
                while (sum(len(x.acked) for x in ss) - acked0 < 800 and
                       time.monotonic() < deadline):
                    await asyncio.sleep(0.005)
                flowing = sum(len(x.acked) for x in ss) - acked0
                inflight = sum(len(x.outstanding) for x in ss)
                s.kill()	# SIGKILL, mid-flow
                check(s.proc.returncode == -9, "phase %d: SIGKILL" % phase)
                print("phase %d (--store-sync %s): killed after %d new "
                      "acks, %d in flight" % (phase, sync, flowing,
                                              inflight))
                stop.set()
                await asyncio.wait_for(asyncio.gather(*stasks), 20)
                await asyncio.wait_for(asyncio.gather(*rtasks), 20)
            else:
                await asyncio.wait_for(asyncio.gather(*stasks), 40)
                # Wait for every acked message to reach its receiver.
                await flow_settle(rs, ss, 20)
                await asyncio.wait_for(asyncio.gather(*rtasks), 10)
        finally:
            if s.proc.poll() is None:
                rc = s.stop()
                check(rc == 0, "final server exits 0 (%r)" % rc)
            else:
                s.kill()

    # The analysis.
    def dense(u, sq):
        check(sq == list(range(1, len(sq) + 1)),
              "%s: seqs 1..%d, strictly increasing, no gap or repeat "
              "across the restarts (bad at %r)" %
              (u, len(sq), next(((i, v) for i, v in enumerate(sq)
                                 if v != i + 1), None)))

    nsent, nacked, unacked_delivered, _ = flow_verdict(rs, ss, dense)
    print("kill -9 flow: %d kills, %d sent, %d acked, %d unacked of which "
          "%d delivered, received %s, %.1f s" %
          (kills, nsent, nacked, nsent - nacked, unacked_delivered,
           [len(rs[u].got) for u in RECEIVERS], time.monotonic() - t0))


async def test_checkpoint_kill9():
    """Thousands of WAL pages: the checkpointer (a thread of its own)
    copies them into the database file while messages flow, and a kill
    -9 afterwards loses none that was acknowledged."""
    store = os.path.join(TMP, "ckpt.db")
    R, N, W, SIZE = 4, 4800, 40, 2000
    s = chatlib.Server("--store", store, "--history-limit", "100000",
                       "--queue-limit", "100000", name="ckpt")
    sent = {}
    try:
        c = await connect(s, "ck-s")
        body = "x" * SIZE
        # Offline receivers: everything stays in the file.
        for i in range(0, N, W):
            for j in range(i, i + W):
                await send(c, {"message": "%d %s" % (j, body),
                               "target_user": "ck-r%d" % (j % R),
                               "id": j})
            for _ in range(W):
                a = await recv_json(c)
                check(a.get("status") == "queued", "ckpt: queued: %r" % a)
                sent[a.get("id")] = True
        # Some 9,000 pages went through the WAL, twice the checkpoint
        # interval (server/ckpt.c CKPT_FRAMES): the database file holds
        # them without a restart.
        deadline = time.monotonic() + 10
        while (os.path.getsize(store) < N * SIZE // 2 and
               time.monotonic() < deadline):
            await asyncio.sleep(0.05)
        check(os.path.getsize(store) >= N * SIZE // 2,
              "ckpt: pages checkpointed into the file while running "
              "(%d bytes)" % os.path.getsize(store))
    finally:
        s.kill()
    check(len(sent) == N, "ckpt: %d acked" % len(sent))
    with chatlib.Server("--store", store, name="ckpt2") as s2:
        for k in range(R):
            w, r = await resume(s2, "ck-r%d" % k, 0)
            got = await take(w, N // R, timeout=10)
            ids = [int(m.get("message", "-1 ").split(" ", 1)[0])
                   for m in got]
            check(ids == list(range(k, N, R)) and
                  seqs(got) == list(range(1, N // R + 1)),
                  "ckpt: after kill -9, ck-r%d has all %d in order"
                  % (k, N // R))
            await w.close()


# ---- a burst written into a socket nobody read ----

async def raw_burst_cut(s, a, p, R, n, size, rcvbuf=None):
    """A raw receiver (?since=0) reads 3 of an n-message burst, then
    the socket is reset with the rest unread.  A seed reconnect gets at
    most a tail never written; ?since=3 gets 4..n exactly.  Returns the
    length of that tail."""
    pad = "b" * size
    raw = RawWS(s.port, upath(R, 0), rcvbuf=rcvbuf)
    r = raw.recv_json()
    check(resumed_ok(r, 0, 0, 0), "%s: raw receiver resumed: %r" % (p, r))
    for i in range(1, n + 1):
        await send(a, {"message": "%04d:%s" % (i, pad), "target_user": R,
                       "id": i})
    acks = await take(a, n, 20)
    check(len(acks) == n and all(x.get("status") == "delivered"
                                 for x in acks),
          "%s: %d acked delivered (%d)" % (p, n, len(acks)))
    done = []
    for _ in range(3):
        m = raw.recv_json()
        done.append(m.get("seq"))
    check(done == [1, 2, 3], "%s: the raw receiver read seq 1..3: %r"
          % (p, done))
    # Not a synchronization: the checks below hold however much the
    # server has written by the cut (less written, a longer tail); the
    # pause lets it fill the socket, so that the tail is what did not
    # fit.
    await asyncio.sleep(0.2)
    rst_close(raw.sock)
    check(await gone(s, R), "%s: server saw the cut" % p)
    # A seed reconnect (no since) gets at most what was never written.
    w = await connect(s, R)
    tail = seqs(await settle(w))
    check(not tail or (tail == list(range(tail[0], n + 1)) and
                       tail[0] > 3),
          "%s: without since: only a tail never written (%s)" %
          (p, "%d..%d" % (tail[0], tail[-1]) if tail else "none"))
    await w.close()
    await gone(s, R, 2)
    w, r = await resume(s, R, 3)
    check(resumed_ok(r, 3, 1, n), "%s: ?since=3 after the cut: %r"
          % (p, r))
    got = await take(w, n - 3, 15)
    check(seqs(got) == list(range(4, n + 1)) and
          [int(m["message"][:4]) for m in got] == list(range(4, n + 1)),
          "%s: after the cut, seq 4..%d exactly once, in order (%d)"
          % (p, n, len(got)))
    check(not await settle(w), "%s: nothing duplicated after" % p)
    await w.close()
    return len(tail)


async def test_burst_unwritten(p):
    """A burst bigger than the kernel takes (about 3 MB on loopback):
    at the cut, part of it is still in the server's own buffer."""
    extra = ["--store", os.path.join(TMP, "burst.db")] \
        if p.startswith("db") else []
    with chatlib.Server("--max-output", "16m", "--history-limit", "10000",
                        *extra,
                        name=p + "burst-big") as s:
        a = await connect(s, p + "bursts")
        n = await raw_burst_cut(s, a, p + "big", "burstr1", 2500, 2000,
                                4096)
        check(n > 0, "%s: part of a 5 MB burst was never written at the "
              "cut (tail %d)" % (p, n))
        await a.close()
    return n


async def test_burst_cut(s, p):
    a = await connect(s, p + "bursts")
    # Small messages: all of it fits in the socket buffers.
    t1 = await raw_burst_cut(s, a, p, p + "burstr", 500, 200)
    t2 = await test_burst_unwritten(p)

    # The same with python-websockets: read 5, abort the transport.
    R2 = p + "burstr2"
    # (max_queue=None: the library reads on after abort() instead of
    # waiting forever for room in its queue.)
    w, r = await resume(s, R2, 0, max_queue=None)
    for i in range(1, 301):
        await send(a, {"message": "%04d" % i, "target_user": R2, "id": i})
    acks = await take(a, 300, 20)
    check(len(acks) == 300, "%s: 300 acked" % p)
    got = await take(w, 5)
    check(seqs(got) == [1, 2, 3, 4, 5], "%s: read 5" % p)
    w.transport.abort()
    try:
        await asyncio.wait_for(w.wait_closed(), 5)
    except asyncio.TimeoutError:
        pass
    check(await gone(s, R2), "%s: server saw the abort" % p)
    w, r = await resume(s, R2, 5)
    check(resumed_ok(r, 5, 1, 300), "%s: ?since=5: %r" % (p, r))
    got = await take(w, 295, 15)
    check(seqs(got) == list(range(6, 301)) and not await settle(w),
          "%s: after the abort 6..300 exactly once (%d)" % (p, len(got)))
    await w.close()
    await a.close()
    print("%s burst cut: 500, 500 and 300 sent; unwritten tails %d, %d"
          % (p, t1, t2))


# ---- a long replay racing live messages ----

async def test_replay_vs_live(extra, p):
    """A resume that replays thousands of messages while new ones keep
    coming: one contiguous run of seqs, no duplicate, no hole; the same
    for a big offline queue without since."""
    with chatlib.Server("--history-limit", "20000", "--queue-limit",
                        "20000", *extra, name=p + "replay-live") as s:
        c = await connect(s, "rlc")
        pad = "r" * 100
        n = 0

        async def burst(user, k, want):
            nonlocal n
            for _ in range(k):
                n += 1
                await send(c, {"message": "%06d:%s" % (n, pad),
                               "target_user": user, "id": n})
            acks = await take(c, k, 20)
            check(len(acks) == k and all(a.get("status") == want
                                         for a in acks),
                  "%s: %d acked %s" % (p, k, want))

        async def stream(user, k):
            nonlocal n
            for _ in range(k):
                n += 1
                await send(c, {"message": "%06d:%s" % (n, pad),
                               "target_user": user})
                await asyncio.sleep(0.0005)	# pacing: live, spread out

        r = await connect(s, "rl")
        await burst("rl", 2000, "delivered")
        got = await take(r, 2000, 20)
        check(seqs(got) == list(range(1, 2001)), "%s: 2000 live" % p)
        await r.close()
        await gone(s, "rl")
        await burst("rl", 300, "queued")
        first_live = n + 1
        w = await connect(s, path=upath("rl", 0))
        st = asyncio.ensure_future(stream("rl", 500))
        r0 = await recv_json(w)
        await st
        got = await take(w, 2800, 20)
        check(resumed_ok(r0, 0, 1, r0.get("last", -1)) and
              2300 <= r0.get("last", 0) <= 2800,
              "%s: resumed since 0 first 1: %r" % (p, r0))
        sq = seqs(got)
        check(sq == list(range(1, 2801)),
              "%s: replay of 2300 racing 500 live: seqs 1..2800 once each"
              " (%d got, first bad %r)" %
              (p, len(sq), next(((i + 1, v) for i, v in enumerate(sq)
                                 if v != i + 1), None)))
        nums = [int(m["message"][:6]) for m in got]
        check(nums == sorted(nums) and nums[2300:2301] == [first_live],
              "%s: ... in send order" % p)
        check(not await settle(w), "%s: nothing after" % p)
        await w.close()
        await gone(s, "rl", 2)
        # Without since: a 1000-message offline queue racing live ones.
        await burst("rl", 1000, "queued")
        w = await connect(s, "rl")
        st = asyncio.ensure_future(stream("rl", 500))
        got = await take(w, 1500, 20)
        await st
        sq = seqs(got)
        check(sq == list(range(2801, 4301)),
              "%s: no since: queue of 1000 racing 500 live: seqs "
              "2801..4300 once each (%d got, first bad %r)" %
              (p, len(sq), next(((i, v) for i, v in enumerate(sq)
                                 if v != 2801 + i), None)))
        check(not await settle(w), "%s: nothing after" % p)
        await w.close()
        await c.close()


# ---- retention ----

async def test_history_limit(extra, p):
    with chatlib.Server("--history-limit", "5", *extra,
                        name=p + "hlimit") as s:
        c = await connect(s, "hc")
        h = await connect(s, "hon")
        for i in range(1, 11):
            ack = await chat_ack(c, "hon", "h%d" % i, i)
            check(ack.get("status") == "delivered", "%s: delivered %d"
                  % (p, i))
        got = await take(h, 10)
        check(seqs(got) == list(range(1, 11)), "%s: online got 1..10" % p)
        await h.close()
        w, r = await resume(s, "hon", 0)
        check(resumed_ok(r, 0, 6, 10), "%s: --history-limit 5: resumed "
              "first 6 last 10: %r" % (p, r))
        got = await settle(w)
        check(got[:1] == [{"type": "expired", "after": 0, "before": 6}],
              "%s: first told that 1..5 expired: %r" % (p, got[:1]))
        check(seqs(got[1:]) == [6, 7, 8, 9, 10], "%s: exactly 6..10: %r"
              % (p, seqs(got)))
        await w.close()
        # Undelivered ones are not trimmed: the 6th is refused.
        for i in range(1, 6):
            ack = await chat_ack(c, "hoff", "o%d" % i, i)
            check(ack.get("status") == "queued", "%s: hoff queued %d: %r"
                  % (p, i, ack))
        e = await chat_ack(c, "hoff", "o6", "o6")
        check(e.get("type") == "error" and e.get("error") == "queue_full"
              and e.get("id") == "o6", "%s: 6th undelivered under "
              "--history-limit 5: queue_full: %r" % (p, e))
        w = await connect(s, "hoff")
        got = await settle(w)
        check(texts(got) == ["o1", "o2", "o3", "o4", "o5"],
              "%s: the 5 queued kept: %r" % (p, texts(got)))
        await w.close()
        await c.close()

    with chatlib.Server("--queue-limit", "3", *extra,
                        name=p + "qlimit") as s:
        c = await connect(s, "qc")
        for i in range(1, 4):
            ack = await chat_ack(c, "qoff", "q%d" % i, i)
            check(ack.get("status") == "queued", "%s: queued %d" % (p, i))
        e = await chat_ack(c, "qoff", "q4", "x4")
        check(e.get("type") == "error" and e.get("error") == "queue_full"
              and e.get("id") == "x4", "%s: --queue-limit 3: 4th "
              "queue_full with id: %r" % (p, e))
        w, r = await resume(s, "qoff", 0)
        check(resumed_ok(r, 0, 1, 3), "%s: qoff resumed 1..3: %r" % (p, r))
        got = await settle(w)
        check(texts(got) == ["q1", "q2", "q3"] and seqs(got) == [1, 2, 3],
              "%s: the first 3 kept: %r" % (p, got))
        await w.close()
        await c.close()


def unpack_row(lo, hi, data):
    """The messages of an inbox row (format version 4): [(seq, ts,
    sender, text)], checked to add up."""
    out, off = [], 0
    for seq in range(lo, hi + 1):
        ts, n, sn = struct.unpack_from("<QIB", data, off)
        off += 13
        sender = data[off:off + sn].decode()
        text = data[off + sn:off + sn + n]
        check(len(text) == n, "row %d-%d: message %d fits" % (lo, hi, seq))
        off += sn + n
        out.append((seq, ts, sender, text.decode()))
    check(off == len(data), "row %d-%d: every byte used" % (lo, hi))
    return out


def file_rows(store, user):
    """(seqs, bytes) of user's messages, and its users row, read from
    the file of a server that is gone."""
    import sqlite3
    db = sqlite3.connect(store)
    try:
        rows = db.execute("SELECT lo, hi, bytes, data FROM inbox WHERE "
                          "user = ? ORDER BY hi", (user,)).fetchall()
        meta = db.execute("SELECT first, n, bytes FROM users WHERE "
                          "user = ?", (user,)).fetchone()
    finally:
        db.close()
    msgs = []
    for lo, hi, nbytes, data in rows:
        m = unpack_row(lo, hi, data)
        check(nbytes == sum(len(x[3].encode()) for x in m),
              "row %d-%d: its bytes are its texts'" % (lo, hi))
        msgs += m
    return [m[0] for m in msgs], sum(len(m[3].encode()) for m in msgs), meta


V3 = """
create table users (user text primary key, last integer not null,
  sent integer not null, first integer not null, n integer not null,
  bytes integer not null) without rowid;
create table inbox (id integer primary key, user text not null,
  seq integer not null, ts integer not null, data text not null,
  sender text not null default '');
create unique index inbox_user on inbox(user, seq);
create table meta (key text primary key, value text not null) without rowid;
create table members (room text not null, user text not null,
  primary key (room, user)) without rowid;
"""


def v3_store(path):
    """A store as a format version 3 server wrote it: v3a has 1..3
    (1 delivered), v3b 1..2 (both delivered), both in room r3."""
    import sqlite3
    con = sqlite3.connect(path)
    con.executescript(V3)
    con.execute("insert into meta values ('epoch', '0011223344556677')")
    rows = [("v3a", 1, "x"), ("v3b", 1, "y"), ("v3a", 2, "x"),
            ("v3a", 3, ""), ("v3b", 2, "x")]
    now = int(time.time() * 1000)   # not yet for --history-days
    size = {}
    for i, (u, seq, frm) in enumerate(rows):
        text = json.dumps({"message": "old %s %d" % (u, seq),
                           "from_user": frm or "x", "ts": now + i,
                           "seq": seq}, separators=(",", ":"))
        size[u] = size.get(u, 0) + len(text)
        con.execute("insert into inbox(user, seq, ts, data, sender) "
                    "values (?, ?, ?, ?, ?)",
                    (u, seq, now + i, text, frm))
    con.execute("insert into users values ('v3a', 3, 1, 1, 3, ?)",
                (size["v3a"],))
    con.execute("insert into users values ('v3b', 2, 2, 1, 2, ?)",
                (size["v3b"],))
    con.execute("insert into members values ('r3', 'v3a'), ('r3', 'v3b')")
    con.execute("pragma application_id=%d" % 0x43484154)
    con.execute("pragma user_version=3")
    con.commit()
    con.close()


async def test_v3_upgrade():
    """A format version 3 file (a row per message) is upgraded at open
    to version 4 (a row per inbox per commit): each old row a row of one
    message, counters, cursors, memberships and epoch as they were; new
    messages go on from the numbering in rows of several, and a read
    goes across both kinds from any seq."""
    store = os.path.join(TMP, "v3.db")
    v3_store(store)
    N = 12
    with chatlib.Server("--store", store, name="v3") as s:
        check(s.count(r"upgraded from format version 3 to 4: 5 messages, "
                      r"a row each") == 1, "the upgrade is logged with "
              "its count: %r" % s.log()[-300:])
        # The cursors held: v3a gets 2 and 3 without since, v3b nothing.
        a = await connect(s, "v3a")
        got = await take(a, 2)
        check(seqs(got) == [2, 3] and texts(got) == ["old v3a 2",
                                                      "old v3a 3"],
              "v3a: its undelivered 2, 3 after the upgrade: %r" % got)
        b = await connect(s, "v3b")
        check(not await settle(b), "v3b: everything was delivered")
        await send(b, {"type": "rooms"})
        m, _ = await chatlib.recv_until(b, lambda m: m.get("type") ==
                                        "rooms")
        check(m.get("rooms") == [{"room": "r3", "members": 2}],
              "the memberships survived: %r" % m)
        await a.close()
        await gone(s, "v3a")
        # N to the offline v3a in one write: one pass, rows of several.
        raw = RawWS(s.port, upath("v3b"))
        raw.send(b"".join(chatlib.frame(1, json.dumps(
            {"message": "new %d" % i, "target_user": "v3a", "id": i}))
            for i in range(N)))
        acks = [raw.recv_json() for _ in range(N)]
        check(all(x.get("status") == "queued" for x in acks),
              "the new ones are queued: %r" % acks[:2])
        raw.close()
        await b.close()
    rows = file_rows(store, "v3a")[0]
    import sqlite3
    con = sqlite3.connect(store)
    ver = con.execute("pragma user_version").fetchone()[0]
    spans = con.execute("select lo, hi from inbox where user = 'v3a' "
                        "order by id").fetchall()
    con.close()
    check(ver == 4, "the file is format version 4 now (%r)" % ver)
    check(rows == list(range(1, N + 4)), "v3a's messages 1..%d: %r"
          % (N + 3, rows))
    check(spans[:3] == [(1, 1), (2, 2), (3, 3)] and
          any(hi > lo for lo, hi in spans[3:]),
          "old rows of one, new rows of several: %r" % spans)
    with chatlib.Server("--store", store, name="v3b") as s:
        for since in (0, 2, 3, 5):
            w, r = await resume(s, "v3a", since, epoch="0011223344556677")
            check(resumed_ok(r, since, 1, N + 3) and "reset" not in r,
                  "since %d: resumed in the old epoch: %r" % (since, r))
            got = await take(w, N + 3 - since)
            want = ["old v3a %d" % i for i in (1, 2, 3)] + \
                ["new %d" % i for i in range(N)]
            check(seqs(got) == list(range(since + 1, N + 4)) and
                  texts(got) == want[since:],
                  "since %d: %d..%d across old and new rows: %r"
                  % (since, since + 1, N + 3, seqs(got)))
            await w.close()


async def test_history_limit_burst():
    """Over --history-limit, SQLite drops a user's oldest rows in drop
    rounds, however many messages the pass took: bursts from several
    senders leave exactly the limit readable, counted right, also after
    a kill -9, and exactly the limit in the file after a clean stop.
    (A burst must stay under the limit: messages not yet written to a
    socket are never dropped, the limit refuses more.)"""
    store = os.path.join(TMP, "hlb.db")
    ROUNDS, BURST, LIMIT, SENDERS = 15, 10, 50, 4
    total = ROUNDS * BURST * SENDERS
    s = chatlib.Server("--store", store, "--history-limit", str(LIMIT),
                       name="hlburst")
    try:
        r = await connect(s, "hlb-r")
        ws = [await connect(s, "hlb-s%d" % k) for k in range(SENDERS)]
        got = []
        for rnd in range(ROUNDS):
            # Every sender's burst goes out at once, acks read after.
            for k, w in enumerate(ws):
                for i in range(BURST):
                    await send(w, {"message": "m%d.%d.%d" % (rnd, k, i),
                                   "target_user": "hlb-r", "id": i})
            acks = [await recv_json(w) for w in ws for _ in range(BURST)]
            check(all(a.get("status") == "delivered" for a in acks),
                  "burst %d: all delivered: %r" % (rnd, acks[:3]))
            got += await take(r, BURST * SENDERS)
        check(seqs(got) == list(range(1, total + 1)),
              "bursts: receiver got 1..%d" % total)
        w2, res = await resume(s, "hlb-r", 0)
        check(resumed_ok(res, 0, total - LIMIT + 1, total),
              "bursts: resumed first %d last %d: %r"
              % (total - LIMIT + 1, total, res))
        rep = await take(w2, LIMIT + 1)
        check(seqs(rep[1:]) == list(range(total - LIMIT + 1, total + 1)),
              "bursts: replay is exactly the last %d: %r"
              % (LIMIT, seqs(rep)))
        # One more, written to the socket, then a kill -9.
        await chat_ack(ws[0], "hlb-r", "after", "after")
        await take(r, 1)
        await take(w2, 1)
    finally:
        s.kill()
    # The counters drop a message at once, the file in a drop round
    # (every 16 commits, or a second after the last): after a kill it
    # holds the last LIMIT rows and maybe some just before, no gap.
    got, nbytes, meta = file_rows(store, "hlb-r")
    last = total + 1
    check(got[-LIMIT:] == list(range(last - LIMIT + 1, last + 1)) and
          got == list(range(got[0], last + 1)),
          "after kill -9: the file holds the last %d rows, and maybe "
          "older ones before them: %r" % (LIMIT, got))
    check(meta is not None and meta[0] == last - LIMIT + 1 and
          meta[1] == LIMIT and meta[2] == nbytes,
          "after kill -9: users row first %d n %d bytes %d: %r"
          % (last - LIMIT + 1, LIMIT, nbytes, meta))
    s = chatlib.Server("--store", store, "--history-limit", str(LIMIT),
                       name="hlburst2")
    try:
        w, res = await resume(s, "hlb-r", 0)
        check(resumed_ok(res, 0, last - LIMIT + 1, last),
              "after kill -9: resumed first %d last %d: %r"
              % (last - LIMIT + 1, last, res))
        rep = await take(w, LIMIT + 1)
        check(seqs(rep[1:]) == list(range(last - LIMIT + 1, last + 1)),
              "after kill -9: replay is exactly the last %d: %r"
              % (LIMIT, seqs(rep)))
        await w.close()
    finally:
        rc = s.stop()
    check(rc == 0, "hlburst2: exit 0 (%r)" % rc)
    got, nbytes, meta = file_rows(store, "hlb-r")
    check(got == list(range(last - LIMIT + 1, last + 1)) and
          meta[2] == nbytes,
          "after a clean stop: exactly the last %d rows, bytes %d: %r %r"
          % (LIMIT, nbytes, got, meta))


async def test_history_bytes(extra, p):
    """--history-bytes: oldest delivered ones go first; when all that
    is kept is undelivered, queue_full.  --queue-bytes is an alias."""
    for opt in ("--history-bytes", "--queue-bytes"):
        # A store file of its own for each run.
        ex = [x + opt if x.endswith(".db") else x for x in extra]
        # The quotas as large as the total: the total is tested here.
        with chatlib.Server(opt, "64k", "--sender-bytes", "64k",
                            "--target-bytes", "64k", *ex,
                            name=p + opt.strip("-")) as s:
            body = "z" * 16000
            c = await connect(s, "bc")
            h = await connect(s, "bon")
            for i in range(1, 11):
                ack = await chat_ack(c, "bon", "%02d%s" % (i, body), i)
                check(ack.get("status") == "delivered", "%s %s: delivered "
                      "%d: %r" % (p, opt, i, ack))
            got = await take(h, 10)
            check(seqs(got) == list(range(1, 11)), "%s %s: online got "
                  "1..10" % (p, opt))
            await h.close()
            await gone(s, "bon")
            w, r = await resume(s, "bon", 0)
            rep = await settle(w)
            await w.close()
            f = r.get("first", 0)
            check(rep[:1] == [{"type": "expired", "after": 0,
                               "before": f}],
                  "%s %s: told what expired: %r" % (p, opt, rep[:1]))
            rep = chats(rep)
            check(r.get("type") == "resumed" and r.get("last") == 10 and
                  f >= 7 and seqs(rep) == list(range(f, 11)),
                  "%s %s 64k: only the newest few of 10 16-kB messages kept "
                  "(first %r, replayed %r)" % (p, opt, f, seqs(rep)))
            # Undelivered ones push the delivered ones out, then refuse.
            took, full = [], None
            for i in range(1, 12):
                a = await chat_ack(c, "boff", "%02d%s" % (i, body), i)
                if a.get("type") == "ack":
                    took.append(i)
                else:
                    full = a
                    break
            check(full is not None and full.get("error") == "queue_full"
                  and full.get("id") == len(took) + 1 and
                  2 <= len(took) <= 4,
                  "%s %s 64k: queue_full after 2..4 undelivered 16-kB "
                  "messages (%d): %r" % (p, opt, len(took), full))
            w, r = await resume(s, "bon", 0)
            rep = await settle(w)
            await w.close()
            check(r.get("first") == 0 and rep == all_gone(r),
                  "%s %s: the delivered ones made room: %r %r"
                  % (p, opt, r, rep))
            w = await connect(s, "boff")
            got = await settle(w)
            check([int(m["message"][:2]) for m in got] == took,
                  "%s %s: every accepted undelivered one arrives: %r"
                  % (p, opt, seqs(got)))
            await w.close()
            await c.close()


async def test_history_days(extra, p):
    days = 0.00002	# 1.73 s
    with chatlib.Server("--history-days", str(days), *extra,
                        name=p + "hdays") as s:
        c = await connect(s, "dc")
        h = await connect(s, "don")
        for i in range(1, 4):
            await chat_ack(c, "don", "d%d" % i, i)
        got = await take(h, 3)
        check(seqs(got) == [1, 2, 3], "%s: delivered 1..3" % p)
        await h.close()
        for i in range(1, 3):
            ack = await chat_ack(c, "doff", "k%d" % i, i)
            check(ack.get("status") == "queued", "%s: doff queued" % p)
        t_sent = time.monotonic()
        w, r = await resume(s, "don", 0)
        check(resumed_ok(r, 0, 1, 3), "%s: at once, all kept: %r" % (p, r))
        await w.close()
        last = None
        deadline = time.monotonic() + 12
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)	# a poll of the server's expiry
            w, last = await resume(s, "don", 0)
            rest = await settle(w)
            await w.close()
            if last.get("first") == 0:
                break
        took = time.monotonic() - t_sent
        check(last is not None and resumed_ok(last, 0, 0, 3) and
              rest == all_gone(last),
              "%s: --history-days %g: delivered ones dropped (first 0, "
              "last 3) within %.1f s: %r %r" % (p, days, took, last, rest))
        check(took > 1.5, "%s: not dropped before their age (%.1f s)"
              % (p, took))
        # Older than the limit, but never sent: kept.
        w, r = await resume(s, "doff", 0)
        check(resumed_ok(r, 0, 1, 2), "%s: undelivered ones not dropped by "
              "age (%.1f s): %r" % (p, time.monotonic() - t_sent, r))
        got = await settle(w)
        check(texts(got) == ["k1", "k2"], "%s: both delivered: %r"
              % (p, texts(got)))
        await w.close()
        await c.close()
        print("%s history-days: delivered dropped after %.1f s" % (p, took))


async def test_paced():
    """--store-delay: a commit less than the delay after the last waits
    for it, then goes with no other traffic to wake the server; what it
    acknowledged survives a kill -9."""
    store = os.path.join(TMP, "paced.db")
    s = chatlib.Server("--store", store, "--store-delay", "100ms",
                       name="paced")
    try:
        c = await connect(s, "pz-c")
        times = []
        for i in range(1, 6):
            ack = await chat_ack(c, "pz-off", "p%d" % i, i)
            times.append(time.monotonic())
            check(ack == {"type": "ack", "id": i, "status": "queued"},
                  "paced: ack %d: %r" % (i, ack))
        # An ack leaves when its commit ends, and the delay counts from
        # the last commit's start: a gap is the delay plus the
        # difference of two commits' own times.  The first commit (the
        # log begins) is slower than the others by up to 25 ms under
        # valgrind, so the gaps are taken from the second ack on, and
        # each is at least 60 ms of the 100.
        gaps = [b - a for a, b in zip(times[1:], times[2:])]
        print("  paced: gaps between acks %s ms" %
              ", ".join("%.1f" % (g * 1000) for g in gaps), flush=True)
        check(all(g >= 0.06 for g in gaps),
              "paced: commits at least --store-delay apart: %r" % gaps)
        # ...and no longer: the loop wakes for it (without that, the
        # 200 ms sweep would: 176-200 ms).  One on time of the three is
        # enough, for a loaded machine.
        check(min(gaps) < 0.16,
              "paced: the loop wakes when a commit is due: %r" % gaps)
    finally:
        s.kill()
    check(s.proc.returncode == -9, "paced: server killed with SIGKILL")
    s2 = chatlib.Server("--store", store, "--store-delay", "0",
                        name="paced2")
    try:
        off = await connect(s2, "pz-off")
        got = await take(off, 5)
        check(seqs(got) == [1, 2, 3, 4, 5] and
              texts(got) == ["p1", "p2", "p3", "p4", "p5"],
              "paced: every acked message kept across kill -9: %r" % got)
        c = await connect(s2, "pz-c")
        ack = await chat_ack(c, "pz-off", "p6", 6)
        check(ack.get("status") == "delivered",
              "--store-delay 0: answered at once: %r" % ack)
    finally:
        s2.stop()


async def main():
    t0 = time.monotonic()
    lap("start")
    store = os.path.join(TMP, "basics.db")
    with chatlib.Server("--store", store, name="basics") as s:
        await test_seq_basics(s, "db-")
        await test_bad_since(s, "db-")
        await test_resume_msg_with_pending(s, "db-")
        await test_no_since(s, "db-")
        await test_burst_cut(s, "db-")
    lap("sqlite basics, burst")
    await test_persistence()
    lap("persistence")
    await test_v3_upgrade()
    lap("format version 3")
    await test_kill9_flow()
    lap("kill -9 flow")
    await test_checkpoint_kill9()
    lap("checkpoints, kill -9")
    await test_paced()
    lap("paced commits")
    await test_replay_vs_live(["--store", os.path.join(TMP, "rl.db")],
                              "db-")
    lap("replay vs live")
    await test_history_limit(["--store", os.path.join(TMP, "hl.db")], "db-")
    await test_history_limit_burst()
    await test_history_bytes(["--store", os.path.join(TMP, "hb.db")], "db-")
    lap("history/queue limit, bytes")
    await test_history_days(["--store", os.path.join(TMP, "hd.db")], "db-")
    lap("history days")
    # The memory store: the same semantics within one run.
    with chatlib.Server(name="memory") as s:
        await test_seq_basics(s, "mem-")
        await test_bad_since(s, "mem-")
        await test_resume_msg_with_pending(s, "mem-")
        await test_no_since(s, "mem-")
        await test_burst_cut(s, "mem-")
    lap("memory basics, burst")
    await test_replay_vs_live([], "mem-")
    await test_history_limit([], "mem-")
    await test_history_bytes([], "mem-")
    await test_memory_restart()
    lap("memory limits, restart")
    print("test_store: %.1f s" % (time.monotonic() - t0))


chatlib.run(main())
chatlib.done()
