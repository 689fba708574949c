# Copyright (c) 2026 The chat authors.
#
# test_cluster: cluster mode (issue #9).  Several chat-server nodes on
# 127.0.0.1 share one nats-server with JetStream (started here, on a
# free port, with its store in TEST_TMP).  Covers: chat across nodes
# both ways (unicode, a 60 KB message), acks delivered and queued, the
# seed behaviour across nodes, a user with connections on three nodes,
# who and presence across nodes (and a node that dies), a receiver
# cut off while its node is behind (seed tail, resume elsewhere), going
# offline on one node and resuming on another (?since=&epoch=, the
# resume message, a foreign epoch, "sparse"), a kill -9 of a node while
# windowed senders and resuming receivers are busy (every acked
# message exactly once, in order per sender), NATS going away and
# coming back on the same port and store (local delivery without seq,
# cluster_unavailable at once, a node started while NATS is down,
# reconnection, history kept), --history-limit shaping the stream
# (and a later node updating it), --history-days emptying an inbox (a
# resume after an earlier seq is told the gap, not reset; the chain
# going on through a node new to the inbox), delivered messages purged
# before an inbox is full (undelivered ones kept), /stats, and
# the option errors.
# The main cluster's nodes all run with the default history options.
#
# Needs nats-server (Debian's nats-server package); skips without it.

import asyncio
import functools
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chatlib  # noqa: E402
from chatlib import check, connect, recv_json, recv_until  # noqa: E402
from chatlib import send, drain, no_message, cut  # noqa: E402
from chatlib import resume, take, seqs, texts, chats, gone, lap  # noqa: E402
from chatlib import RState, SState, kreceiver, ksender  # noqa: E402
from chatlib import flow_settle, flow_verdict  # noqa: E402
from chatlib import Nats, free_port, kill_all, look_until  # noqa: E402
from chatlib import stats, wait_online, scenario  # noqa: E402

TMP = chatlib.TMP
# Answers here can come after other events (presence, chats): wait for
# the ack or error with the id.
chat_ack = functools.partial(chatlib.chat_ack, skip=True)

# ---- nodes ----

NODES = []


def start_node(nats_url, name, *extra, ready=True):
    """chatlib.start_node(), remembered in NODES."""
    s = chatlib.start_node(nats_url, name, *extra, ready=ready)
    NODES.append(s)
    return s


async def stats_until(s, pred, timeout):
    deadline = time.monotonic() + timeout
    while True:
        st = stats(s)
        if pred(st) or time.monotonic() >= deadline:
            return st
        await asyncio.sleep(0.1)


def is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def increasing(sq):
    return all(is_int(x) for x in sq) and \
        all(a < b for a, b in zip(sq, sq[1:]))


def chat_ev_ok(m, frm, text):
    """A chat event as the protocol has it: message, from_user, ts (ms,
    about now), seq (a positive int), no type."""
    return (isinstance(m, dict) and "type" not in m and
            m.get("message") == text and m.get("from_user") == frm and
            is_int(m.get("ts")) and
            abs(m["ts"] - time.time() * 1000) < 120000 and
            is_int(m.get("seq")) and m["seq"] > 0)


async def who(ws, timeout=3):
    await send(ws, {"type": "who"})
    m, _ = await recv_until(ws, lambda m: m.get("type") == "who", timeout)
    return set(m.get("users", []))


async def who_until(ws, pred, timeout=4):
    deadline = time.monotonic() + timeout
    while True:
        users = await who(ws)
        if pred(users) or time.monotonic() >= deadline:
            return users
        await asyncio.sleep(0.1)


async def presence(ws, timeout, or_none=False):
    """The next presence event (others passed over); on timeout None
    with or_none, else asyncio.TimeoutError."""
    try:
        m, skipped = await recv_until(
            ws, lambda m: m.get("type") == "presence", timeout)
    except asyncio.TimeoutError:
        if or_none:
            return None
        raise
    return m


async def close_all(*ws):
    for w in ws:
        try:
            await w.close()
        except Exception:
            pass


def nats_get(nats, subject, timeout=5):
    """One request with an empty body to the nats-server, from a plain
    socket (its text protocol): the answer's (headers, data)."""
    k = socket.create_connection(("127.0.0.1", nats.port), timeout)
    try:
        f = k.makefile("rb")
        f.readline()		# INFO
        k.sendall(b'CONNECT {"verbose":false,"headers":true,'
                  b'"no_responders":true}\r\nSUB _INBOX.t 1\r\n'
                  b'PUB %s _INBOX.t 0\r\n\r\n' % subject.encode())
        while True:
            line = f.readline()
            if not line or line.startswith(b"-ERR"):
                raise ConnectionError("nats: %r" % line)
            if line.startswith(b"PING"):
                k.sendall(b"PONG\r\n")
            elif line.startswith(b"HMSG") or line.startswith(b"MSG"):
                w = line.split()
                hl, tl = (int(w[-2]), int(w[-1])) if w[0] == b"HMSG" \
                    else (0, int(w[-1]))
                body = f.read(tl + 2)[:tl]
                return body[:hl], body[hl:]
    finally:
        k.close()


def hexid(user):
    return user.encode().hex()


def stream_last(nats, user):
    """The seq of user's newest message in the CHAT stream (0: none)."""
    h, d = nats_get(nats, "$JS.API.DIRECT.GET.CHAT.chat.inbox." +
                    hexid(user))
    m = re.search(rb"Nats-Sequence: *(\d+)", h)
    return int(m.group(1)) if m else 0


async def aged_out(nats, user, timeout=12):
    """Until user's inbox in the CHAT stream is empty (age took it);
    whether it is."""
    deadline = time.monotonic() + timeout
    while stream_last(nats, user) != 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return stream_last(nats, user) == 0


def cursor(nats, user):
    """user's delivery cursor as the nodes published it (0: none)."""
    h, d = nats_get(nats, "$JS.API.DIRECT.GET.CHAT_CURSOR.chat.cursor." +
                    hexid(user))
    return int(d) if d.strip().isdigit() else 0


async def cursor_reaches(nats, user, seq, timeout=5):
    """Wait until user's published delivery cursor is seq or more (what
    a connection without since starts after, on any node)."""
    deadline = time.monotonic() + timeout
    while True:
        c = cursor(nats, user)
        if c >= seq or time.monotonic() >= deadline:
            return c >= seq
        await asyncio.sleep(0.02)


async def offline_seen(ws, user, timeout=5):
    """Wait on ws, a connection watching user, for the event saying it
    is offline.  Its node learns that through NATS from user's last
    node, which said so after it stopped answering for user (dropped
    its subscription) and after publishing any cursor it moved in an
    earlier pass (a pass publishes the cursors it moved at its end, so
    one moved in the pass of the leave follows right behind): what
    comes after finds user offline on every node, its cursor out."""
    try:
        await recv_until(ws, lambda m: m.get("type") == "presence" and
                         m.get("user") == user and
                         m.get("online") is False, timeout)
        return True
    except asyncio.TimeoutError:
        return False


# ---- 9. option errors (no NATS needed) ----

def test_options():
    out = subprocess.run([chatlib.SERVER, "--help"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, timeout=5)
    check(b"--cluster" in out.stdout, "--help mentions --cluster")
    db = os.path.join(TMP, "never.db")
    url = "nats://127.0.0.1:%d" % free_port()
    cases = [
        (["--cluster", url, "--store", db], ["--cluster", "--store"]),
        (["--store", db, "--cluster", url], ["--cluster", "--store"]),
        (["--cluster", "bogus-url"], ["nats://"]),
        (["--cluster", "http://127.0.0.1:4222"], ["nats://"]),
        (["--cluster", url + ",bogus"], ["nats://"]),
        (["--cluster", ""], []),
    ]
    for args, words in cases:
        try:
            r = subprocess.run([chatlib.SERVER, "--listen", "127.0.0.1",
                                "--port", "0"] + args,
                               stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=5)
            rc, err = r.returncode, r.stderr.decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            rc, err = "timeout (server kept running)", ""
        check(rc == 2, "%r: exit status 2 (got %r): %s" % (args, rc,
                                                            err.strip()))
        check(all(w in err for w in words) and
              err.startswith("chat-server:"),
              "%r: stderr says why, naming %r: %r" % (args, words, err))
    check(not os.path.exists(db), "--cluster with --store: the store file "
          "is not created")


# ---- 8 (alone). /stats of a lone node ----

async def test_stats_alone():
    with chatlib.Server(name="alone") as s:
        st = stats(s)
        check(st.get("cluster") == "off", "lone node: /stats cluster off: "
              "%r" % st)
        check(st.get("cluster_nodes") == 0, "lone node: /stats "
              "cluster_nodes 0: %r" % st)
        check("cluster:" not in s.log(), "lone node logs nothing about a "
              "cluster")


# ---- 1. chat across nodes both ways ----

async def test_cross(n1, n2):
    A, B = "x-alice", "x-bob"
    a = await connect(n1, A)
    b = await connect(n2, B)
    check(await wait_online(n1, B) and await wait_online(n2, A),
          "each node learns the other's user is online")
    big = "60k:" + "0123456789abcdef" * 3750 + "|é✓😀"
    check(60000 < len(big.encode()) < 61000, "the big message is 60 KB")
    to_b = ["hello bob", "héllo wörld ✓ 日本語 😀 \"quoted\" \\ \n\ttab",
            big]
    to_a = ["hello alice", "ünïcödé ← back 🎉", big[::-1]]
    for who_, ws, peer, rws, msgs, base in (
            (A, a, B, b, to_b, "ab"), (B, b, A, a, to_a, 100)):
        for i, t in enumerate(msgs):
            mid = (base + str(i)) if isinstance(base, str) else base + i
            ack = await chat_ack(ws, peer, t, mid)
            check(ack == {"type": "ack", "id": mid, "status": "delivered"},
                  "%s->%s across nodes: ack delivered with the id %r: %r"
                  % (who_, peer, mid, ack))
        got = await take(rws, len(msgs), 10)
        check(len(got) == len(msgs) and
              all(chat_ev_ok(m, who_, t) for m, t in zip(got, msgs)),
              "%s->%s: every message arrives intact with from_user, ts, "
              "seq: %r" % (who_, peer, [(m.get("from_user"),
                                         len(m.get("message", "")),
                                         m.get("seq")) for m in got]))
        check(increasing(seqs(got)), "%s->%s: seqs increase: %r"
              % (who_, peer, seqs(got)))
        check(await no_message(rws, 0.3) and await no_message(ws, 0.1),
              "%s->%s: nothing else on either side" % (who_, peer))
    # A seed chat without an id gets no ack, but arrives.
    await send(a, {"message": "seed form", "target_user": B})
    m = await recv_json(b)
    check(chat_ev_ok(m, A, "seed form"), "seed-form chat across nodes: %r"
          % m)
    check(await no_message(a, 0.3), "no ack for a chat without an id")
    await close_all(a, b)


# ---- 2. queued, and the seed behaviour across nodes ----

async def test_queued(n1, n2, n3):
    P, Q = "q-pat", "q-quinn"
    p = await connect(n1, P)
    # On the sender's node: when quinn is offline everywhere.
    qw = await connect(n1, "q-watch")
    await send(qw, {"type": "watch", "users": [Q]})
    await presence(qw, 3)
    for i in range(1, 4):
        ack = await chat_ack(p, Q, "q%d" % i, "q%d" % i)
        check(ack == {"type": "ack", "id": "q%d" % i, "status": "queued"},
              "to a user never connected: ack queued: %r" % ack)
    q = await connect(n2, Q)
    got = await take(q, 3)
    check(len(got) == 3 and all(chat_ev_ok(m, P, "q%d" % (i + 1))
                                for i, m in enumerate(got)),
          "no since, on another node: the queued ones, in order, no "
          "resumed: %r" % got)
    check(increasing(seqs(got)), "queued seqs increase: %r" % seqs(got))
    check(await no_message(q, 0.3), "nothing more")
    check(await wait_online(n1, Q), "node1 learns quinn is online")
    ack = await chat_ack(p, Q, "live", "ql")
    m = await recv_json(q)
    check(ack.get("status") == "delivered" and chat_ev_ok(m, P, "live") and
          m["seq"] > got[-1]["seq"], "then live, delivered, seq above: "
          "%r %r" % (ack, m))
    # The cursor (written to a socket) reaches other nodes once the
    # writing node's pass publishes it: a connection starting on the
    # third node sees it within a moment (asked with ?epoch=, the answer
    # says where it starts), and then gets nothing already sent.
    deadline = time.monotonic() + 3
    while True:
        q2 = await connect(n3, Q, path="/demo/ws/%s?epoch=" % Q)
        r = await recv_json(q2)
        if r.get("type") == "resumed" and r.get("since", 0) >= m["seq"]:
            break
        await q2.close()
        if time.monotonic() > deadline:
            break
    check(r.get("cursor") is True and r.get("since", 0) >= m["seq"],
          "a second connection (third node) starts after what was "
          "written: %r" % r)
    check(await no_message(q2, 0.4), "a second connection (third node) "
          "without since: nothing already sent")
    await close_all(q, q2)
    check(await gone(n2, Q) and await gone(n3, Q), "quinn disconnected")
    check(await offline_seen(qw, Q), "node1 sees quinn offline")
    q = await connect(n3, Q)
    check(await no_message(q, 0.5), "reconnect on another node without "
          "since: nothing sent again")
    await q.close()
    check(await gone(n3, Q, 2), "quinn gone again")
    check(await offline_seen(qw, Q), "node1 sees quinn offline again")
    for i in (4, 5):
        ack = await chat_ack(p, Q, "q%d" % i, "q%d" % i)
        check(ack.get("status") == "queued", "queued again: %r" % ack)
    q = await connect(n1, Q)
    # Fetched one at a time: the two, then whatever more comes.
    got2 = await take(q, 2, 10)
    got2 += await drain(q, 0.5)
    check(texts(got2) == ["q4", "q5"] and increasing(seqs(got2)) and
          got2[0]["seq"] > m["seq"],
          "reconnect on the sender's node: only the new queued ones: %r"
          % got2)
    await close_all(q, p, qw)


# ---- 2b. a receiver cut off while its node is behind ----

async def windowed(ws, target, n, prefix, window=32, timeout=20):
    """Send n chats with ids, at most window unacked; the acks."""
    acks, sent = [], 0
    deadline = time.monotonic() + timeout
    while len(acks) < n and time.monotonic() < deadline:
        while sent < n and sent - len(acks) < window:
            await send(ws, {"message": "%s%04d" % (prefix, sent),
                            "target_user": target, "id": sent})
            sent += 1
        acks.append(await recv_json(ws, max(0.01, deadline -
                                            time.monotonic())))
    return acks


async def test_lagging(n1, n2, n3, nats):
    """300 messages in a burst; the receiver reads 20 and its TCP
    connection is cut.  Without since, the next connection (another
    node) gets exactly a tail never written, in order; with since, all
    after the last one read."""
    S, G, H, N = "l-sender", "l-seed", "l-since", 300
    s = await connect(n1, S)
    gw = await connect(n3, "l-watch")
    await send(gw, {"type": "watch", "users": [G]})
    await presence(gw, 3)
    all_ = ["%s%04d" % ("g", i) for i in range(N)]
    g = await connect(n2, G, max_queue=None)
    st = asyncio.ensure_future(windowed(s, G, N, "g"))
    read = await take(g, 20, 10)
    await cut(g)
    acks = await st
    check(len(acks) == N and all(a.get("type") == "ack" for a in acks),
          "seed: %d acked: %r" % (N, [a for a in acks
                                      if a.get("type") != "ack"][:3]))
    check(texts(read) == all_[:20] and increasing(seqs(read)),
          "seed: the first 20 in order: %r" % texts(read))
    check(await gone(n2, G), "seed receiver cut off")
    check(await offline_seen(gw, G), "node3 sees the seed receiver go")
    # The tail: after the cursor node2 published, up to the newest.
    c, last = cursor(nats, G), stream_last(nats, G)
    g = await connect(n3, G)
    tail = []
    if c < last:
        m, tail = await recv_until(g, lambda m: m.get("seq") == last, 15)
        tail.append(m)
    tail += await drain(g, 0.5)
    tt = texts(tail)
    k = N - len(tt)
    check(k >= 20 and tt == all_[k:] and
          increasing(seqs(read[-1:]) + seqs(tail)),
          "seed: the next connection (another node) gets a tail never "
          "written, in order, nothing twice: %d..%d of %d"
          % (k, N - 1, N) if tt else "seed: no tail (all written)")
    print("  seed cut: tail of %d never written (cursor %d, last %d)"
          % (len(tt), c, last), flush=True)
    await g.close()

    h, r = await resume(n2, H, 0)
    hall = ["h%04d" % i for i in range(N)]
    st = asyncio.ensure_future(windowed(s, H, N, "h"))
    read = await take(h, 20, 10)
    E = r.get("epoch")
    await cut(h)
    acks = await st
    check(len(acks) == N and all(a.get("type") == "ack" for a in acks),
          "since: %d acked" % N)
    last = read[-1].get("seq", 0) if read else 0
    h, r = await resume(n3, H, last, epoch=E)
    rest = await take(h, N - 20, 15)
    check(r.get("type") == "resumed" and r.get("since") == last and
          "reset" not in r, "since: resumed on another node as asked: %r"
          % r)
    check(texts(read) + texts(rest) == hall and
          increasing(seqs(read) + seqs(rest)),
          "since: after the cut, all of the rest exactly once, in order "
          "(%d + %d)" % (len(read), len(rest)))
    check(await no_message(h, 0.3), "since: nothing after")
    await close_all(h, s, gw)


# ---- 10. history options configure the stream ----

async def upto(ws, seq, timeout=10):
    """The messages up to the one with seq (a replay fetched one at a
    time), then whatever more comes in a quiet time."""
    out = []
    deadline = time.monotonic() + timeout
    try:
        while not out or out[-1].get("seq") != seq:
            out.append(await recv_json(ws, max(0.01, deadline -
                                               time.monotonic())))
    except asyncio.TimeoutError:
        pass
    return out + await drain(ws, 0.4)


def kept_ok(r, rep, got, limit, what):
    """A resume from 0 after messages got (all delivered) under limit:
    JetStream discards new messages per subject and the node purges the
    delivered ones when an inbox is full, so what is kept is the newest
    1..limit of them, in order, told as expired before them if older
    ones went."""
    ch = chats(rep)
    n = len(ch)
    check(1 <= n <= limit and ch == got[len(got) - n:] and
          r.get("first") == ch[0].get("seq") and
          r.get("last") == got[-1].get("seq"),
          "%s a suffix of at most %d kept: %r, %r"
          % (what, limit, r, seqs(rep)))
    check(len(rep) == n + 1 and rep[0].get("type") == "expired" and
          rep[0].get("after") == 0 and
          rep[0].get("before") == ch[0].get("seq"),
          "%s and the older ones told as expired: %r" % (what, rep[:1]))


async def test_history_limit():
    nats = Nats("nats-hist")
    nats.start()
    h1 = h2 = h3 = None
    try:
        h1 = start_node(nats.url, "hist1", "--history-limit", "5")
        c = await connect(h1, "h-c")
        v = await connect(h1, "h-v")
        for i in range(10):
            await chat_ack(c, "h-v", "v%d" % i, i)
        got = await take(v, 10)
        check(texts(got) == ["v%d" % i for i in range(10)],
              "history: 10 received live")
        w, r = await resume(h1, "h-v", 0)
        rep = await upto(w, r.get("last"))
        kept_ok(r, rep, got, 5, "--history-limit 5")
        await w.close()
        h2 = start_node(nats.url, "hist2", "--history-limit", "8")
        for i in range(10, 20):
            await chat_ack(c, "h-v", "v%d" % i, i)
        got = await take(v, 10)
        w, r = await resume(h1, "h-v", 0)
        rep = await upto(w, r.get("last"))
        kept_ok(r, rep, got, 8, "a later node with --history-limit 8 "
                "updates the stream:")
        await close_all(w, v)
        # Age empties the inbox: a resume after an earlier seq is told
        # the gap at once (not reset: the numbering went on), and the
        # next message follows it.
        h3 = start_node(nats.url, "hist3", "--history-limit", "8",
                        "--history-days", "0.00002")
        since, epoch = got[-3]["seq"], r.get("epoch")
        r = await look_until(h3, "h-v", lambda r: r.get("first") == 0)
        check(r.get("first") == 0, "--history-days: age emptied the inbox "
              "(%r)" % r)
        w, r = await resume(h3, "h-v", since, epoch=epoch)
        m = (await take(w, 1, 3) or [None])[0]
        check(r.get("since") == since and "reset" not in r and
              r.get("first") == 0 and r.get("last", 0) >= got[-1]["seq"],
              "emptied by age: ?since=%d resumed as asked, last kept: %r"
              % (since, r))
        check(m == {"type": "expired", "after": since,
                    "before": r.get("last", 0) + 1},
              "emptied by age: the gap told at once: %r" % m)
        ack = await chat_ack(c, "h-v", "after-age", "aa")
        m = await recv_json(w, 3)
        check(ack.get("type") == "ack" and m.get("message") == "after-age"
              and m.get("seq", 0) > r.get("last", 0),
              "emptied by age: the next message follows: %r %r" % (ack, m))
        await close_all(w)
        # The chain outlives the inbox (chat.newest): bob reads 3 and
        # leaves, 2 more are stored (by node1) and age takes all 5; a
        # 6th through a node that never stored for bob (node2) follows
        # the 2 he missed, not 0, so a resume after the 3rd is told.
        B = "h-bob"
        bw, r = await resume(h3, B, 0)
        for i in range(3):
            await chat_ack(c, B, "b%d" % i, "b%d" % i)
        got = await take(bw, 3)
        since, epoch = (got[-1].get("seq", 0) if got else 0), r.get("epoch")
        await bw.close()
        check(await gone(h3, B), "bob left")
        for i in (3, 4):
            await chat_ack(c, B, "b%d" % i, "b%d" % i)
        r = await look_until(h3, B, lambda r: r.get("first") == 0)
        check(r.get("first") == 0, "age emptied bob's inbox (%r)" % r)
        d = await connect(h2, "h-dan")
        ack = await chat_ack(d, B, "b5", "b5")
        bw, r = await resume(h2, B, since, epoch=epoch)
        evs = await take(bw, 2, 3)
        check(ack.get("type") == "ack" and len(evs) == 2 and
              evs[0].get("type") == "expired" and
              evs[0].get("after") == since and
              evs[1].get("message") == "b5",
              "emptied, then stored by a node new to the inbox: the "
              "resume after %d is told what went: %r" % (since, evs))
        await close_all(bw, c, d)
    finally:
        for n in (h1, h2, h3):
            if n is not None:
                rc = n.stop()
                if not check(rc == 0, "%s exits 0 on SIGTERM (%r)"
                             % (os.path.basename(n.logpath), rc)):
                    print(n.log()[-3000:])
        nats.stop()


async def after_age(nats, node, user, text, since, epoch, n):
    """Once age emptied user's inbox (watched in NATS, not through a
    node, which would learn the newest seq while the inbox still has
    it), n-dan sends text through node, and user resumes there after
    since: (the ack, the first n events, user's ws, n-dan's ws)."""
    check(await aged_out(nats, user), "age emptied %s's inbox" % user)
    d = await connect(node, "n-dan")
    ack = await chat_ack(d, user, text, text)
    w, r = await resume(node, user, since, epoch=epoch)
    return ack, await take(w, n, 3), w, d


async def test_newest_crash():
    """A node killed within NEWEST_MS of a store never wrote that
    inbox's chat.newest past it; age then empties the inbox and another
    node stores in it next.  A resume from before what the dead node
    stored must still be told that it went (a conservative gap), not
    nothing.  A node that lets an inbox go takes its id out of
    chat.newest: then the chain is known, and no gap is told."""
    nats = Nats("nats-newest")
    nats.start()
    a = b = c3 = None
    age = ("--history-days", "0.00002")
    U, V = "n-bob", "n-eve"
    try:
        a = start_node(nats.url, "newest-a", *age)
        b = start_node(nats.url, "newest-b", *age)
        aid, bid = (re.search(r"cluster: node (\S+) joining", n.log())
                    .group(1) for n in (a, b))
        # n-eve's inbox is stored in through node b only (see below).
        ew, r = await resume(b, V, 0)
        eepoch = r.get("epoch")
        e = await connect(b, "n-fay")
        await chat_ack(e, V, "e0", "e0")
        eseq = (await take(ew, 1))[0].get("seq", 0)
        await close_all(ew, e)
        # n-bob on node a too: node b never hears of what a stores.
        bw, r = await resume(a, U, 0)
        epoch = r.get("epoch")
        c = await connect(a, "n-carol")
        got = []
        for i in range(3):
            ack = await chat_ack(c, U, "n%d" % i, "n%d" % i)
            got += await take(bw, 1)
        check(len(got) == 3 and texts(got) == ["n0", "n1", "n2"],
              "three stored and received through node a: %r" % got)
        # At once: the second and third are within a second of the
        # first, whose chat.newest went out when it was stored.
        a.kill()
        since, last = got[0].get("seq", 0), got[-1].get("seq", 0)
        await close_all(bw, c)
        ack, evs, bw, d = await after_age(nats, b, U, "n3", since, epoch, 2)
        check(ack.get("type") == "ack" and len(evs) == 2 and
              evs[0].get("type") == "expired" and
              evs[0].get("after") == since and
              evs[0].get("before", 0) > last and
              evs[1].get("message") == "n3" and
              evs[0].get("before") <= evs[1].get("seq", 0),
              "node killed before chat.newest, inbox emptied by age, "
              "then stored by another node: a resume after %d is told "
              "that what went up to %d expired: %r" % (since, last, evs))
        await close_all(bw, d)
        # Node b exits: its ids go, the dead node's stays.
        check(b.stop() == 0, "node b exits 0 on SIGTERM")
        _, nb = nats_get(nats, "$JS.API.DIRECT.GET.CHAT_CURSOR."
                         "chat.newest." + hexid(U))
        _, ne = nats_get(nats, "$JS.API.DIRECT.GET.CHAT_CURSOR."
                         "chat.newest." + hexid(V))
        check(nb.split()[1:] == [aid.encode()] and
              ne == str(eseq).encode(), "chat.newest: node b's id out "
              "at exit, the killed node's kept: %r %r (a %s, b %s)"
              % (nb, ne, aid, bid))
        # n-eve's chain is known: a third node storing in her emptied
        # inbox tells no gap to a reader who had it all.
        c3 = start_node(nats.url, "newest-c", *age)
        ack, evs, ew, d = await after_age(nats, c3, V, "e1", eseq, eepoch, 1)
        check(ack.get("type") == "ack" and len(evs) == 1 and
              evs[0].get("message") == "e1" and
              await no_message(ew, 0.3), "chain known: no gap told to "
              "a reader who had it all: %r" % evs)
        await close_all(ew, d)
    finally:
        for n in (a, b, c3):
            if n is not None:
                n.kill()
        nats.stop()


# ---- 3. one user on three nodes ----

async def test_multi(n1, n2, n3):
    C, D = "m-carol", "m-dave"
    cs = [await connect(n, C) for n in (n1, n2, n3)]
    d = await connect(n1, D)
    d2 = await connect(n2, D)
    # A node follows a user (subscribes) before it publishes anything
    # for it, on one NATS connection: once a chat from each connection
    # is acked, every node answers for the user.
    for i, w in enumerate(cs + [d2]):
        ack = await chat_ack(w, "m-sink", "sync", "s%d" % i)
        check(ack.get("type") == "ack", "sync chat acked: %r" % ack)
    for i in range(3):
        ack = await chat_ack(d, C, "to carol %d" % i, i)
        check(ack == {"type": "ack", "id": i, "status": "delivered"},
              "to a user on three nodes: delivered: %r" % ack)
    got = [await take(w, 3) for w in cs]
    check(all(len(g) == 3 and
              all(chat_ev_ok(m, D, "to carol %d" % i)
                  for i, m in enumerate(g)) for g in got),
          "each of carol's three connections gets each message: %r" % got)
    check(got[0] == got[1] == got[2], "the same events and seqs on every "
          "node: %r" % [seqs(g) for g in got])
    check(increasing(seqs(got[0])), "seqs increase: %r" % seqs(got[0]))
    check(all([await no_message(w, 0.3) for w in cs]),
          "exactly once on each connection")
    check(await no_message(d2, 0.1), "the sender's other connection gets "
          "no copy")
    ack = await chat_ack(cs[2], D, "back to dave", "bd")
    e = [await recv_json(w) for w in (d, d2)]
    check(ack.get("status") == "delivered" and
          all(chat_ev_ok(x, C, "back to dave") for x in e) and
          e[0] == e[1], "dave on two nodes gets it on both: %r" % e)
    check(await no_message(cs[0], 0.2) and await no_message(cs[1], 0.1),
          "carol's other connections get no copy of what she sent")
    await close_all(d, d2, *cs)


# ---- 4. who and presence across nodes ----

async def test_presence(n1, n2, n3):
    W, U2, U3, X, Y = "p-watcher", "p-u2", "p-u3", "p-x", "p-y"
    w = await connect(n1, W)     # asks who
    u2 = await connect(n2, U2)
    u3 = await connect(n3, U3)
    t0 = time.monotonic()
    users = await who_until(w, lambda u: {W, U2, U3} <= u, 4)
    check({W, U2, U3} <= users, "who on node1 lists users on nodes 2 and 3"
          " (%.1f s): %r" % (time.monotonic() - t0, sorted(users)))
    users3 = await who_until(u3, lambda u: {W, U2, U3} <= u, 4)
    check({W, U2, U3} <= users3, "who on node3 too: %r" % sorted(users3))
    check(X not in users, "an offline user is not listed")
    y = await connect(n3, Y)
    await who_until(w, lambda u: Y in u, 4)

    wa = await connect(n1, "p-watcher2")
    await send(wa, {"type": "watch", "users": [X, Y]})
    p1 = await presence(wa, 3)
    p2 = await presence(wa, 3)
    check(p1 == {"type": "presence", "user": X, "online": False} and
          p2 == {"type": "presence", "user": Y, "online": True},
          "watch: X offline, Y (on node3) online, in order: %r %r"
          % (p1, p2))
    t0 = time.monotonic()
    x2 = await connect(n2, X)
    p = await presence(wa, 4, or_none=True)
    check(p == {"type": "presence", "user": X, "online": True},
          "X connects on node2: presence online on node1 (%.1f s): %r"
          % (time.monotonic() - t0, p))
    x3 = await connect(n3, X)
    check(await no_message(wa, 1.5), "X's second connection (node3): no "
          "presence event")
    await x2.close()
    check(await gone(n2, X), "X left node2")
    check(await no_message(wa, 2.0), "X still on node3: no offline event "
          "when it leaves node2")
    users = await who(w)
    check(X in users, "who still lists X: %r" % sorted(users))
    t0 = time.monotonic()
    await x3.close()
    p = await presence(wa, 5, or_none=True)
    check(p == {"type": "presence", "user": X, "online": False},
          "X's last connection (node3) closes: presence offline on node1 "
          "(%.1f s): %r" % (time.monotonic() - t0, p))
    await close_all(u2, u3, y)
    users = await who_until(w, lambda u: not ({U2, U3, X, Y} & u), 4)
    check(not ({U2, U3, X, Y} & users), "who drops users that left other "
          "nodes: %r" % sorted(users))
    p = await presence(wa, 4, or_none=True)
    check(p == {"type": "presence", "user": Y, "online": False},
          "Y leaves node3: presence offline: %r" % p)
    await close_all(w, wa)


# ---- 5. offline on node1, resume on node2 ----

async def test_resume(n1, n2, n3, nats):
    R, S = "r-rita", "r-sam"
    s = await connect(n3, S)
    rw = await connect(n3, "r-watch")
    await send(rw, {"type": "watch", "users": [R]})
    await presence(rw, 3)
    r, res = await resume(n1, R, 0)
    E = res.get("epoch")
    check(res.get("type") == "resumed" and res.get("since") == 0 and
          res.get("first") == 0 and res.get("last") == 0 and
          res.get("sparse") is True and "reset" not in res,
          "fresh user ?since=0: resumed since 0 first 0 last 0 sparse: %r"
          % res)
    check(isinstance(E, str) and re.fullmatch(r"[0-9a-f]{16}", E or ""),
          "epoch: 16 hex digits: %r" % E)
    first = []
    for i in range(4):
        ack = await chat_ack(s, R, "m%d" % i, i)
        check(ack.get("status") == "delivered", "m%d delivered: %r"
              % (i, ack))
    first = await take(r, 4)
    check(len(first) == 4 and all(chat_ev_ok(m, S, "m%d" % i)
                                  for i, m in enumerate(first)) and
          increasing(seqs(first)), "rita on node1 gets m0..m3: %r" % first)
    last = first[-1].get("seq", 0) if first else 0
    await r.close()
    check(await gone(n1, R), "rita left node1")
    check(await offline_seen(rw, R), "node3 sees rita offline")
    for i in range(4, 9):
        ack = await chat_ack(s, R, "m%d" % i, i)
        check(ack == {"type": "ack", "id": i, "status": "queued"},
              "rita offline: m%d queued: %r" % (i, ack))
    r2, res = await resume(n2, R, last, epoch=E)
    rest = await take(r2, 5)
    check(res.get("type") == "resumed" and res.get("since") == last and
          res.get("epoch") == E and res.get("sparse") is True and
          "reset" not in res, "node2 ?since=%d&epoch=E: resumed as asked, "
          "same epoch, sparse: %r" % (last, res))
    check(len(rest) == 5 and all(chat_ev_ok(m, S, "m%d" % (i + 4))
                                 for i, m in enumerate(rest)),
          "exactly m4..m8 after the resume, in order: %r" % texts(rest))
    check(increasing([last] + seqs(rest)), "seqs above since, strictly "
          "increasing: %r" % seqs(rest))
    check(first and rest and res.get("first") == first[0].get("seq") and
          res.get("last") == rest[-1].get("seq"),
          "resumed first/last name the oldest and newest seqs: %r" % res)
    check(await no_message(r2, 0.4), "no duplicate after the replay")
    allev = first + rest

    # Live after the replay, on node2.
    ack = await chat_ack(s, R, "m9", 9)
    m = await recv_json(r2)
    check(ack.get("status") == "delivered" and chat_ev_ok(m, S, "m9") and
          m["seq"] > allev[-1]["seq"], "live after the replay: %r" % m)
    allev.append(m)
    # The replay counted as sent: no since on node3 gets nothing.
    check(await cursor_reaches(nats, R, m["seq"]), "node2 published "
          "rita's cursor %d (%d)" % (m["seq"], cursor(nats, R)))
    r3 = await connect(n3, R)
    check(await no_message(r3, 0.5), "no since after a replay: nothing "
          "sent again")
    await r3.close()

    # All of it again from node3, identical.
    r4, res = await resume(n3, R, 0, epoch=E)
    rep = await take(r4, len(allev))
    check(res.get("type") == "resumed" and res.get("since") == 0 and
          res.get("epoch") == E and res.get("last") == allev[-1]["seq"],
          "node3 ?since=0: same epoch, last: %r" % res)
    check(rep == allev, "node3 replays every event identically (message, "
          "from_user, ts, seq): %r" % seqs(rep))
    check(await no_message(r4, 0.3), "and nothing more")
    # The resume message, on node1.
    r5 = await connect(n1, R)
    await send(r5, {"type": "resume", "since": allev[2]["seq"],
                    "epoch": E})
    got = await take(r5, 1 + len(allev) - 3, 10)
    got += await drain(r5, 0.5)
    check(got and got[0].get("type") == "resumed" and
          got[0].get("since") == allev[2]["seq"] and
          got[0].get("sparse") is True and got[1:] == allev[3:],
          "resume message on node1: resumed then m3..m9: %r"
          % [g.get("type", g.get("seq")) for g in got])
    # Another epoch: reset to 0, all of it.
    other = ("1" if E[:1] != "1" else "2") + E[1:] if E else "0" * 16
    r6, res = await resume(n2, R, allev[-2]["seq"], epoch=other)
    rep = await take(r6, len(allev))
    check(res.get("type") == "resumed" and res.get("since") == 0 and
          res.get("reset") is True and res.get("epoch") == E,
          "a foreign epoch: since 0, reset, our epoch: %r" % res)
    check(rep == allev, "... and everything replayed: %r" % seqs(rep))
    await close_all(r2, r4, r5, r6, s, rw)
    return R, E, allev


# ---- 6. kill -9 of a node while messages flow ----

RECEIVERS = ["k-r0", "k-r1"]


async def test_kill9(n1, n2, n3, nats, E):
    n4 = start_node(nats.url, "node4-killed")
    rs = {u: RState(u) for u in RECEIVERS}
    ss = [SState(i, "k-s", RECEIVERS) for i in range(3)]
    t0 = time.monotonic()
    # A bystander only on node4, watched from node1.
    by = await connect(n4, "k-bystander")
    wa = await connect(n1, "k-watcher")
    await who_until(wa, lambda u: "k-bystander" in u, 4)
    await send(wa, {"type": "watch", "users": ["k-bystander"]})
    p = await presence(wa, 3)
    check(p.get("online") is True, "bystander on node4 online: %r" % p)
    st = await stats_until(n1, lambda x: x.get("cluster_nodes") == 3, 4)
    check(st.get("cluster_nodes") == 3, "node1 hears 3 other nodes: %r"
          % st)

    rtasks = [asyncio.ensure_future(kreceiver(n4, rs[u], E))
              for u in RECEIVERS]
    deadline = time.monotonic() + 5
    while any(not r.resumed for r in rs.values()) and \
            time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    # s0 on node1 never stops; s1 and s2 are on node4.
    stop0, stop4 = asyncio.Event(), asyncio.Event()
    # (Every receiver stays well under the default --history-limit of
    # 1000: JetStream drops a subject's oldest beyond it, sent or not.)
    t_s0 = asyncio.ensure_future(ksender(n1, ss[0], stop0, None, 500))
    t_s4 = [asyncio.ensure_future(ksender(n4, x, stop4, None))
            for x in ss[1:]]
    deadline = time.monotonic() + 4
    while sum(len(x.acked) for x in ss) < 500 and \
            time.monotonic() < deadline:
        await asyncio.sleep(0.005)
    before = sum(len(x.acked) for x in ss)
    inflight = sum(len(x.outstanding) for x in ss)
    got_before = [len(rs[u].got) for u in RECEIVERS]
    n4.kill()
    t_kill = time.monotonic()
    check(n4.proc.returncode == -9, "node4 killed with SIGKILL")
    print("kill -9 of node4 after %d acks, %d in flight, received %r"
          % (before, inflight, got_before), flush=True)
    check(before >= 100, "messages were flowing at the kill (%d acked)"
          % before)
    stop4.set()

    async def offline_seen():
        try:
            m = await presence(wa, 8)
            return m, time.monotonic() - t_kill
        except asyncio.TimeoutError:
            return None, None
    t_off = asyncio.ensure_future(offline_seen())
    try:
        await asyncio.wait_for(asyncio.gather(*t_s4), 20)
        await asyncio.wait_for(asyncio.gather(*rtasks), 10)
    except asyncio.TimeoutError:
        check(False, "senders and receivers on node4 see it die")
    await asyncio.sleep(0.3)	# s0 goes on while the receivers are away
    # Receivers come back on node2 (one) and node3 (other).
    back = {RECEIVERS[0]: n2, RECEIVERS[1]: n3}
    rtasks = [asyncio.ensure_future(kreceiver(back[u], rs[u], E))
              for u in RECEIVERS]
    t_s4 = [asyncio.ensure_future(ksender(n, x, asyncio.Event(), 150))
            for n, x in ((n1, ss[1]), (n2, ss[2]))]
    await asyncio.sleep(0.5)	# s0 goes on while they are back
    stop0.set()
    try:
        await asyncio.wait_for(t_s0, 20)
    except asyncio.TimeoutError:
        check(False, "s0 stops")
    t_s0 = asyncio.ensure_future(ksender(n3, ss[0], asyncio.Event(), 100))
    try:
        await asyncio.wait_for(asyncio.gather(t_s0, *t_s4), 30)
    except asyncio.TimeoutError:
        check(False, "senders finish within 30 s")
    await flow_settle(rs, ss, 15)
    try:
        await asyncio.wait_for(asyncio.gather(*rtasks), 10)
    except asyncio.TimeoutError:
        pass

    # Presence and /stats saw node4 go.
    m, after = await t_off
    check(m == {"type": "presence", "user": "k-bystander",
                "online": False} and after is not None and after < 6,
          "the bystander on the killed node goes offline on node1 within "
          "6 s: %r after %s s" % (m, after and "%.1f" % after))
    users = await who(wa)
    check("k-bystander" not in users, "who on node1 no longer lists the "
          "killed node's user: %r" % sorted(users))
    st = await stats_until(n1, lambda x: x.get("cluster_nodes") == 2, 6)
    check(st.get("cluster_nodes") == 2, "node1 /stats: 2 other nodes "
          "after the kill: %r" % st)
    await close_all(wa)
    try:
        by.transport.abort()
    except Exception:
        pass

    # The analysis.
    for u in RECEIVERS:
        r = rs[u]
        check(len(r.resumed) == 2 and
              all(x.get("type") == "resumed" and x.get("sparse") is True
                  and x.get("epoch") == E and "reset" not in x and
                  x.get("since") == since
                  for x, since in zip(r.resumed, r.since)),
              "%s: resumed on node4, then on another node since its last "
              "seq %r, same epoch, sparse, no reset: %r"
              % (u, r.since, r.resumed))

    def rising(u, sq):
        check(increasing(sq), "%s: seqs strictly increasing across the "
              "kill, none twice (bad at %r)" % (u, next(
                  ((i, a, b) for i, (a, b) in enumerate(zip(sq, sq[1:]))
                   if not a < b), None)))

    nsent, nacked, unacked_delivered, lost = flow_verdict(rs, ss, rising)
    # What the stream keeps: everything each receiver got, nothing
    # trimmed; for lost ones, whether they are in the stream at all.
    for u in RECEIVERS:
        r = rs[u]
        w, res = await resume(n1, u, 0, epoch=E)
        sq = [g[0] for g in r.got]
        check(sq and res.get("first") == sq[0] and
              res.get("last") == sq[-1], "%s: the stream keeps all it got "
              "(seqs %r..%r): %r" % (u, sq[:1], sq[-1:], res))
        if any(x[0] == u for x in lost):
            # Diagnosis: are the lost ones in the stream at all?
            rep = await take(w, 5000, 10)
            have = {m.get("message"): m.get("seq") for m in rep}
            print("%s: lost messages and their seq in the stream (None: "
                  "not stored): %r; it resumed %r" %
                  (u, [(t, have.get(t)) for x, t, _ in lost
                       if x == u][:10], r.resumed))
        await w.close()
    statuses = {}
    for x in ss:
        for k, v in x.status.items():
            statuses[k] = statuses.get(k, 0) + v
    print("kill -9 flow: %d sent, %d acked %r, %d unacked of which %d "
          "delivered, received %r, %.1f s" %
          (nsent, nacked, statuses, nsent - nacked, unacked_delivered,
           [len(rs[u].got) for u in RECEIVERS], time.monotonic() - t0),
          flush=True)


# ---- 7. NATS down and back ----

async def test_nats_down(nats, n1, n2, n3, R, E, allev):
    L1, L2, F = "o-l1", "o-l2", "o-far"
    l1 = await connect(n1, L1)
    l2 = await connect(n1, L2)
    f = await connect(n2, F)
    await who_until(l1, lambda u: F in u, 4)
    nodes = (n1, n2, n3)
    n0 = [n.log().count("cluster: reconnected") for n in nodes]
    nats.stop()
    t0 = time.monotonic()
    for n in nodes:
        ok = n.wait_log(r"cluster: disconnected", timeout=5)
        check(ok, "%s logs 'cluster: disconnected' (%.1f s)"
              % (os.path.basename(n.logpath), time.monotonic() - t0))
    st = await stats_until(n1, lambda x: x.get("cluster") == "down", 3)
    check(st.get("cluster") == "down", "NATS down: /stats cluster down: %r"
          % st)
    t = time.monotonic()
    ack = await chat_ack(l1, L2, "while down", "d1", 3)
    m = await recv_json(l2, 3)
    check(ack == {"type": "ack", "id": "d1", "status": "delivered"},
          "NATS down, target on the same node: ack delivered: %r" % ack)
    check(m.get("message") == "while down" and m.get("from_user") == L1
          and "seq" not in m, "... arrives live, without seq: %r" % m)
    for target, mid, ws, where in ((F, "d2", l1, "on another node"),
                                   ("o-nobody", "d3", l1, "offline"),
                                   (L1, "d4", f, "from node2 to node1")):
        t = time.monotonic()
        try:
            e = await chat_ack(ws, target, "refused", mid, 3)
        except asyncio.TimeoutError:
            e = None
        dt = time.monotonic() - t
        check(e is not None and e.get("type") == "error" and
              e.get("error") == "cluster_unavailable" and
              e.get("id") == mid and isinstance(e.get("detail"), str) and
              dt < 2, "NATS down, target %s: cluster_unavailable with the"
              " id in %.2f s: %r" % (where, dt, e))
    await send(l1, {"message": "no id", "target_user": F})
    try:
        e = await recv_json(l1, 2)
    except asyncio.TimeoutError:
        e = None
    check(e is not None and e.get("error") == "cluster_unavailable" and
          "id" not in e, "without an id: cluster_unavailable, no id: %r" % e)
    check(await no_message(f, 0.2), "nothing reached node2")
    # A node started while NATS is down runs, and joins later.
    try:
        n5 = start_node(nats.url, "node5-late", ready=False)
    except RuntimeError as ex:
        n5 = None
        check(False, "a node starts while NATS is down: %s" % ex)
    if n5 is not None:
        check(re.search(r"cluster: node \S+ joining nats://127\.0\.0\.1:%d"
                        % nats.port, n5.log()) is not None,
              "node5 logs 'cluster: node ID joining nats://...'")
        st = stats(n5)
        check(st.get("cluster") == "down", "node5 /stats while NATS is "
              "down: %r" % st)
        u5 = await connect(n5, "o-five")
        ack = await chat_ack(u5, F, "x", "5x", 3)
        check(ack.get("error") == "cluster_unavailable",
              "node5 not joined: cluster_unavailable: %r" % ack)

    nats.start()
    t0 = time.monotonic()
    for i, n in enumerate(nodes):
        deadline = time.monotonic() + 10
        while n.log().count("cluster: reconnected") <= n0[i] and \
                time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        check(n.log().count("cluster: reconnected") > n0[i],
              "%s logs 'cluster: reconnected' (%.1f s after NATS is back)"
              % (os.path.basename(n.logpath), time.monotonic() - t0))
    if n5 is not None:
        ok = n5.wait_log(r"cluster: ready", timeout=10)
        check(ok, "node5 joins: 'cluster: ready' (%.1f s)"
              % (time.monotonic() - t0))
    for n in nodes + ((n5,) if n5 else ()):
        st = await stats_until(n, lambda x: x.get("cluster") == "ready", 5)
        check(st.get("cluster") == "ready", "%s /stats ready again: %r"
              % (os.path.basename(n.logpath), st))
    if n5 is not None:
        st = await stats_until(n5, lambda x: x.get("cluster_nodes") == 3, 4)
        check(st.get("cluster_nodes") == 3, "the late node hears the 3 "
              "others: %r" % st)
    print("  NATS back: nodes ready %.1f s after" % (time.monotonic() - t0),
          flush=True)
    users = await who_until(l1, lambda u: F in u, 4)
    check(F in users, "who on node1 lists node2's user again: %r"
          % sorted(users))
    ack = await chat_ack(l1, F, "after", "a1")
    m = await recv_json(f)
    check(ack == {"type": "ack", "id": "a1", "status": "delivered"} and
          chat_ev_ok(m, L1, "after"), "after NATS is back: cross-node "
          "chat delivered: %r %r" % (ack, m))
    ack = await chat_ack(f, L1, "after back", "a2")
    m = await recv_json(l1)
    check(ack.get("status") == "delivered" and
          chat_ev_ok(m, F, "after back"), "and back: %r %r" % (ack, m))
    if n5 is not None:
        ack = await chat_ack(u5, F, "from five", "5y")
        m = await recv_json(f)
        check(ack.get("status") == "delivered" and
              chat_ev_ok(m, "o-five", "from five"),
              "the late node chats across nodes: %r %r" % (ack, m))
        ack = await chat_ack(f, "o-five", "to five", "5z")
        m, _ = await recv_until(u5, lambda x: "from_user" in x)
        check(ack.get("status") == "delivered" and
              chat_ev_ok(m, F, "to five"), "... both ways: %r %r"
              % (ack, m))
        await u5.close()
    # History from before the restart is still there.
    w, res = await resume(n2, R, 0, epoch=E)
    rep = await take(w, len(allev))
    check(res.get("type") == "resumed" and res.get("epoch") == E and
          "reset" not in res, "after the NATS restart: same epoch: %r"
          % res)
    check(rep == allev, "history from before the restart kept, "
          "identical: %r" % seqs(rep))
    await w.close()
    w, res = await resume(n1, L2, 0, epoch=E)
    rep = await drain(w, 0.4)
    check("while down" not in texts(rep), "what was delivered while NATS "
          "was down is not in the history: %r" % rep)
    await close_all(w, l1, l2, f)
    return n5


def metric(s, name):
    """A counter of a node's /metrics, or None."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % s.port,
                                    timeout=5) as r:
            text = r.read().decode()
    except (OSError, urllib.error.URLError):
        return None
    m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
    return int(m.group(1)) if m else None


async def test_early_purge():
    """--history-limit 400 (steps of 50): once 50 to 100 messages were
    stored in an inbox since its last purge, the node purges what was
    delivered but its newest 150 stores, before the inbox is full: a
    receiver that keeps up never meets a refusal and its inbox keeps
    150 to 300 (and what stores in flight add).  One that went away
    keeps every message it was not sent, and nothing acked is lost.
    Messages go one at a time, so that each is one stored message."""
    nats = Nats("nats-purge")
    nats.start()
    try:
        p = start_node(nats.url, "purge1", "--history-limit", "400")
        c = await connect(p, "ep-c")
        v = await connect(p, "ep-v")
        got, bad = [], []
        for i in range(600):
            a = await chat_ack(c, "ep-v", "e%d" % i, i)
            if a.get("status") != "delivered":
                bad.append(a)
            got += await take(v, 1)
        check(not bad and texts(got) == ["e%d" % i for i in range(600)],
              "early purge: 600 acked and received one at a time: %r"
              % bad[:3])
        n, full = (metric(p, "chat_cluster_purges_total"),
                   metric(p, "chat_cluster_full_purges_total"))
        check(n is not None and n >= 4 and full == 0,
              "early purge: 600 stores purged in steps, never once full: "
              "%r purges, %r of them when full" % (n, full))
        check((metric(p, "chat_cluster_purged_total") or 0) >= 280,
              "early purge: at least 280 stored messages purged: %r"
              % metric(p, "chat_cluster_purged_total"))
        w, r = await resume(p, "ep-v", 0)
        rep = await upto(w, got[-1]["seq"])
        ch = chats(rep)
        check(150 <= len(ch) <= 320 and ch == got[len(got) - len(ch):] and
              rep[0].get("type") == "expired" and
              rep[0].get("after") == 0 and
              rep[0].get("before") == ch[0].get("seq"),
              "early purge: the inbox keeps the newest 150..320 delivered "
              "(not 400), what went told as expired: %d kept, %r"
              % (len(ch), rep[:1]))
        await close_all(w, v)
        # Undelivered: u reads 150, leaves (its cursor goes at once),
        # then 350 more come: the purges take the 150 read once 150
        # stores are past them (by the 450th store), never one of the
        # 350, so all of them fit under 400.
        u = await connect(p, "ep-u")
        read = []
        for i in range(150):
            await chat_ack(c, "ep-u", "r%d" % i, "r%d" % i)
            read += await take(u, 1)
        await u.close()
        await gone(p, "ep-u")
        acks = [await chat_ack(c, "ep-u", "q%d" % i, "q%d" % i)
                for i in range(350)]
        check(texts(read) == ["r%d" % i for i in range(150)] and
              all(a.get("status") == "queued" for a in acks),
              "early purge: 150 read, then 350 acked queued, none "
              "refused: %r" % [a for a in acks
                               if a.get("status") != "queued"][:3])
        u, r = await resume(p, "ep-u", read[-1]["seq"])
        rest = await take(u, 350, 10)
        check(r.get("type") == "resumed" and
              texts(rest) == ["q%d" % i for i in range(350)] and
              increasing(seqs(rest)),
              "early purge: every message not delivered is kept and "
              "replayed once, in order: %r, %d" % (r, len(rest)))
        check(await no_message(u, 0.3), "early purge: nothing more")
        w, r = await resume(p, "ep-u", 0)
        first = await recv_json(w)
        check(first.get("type") == "expired" and rest and
              first.get("before") == rest[0].get("seq"),
              "early purge: all that u had read went, nothing else: %r"
              % first)
        await close_all(u, w, c)
        check(metric(p, "chat_cluster_full_purges_total") == 0,
              "early purge: still never a purge of a full inbox")
    finally:
        nats.stop()


async def test_credentials():
    """A NATS server that wants a password: given in the URL, kept out
    of the log; a wrong one is a configuration error (exit 2)."""
    nats = Nats("nats-auth", ("--user", "chat", "--pass", "s3cret-pw"))
    nats.start()
    try:
        url = "nats://chat:s3cret-pw@127.0.0.1:%d" % nats.port
        bad = "nats://chat:wrong-pw@127.0.0.1:%d" % nats.port
        a = start_node(url, "auth-a")
        r = subprocess.run([chatlib.SERVER, "--port", "0", "--cluster", bad],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=20)
        err = r.stderr.decode(errors="replace")
        check(r.returncode == 2 and "Authorization Violation" in err and
              "wrong-pw" not in err and "nats://***@" in err,
              "a wrong password: exit 2 saying why, password not shown: "
              "%r %r" % (r.returncode, err[-300:]))
        wa = await connect(a, "cred-u1")
        await send(wa, {"message": "m", "target_user": "cred-u2", "id": 1})
        m, _ = await recv_until(wa, lambda x: x.get("id") == 1)
        check(m.get("status") == "queued", "with the password in the URL "
              "the node stores messages: %r" % m)
        await wa.close()
        # The whole log, to the end of the process.
        check(a.stop() == 0, "auth-a exits 0 on SIGTERM")
        check("s3cret-pw" not in a.log() and
              "nats://***@127.0.0.1:%d" % nats.port in a.log(),
              "the log shows nats://***@host:port, never the password")
    finally:
        nats.stop()


async def main():
    t0 = time.monotonic()
    lap("start")
    test_options()
    await test_stats_alone()
    lap("options, lone node")
    await scenario("history limit", test_history_limit())
    lap("history limit")
    await scenario("early purge", test_early_purge())
    lap("early purge")
    await scenario("credentials", test_credentials())
    lap("credentials")
    await scenario("node killed before chat.newest", test_newest_crash())
    lap("node killed before chat.newest")
    nats = Nats()
    nats.start()
    try:
        n1 = start_node(nats.url, "node1")
        n2 = start_node(nats.url, "node2")
        n3 = start_node(nats.url, "node3")
        check(re.search(r"cluster: node \S+ joining nats://127\.0\.0\.1:%d"
                        % nats.port, n1.log()) is not None,
              "node1 logs 'cluster: node ID joining nats://...'")
        check("cluster: connected" in n1.log(), "node1 logs 'cluster: "
              "connected'")
        ids = [re.search(r"cluster: node (\S+) joining", n.log())
               for n in (n1, n2, n3)]
        ids = [m.group(1) for m in ids if m]
        check(len(set(ids)) == 3, "three distinct node ids: %r" % ids)
        lap("nats + 3 nodes")
        for n in (n1, n2, n3):
            st = await stats_until(
                n, lambda x: x.get("cluster_nodes") == 2, 4)
            check(st.get("cluster") == "ready" and
                  st.get("cluster_nodes") == 2,
                  "%s /stats: cluster ready, cluster_nodes 2: %r"
                  % (os.path.basename(n.logpath), st))
        lap("stats")
        await scenario("cross-node chat", test_cross(n1, n2))
        lap("cross-node chat")
        await scenario("queued", test_queued(n1, n2, n3))
        lap("queued, seed")
        await scenario("lagging", test_lagging(n1, n2, n3, nats))
        lap("receiver cut while behind")
        await scenario("multi-session", test_multi(n1, n2, n3))
        lap("multi-session")
        await scenario("presence", test_presence(n1, n2, n3))
        lap("who, presence")
        res = await scenario("resume", test_resume(n1, n2, n3, nats))
        R, E, allev = res or ("r-rita", None, None)
        lap("resume on another node")
        await scenario("kill -9", test_kill9(n1, n2, n3, nats, E))
        lap("kill -9 flow")
        await scenario("NATS down", test_nats_down(nats, n1, n2, n3, R, E,
                                                   allev))
        lap("NATS down and back")
        for n in NODES:
            if n.proc.poll() is None:
                rc = n.stop()
                if not check(rc == 0, "%s exits 0 on SIGTERM (%r)"
                             % (os.path.basename(n.logpath), rc)):
                    print(n.log()[-3000:])
        for n in NODES:
            log = n.log()
            check(not re.search(r"ERROR: \w*Sanitizer|runtime error:", log),
                  "%s: no sanitizer report" % os.path.basename(n.logpath))
    finally:
        for n in NODES:
            n.kill()
        nats.stop()
    print("test_cluster: %.1f s" % (time.monotonic() - t0))


chatlib.need_nats()
try:
    chatlib.run(main())
finally:
    kill_all()
chatlib.done()
