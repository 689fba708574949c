# Copyright (c) 2026 The chat authors.
#
# test_rooms: rooms (issue 19) over real sockets.  A room of three users
# (one with two connections): each member gets each message once, the
# sender's other connection too, the sending connection and a non-member
# nothing; an offline member resumes and gets the room's messages
# exactly once and in order; leave stops delivery; the limits
# (--room-members, --user-rooms, names, not_a_member, the token's rooms
# claim) are refused with their error; a message that some members'
# inboxes refuse (the sender's quota) is acked with "missed" and kept
# for the others only; seed clients that never join see no change.
# Then the same with --store across a restart, the store's format
# upgrades (1 and 2 to 3, a newer file refused), and on a 2-node
# cluster (nats-server -js, started here on a free port) with members
# on different nodes, and a node restarted.

import asyncio
import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chatlib  # noqa: E402
from chatlib import check, connect, recv_json, recv_until  # noqa: E402
from chatlib import send, drain, no_message, resume, upath  # noqa: E402

TMP = chatlib.TMP
NATS_BIN = shutil.which("nats-server") or "/usr/sbin/nats-server"
ANSWERS = ("joined", "left", "members", "rooms", "error")

# Every process started here, killed at exit whatever happens.
_procs = []


def _kill_all():
    for p in _procs:
        if p.poll() is None:
            p.kill()
            p.wait(5)


signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))


# ---- helpers ----

async def ask(ws, req):
    """Send a room request; its answer (member events before it are
    passed over)."""
    await send(ws, req)
    m, _ = await recv_until(ws, lambda m: m.get("type") in ANSWERS)
    return m


async def join(ws, room, **kw):
    return await ask(ws, dict({"type": "join", "room": room}, **kw))


async def say(ws, room, text, mid):
    """A message to room with id mid; the ack or error for it."""
    await send(ws, {"message": text, "target_room": room, "id": mid})
    m, _ = await recv_until(ws, lambda m: m.get("id") == mid and
                            m.get("type") in ("ack", "error"))
    return m


def room_chats(evs, room):
    return [e for e in evs if "type" not in e and e.get("room") == room]


def texts(evs):
    return [e.get("message") for e in evs]


def increasing(seqs):
    return all(isinstance(x, int) for x in seqs) and \
        all(a < b for a, b in zip(seqs, seqs[1:]))


async def members_of(ws, room):
    m = await ask(ws, {"type": "members", "room": room})
    return set(m.get("members", [])) if m.get("type") == "members" else m


# ---- alone ----

async def test_three(s):
    """Three users, alice with two connections, dave outside."""
    a1, a2 = await connect(s, "alice"), await connect(s, "alice")
    b, c, d = [await connect(s, u) for u in ("bob", "carol", "dave")]
    m = await join(a1, "ops", id="j1")
    check(m == {"type": "joined", "room": "ops", "members": ["alice"]},
          "the first join: joined, alice alone: %r" % m)
    m = await join(b, "ops")
    check(m.get("type") == "joined" and set(m["members"]) ==
          {"alice", "bob"}, "bob joins: both members: %r" % m)
    m = await join(c, "ops")
    check(set(m.get("members", [])) == {"alice", "bob", "carol"},
          "carol joins: three members: %r" % m)
    # Joining again answers joined, changes nothing.
    m = await join(c, "ops")
    check(m.get("type") == "joined" and len(m["members"]) == 3,
          "a second join: joined again, still three: %r" % m)
    ev = await drain(a1, 0.3)
    check([(e.get("type"), e.get("user"), e.get("event")) for e in ev] ==
          [("member", "bob", "join"), ("member", "carol", "join")],
          "alice hears bob and carol join, once each: %r" % ev)
    ev = await drain(a2, 0.3)
    check([e.get("user") for e in ev if e.get("type") == "member"] ==
          ["alice", "bob", "carol"], "alice's other connection hears "
          "its own join too: %r" % ev)
    await drain(b, 0.3)
    await drain(c, 0.3)

    a = await say(a1, "ops", "hello from alice", "m1")
    check(a.get("type") == "ack" and a.get("status") == "delivered" and
          isinstance(a.get("seq"), int) and "missed" not in a,
          "a message to the room: acked delivered with the sender's seq: "
          "%r" % a)
    got = {}
    for name, ws in (("a2", a2), ("b", b), ("c", c)):
        got[name] = await drain(ws, 0.4)
        rc = room_chats(got[name], "ops")
        check(len(got[name]) == 1 and len(rc) == 1 and
              rc[0]["message"] == "hello from alice" and
              rc[0]["from_user"] == "alice" and isinstance(rc[0].get("seq"),
                                                         int),
              "%s gets it once, from alice, with room and seq: %r"
              % (name, got[name]))
    check(list(room_chats(got["a2"], "ops")[0].keys()) ==
          ["message", "from_user", "room", "ts", "seq"],
          "the chat event's members in order: %r" % got["a2"])
    check(room_chats(got["a2"], "ops")[0]["seq"] == a["seq"],
          "alice's other connection sees the seq of the ack")
    check(await no_message(a1), "the sending connection gets nothing more")
    check(await no_message(d), "dave, not a member, gets nothing")

    # Each of the others sends; everyone else gets each once.
    a = await say(b, "ops", "from bob", "b1")
    check(a.get("status") == "delivered", "bob's message acked: %r" % a)
    cev = await drain(c, 0.4)
    a = await say(c, "ops", "from carol", "c1")
    check(a.get("status") == "delivered", "carol's acked: %r" % a)
    for name, ws, want in (("a1", a1, ["from bob", "from carol"]),
                           ("a2", a2, ["from bob", "from carol"]),
                           ("b", b, ["from carol"]),
                           ("c", c, ["from bob"])):
        ev = cev if ws is c else await drain(ws, 0.4)
        check(texts(room_chats(ev, "ops")) == want and len(ev) == len(want),
              "%s gets exactly %r: %r" % (name, want, ev))
        check(increasing([e["seq"] for e in ev]), "%s: seqs grow" % name)
    check(await no_message(d), "dave still gets nothing")
    m = await ask(d, {"type": "members", "room": "ops"})
    check(m.get("error") == "not_a_member", "a non-member cannot list "
          "the members: %r" % m)
    a = await say(d, "ops", "let me in", "d1")
    check(a.get("type") == "error" and a.get("error") == "not_a_member" and
          a.get("id") == "d1", "a non-member's message: not_a_member: %r" % a)
    return a1, a2, b, c, d


async def test_resume(s, a1, a2, b, c):
    """carol goes offline; alice sends five; carol resumes after her last
    seq and gets exactly those, in order; a reconnection without since
    gets what no connection of hers was written."""
    last = 0
    a = await say(b, "ops", "before", "r0")
    ev = await drain(c, 0.4)
    last = ev[-1]["seq"] if ev else 0
    check(last > 0, "carol has a last seq: %r" % ev)
    await c.close()
    await chatlib.gone(s, "carol")
    sent = ["offline %d" % i for i in range(5)]
    for i, t in enumerate(sent):
        a = await say(a1, "ops", t, "o%d" % i)
        check(a.get("status") == "delivered", "bob is online: delivered "
              "(%r)" % a)
    c, r = await resume(s, "carol", last)
    check(r.get("type") == "resumed", "carol resumes: %r" % r)
    ev = await drain(c, 0.5)
    rc = room_chats(ev, "ops")
    check(texts(rc) == sent and len(ev) == 5,
          "carol gets the five, once each, in order: %r" % texts(ev))
    check(increasing([e["seq"] for e in rc]) and rc[0]["seq"] > last,
          "with her own seqs after her last: %r" % [e["seq"] for e in rc])
    mid = rc[2]["seq"]
    await c.close()
    # From the middle: the last two only.
    c, r = await resume(s, "carol", mid)
    ev = await drain(c, 0.4)
    check(texts(ev) == sent[3:], "resumed after the third: the last two: "
          "%r" % texts(ev))
    await c.close()
    await chatlib.gone(s, "carol", 2)
    # The seed's way: no since, the messages no connection has written.
    a = await say(a1, "ops", "to the cursor", "cur")
    c = await connect(s, "carol")
    ev = await drain(c, 0.4)
    check(texts(room_chats(ev, "ops")) == ["to the cursor"],
          "without since: only what carol's connections never wrote: %r"
          % texts(ev))
    await drain(a1, 0.2)
    await drain(a2, 0.2)
    await drain(b, 0.2)
    return c


async def test_leave(s, a1, a2, b, c):
    m = await ask(b, {"type": "rooms"})
    check(m == {"type": "rooms", "rooms": [{"room": "ops", "members": 3}]},
          "bob's rooms: ops with three: %r" % m)
    m = await ask(b, {"type": "leave", "room": "ops", "id": 5})
    check(m == {"type": "left", "room": "ops"}, "bob leaves: %r" % m)
    ev = await drain(a1, 0.3)
    check([(e.get("type"), e.get("user"), e.get("event")) for e in ev] ==
          [("member", "bob", "leave")], "alice hears bob leave: %r" % ev)
    await drain(a2, 0.2)
    await drain(c, 0.2)
    a = await say(a1, "ops", "after bob left", "l1")
    check(a.get("status") == "delivered", "acked: %r" % a)
    check(await no_message(b, 0.4), "bob, gone, gets nothing")
    ev = await drain(c, 0.3)
    check(texts(room_chats(ev, "ops")) == ["after bob left"],
          "carol still does: %r" % ev)
    a = await say(b, "ops", "am I in?", "l2")
    check(a.get("error") == "not_a_member", "bob's message after leaving: "
          "not_a_member: %r" % a)
    m = await ask(b, {"type": "leave", "room": "ops", "id": 6})
    check(m.get("error") == "not_a_member" and m.get("id") == 6,
          "leaving twice: not_a_member with the id: %r" % m)
    m = await ask(b, {"type": "rooms"})
    check(m == {"type": "rooms", "rooms": []}, "bob is in no room: %r" % m)
    m = await members_of(a1, "ops")
    check(m == {"alice", "carol"}, "members now: %r" % m)
    await drain(a2, 0.2)


async def test_seed():
    """Seed clients that never join see exactly the seed's messages while
    others use rooms around them."""
    with chatlib.Server(name="seed") as s:
        x, y = await connect(s, "6666"), await connect(s, "8888")
        a, b = await connect(s, "alice"), await connect(s, "bob")
        await join(a, "lobby")
        await join(b, "lobby")
        await say(a, "lobby", "busy room", "s1")
        await send(x, {"message": "hello", "target_user": "8888"})
        await say(b, "lobby", "still busy", "s2")
        await ask(b, {"type": "leave", "room": "lobby"})
        await send(y, {"message": "hi back", "target_user": "6666"})
        ex, ey = await drain(x, 0.4), await drain(y, 0.4)
        check(len(ey) == 1 and set(ey[0]) == {"message", "from_user", "ts",
                                               "seq"} and
              ey[0]["message"] == "hello" and ey[0]["from_user"] == "6666",
              "a seed client gets the seed's chat event, nothing else: %r"
              % ey)
        check(len(ex) == 1 and ex[0]["message"] == "hi back" and
              "room" not in ex[0], "and the other way: %r" % ex)
        for w in (x, y, a, b):
            await w.close()


async def test_limits():
    with chatlib.Server("--room-members", "2", "--user-rooms", "2",
                        name="limits") as s:
        u1, u2, u3 = [await connect(s, u) for u in ("u1", "u2", "u3")]
        check((await join(u1, "r1")).get("type") == "joined", "u1 joins r1")
        check((await join(u1, "r2")).get("type") == "joined", "u1 joins r2")
        m = await join(u1, "r3", id="x")
        check(m.get("type") == "error" and m.get("error") ==
              "too_many_rooms" and m.get("id") == "x" and
              "2 rooms" in m.get("detail", ""),
              "a third room with --user-rooms 2: too_many_rooms: %r" % m)
        check((await join(u2, "r1")).get("type") == "joined", "u2 joins r1")
        m = await join(u3, "r1")
        check(m.get("error") == "room_full" and "2 members" in
              m.get("detail", ""), "a third member with --room-members 2: "
              "room_full: %r" % m)
        for bad in ("a b", "", "x" * 65, "tab\there", "bell\x07",
                    "nbsp\u00a0", "rlo\u202e"):
            m = await join(u3, bad)
            check(m.get("error") == "bad_room", "join %r: bad_room: %r"
                  % (bad, m))
        m = await ask(u3, {"type": "join"})
        check(m.get("error") == "bad_message", "join without a room: "
              "bad_message: %r" % m)
        # 64 bytes of UTF-8 are a name; the limits still hold for it.
        name = "\u00e9" * 32
        m = await join(u3, name)
        check(m.get("type") == "joined" and m.get("room") == name,
              "a 64-byte UTF-8 name: joined: %r" % m)
        m = await join(u3, "caf\u00e9 " + "x")
        check(m.get("error") == "bad_room", "with a space: bad_room")
        # Leaving makes room.
        await ask(u2, {"type": "leave", "room": "r1"})
        m = await join(u3, "r1")
        check(m.get("type") == "joined", "after u2 left, u3 may join: %r" % m)
        a = await say(u2, "r1", "x", "nm")
        check(a.get("error") == "not_a_member", "u2 left: not_a_member")
        check(re.search(r"user u3: joining room 'r1' refused: room full",
                        s.log()) is not None, "the refusal is logged")
        for w in (u1, u2, u3):
            await w.close()

    # The sender's quota: each member not connected counts.
    with chatlib.Server("--sender-limit", "2", name="quota") as s:
        a, b, c = [await connect(s, u) for u in ("qa", "qb", "qc")]
        for w in (a, b, c):
            await join(w, "q")
        await drain(a, 0.3)
        await b.close()
        await c.close()
        await chatlib.gone(s, "qb")
        await chatlib.gone(s, "qc")
        first = await say(a, "q", "first", "q1")
        check(first.get("status") == "queued" and "missed" not in first,
              "the first fits the quota: queued: %r" % first)
        second = await say(a, "q", "second", "q2")
        check(second.get("status") == "queued" and
              second.get("missed") == 2, "the second: kept for the sender "
              "only, missed 2: %r" % second)
        b, r = await resume(s, "qb", 0)
        ev = await drain(b, 0.4)
        check(texts(room_chats(ev, "q")) == ["first"],
              "the member gets what its inbox took, nothing else: %r" % ev)
        # qb's cursor passed "first": one undelivered left, carol's.
        third = await say(a, "q", "third", "q3")
        check(third.get("status") == "delivered" and "missed" not in third,
              "qb online, the quota has room again: delivered: %r" % third)
        c, r = await resume(s, "qc", 0)
        ev = await drain(c, 0.4)
        check(texts(room_chats(ev, "q")) == ["first", "third"],
              "qc gets what its inbox took: %r" % texts(ev))
        for w in (a, b, c):
            await w.close()


KEY = b"a-test-secret-of-at-least-32-bytes!"


def token(secret, user, *rooms):
    args = [chatlib.SERVER, "token", "--jwt-secret-file", secret, "-u", user]
    for r in rooms:
        args += ["-r", r]
    return subprocess.check_output(args, timeout=10).decode().strip()


def handmade(payload):
    def b64(x):
        return base64.urlsafe_b64encode(x).rstrip(b"=").decode()
    head = b64(json.dumps({"alg": "HS256"}).encode())
    body = b64(json.dumps(payload).encode())
    sig = b64(hmac.new(KEY, (head + "." + body).encode(),
                       hashlib.sha256).digest())
    return head + "." + body + "." + sig


async def test_tokens():
    secret = os.path.join(TMP, "secret")
    with open(secret, "wb") as f:
        f.write(KEY)
    with chatlib.Server("--jwt-secret-file", secret, name="tokens") as s:
        t = token(secret, "tu", "ops", "caf\u00e9")
        w = await connect(s, path="/demo/ws/tu?token=" + t)
        check((await join(w, "ops")).get("type") == "joined",
              "a room of the claim: joined")
        check((await join(w, "caf\u00e9")).get("type") == "joined",
              "a UTF-8 room of the claim: joined")
        m = await join(w, "other", id=3)
        check(m.get("error") == "forbidden" and m.get("id") == 3,
              "a room not in the claim: forbidden: %r" % m)
        await w.close()
        for rooms in ((), ("*",)):
            w = await connect(s, path="/demo/ws/tv?token=" +
                              token(secret, "tv", *rooms))
            check((await join(w, "anything%d" % len(rooms))).get("type") ==
                  "joined", "a token with rooms %r: any room" % (rooms,))
            await w.close()
        bad = handmade({"sub": "tw", "exp": int(time.time()) + 600,
                        "rooms": "ops"})
        import websockets
        try:
            w = await connect(s, path="/demo/ws/tw?token=" + bad)
            await w.close()
            check(False, "a token whose rooms claim is a string: refused")
        except websockets.exceptions.InvalidStatusCode as e:
            check(e.status_code == 401, "a bad rooms claim: 401 (%d)"
                  % e.status_code)
    r = subprocess.run([chatlib.SERVER, "token", "--jwt-secret-file", secret,
                        "-u", "x", "-r", "a b"], capture_output=True,
                       timeout=10)
    check(r.returncode == 2 and b"--room" in r.stderr,
          "token -r with a bad name: exit 2 naming --room: %r" % r.stderr)


async def test_alone():
    with chatlib.Server(name="alone") as s:
        a1, a2, b, c, d = await test_three(s)
        c = await test_resume(s, a1, a2, b, c)
        await test_leave(s, a1, a2, b, c)
        st = json.loads(chatlib.raw_http(
            s.port, b"GET /stats HTTP/1.1\r\nHost: x\r\n\r\n").split(
            b"\r\n\r\n", 1)[1])
        check(st.get("rooms") == 1 and st.get("room_members") == 2,
              "/stats counts one room, two members: %r" % st)
        for w in (a1, a2, b, c, d):
            await w.close()
        check("user bob left room 'ops'" in s.log(), "leaves are logged")
    await test_seed()
    await test_limits()
    await test_tokens()


# ---- --store ----

async def test_store():
    db = os.path.join(TMP, "rooms.db")
    with chatlib.Server("--store", db, name="store1") as s:
        a, b, c = [await connect(s, u) for u in ("sa", "sb", "sc")]
        for w in (a, b, c):
            await join(w, "durable")
        await join(a, "second")
        ev = await drain(c, 0.3)
        await say(a, "durable", "seen", "p0")
        ev = await drain(c, 0.4)
        last = room_chats(ev, "durable")[-1]["seq"]
        await c.close()
        await chatlib.gone(s, "sc")
        for i in range(3):
            m = await say(a, "durable", "stored %d" % i, "p%d" % (i + 1))
            check(m.get("status") == "delivered", "acked: %r" % m)
        for w in (a, b):
            await w.close()
    con = sqlite3.connect(db)
    rows = sorted(con.execute("select room, user from members").fetchall())
    ver = con.execute("pragma user_version").fetchone()[0]
    con.close()
    check(ver == 4, "the store file is format version 4 (%r)" % ver)
    check(rows == [("durable", "sa"), ("durable", "sb"), ("durable", "sc"),
                   ("second", "sa")], "the memberships are in it: %r" % rows)
    with chatlib.Server("--store", db, name="store2") as s:
        c, r = await resume(s, "sc", last)
        check(r.get("type") == "resumed" and "reset" not in r,
              "after the restart carol resumes in the same numbering: %r" % r)
        ev = await drain(c, 0.5)
        check(texts(room_chats(ev, "durable")) == ["stored %d" % i
                                                   for i in range(3)]
              and len(ev) == 3, "and gets the three, once, in order: %r"
              % texts(ev))
        m = await ask(c, {"type": "rooms"})
        check(m.get("rooms") == [{"room": "durable", "members": 3}],
              "her membership survived: %r" % m)
        a = await connect(s, "sa")
        m = await ask(a, {"type": "rooms"})
        check(sorted(r["room"] for r in m.get("rooms", [])) ==
              ["durable", "second"], "alice's two rooms survived: %r" % m)
        m = await say(c, "durable", "after the restart", "x1")
        check(m.get("status") == "delivered", "sending still works: %r" % m)
        ev = await drain(a, 0.4)
        check(texts(room_chats(ev, "durable"))[-1:] == ["after the restart"],
              "alice gets it: %r" % texts(ev))
        m = await ask(a, {"type": "leave", "room": "second"})
        check(m.get("type") == "left", "a leave is answered: %r" % m)
        for w in (a, c):
            await w.close()
    con = sqlite3.connect(db)
    rows = con.execute("select count(*) from members where room = "
                       "'second'").fetchone()[0]
    con.close()
    check(rows == 0, "the leave was written to the file")
    await test_formats()


V1 = """
create table users (user text primary key, last integer not null,
  sent integer not null, first integer not null, n integer not null,
  bytes integer not null) without rowid;
create table inbox (id integer primary key, user text not null,
  seq integer not null, ts integer not null, data text not null);
create unique index inbox_user on inbox(user, seq);
create table meta (key text primary key, value text not null) without rowid;
"""


def old_store(path, version):
    """A store file as a server of that format version wrote it: one
    undelivered message for 'old'."""
    con = sqlite3.connect(path)
    con.executescript(V1)
    if version >= 2:
        con.execute("alter table inbox add column sender text not null "
                    "default ''")
    con.execute("insert into meta values ('epoch', '00112233aabbccdd')")
    con.execute("insert into users values ('old', 1, 0, 1, 1, 80)")
    con.execute("insert into inbox(user, seq, ts, data) values ('old', 1, "
                "1700000000000, '{\"message\":\"from v%d\",\"from_user\":"
                "\"x\",\"ts\":1700000000000,\"seq\":1}')" % version)
    con.execute("pragma application_id=%d" % 0x43484154)
    con.execute("pragma user_version=%d" % version)
    con.commit()
    con.close()


async def test_formats():
    for v in (1, 2):
        f = os.path.join(TMP, "v%d.db" % v)
        old_store(f, v)
        with chatlib.Server("--store", f, name="v%d" % v) as s:
            check(re.search(r"upgraded from format version %d to 4" % v,
                            s.log()) is not None,
                  "a version %d file is upgraded to 4" % v)
            w, r = await resume(s, "old", 0, epoch="00112233aabbccdd")
            ev = await drain(w, 0.3)
            check(texts(ev) == ["from v%d" % v], "its message is still "
                  "there: %r" % ev)
            await join(w, "new")
            m = await ask(w, {"type": "rooms"})
            check(m.get("rooms") == [{"room": "new", "members": 1}],
                  "and rooms work on it: %r" % m)
            await w.close()
        con = sqlite3.connect(f)
        check(con.execute("pragma user_version").fetchone()[0] == 4 and
              con.execute("select count(*) from members").fetchone()[0] == 1,
              "version %d: now 4, with the membership" % v)
        con.close()
    f = os.path.join(TMP, "v5.db")
    old_store(f, 2)
    con = sqlite3.connect(f)
    con.execute("pragma user_version=5")
    con.commit()
    con.close()
    r = subprocess.run([chatlib.SERVER, "--port", "0", "--store", f],
                       capture_output=True, timeout=10)
    err = r.stderr.decode()
    check(r.returncode == 2 and "format version 5" in err and
          "newer" in err, "a version 5 file is refused, exit 2: %r" % err)


# ---- a cluster ----

class Nats:
    """nats-server -js on 127.0.0.1, a port it picks (read from its
    log), its store in TMP."""

    def __init__(self):
        self.logpath = os.path.join(TMP, "nats.log")
        d = os.path.join(TMP, "nats-store")
        os.makedirs(d, exist_ok=True)
        self.logf = open(self.logpath, "wb")
        self.proc = subprocess.Popen(
            [NATS_BIN, "-js", "-a", "127.0.0.1", "-p", "-1", "-sd", d],
            stdin=subprocess.DEVNULL, stdout=self.logf, stderr=self.logf)
        _procs.append(self.proc)
        self.url = None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and self.proc.poll() is None:
            with open(self.logpath, "rb") as f:
                m = re.search(rb"Listening for client connections on "
                              rb"127\.0\.0\.1:(\d+)", f.read())
            if m:
                self.url = "nats://127.0.0.1:%d" % int(m.group(1))
                break
            time.sleep(0.05)
        if self.url is None:
            raise RuntimeError("nats-server did not start")

    def stop(self):
        chatlib.terminate(self.proc)
        self.logf.close()


def node(nats, name):
    s = chatlib.Server("--cluster", nats.url, name=name)
    _procs.append(s.proc)
    ok = s.wait_log(r"cluster: rooms ready", timeout=15) and \
        s.wait_log(r"cluster: ready", timeout=15)
    check(ok, "%s: the cluster and its rooms are ready" % name)
    return s


async def until_members(ws, room, want, timeout=10):
    """Ask for the members until they are want (other nodes' news comes
    a moment later)."""
    deadline = time.monotonic() + timeout
    while True:
        m = await members_of(ws, room)
        if m == want or time.monotonic() > deadline:
            return m
        await asyncio.sleep(0.5)


async def test_cluster():
    if not os.access(NATS_BIN, os.X_OK):
        print("nats-server not found (apt-get install nats-server): the "
              "cluster part is not run")
        return False
    nats = Nats()
    n1 = node(nats, "n1")
    n2 = node(nats, "n2")
    try:
        a1, c = await connect(n1, "ka"), await connect(n1, "kc")
        a2, b = await connect(n2, "ka"), await connect(n2, "kb")
        check((await join(a1, "net")).get("type") == "joined", "n1: join")
        m = await until_members(a2, "net", {"ka"})
        check(m == {"ka"}, "n2 learns the join made on n1: %r" % m)
        check((await join(b, "net")).get("type") == "joined", "n2: join")
        check((await join(c, "net")).get("type") == "joined", "n1: join")
        for name, ws in (("ka on n2", a2), ("ka on n1", a1)):
            heard = set()
            try:
                while not {"kb", "kc"} <= heard:
                    e = await recv_json(ws, 10)
                    if e.get("type") == "member" and e.get("event") == "join":
                        heard.add(e.get("user"))
            except asyncio.TimeoutError:
                pass
            check({"kb", "kc"} <= heard, "%s hears kb (joined on n2) and kc "
                  "(on n1) join: %r" % (name, heard))
        m = await until_members(b, "net", {"ka", "kb", "kc"})
        check(m == {"ka", "kb", "kc"}, "n2 knows the members joined on n1: "
              "%r" % m)
        m = await until_members(a1, "net", {"ka", "kb", "kc"})
        check(m == {"ka", "kb", "kc"}, "n1 knows the member joined on n2: "
              "%r" % m)
        for w in (a1, a2, b, c):
            await drain(w, 0.3)
        a = await say(a1, "net", "across", "k1")
        check(a.get("status") == "delivered" and "missed" not in a,
              "acked delivered: %r" % a)
        for name, ws in (("kb on n2", b), ("ka on n2", a2), ("kc on n1", c)):
            ev = await drain(ws, 0.6)
            check(texts(room_chats(ev, "net")) == ["across"] and
                  len(ev) == 1, "%s gets it once: %r" % (name, ev))
        check(await no_message(a1), "the sending connection gets nothing")
        # bob offline; three messages; he resumes on the other node.
        a = await say(b, "net", "from b", "k2")
        ev = await drain(b, 0.3)
        ev = await drain(c, 0.6)
        await drain(a1, 0.3)
        await drain(a2, 0.3)
        sb = await resume(n2, "kb", 0)
        bws, r = sb
        ev = await drain(bws, 0.6)
        last = max([e["seq"] for e in ev if "seq" in e and "type" not in e],
                   default=0)
        epoch = r.get("epoch")
        await bws.close()
        await b.close()
        await chatlib.gone(n2, "kb", 2)
        sent = ["while away %d" % i for i in range(3)]
        for i, t in enumerate(sent):
            a = await say(a1, "net", t, "w%d" % i)
            check(a.get("type") == "ack", "acked: %r" % a)
        b, r = await resume(n1, "kb", last, epoch=epoch)
        check(r.get("type") == "resumed" and "reset" not in r,
              "kb resumes on the other node: %r" % r)
        ev = await drain(b, 0.6)
        check(texts(room_chats(ev, "net")) == sent and len(ev) == 3,
              "and gets the three, once, in order: %r" % texts(ev))
        await drain(c, 0.5)
        await drain(a2, 0.5)
        # Leave on n1 stops delivery from n2.
        m = await ask(c, {"type": "leave", "room": "net"})
        check(m.get("type") == "left", "kc leaves on n1: %r" % m)
        m = await until_members(a2, "net", {"ka", "kb"})
        check(m == {"ka", "kb"}, "n2 sees kc gone: %r" % m)
        a = await say(a2, "net", "without kc", "k9")
        check(a.get("type") == "ack", "acked: %r" % a)
        check(await no_message(c, 0.6), "kc, gone, gets nothing")
        ev = await drain(b, 0.6)
        check(texts(room_chats(ev, "net")) == ["without kc"],
              "kb does: %r" % ev)
        for w in (a1, a2, b, c):
            await w.close()
        # A node restarted reads the memberships again.
        rc = n2.stop()
        check(rc == 0, "n2 exits 0 (%r)" % rc)
        n2 = node(nats, "n2b")
        w = await connect(n2, "kb")
        m = await ask(w, {"type": "rooms"})
        check(m.get("rooms") == [{"room": "net", "members": 2}],
              "after its restart n2 knows kb's room: %r" % m)
        await w.close()
    finally:
        for n in (n1, n2):
            rc = n.stop()
            check(rc == 0, "%s exits 0 (%r)" % (os.path.basename(n.logpath),
                                                rc))
            check(not re.search(r"ERROR: \w*Sanitizer|runtime error:",
                                n.log()), "no sanitizer report")
        nats.stop()
    return True


async def main():
    t0 = time.monotonic()
    await test_alone()
    chatlib.lap("alone")
    await test_store()
    chatlib.lap("store")
    await test_cluster()
    chatlib.lap("cluster")
    print("test_rooms: %.1f s" % (time.monotonic() - t0))


try:
    chatlib.lap("start")
    chatlib.run(main())
finally:
    _kill_all()
chatlib.done()
