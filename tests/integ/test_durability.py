# Copyright (c) 2026 The chat authors.
#
# test_durability: "nothing acked is lost" (issue #15; the guarantee as
# chat-protocol(7) "History and resume" states it), checked against a
# model.  One random run, the same code against each backing of the
# inboxes: memory (the default), SQLite (--store FILE) and a cluster of
# two nodes (--cluster, with a nats-server -js of its own on a free
# loopback port and a temporary store).
#
# The random run: senders (one connection at a time, a window of unacked
# messages, now and then a burst to one target) write to receivers.  A
# receiver user has devices: a "resume" device connects the first time
# with ?epoch= (or ?since=0), then always with ?since=<the last seq it
# read>&epoch=<its epoch>; a "seed" device never sends since.  Each
# connection lives a random while, reads at full speed or slowly
# (SO_RCVBUF 4 kB and pauses, or nothing at all for seconds, while the
# server's socket fills with what it wrote), and ends with an RST with
# data unread, a close, or the death of its server; then its device is
# away for a while.  Every couple of
# seconds the server is killed with SIGKILL and started again: memory
# loses everything (a new numbering: resuming devices must be told
# "reset"), SQLite reopens its file, and in the cluster one node dies
# and comes back.  Memory and SQLite change retention at each start:
# --history-limit, --history-bytes (with --sender-bytes and
# --target-bytes as large), --history-days 0.00002 (1.7 s); the cluster
# runs with --history-limit and --history-days both.
#
# The model (verdict()): every message acked "delivered" or "queued" is
# received exactly once by the chain of connections of each resume
# device of its target, in order per sender, unless that chain was told
# it went: an "expired" event whose range holds its seq (its seq known
# from any connection that read it, or else bounded by the seqs of its
# sender's neighbours), or a "resumed" answer with "reset":true after it
# was sent (its server was restarted without a store, or its inbox
# forgotten: then it was in another epoch).  Messages to users with only
# seed devices are received at least once, but for those a kill -9 may
# take (memory: all; else: acked before it, or sent to the killed node
# before it, with a connection of that user open there, so maybe
# written to it).  On every connection: seqs strictly increasing, each
# "expired" where the connection stood and just before the message with
# seq "before" (or the last thing it got), nothing received twice,
# nothing never sent or refused, "resumed" as asked.  No "reset" from
# SQLite or JetStream, one epoch per store file or stream, "sparse" from
# the cluster only.  Unacked messages (refused, or in flight at a kill)
# arrive at most once, refused ones never.
#
# Fixed cases, the four of issue 15 "What we saw", each a named check:
# 1. memory, chat-client line mode: a reader prints a1..a3 and exits,
#    the server restarts, a sender sends b1..b5 (exit 0: all acked), the
#    reader starts again and prints all of b1..b5 (it learnt the epoch
#    on its first connection), saying the numbering restarted;
# 2. memory and SQLite: a reader that never reads, 3,000 messages acked
#    delivered, its connection reset: ?since=0 gets every message its
#    socket never took, and what --history-limit took of the rest is told;
# 3. memory and SQLite, by --history-bytes and by --history-days: a
#    reader at seq 5 goes away, retention takes its messages, 8 more are
#    acked queued: ?since=5&epoch=E gets all 8 (or a reset), never 6..8;
# 4. cluster: the receiver's node is killed, 2,000 messages are sent to
#    it: resuming on the other node it gets every one acked, none refused
#    (queue_full), and the sender is told one or the other for each.
#
# make check runs it in under a minute.  DURABILITY_SECONDS=N runs N
# seconds of random traffic on each backing (default 8); give the runner
# time for it: DURABILITY_SECONDS=300 TEST_TIMEOUT=1500 sh tests/run
# test_durability.  DURABILITY_SEED=N repeats a run's random choices
# (printed at the start), though not its timing.  Without nats-server
# the cluster part is skipped, and the test with it (exit 77) if the
# rest passed.

import asyncio
import bisect
import json
import os
import random
import re
import socket
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chatlib  # noqa: E402
from chatlib import check, connect, recv_json, upath, gone, lap  # noqa: E402
from chatlib import RawWS, Nats, free_port  # noqa: E402

import websockets  # noqa: E402

TMP = chatlib.TMP
SECONDS = float(os.environ.get("DURABILITY_SECONDS") or 8)
SEED = int(os.environ.get("DURABILITY_SEED") or
           random.SystemRandom().randrange(1 << 31))
HAVE_NATS = os.access(chatlib.NATS_BIN, os.X_OK)

# Retention of the memory and SQLite servers, one after another at each
# start; every run also has a small --max-output, for slow readers.
RETENTION = [
    ("count", ["--history-limit", "30"]),
    ("bytes", ["--history-bytes", "192k", "--sender-bytes", "192k",
               "--target-bytes", "192k"]),
    ("age", ["--history-days", "0.00002"]),
]
# The cluster run ages messages out.  When retention empties a user's
# subject, the node that appends next may not know the chain (it was
# restarted, or freed its box); chat.newest says where it stood, or that
# a node (maybe the one killed here) may have stored past that, and then
# the gap told runs up to the new message (test_cluster has both cases).
CLUSTER_RETENTION = ("count+age", ["--history-limit", "40",
                                   "--history-days", "0.00002"])
COMMON = ["--max-output", "64k", "--max-message", "4k"]
# Message text: slices of this, which permessage-deflate cannot shrink
# much (python3-websockets offers it), so output backs up as it would.
PAD = "".join(random.Random(15).choices(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    k=1 << 16))


def now():
    return time.monotonic()


def rst(ws):
    """Drop ws's TCP connection with an RST (SO_LINGER 0): what the
    kernel holds unread is lost."""
    t = ws.transport
    if t is None:
        return
    sock = t.get_extra_info("socket")
    try:
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            struct.pack("ii", 1, 0))
    except OSError:
        pass
    t.abort()
    # A slow connection's reader may wait for room in its full queue,
    # which nobody will read now: end it, or it lingers to the end.
    task = getattr(ws, "transfer_data_task", None)
    if task is not None:
        task.cancel()


# ---- the model: what was sent and answered, what each connection got ----

class Msg:
    """One chat message sent (an attempt: a message sent again after a
    refusal is another one).  state: sent (no answer yet), acked,
    refused (an error that says it was not taken) or unknown (its
    connection ended first, or cluster_unavailable)."""

    __slots__ = ("key", "sender", "target", "n", "gen", "node", "t_send",
                 "t_ack", "state", "how")

    def __init__(self, key, sender, target, n, gen, node):
        self.key, self.sender, self.target, self.n = key, sender, target, n
        self.gen, self.node = gen, node	# node: the index it was sent to
        self.t_send = now()
        self.t_ack = None
        self.state = "sent"
        self.how = None


class Conn:
    """One connection of a device, as it went: what it asked (kind
    since, hello or seed), the resumed answer, and every event it read,
    in order: ("chat", seq, key, from, t) or ("expired", after, before,
    t); "noseq" for a chat without seq."""

    def __init__(self, dev, kind, since, epoch, node):
        self.dev, self.user = dev, dev.user
        self.kind, self.since, self.epoch_asked = kind, since, epoch
        self.node, self.gen = node.index, node.gen
        self.t_open = now()
        self.t_end = None
        self.t_resumed = None
        self.resumed = None
        self.events = []
        self.end = None
        self.code = None	# the close code the server sent, if any
        self.slow = False

    @property
    def epoch(self):
        return self.resumed.get("epoch") if self.resumed else None

    def got(self, m, model):
        t = now()
        typ = m.get("type")
        if typ == "resumed" and self.resumed is None:
            self.resumed, self.t_resumed = m, t
            if self.dev.kind == "resume":
                self.dev.epoch = m.get("epoch")
                self.dev.last = m.get("since", 0)
            return
        if typ == "expired":
            self.events.append(("expired", m.get("after"), m.get("before"),
                                t))
        elif typ is None and isinstance(m.get("message"), str):
            key = m["message"].split("|", 1)[0]
            if "seq" not in m:
                self.events.append(("noseq", None, key, m.get("from_user"),
                                    t))
                return
            self.events.append(("chat", m["seq"], key, m.get("from_user"),
                                t))
            if self.dev.kind == "resume" and isinstance(m["seq"], int):
                self.dev.last = m["seq"]
        else:
            return		# presence, who, sent: not this test's
        model.t_event = t

    def ended(self, how):
        if self.end is None:
            self.end, self.t_end = how, now()

    def chats(self):
        return [e for e in self.events if e[0] == "chat"]


class Device:
    """A client of a receiver user: "resume" (keeps its last seq and
    epoch, always resumes) or "seed" (never sends since)."""

    def __init__(self, user, kind, idx, start="hello"):
        self.user, self.kind, self.idx = user, kind, idx
        self.start = start	# resume: hello (?epoch=) or since0
        self.conns = []
        self.last = 0
        self.epoch = None
        self.ready = False	# connected once
        self.last_conn = None	# opened after the run's end: settle

    def request(self):
        """(kind, since, epoch) of the next connection."""
        if self.kind == "seed":
            return "seed", None, None
        if self.epoch is None:
            return ("hello", None, "") if self.start == "hello" \
                else ("since", 0, None)
        return "since", self.last, self.epoch

    def open(self, node):
        kind, since, epoch = self.request()
        c = Conn(self, kind, since, epoch, node)
        self.conns.append(c)
        return c


class Model:
    def __init__(self, name, sparse, persistent):
        self.name, self.sparse, self.persistent = name, sparse, persistent
        self.msgs = {}
        self.to = {}		# target -> [Msg] in send order
        self.count = {}		# sender -> messages made
        self.devices = []
        self.kills = []		# (t, node index)
        self.t_event = now()
        self.t0 = now()

    def device(self, user, kind, start="hello"):
        d = Device(user, kind, sum(1 for x in self.devices
                                   if x.user == user), start)
        self.devices.append(d)
        self.to.setdefault(user, [])
        return d

    def new_msg(self, sender, target, gen, node):
        n = self.count.get(sender, 0) + 1
        self.count[sender] = n
        m = Msg("%s#%d" % (sender, n), sender, target, n, gen, node)
        self.msgs[m.key] = m
        self.to.setdefault(target, []).append(m)
        return m

    def answer(self, m, ans):
        """The server's answer to m: an ack or an error."""
        if m.state != "sent":
            return
        if ans.get("type") == "ack" and ans.get("status") in ("delivered",
                                                             "queued"):
            m.state, m.how, m.t_ack = "acked", ans["status"], now()
        elif ans.get("type") == "error" and \
                ans.get("error") != "cluster_unavailable":
            # Not taken: it must never arrive.
            m.state, m.how = "refused", ans.get("error")
        else:
            m.state, m.how = "unknown", ans.get("error") or repr(ans)

    def unanswered(self, ms):
        for m in ms:
            if m.state == "sent":
                m.state, m.how = "unknown", "no answer"

    def acked_to(self, user):
        return [m for m in self.to.get(user, []) if m.state == "acked"]

    # ---- the verdict ----

    def epoch_of(self, c):
        """The numbering c's seqs belong to: its resumed answer's, or on
        a store file or stream (one numbering) the run's."""
        if c.epoch is not None:
            return c.epoch
        return self.run_epoch if self.persistent else None

    def verdict(self, label):
        """Check everything against the model; print a summary.  Returns
        the number of failed checks."""
        f0 = chatlib._failed
        bad = {}

        def fail(what, example):
            bad.setdefault(what, []).append(example)

        conns = [c for d in self.devices for c in d.conns]
        epochs = {c.epoch for c in conns if c.epoch}
        self.run_epoch = next(iter(epochs)) if len(epochs) == 1 else None
        if self.persistent and len(epochs) > 1:
            fail("one epoch on a store file or stream", sorted(epochs))
        # Every seq a connection read, with its epoch: key -> {(e, s)}.
        known = {}
        for c in conns:
            e = self.epoch_of(c)
            if e is None:
                continue
            for ev in c.chats():
                known.setdefault(ev[2], set()).add((e, ev[1]))
        self._known = known
        # For bounds(): per (sender, target, epoch) the known seqs in the
        # sender's order, with running maxima and minima.
        pairs = {}
        for m in self.msgs.values():
            for e, sq in known.get(m.key, ()):
                pairs.setdefault((m.sender, m.target, e), []).append(
                    (m.n, sq))
        self._pairs = {}
        for k, v in pairs.items():
            v.sort()
            ns = [n for n, _ in v]
            hi = [sq for _, sq in v]
            lo = list(hi)
            for i in range(1, len(lo)):
                lo[i] = max(lo[i], lo[i - 1])
            for i in range(len(hi) - 2, -1, -1):
                hi[i] = min(hi[i], hi[i + 1])
            self._pairs[k] = (ns, lo, hi)
        # For told_reset(): the first ack of a message known per epoch.
        self._first_ack = {}
        for m in self.msgs.values():
            if m.t_ack is None:
                continue
            for e, _ in known.get(m.key, ()):
                if m.t_ack < self._first_ack.get(e, float("inf")):
                    self._first_ack[e] = m.t_ack
        for c in conns:
            self.check_conn(c, fail)
        excused = {}
        lost = []
        for d in self.devices:
            if d.kind == "resume":
                self.check_chain(d, fail, excused, lost)
        for user in sorted({d.user for d in self.devices}):
            devs = [d for d in self.devices if d.user == user]
            if all(d.kind == "seed" for d in devs):
                self.check_seed_user(user, devs, excused, lost)
        # The report.
        ms = list(self.msgs.values())
        st = {}
        for m in ms:
            k = m.state if m.state != "acked" else m.how
            st[k] = st.get(k, 0) + 1
        why = {}
        for m in ms:
            if m.state in ("refused", "unknown"):
                why[m.how] = why.get(m.how, 0) + 1
        ends = {}
        for c in conns:
            e = c.end or "open"
            ends[e] = ends.get(e, 0) + 1
        cuts = sum(1 for c in conns if c.code == 1008)
        nchat = sum(len(c.chats()) for c in conns)
        nexp = sum(1 for c in conns for e in c.events if e[0] == "expired")
        nreset = sum(1 for c in conns if c.resumed and c.resumed.get("reset"))
        print("%s: %d sent: %r; not taken: %r; %d kills; %d connections "
              "(%d slow, %d of them stalled; %d cut off by the server), "
              "ends %r; read %d chat events, %d expired events, %d resets; "
              "excused %r" %
              (label, len(ms), st, why, len(self.kills), len(conns),
               sum(1 for c in conns if c.slow),
               sum(1 for c in conns if c.slow == "stalled"), cuts, ends,
               nchat, nexp, nreset, excused), flush=True)
        names = [
            "resumed answers as asked",
            "only messages sent to it, from their sender, none refused",
            "seqs strictly increasing on a connection",
            "nothing twice on a connection",
            "in order per sender on a connection",
            "expired: after < before, where the connection stood, just "
            "before the message with seq before",
            "every chat message has a seq",
            "no reset from a store file or stream",
            "sparse from the cluster only",
            "one epoch on a store file or stream",
            "exactly once per resume device (chain of since)",
            "in order per sender on a resume device",
            "seqs increasing across a resume device's connections",
        ]
        for n in names + sorted(set(bad) - set(names)):
            ex = bad.get(n, [])
            check(not ex, "%s: %s (%d bad: %r)" % (label, n, len(ex),
                                                    ex[:4]))
        check(not lost, "%s: every acked message received by each resume "
              "device of its target (at least once by seed-only users), or "
              "told expired or reset (%d lost: %r)"
              % (label, len(lost), lost[:6]))
        if lost:
            self.explain(lost[:3])
        if chatlib._failed > f0:
            self.dump(os.path.join(TMP, re.sub(r"\W+", "-", label) +
                                   ".json"))
        return chatlib._failed - f0

    def dump(self, path):
        """Everything the model saw, as JSON, for a failure's post-mortem
        (the runner keeps TEST_TMP when a test fails)."""
        out = {"kills": self.kills, "msgs": [
            [m.key, m.sender, m.target, m.n, m.state, m.how, m.gen,
             m.t_send, m.t_ack] for m in self.msgs.values()], "conns": [
            {"user": c.user, "dev": c.dev.idx, "kind": c.kind,
             "since": c.since, "epoch": c.epoch_asked, "node": c.node,
             "gen": c.gen, "t_open": c.t_open, "t_end": c.t_end,
             "slow": c.slow, "end": c.end, "resumed": c.resumed,
             "t_resumed": c.t_resumed, "events": c.events}
            for d in self.devices for c in d.conns]}
        with open(path, "w") as f:
            json.dump(out, f)
        print("  the model's record: %s" % path)

    def check_conn(self, c, fail):
        where = "%s/%d conn %d" % (c.user, c.dev.idx, c.dev.conns.index(c))
        pos = None
        if c.kind != "seed" and (c.resumed is not None or c.events):
            r = c.resumed or {}
            ok = r.get("type") == "resumed" and \
                re.fullmatch(r"[0-9a-f]{16}", str(r.get("epoch"))) and \
                isinstance(r.get("first"), int) and \
                isinstance(r.get("last"), int)
            if c.kind == "hello":
                ok = ok and r.get("cursor") is True and "reset" not in r
            elif r.get("reset"):
                ok = ok and r.get("since") == 0
            else:
                ok = ok and r.get("since") == c.since
            if not ok:
                fail("resumed answers as asked", (where, c.kind, c.since,
                                                   c.epoch_asked, r))
            if r.get("reset") and self.persistent:
                fail("no reset from a store file or stream", (where, r))
            if bool(r.get("sparse")) != self.sparse:
                fail("sparse from the cluster only", (where, r))
            pos = r.get("since")
        seen = set()
        order = {}
        evs = c.events
        for i, ev in enumerate(evs):
            if ev[0] == "noseq":
                fail("every chat message has a seq", (where, ev[2]))
                continue
            if ev[0] == "expired":
                _, a, b, _ = ev
                nxt = evs[i + 1] if i + 1 < len(evs) else None
                ok = isinstance(a, int) and isinstance(b, int) and a < b
                if ok and pos is not None:
                    ok = a >= pos if self.sparse else a == pos
                if ok and nxt is not None:
                    # Told at once (nothing kept after the gap), in a
                    # cluster the next message may lie past before:
                    # another gap follows, from before - 1, where the
                    # first left the connection.
                    ok = (nxt[0] == "chat" and (nxt[1] >= b if self.sparse
                                                else nxt[1] == b)) or \
                        (self.sparse and nxt[0] == "expired" and
                         nxt[1] == b - 1)
                if not ok:
                    fail("expired: after < before, where the connection "
                         "stood, just before the message with seq before",
                         (where, pos, ev[:3], nxt and nxt[:3]))
                if isinstance(a, int) and pos is not None:
                    pos = max(pos, a)
                continue
            _, seq, key, frm, _ = ev
            m = self.msgs.get(key)
            if m is None or m.target != c.user or m.sender != frm or \
                    m.state == "refused":
                fail("only messages sent to it, from their sender, none "
                     "refused", (where, key, frm, m and m.state))
            if not isinstance(seq, int) or (pos is not None and seq <= pos):
                fail("seqs strictly increasing on a connection",
                     (where, pos, seq))
            if key in seen:
                fail("nothing twice on a connection", (where, key, seq))
            seen.add(key)
            if m is not None:
                if order.get(m.sender, 0) >= m.n:
                    fail("in order per sender on a connection",
                         (where, key, order[m.sender]))
                order[m.sender] = m.n
            if isinstance(seq, int):
                pos = seq

    def bounds(self, m, e):
        """(L, H): m's seq in epoch e lies between the seqs known there
        of its sender's messages to the same target before and after it."""
        ns, lo, hi = self._pairs.get((m.sender, m.target, e), ((), (), ()))
        i = bisect.bisect_left(ns, m.n)
        j = bisect.bisect_right(ns, m.n)
        return (lo[i - 1] if i > 0 else 0,
                hi[j] if j < len(ns) else float("inf"))

    def told_expired(self, m, expired):
        """Is m inside one of expired [(epoch, after, before, t)]?"""
        ks = self._known.get(m.key)
        for (e, a, b, t) in expired:
            if ks:
                if any(ke == e and a < s < b for ke, s in ks):
                    return True
                continue
            if t < m.t_send:
                continue
            lo, hi = self.bounds(m, e)
            if max(a, lo) + 1 < min(b, hi):
                return True
        return False

    def told_reset(self, m, resets):
        """Was m's epoch or server left behind by a reset answer the
        device got after m was sent?"""
        ks = self._known.get(m.key)
        for r in resets:
            if m.t_send >= r.t_resumed:
                continue
            if ks:
                if any(e != r.epoch for e, _ in ks):
                    return True
                continue
            if m.gen < r.gen or \
                    m.t_ack < self._first_ack.get(r.epoch, float("inf")):
                return True
        return False

    def check_chain(self, d, fail, excused, lost):
        where = "%s/%d" % (d.user, d.idx)
        count, order, last = {}, {}, {}
        expired, resets = [], []
        for c in d.conns:
            e = self.epoch_of(c)
            if c.resumed and c.resumed.get("reset"):
                resets.append(c)
            for ev in c.events:
                if ev[0] == "expired":
                    if e is not None and isinstance(ev[1], int):
                        expired.append((e, ev[1], ev[2], ev[3]))
                    continue
                if ev[0] != "chat":
                    continue
                _, seq, key, frm, _ = ev
                count[key] = count.get(key, 0) + 1
                m = self.msgs.get(key)
                if m is not None:
                    if order.get(m.sender, 0) >= m.n:
                        fail("in order per sender on a resume device",
                             (where, key, order[m.sender]))
                    order[m.sender] = m.n
                if e is not None and isinstance(seq, int):
                    if seq <= last.get(e, 0):
                        fail("seqs increasing across a resume device's "
                             "connections", (where, e, last[e], seq))
                    last[e] = seq
        dup = [(k, n) for k, n in count.items() if n > 1]
        if dup:
            fail("exactly once per resume device (chain of since)",
                 (where, dup[:3]))
        for m in self.acked_to(d.user):
            if m.key in count:
                continue
            if self.told_expired(m, expired):
                excused["expired"] = excused.get("expired", 0) + 1
            elif self.told_reset(m, resets):
                excused["reset"] = excused.get("reset", 0) + 1
            else:
                lost.append((where, m.key, m.how))

    def check_seed_user(self, user, devs, excused, lost):
        got = set()
        expired = []
        conns = [c for d in devs for c in d.conns]
        for c in conns:
            e = self.epoch_of(c)
            for ev in c.events:
                if ev[0] == "chat":
                    got.add(ev[2])
                elif ev[0] == "expired" and e is not None:
                    expired.append((e, ev[1], ev[2], ev[3]))
        # The last kill of all, and the kills of a node while a
        # connection of user was open there: what was acked before one
        # may have been written to that connection (at once, or from the
        # inbox), then lost with the socket.  So may what was sent to
        # that node before it: the server writes a message to its target
        # in the pass it sends the ack, and the ack may be read here
        # only after the kill (a stalled seed connection then loses with
        # the socket what the server had written to it, and moved the
        # cursor past).  Not what was sent to another node: that one may
        # have been taken only after the kill.
        last_kill = max((t for t, _ in self.kills), default=0)
        here = [(t, i) for t, i in self.kills if any(
            c.node == i and c.t_open < t and
            (c.t_end is None or c.t_end >= t) for c in conns)]
        for m in self.acked_to(user):
            if m.key in got:
                continue
            if not self.persistent and last_kill > m.t_send:
                why = "restart"
            elif any(t > m.t_ack for t, _ in here):
                why = "kill"
            elif any(t > m.t_send and i == m.node for t, i in here):
                why = "kill, ack read after it"
            elif self.told_expired(m, expired):
                why = "expired"
            else:
                lost.append((user, m.key, m.how))
                continue
            excused["seed " + why] = excused.get("seed " + why, 0) + 1

    def explain(self, lost):
        """Print what each connection of a lost message's target got
        around it, for the log of a failure."""
        for where, key, how in lost:
            m = self.msgs[key]
            print("  lost %s (%s, %s -> %s, sent at %.2f, acked at %.2f, "
                  "gen %d, known %r)" %
                  (key, how, m.sender, m.target, m.t_send, m.t_ack, m.gen,
                   self._known.get(key)))
            for d in self.devices:
                if d.user != m.target:
                    continue
                for i, c in enumerate(d.conns):
                    seqs = [e[1] for e in c.chats()]
                    exps = [e[1:3] for e in c.events if e[0] == "expired"]
                    print("    %s/%d conn %d %s since=%r node %d gen %d "
                          "%.2f..%s resumed=%r seqs=%s expired=%r end=%r" %
                          (d.user, d.idx, i, c.kind, c.since, c.node, c.gen,
                           c.t_open, c.t_end and "%.2f" % c.t_end,
                           c.resumed, (seqs[:3], seqs[-3:], len(seqs)),
                           exps[:4], c.end))


# ---- backings: the servers a run goes against ----

class Node:
    def __init__(self, index, server, gen):
        self.index, self.server, self.gen = index, server, gen
        self.alive = True

    @property
    def url(self):
        return self.server.url


class Backing:
    """memory, sqlite or cluster: its servers (nodes), started, killed
    and restarted.  gen counts starts: a message's gen says which run of
    a server took it."""

    def __init__(self, kind, tag):
        self.kind, self.tag = kind, tag
        self.sparse = kind == "cluster"
        self.persistent = kind != "memory"
        self.nodes = []
        self.servers = []
        self.gen = 0
        self.nats = None
        self.store = os.path.join(TMP, "%s.db" % tag)

    def retention(self, gen):
        if self.kind == "cluster":
            return CLUSTER_RETENTION
        return RETENTION[gen % len(RETENTION)]

    async def spawn(self, index, extra=None):
        self.gen += 1
        label, opts = self.retention(self.gen) if extra is None \
            else ("given", extra)
        name = "%s-%d-%d" % (self.tag, index, self.gen)
        args = COMMON + opts
        if self.kind == "sqlite":
            args += ["--store", self.store]
        loop = asyncio.get_running_loop()
        if self.kind == "cluster":
            s = await loop.run_in_executor(None, lambda: chatlib.start_node(
                self.nats.url, name, *args))
        else:
            s = await loop.run_in_executor(None, lambda: chatlib.Server(
                *args, name=name))
            chatlib.kill_at_exit(s.proc)
        self.servers.append(s)
        node = Node(index, s, self.gen)
        if index < len(self.nodes):
            self.nodes[index] = node
        else:
            self.nodes.append(node)
        return node, label

    async def start(self, extra=None):
        if self.kind == "cluster":
            self.nats = Nats("nats-" + self.tag)
            await asyncio.get_running_loop().run_in_executor(
                None, self.nats.start)
            for i in range(2):
                await self.spawn(i, extra)
        else:
            await self.spawn(0, extra)

    def pick(self, rnd):
        up = [n for n in self.nodes if n.alive]
        return rnd.choice(up) if up else None

    def kill(self, i, model=None):
        n = self.nodes[i]
        n.alive = False
        n.server.kill()
        if model is not None:
            model.kills.append((now(), i))
        return n.server.proc.returncode

    def stop(self):
        for n in self.nodes:
            if n.alive:
                n.alive = False
                rc = n.server.stop()
                if not check(rc == 0, "%s: %s exits 0 on SIGTERM (%r)" %
                             (self.tag, os.path.basename(n.server.logpath),
                              rc)):
                    print(n.server.log()[-3000:])
        for s in self.servers:
            s.kill()
            log = s.log()
            check(not re.search(r"ERROR: \w*Sanitizer|runtime error:", log),
                  "%s: no sanitizer report" % os.path.basename(s.logpath))
        if self.nats is not None:
            self.nats.stop()


# ---- clients ----

async def open_ws(node, path, slow=False):
    """A python3-websockets connection; slow: SO_RCVBUF 4 kB, a queue of
    4 messages and a 4 kB read buffer, so that the server's output backs
    up."""
    kw = {"max_queue": 4 if slow else None, "open_timeout": 3,
          "close_timeout": 10}
    if slow:
        kw["read_limit"] = 4096
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        try:
            await asyncio.wait_for(loop.sock_connect(
                sock, ("127.0.0.1", node.server.port)), 3)
        except BaseException:
            sock.close()
            raise
        kw["sock"] = sock
    return await connect(node.url, path=path, **kw)


def conn_path(c):
    return upath(c.user, c.since, epoch=c.epoch_asked)


async def read_until(ws, c, model, pred, limit=15):
    """Read into c until pred(c) holds, the connection ends, or limit
    seconds pass."""
    deadline = now() + limit
    try:
        while now() < deadline and not pred(c):
            try:
                raw = await asyncio.wait_for(ws.recv(), max(
                    0.01, min(0.5, deadline - now())))
            except asyncio.TimeoutError:
                continue
            c.got(json.loads(raw), model)
    except (websockets.ConnectionClosed, ConnectionError) as e:
        c.ended("server %s" % getattr(e, "code", ""))


async def close_and_drain(ws, c, model):
    """A clean close; what came before the server's close frame is read
    meanwhile (a slow connection's full queue would stop the library
    from reading that frame)."""
    closer = asyncio.ensure_future(ws.close())
    try:
        while True:
            c.got(json.loads(await asyncio.wait_for(ws.recv(), 5)), model)
    except (websockets.ConnectionClosed, ConnectionError,
            asyncio.TimeoutError):
        pass
    try:
        await closer
    except (websockets.ConnectionClosed, ConnectionError):
        pass
    c.ended("close")


class Link:
    """A sender's connection: sends chats with ids, takes the answers."""

    def __init__(self, model, user, node, ws):
        self.model, self.user, self.node, self.ws = model, user, node, ws
        self.out = {}
        self.moved = asyncio.Event()
        self.task = asyncio.ensure_future(self._read())

    @classmethod
    async def open(cls, model, user, node):
        return cls(model, user, node, await open_ws(node, upath(user)))

    async def _read(self):
        try:
            async for raw in self.ws:
                a = json.loads(raw)
                m = self.out.pop(a.get("id"), None)
                if m is not None:
                    self.model.answer(m, a)
                    self.moved.set()
        except (websockets.ConnectionClosed, ConnectionError):
            pass
        finally:
            self.model.unanswered(self.out.values())
            self.out.clear()
            self.moved.set()

    def alive(self):
        return not self.task.done()

    async def room(self, window):
        while len(self.out) >= window and self.alive():
            self.moved.clear()
            await self.moved.wait()

    async def send(self, target, size):
        m = self.model.new_msg(self.user, target, self.node.gen,
                               self.node.index)
        self.out[m.key] = m
        off = (m.n * 7919) % (len(PAD) - size)
        text = m.key + "|" + PAD[off:off + size]
        try:
            await self.ws.send(json.dumps({"message": text,
                                           "target_user": target,
                                           "id": m.key}))
        except (websockets.ConnectionClosed, ConnectionError):
            pass
        return m

    async def settle(self, timeout):
        """Wait up to timeout for every answer still due."""
        deadline = now() + timeout
        while self.out and self.alive() and now() < deadline:
            self.moved.clear()
            try:
                await asyncio.wait_for(self.moved.wait(),
                                       max(0.01, deadline - now()))
            except asyncio.TimeoutError:
                pass

    async def close(self):
        try:
            await self.ws.close()
        except (websockets.ConnectionClosed, ConnectionError):
            pass
        try:
            await asyncio.wait_for(self.task, 5)
        except asyncio.TimeoutError:
            self.task.cancel()


async def send_n(link, target, n, size, window=64):
    """n messages to target, at most window unanswered; then every
    answer.  Returns the messages."""
    ms = []
    for _ in range(n):
        await link.room(window)
        ms.append(await link.send(target, size))
    await link.settle(20)
    return ms


# ---- the random run ----

class Phase:
    def __init__(self):
        self.stop_send = asyncio.Event()
        self.final = asyncio.Event()	# devices: stay connected, fast
        self.done = asyncio.Event()	# devices: close and leave


def msg_size(rnd):
    r = rnd.random()
    if r < 0.7:
        return rnd.randint(10, 100)
    if r < 0.95:
        return rnd.randint(200, 1000)
    return rnd.randint(2000, 3500)


async def device_loop(model, b, d, rnd, ph):
    while not ph.done.is_set():
        node = b.pick(rnd)
        if node is None:
            await asyncio.sleep(0.05)
            continue
        final = ph.final.is_set()
        slow = not final and rnd.random() < 0.25
        stall = slow and rnd.random() < 0.5
        c = d.open(node)
        c.slow = "stalled" if stall else slow
        try:
            ws = await open_ws(node, conn_path(c), slow)
        except (OSError, asyncio.TimeoutError,
                websockets.InvalidHandshake, websockets.ConnectionClosed):
            c.ended("connect failed")
            await asyncio.sleep(0.05 + 0.1 * rnd.random())
            continue
        d.ready = True
        if final:
            d.last_conn = c
        lifetime = rnd.uniform(1.5, 4.0) if stall else rnd.uniform(0.3, 2.0)
        ending = "close" if d.kind == "seed" or rnd.random() < 0.4 \
            else "rst"
        deadline = now() + lifetime
        try:
            if stall:
                # It reads nothing a while: what the server writes backs
                # up in its socket (megabytes on loopback), then in its
                # output (--max-output: then it is cut off).
                try:
                    await asyncio.wait_for(ph.final.wait(), lifetime)
                except asyncio.TimeoutError:
                    pass
            # Once the run ends, each device ends the connection it has
            # and stays on a new one, which settle() watches.
            while not ph.done.is_set() and (
                    final or (now() < deadline and not ph.final.is_set())):
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.2)
                except asyncio.TimeoutError:
                    continue
                c.got(json.loads(raw), model)
                if slow and not ph.final.is_set() and rnd.random() < 0.08:
                    await asyncio.sleep(rnd.uniform(0.1, 0.5))
        except (websockets.ConnectionClosed, ConnectionError) as e:
            c.ended("server %s" % getattr(e, "code", ""))
        if c.end is None:
            if ending == "rst" and not ph.done.is_set():
                rst(ws)
                c.ended("rst")
            else:
                await close_and_drain(ws, c, model)
        c.code = ws.close_code
        if ph.done.is_set():
            break
        if not ph.final.is_set():
            away = rnd.uniform(1.2, 2.5) if rnd.random() < 0.1 \
                else rnd.uniform(0.02, 0.6)
            try:
                await asyncio.wait_for(ph.final.wait(), away)
            except asyncio.TimeoutError:
                pass


async def sender_loop(model, b, user, targets, rnd, ph, gap):
    while not ph.stop_send.is_set():
        node = b.pick(rnd)
        if node is None:
            await asyncio.sleep(0.03)
            continue
        try:
            link = await Link.open(model, user, node)
        except (OSError, asyncio.TimeoutError,
                websockets.InvalidHandshake, websockets.ConnectionClosed):
            await asyncio.sleep(0.05)
            continue
        burst, target, window = 0, None, 4
        while not ph.stop_send.is_set() and link.alive():
            if burst == 0:
                target = rnd.choice(targets)
                if rnd.random() < 0.03:
                    burst, window = rnd.randint(40, 150), 32
                else:
                    window = 4
            await link.room(window)
            if not link.alive():
                break
            await link.send(target, msg_size(rnd))
            if burst:
                burst -= 1
            else:
                await asyncio.sleep(rnd.uniform(0, 2 * gap))
        await link.settle(8 if ph.stop_send.is_set() else 0)
        await link.close()


async def chaos_loop(model, b, rnd, stop):
    while True:
        try:
            await asyncio.wait_for(stop.wait(), rnd.uniform(1.5, 3.0))
            return
        except asyncio.TimeoutError:
            pass
        i = rnd.randrange(len(b.nodes))
        rc = b.kill(i, model)
        check(rc == -9, "%s: node %d killed with SIGKILL (%r)"
              % (b.tag, i, rc))
        await asyncio.sleep(rnd.uniform(0.05, 0.4))
        _, label = await b.spawn(i)
        print("  %.1f s: %s node %d killed and started again (%s)"
              % (now() - model.t0, b.kind, i, label), flush=True)


async def settle(model, limit=30, quiet=1.5):
    """After the senders stopped: once every device is on a connection
    opened since, until every resume device and seed-only user has every
    acked message, or nothing arrived for quiet seconds."""
    t0 = now()
    while now() - t0 < limit and not all(
            d.last_conn is not None and (d.kind == "seed" or
                                         d.last_conn.resumed is not None)
            for d in model.devices):
        await asyncio.sleep(0.05)
    check(now() - t0 < limit, "%s: every device reconnects once the run "
          "ends" % model.name)
    model.t_event = now()
    while now() - t0 < limit:
        pending = 0
        users = {}
        for d in model.devices:
            users.setdefault(d.user, []).append(d)
        for u, devs in users.items():
            acked = {m.key for m in model.acked_to(u)}
            for d in devs:
                if d.kind == "resume":
                    got = {e[2] for c in d.conns for e in c.chats()}
                    pending += len(acked - got)
            if all(d.kind == "seed" for d in devs):
                got = {e[2] for d in devs for c in d.conns
                       for e in c.chats()}
                pending += len(acked - got)
        if pending == 0:
            return 0
        if now() - model.t_event > quiet and now() - t0 > quiet:
            return pending
        await asyncio.sleep(0.1)
    return -1


async def random_run(kind, seconds):
    rnd = random.Random("%d-%s" % (SEED, kind))
    tag = "rnd-" + kind
    b = Backing(kind, tag)
    await b.start()
    model = Model(kind, b.sparse, b.persistent)
    ph = Phase()
    p = kind[:3]
    rusers = ["%s-r%d" % (p, i) for i in range(4)]
    susers = ["%s-s%d" % (p, i) for i in range(2)]
    for u in rusers:
        for _ in range(rnd.choice((1, 2, 2))):
            model.device(u, "resume", rnd.choice(("hello", "since0")))
        if rnd.random() < 0.3:
            model.device(u, "seed")
    for u in susers:
        model.device(u, "seed")
    dtasks = [asyncio.ensure_future(device_loop(model, b, d, rnd, ph))
              for d in model.devices]
    deadline = now() + 10
    while not all(d.ready and (d.kind == "seed" or d.epoch)
                  for d in model.devices) and now() < deadline:
        await asyncio.sleep(0.02)
    check(all(d.ready for d in model.devices), "%s: every device connected "
          "before the senders start" % kind)
    senders = ["%s-w%d" % (p, i) for i in range(3)]
    stasks = [asyncio.ensure_future(sender_loop(model, b, s, rusers + susers,
                                                rnd, ph, 0.012))
              for s in senders]
    stop_chaos = asyncio.Event()
    ctask = asyncio.ensure_future(chaos_loop(model, b, rnd, stop_chaos))
    await asyncio.sleep(seconds)	# the length of the run
    stop_chaos.set()
    await ctask
    ph.stop_send.set()
    await asyncio.gather(*stasks)
    ph.final.set()
    t = now()
    pending = await settle(model)
    print("  %s: settled in %.1f s (%d acked messages not received by "
          "every device, to be excused)" % (kind, now() - t, pending))
    ph.done.set()
    try:
        await asyncio.wait_for(asyncio.gather(*dtasks), 20)
    except asyncio.TimeoutError:
        check(False, "%s: the devices close within 20 s" % kind)
    b.stop()
    model.verdict("%s random run (%s s)" % (kind, seconds))


# ---- fixed case 1: chat-client, a memory server restarted ----

def seq_file(state, port, user):
    return os.path.join(state, "chat-client", "ws_127.0.0.1_%d_%s.seq"
                        % (port, user))


async def client_run(args, state, stdin=None, timeout=20):
    p = await asyncio.create_subprocess_exec(
        chatlib.CLIENT, *args, env=dict(os.environ, XDG_STATE_HOME=state),
        stdin=asyncio.subprocess.PIPE if stdin is not None
        else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(p.communicate(stdin), timeout)
    except asyncio.TimeoutError:
        p.kill()
        out, err = await p.communicate()
    return (p.returncode, out.decode("utf-8", "replace"),
            err.decode("utf-8", "replace"))


def printed(out):
    """'HH:MM:SS FROM: TEXT' lines -> [TEXT]."""
    return [m.group(1) for m in re.finditer(
        r"^\d\d:\d\d:\d\d [^ :]+: (.*)$", out, re.M)]


async def listen(srv, user, state, count):
    """chat-client --listen --count: started, and connected."""
    n = srv.log().count("user %s connected" % user)
    t = asyncio.ensure_future(client_run(
        ["-b", "-u", user, "-s", srv.url, "--listen", "--count", str(count),
         "--timeout", "15s"], state))
    deadline = now() + 10
    while srv.log().count("user %s connected" % user) <= n and \
            now() < deadline and not t.done():
        await asyncio.sleep(0.02)
    return t


async def case_client_restart():
    what = "scenario 1 (memory, chat-client)"
    port = free_port()
    state = tempfile.mkdtemp(prefix="state-", dir=TMP)
    R, S = "c1-reader", "c1-sender"
    srv = chatlib.Server("--port", str(port), name="case1-a")
    chatlib.kill_at_exit(srv.proc)
    try:
        rt = await listen(srv, R, state, 3)
        w = await connect(srv, S)
        for i in range(1, 4):
            a = await chatlib.chat_ack(w, R, "a%d" % i, i)
            check(a.get("status") == "delivered", "%s: a%d acked delivered "
                  "(%r)" % (what, i, a))
        rc, out, err = await rt
        check(rc == 0 and printed(out) == ["a1", "a2", "a3"],
              "%s: the reader prints a1..a3 and exits 0 (%r, %r, %r)"
              % (what, rc, out, err))
        st = []
        if os.path.exists(seq_file(state, port, R)):
            with open(seq_file(state, port, R)) as f:
                st = f.read().split()
        check(len(st) == 2 and st[0] == "3" and
              re.fullmatch(r"[0-9a-f]{16}", st[1]),
              "%s: the reader keeps seq 3 and the epoch it learnt on its "
              "first connection (%r)" % (what, st))
        await w.close()
    finally:
        srv.kill()
    srv = chatlib.Server("--port", str(port), name="case1-b")
    chatlib.kill_at_exit(srv.proc)
    try:
        check(srv.port == port, "%s: the server is back on its port" % what)
        rc, out, err = await client_run(
            ["-b", "-u", S, "-t", R, "-s", srv.url],
            tempfile.mkdtemp(prefix="state-", dir=TMP),
            stdin=b"b1\nb2\nb3\nb4\nb5\n")
        check(rc == 0, "%s: the sender sends b1..b5, all acked (exit 0: "
              "%r, %r)" % (what, rc, err))
        rc, out, err = await (await listen(srv, R, state, 5))
        check(rc == 0 and printed(out) == ["b1", "b2", "b3", "b4", "b5"],
              "%s: after the restart the reader prints all of b1..b5 "
              "(%r, %r, %r)" % (what, rc, out, err))
        check("history was started again" in err, "%s: and says the "
              "numbering restarted (%r)" % (what, err))
    finally:
        rc = srv.stop()
    check(rc == 0, "%s: server exits 0 (%r)" % (what, rc))


# ---- fixed case 2: a reader that never reads, 3,000 messages ----

def rst_sock(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                    struct.pack("ii", 1, 0))
    sock.close()


async def case_unread(kind):
    """The issue saw all 3,000 acked and 1,645 of those never written
    trimmed; the guarantee refuses new messages (queue_full) once
    --history-limit of them are unwritten instead.  So: every answer an
    ack or queue_full, every acked one its socket never took arrives,
    and of those written only what the limit allows is gone, told."""
    what = "scenario 2 (%s)" % kind
    b = Backing(kind, "case2-" + kind)
    # Default limits but --max-output: 6 MB fit in the server's output.
    await b.start(["--max-output", "16m"])
    node = b.nodes[0]
    model = Model(what, False, b.persistent)
    R, S, N, LIMIT = "c2-bob", "c2-alice", 3000, 1000
    d = model.device(R, "resume", "since0")
    try:
        raw = RawWS(node.server.port, upath(R, 0), rcvbuf=4096)
        c = d.open(node)
        c.got(raw.recv_json(), model)
        link = await Link.open(model, S, node)
        ms = await send_n(link, R, N, 2000)
        acked = sum(1 for m in ms if m.state == "acked")
        check(all(m.how in ("delivered", "queue_full") for m in ms) and
              acked >= LIMIT,
              "%s: of %d, each acked delivered or refused queue_full "
              "(%d acked: %r)" % (what, N, acked, {m.how for m in ms}))
        rst_sock(raw.sock)
        c.ended("rst")
        check(await gone(node.server, R), "%s: the server saw the reset"
              % what)
        m = re.search(r"user %s: undelivered message\(s\) after seq (\d+) "
                      "kept" % R, node.server.log())
        cursor = int(m.group(1)) if m else None
        check(cursor is not None and cursor < acked, "%s: some were never "
              "written to its socket (cursor %r of %d)"
              % (what, cursor, acked))
        cursor = cursor or 0
        c = d.open(node)
        ws = await open_ws(node, conn_path(c))
        await read_until(ws, c, model,
                         lambda c: c.chats() and c.chats()[-1][1] == acked)
        await close_and_drain(ws, c, model)
        got = [e[1] for e in c.chats()]
        first = got[0] if got else None
        check(first is not None and got == list(range(first, acked + 1))
              and first <= cursor + 1,
              "%s: ?since=0 gets every acked one its socket never took "
              "(%d..%d) in order, once (got %d: %r..%r)"
              % (what, cursor + 1, acked, len(got), got[:1], got[-1:]))
        told = [e[1:3] for e in c.events if e[0] == "expired"]
        check(first is not None and first - 1 <= max(0, acked - LIMIT) and
              told == ([(0, first)] if first > 1 else []),
              "%s: of those written, only what --history-limit %d allows "
              "is gone, and told (first %r, expired %r)"
              % (what, LIMIT, first, told))
        print("  %s: %d acked, %d refused; %d never written at the reset; "
              "?since=0 got %d" % (what, acked, N - acked, acked - cursor,
                                   len(got)))
        await link.close()
        model.verdict(what)
    finally:
        b.stop()


# ---- fixed case 3: an inbox retention emptied, then 8 queued ----

async def case_forgotten(kind, how):
    what = "scenario 3 (%s, %s)" % (kind, how)
    b = Backing(kind, "case3-%s-%s" % (kind, how))
    opts = (["--history-bytes", "32k", "--sender-bytes", "32k",
             "--target-bytes", "32k"] if how == "bytes"
            else ["--history-days", "0.00002"])
    await b.start(opts)
    node = b.nodes[0]
    model = Model(what, False, b.persistent)
    R, S, C = "c3-bob", "c3-alice", "c3-carol"
    d = model.device(R, "resume", "hello")
    try:
        link = await Link.open(model, S, node)
        c = d.open(node)
        ws = await open_ws(node, conn_path(c))
        await read_until(ws, c, model, lambda c: c.resumed is not None)
        E = d.epoch
        await send_n(link, R, 5, 50)
        await read_until(ws, c, model, lambda c: len(c.chats()) == 5)
        await close_and_drain(ws, c, model)
        check(d.last == 5, "%s: bob read up to seq 5 (%r)" % (what, d.last))
        check(await gone(node.server, R), "%s: bob went away" % what)
        if how == "bytes":
            cw = await connect(node.url, C, max_queue=None)
            await send_n(link, C, 12, 3500)
            await cw.close()
        # Until bob's messages are gone: a look with ?since=0 (no epoch,
        # nothing read) says first 0.
        deadline = now() + 10
        looks = 1
        while now() < deadline:
            w = await connect(node.url, path=upath(R, 0))
            r = await recv_json(w)
            await w.close()
            looks += 1
            await gone(node.server, R, looks)
            if r.get("first") == 0:
                break
            await asyncio.sleep(0.2)
        check(r.get("first") == 0, "%s: retention took bob's messages (%r)"
              % (what, r))
        eight = await send_n(link, R, 8, 50)
        check([m.how for m in eight] == ["queued"] * 8, "%s: 8 more acked "
              "queued (%r)" % (what, [m.how for m in eight]))
        c = d.open(node)
        ws = await open_ws(node, conn_path(c))
        await read_until(ws, c, model, lambda c: len(c.chats()) == 8)
        await close_and_drain(ws, c, model)
        r = c.resumed or {}
        keys = [e[2] for e in c.chats()]
        check(keys == [m.key for m in eight] and
              (r.get("reset") is True or
               (r.get("epoch") == E and r.get("since") == 5 and
                all(e[1] > 5 for e in c.chats()))),
              "%s: ?since=5&epoch=E gets all 8, numbered after 5 or after "
              "a reset, never only 6..8 (%r, %r)"
              % (what, r, [e[1] for e in c.chats()]))
        await link.close()
        model.verdict(what)
    finally:
        b.stop()


# ---- fixed case 4: cluster, the receiver's node killed ----

async def case_cluster_kill(b):
    what = "scenario 4 (cluster)"
    model = Model(what, True, True)
    R, S, N = "c4-bob", "c4-alice", 2000
    n1, n2 = b.nodes
    d = model.device(R, "resume", "hello")
    link = await Link.open(model, S, n1)
    c = d.open(n2)
    ws = await open_ws(n2, conn_path(c))
    await read_until(ws, c, model, lambda c: c.resumed is not None)
    first = await send_n(link, R, 200, 50)
    await read_until(ws, c, model, lambda c: len(c.chats()) == 200)
    check(len(c.chats()) == 200 and all(m.state == "acked" for m in first),
          "%s: 200 read live across nodes (%d)" % (what, len(c.chats())))
    rc = b.kill(1, model)
    check(rc == -9, "%s: the receiver's node killed with SIGKILL" % what)
    try:
        await asyncio.wait_for(ws.wait_closed(), 5)
    except asyncio.TimeoutError:
        pass
    c.ended("kill")
    ms = await send_n(link, R, N, 50, window=32)
    st = {}
    for m in ms:
        st[m.how] = st.get(m.how, 0) + 1
    check(set(st) <= {"delivered", "queued", "queue_full"} and
          st.get("queued", 0) + st.get("delivered", 0) >= 800,
          "%s: each of %d answered acked or queue_full (%r)" % (what, N, st))
    c = d.open(n1)
    ws = await open_ws(n1, conn_path(c))
    acked = {m.key for m in ms if m.state == "acked"}
    await read_until(ws, c, model, lambda c: acked <= {e[2] for e in
                                                       c.chats()}, limit=20)
    await close_and_drain(ws, c, model)
    got = [e[2] for e in c.chats()]
    check(got == [m.key for m in ms if m.state == "acked"],
          "%s: resuming on the other node, every acked one arrives once, "
          "in order, and no refused one (%d of %d)"
          % (what, len(got), len(acked)))
    await link.close()
    print("  %s: %r" % (what, st))
    model.verdict(what)


# ---- main ----

async def main():
    print("DURABILITY_SEED=%d DURABILITY_SECONDS=%g" % (SEED, SECONDS),
          flush=True)
    lap("start")
    await case_client_restart()
    lap("scenario 1")
    for kind in ("memory", "sqlite"):
        await case_unread(kind)
    lap("scenario 2")
    await asyncio.gather(*(case_forgotten(k, h) for k in ("memory", "sqlite")
                           for h in ("bytes", "age")))
    lap("scenario 3")
    for kind in ("memory", "sqlite"):
        await random_run(kind, SECONDS)
        lap("random run, " + kind)
    if not HAVE_NATS:
        return
    b = Backing("cluster", "case4-cluster")
    await b.start([])
    try:
        await case_cluster_kill(b)
        lap("scenario 4")
    finally:
        b.stop()
    await random_run("cluster", SECONDS)
    lap("random run, cluster")


try:
    asyncio.run(asyncio.wait_for(main(), 150 + 12 * SECONDS))
finally:
    chatlib.kill_all()
if not HAVE_NATS and chatlib._failed == 0:
    print("%d checks passed; nats-server not found (apt-get install "
          "nats-server): the cluster part was not run" % chatlib._checks)
    sys.exit(77)
chatlib.done()
