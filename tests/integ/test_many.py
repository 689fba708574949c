# Copyright (c) 2026 The chat authors.
#
# test_many: 1000 connections at once (500 pairs), each sending a few
# messages to its partner: every message is delivered exactly once and
# in order per pair, every sender gets its acks, and the server holds
# them all (who lists 1000 users).

import asyncio
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chatlib  # noqa: E402
from chatlib import check, connect, recv_json  # noqa: E402

PAIRS = 500
PER = 5				# messages each way per pair
SLOW = os.environ.get("CHAT_VALGRIND") == "1"
T = 120 if SLOW else 30


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * PAIRS * 2 + 200	# our sockets and the server's
    if hard != resource.RLIM_INFINITY and hard < need:
        print("SKIP: descriptor hard limit %d < %d needed" % (hard, need))
        sys.exit(77)
    if soft != resource.RLIM_INFINITY and soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def open_all(s, names, limit=50):
    sem = asyncio.Semaphore(limit)

    async def one(name):
        async with sem:
            return await connect(s, name, open_timeout=T)
    return await asyncio.gather(*(one(n) for n in names))


async def talk(ws, me, peer):
    """Send PER messages to peer; return (acks, messages received)."""
    for k in range(PER):
        await ws.send(json.dumps({"message": "%s>%s:%d" % (me, peer, k),
                                  "target_user": peer, "id": k}))
    acks, msgs = [], []
    deadline = time.monotonic() + T
    while len(acks) < PER or len(msgs) < PER:
        m = await recv_json(ws, max(0.1, deadline - time.monotonic()))
        if m.get("type") == "ack":
            acks.append((m["id"], m["status"]))
        else:
            msgs.append((m.get("from_user"), m.get("message")))
    return acks, msgs


async def main():
    with chatlib.Server("--max-clients", "2000", name="many") as s:
        names = []
        for i in range(PAIRS):
            names += ["m%d-a" % i, "m%d-b" % i]
        t0 = time.monotonic()
        conns = await open_all(s, names)
        held = sum(1 for c in conns if c.open)
        print("held %d connections (opened in %.1f s)" %
              (held, time.monotonic() - t0))
        check(held == 2 * PAIRS, "all %d connections open" % (2 * PAIRS))
        await conns[0].send(json.dumps({"type": "who"}))
        w = await recv_json(conns[0], T)
        check(len(w.get("users", [])) == 2 * PAIRS and
              sorted(w["users"]) == sorted(names),
              "who lists %d users (got %d)" % (2 * PAIRS,
                                               len(w.get("users", []))))
        rss = s.rss_kb()
        print("server RSS with %d clients: %d kB" % (held, rss))
        t0 = time.monotonic()
        jobs = []
        for i in range(PAIRS):
            a, b = conns[2 * i], conns[2 * i + 1]
            jobs.append(talk(a, names[2 * i], names[2 * i + 1]))
            jobs.append(talk(b, names[2 * i + 1], names[2 * i]))
        results = await asyncio.gather(*jobs, return_exceptions=True)
        took = time.monotonic() - t0
        errors = [r for r in results if isinstance(r, BaseException)]
        check(not errors, "no client failed (%d: %r)" % (len(errors),
                                                          errors[:3]))
        bad_acks = bad_msgs = 0
        total = 0
        for j, r in enumerate(results):
            if isinstance(r, BaseException):
                continue
            me, peer = names[j], names[j ^ 1]
            acks, msgs = r
            if acks != [(k, "delivered") for k in range(PER)]:
                bad_acks += 1
            if msgs != [(peer, "%s>%s:%d" % (peer, me, k))
                        for k in range(PER)]:
                bad_msgs += 1
            total += len(msgs)
        check(bad_acks == 0, "every sender got its acks in order (%d bad)"
              % bad_acks)
        check(bad_msgs == 0, "every message exactly once, in order per "
              "pair (%d bad)" % bad_msgs)
        check(total == 2 * PAIRS * PER, "%d messages delivered (want %d)"
              % (total, 2 * PAIRS * PER))
        print("%d messages through %d connections in %.1f s" %
              (total, held, took))
        # Nothing extra afterwards (a sample of clients).
        extra = 0
        for c in conns[:50]:
            if await chatlib.settle(c, T):
                extra += 1
        check(extra == 0, "no stray messages")
        await asyncio.gather(*(c.close() for c in conns))
        check(s.wait_log(r"#%d user \S+ connected" % (2 * PAIRS), T),
              "log: %d connects" % (2 * PAIRS))
        deadline = time.monotonic() + T
        while (time.monotonic() < deadline and
               s.log().count(" disconnected: ") < 2 * PAIRS):
            await asyncio.sleep(0.1)
        check(s.log().count(" disconnected: ") == 2 * PAIRS,
              "log: %d disconnects" % (2 * PAIRS))


raise_nofile()
chatlib.run(main())
chatlib.done()
