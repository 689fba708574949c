# Copyright (c) 2026 The chat authors.
#
# test_limits: every limit a peer can push against.  Offline queue
# bounds, a slow reader cut off and made whole on reconnect, the
# handshake timeout, pings and the idle timeout, --max-clients, and
# running out of descriptors without spinning.

import asyncio
import json
import os
import resource
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chatlib  # noqa: E402
from chatlib import check, connect, recv_json  # noqa: E402
from chatlib import RawWS  # noqa: E402

SLOW = os.environ.get("CHAT_VALGRIND") == "1"


async def send(ws, obj):
    await ws.send(json.dumps(obj))


async def closed(ws, timeout=5):
    try:
        await asyncio.wait_for(ws.wait_closed(), timeout)
    except asyncio.TimeoutError:
        return (None, None)
    return (ws.close_code, ws.close_reason)


async def test_queue_limit():
    with chatlib.Server("--queue-limit", "3", name="qlimit") as s:
        a = await connect(s, "qa")
        for i in range(3):
            await send(a, {"message": "m%d" % i, "target_user": "qoff",
                           "id": i})
            ack = await recv_json(a)
            check(ack.get("status") == "queued", "queued %d" % i)
        await send(a, {"message": "m3", "target_user": "qoff", "id": "x3"})
        e = await recv_json(a)
        check(e.get("type") == "error" and e.get("error") == "queue_full"
              and e.get("id") == "x3", "4th: queue_full with id: %r" % e)
        await send(a, {"message": "m4", "target_user": "qoff"})
        e = await recv_json(a)
        check(e.get("error") == "queue_full" and "id" not in e,
              "queue_full without id when none given: %r" % e)
        # Another user's queue is separate.
        await send(a, {"message": "o", "target_user": "qother", "id": 5})
        ack = await recv_json(a)
        check(ack.get("status") == "queued", "other user still queues")
        check(s.wait_log(r"queue for qoff full, refused"),
              "log: queue full")
        b = await connect(s, "qoff")
        got = [(await recv_json(b))["message"] for _ in range(3)]
        check(got == ["m0", "m1", "m2"], "the 3 queued arrive: %r" % got)
        extra = await chatlib.settle(b)
        check(extra == [], "refused ones never arrive: %r" % extra)
        await b.close()
        check(await chatlib.gone(s, "qoff"), "qoff gone")
        await send(a, {"message": "again", "target_user": "qoff", "id": 6})
        ack = await recv_json(a)
        check(ack.get("status") == "queued", "room again after delivery")
        await a.close()
    with chatlib.Server("--queue-limit", "0", name="qlimit0") as s:
        a = await connect(s, "qa")
        for i in (1, 2):
            await send(a, {"message": "m", "target_user": "nobody",
                           "id": i})
            e = await recv_json(a)
            check(e.get("error") == "queue_full",
                  "--queue-limit 0: offline message %d refused: %r"
                  % (i, e))
        b = await connect(s, "nobody")
        await send(a, {"message": "m", "target_user": "nobody", "id": 2})
        ack = await recv_json(a)
        check(ack.get("status") == "delivered", "but live ones delivered")
        await a.close()
        await b.close()


async def test_queue_bytes():
    # The quotas as large as the total: the total is tested here.
    with chatlib.Server("--queue-bytes", "4k", "--sender-bytes", "4k",
                        "--target-bytes", "4k", name="qbytes") as s:
        a = await connect(s, "qa")
        body = "b" * 300
        accepted = {"u1": [], "u2": []}
        full = None
        for i in range(20):
            t = "u1" if i % 2 == 0 else "u2"
            await send(a, {"message": "%02d%s" % (i, body), "target_user": t,
                           "id": i})
            r = await recv_json(a)
            if r.get("type") == "ack":
                check(r.get("status") == "queued", "queued %d" % i)
                accepted[t].append(i)
            else:
                full = r
                break
        n = len(accepted["u1"]) + len(accepted["u2"])
        check(full is not None and full.get("error") == "queue_full" and
              full.get("id") == n, "total bytes bound -> queue_full with id"
              " (%r)" % full)
        # Each costs what it takes in memory: 340 bytes of text, its
        # header, its quota entry and its inbox (about 900 bytes).
        check(3 <= n <= 8, "about 4k of 340-byte events queued (%d)" % n)
        # Draining one user's queue frees room for everybody.
        b = await connect(s, "u1")
        got = [int((await recv_json(b))["message"][:2])
               for _ in accepted["u1"]]
        check(got == accepted["u1"], "u1 gets its queue: %r" % got)
        await send(a, {"message": body, "target_user": "u3", "id": "after"})
        r = await recv_json(a)
        check(r.get("status") == "queued", "room after u1 drained: %r" % r)
        await a.close()
        await b.close()


async def test_slow_reader():
    """A receiver that stops reading is cut off; nothing is lost or
    duplicated across the cut and the reconnect."""
    with chatlib.Server("--max-message", "1k", "--max-output", "40k",
                        name="slow") as s:
        slow = RawWS(s.port, "/demo/ws/slowpoke", rcvbuf=4096)
        a = await connect(s, "fast")
        # A bystander pair, to show others keep being served.
        c1 = await connect(s, "by1")
        c2 = await connect(s, "by2")
        pad = "p" * 700
        sent = []	# numbers acked delivered or queued
        n = 0
        cut = False
        deadline = time.monotonic() + (90 if SLOW else 40)
        while not cut and time.monotonic() < deadline and n < 40000:
            for _ in range(50):
                await send(a, {"message": "%06d:%s" % (n, pad),
                               "target_user": "slowpoke", "id": n})
                n += 1
            for _ in range(50):
                r = await recv_json(a, 20)
                if r.get("type") == "ack":
                    sent.append(r["id"])
                else:
                    check(False, "unexpected answer %r" % r)
            cut = "cut off (1008)" in s.log()
        check(cut, "log: slow reader cut off (1008) after %d messages" % n)
        check(sent == list(range(n)), "every message acked in order")
        # The bystanders chat meanwhile.
        await send(c1, {"message": "hi", "target_user": "by2"})
        m = await recv_json(c2)
        check(m.get("message") == "hi", "others still served")
        check(s.wait_log(r"user slowpoke: undelivered message\(s\) after "
                         r"seq \d+ kept for the next connection"),
              "log: undelivered kept for the next connection")
        # A few more while it is away: queued behind the requeued ones.
        for _ in range(5):
            await send(a, {"message": "%06d:%s" % (n, pad),
                           "target_user": "slowpoke", "id": n})
            r = await recv_json(a)
            check(r.get("status") == "queued", "queued while away: %r" % r)
            sent.append(n)
            n += 1
        # Now read what the socket holds: whole frames, then a 1008
        # close (at a frame boundary) or just the end of the stream.
        before, end = [], None
        try:
            while True:
                fin, op, p = slow.recv_frame(20)
                if op == 8:
                    end = int.from_bytes(p[:2], "big")
                    break
                if op == 1:
                    before.append(int(json.loads(p)["message"][:6]))
        except EOFError:
            end = "eof"
        except socket.timeout:
            end = "timeout"
        slow.close()
        check(end in (1008, "eof"), "cut: close 1008 or end of stream "
              "(got %r)" % end)
        b = await connect(s, "slowpoke")
        # What did not arrive before the cut, then nothing more.
        after = []
        try:
            while len(before) + len(after) < len(sent):
                m = await recv_json(b, 10)
                after.append(int(m["message"][:6]))
            after += [int(m["message"][:6]) if "message" in m else m
                      for m in await chatlib.settle(b)]
        except asyncio.TimeoutError:
            pass
        got = before + after
        check(len(before) > 0, "some messages arrived before the cut (%d)"
              % len(before))
        check(len(got) == len(set(got)), "no duplicates (%d before, %d "
              "after)" % (len(before), len(after)))
        check(got == sent, "every message exactly once, in order (%d of "
              "%d)" % (len(got), len(sent)))
        print("slow reader: %d sent, %d before the cut, %d after "
              "reconnect, end %r" % (len(sent), len(before), len(after),
                                     end))
        for w in (a, b, c1, c2):
            await w.close()


async def test_handshake_timeout():
    with chatlib.Server("--handshake-timeout", "500ms", name="hs") as s:
        t0 = time.monotonic()
        half = socket.create_connection(("127.0.0.1", s.port))
        half.sendall(b"GET /demo/ws/half HTTP/1.1\r\nHost: x\r\n")
        mute = socket.create_connection(("127.0.0.1", s.port))
        # Meanwhile a real chat works.
        a = await connect(s, "hs-a")
        b = await connect(s, "hs-b")
        await send(a, {"message": "during", "target_user": "hs-b"})
        m = await recv_json(b)
        check(m.get("message") == "during", "chat works during a stalled "
              "handshake")
        for name, sk in (("half request", half), ("silent", mute)):
            sk.settimeout(10)
            try:
                data = sk.recv(100)
            except (socket.timeout, ConnectionResetError):
                data = None
            took = time.monotonic() - t0
            check(data == b"", "%s: dropped (%r)" % (name, data))
            check(0.4 <= took <= (8 if SLOW else 3),
                  "%s: after ~500 ms (%.2f s)" % (name, took))
            sk.close()
        check(s.wait_log(r"handshake timeout"), "log: handshake timeout")
        await send(a, {"message": "after", "target_user": "hs-b"})
        m = await recv_json(b)
        check(m.get("message") == "after", "and after")
        check(a.open and b.open, "upgraded clients are not subject to it")
        await a.close()
        await b.close()


async def test_reused_descriptors():
    """The server finds its clients by descriptor: slots freed and taken
    again by new connections are swept (handshake timeout) and shut
    down like the others."""
    s = chatlib.Server("--handshake-timeout", "500ms", name="fdreuse")
    try:
        conns = [await connect(s, "fd%d" % i) for i in range(6)]
        full = s.nfds()
        for ws in conns[1::2]:
            await ws.close()
        check(s.wait_nfds(full - 3), "3 closed: their descriptors freed "
              "(%d -> %d)" % (full, s.nfds()))
        kept = conns[0::2]
        # The kernel hands out the lowest free descriptors: these take
        # the freed ones, and must be swept from there.
        t0 = time.monotonic()
        mute = [socket.create_connection(("127.0.0.1", s.port))
                for _ in range(3)]
        for i, sk in enumerate(mute):
            sk.settimeout(10)
            try:
                data = sk.recv(100)
            except (socket.timeout, ConnectionResetError):
                data = None
            check(data == b"", "silent connection %d on a reused "
                  "descriptor: dropped (%r)" % (i, data))
            sk.close()
        took = time.monotonic() - t0
        check(took <= (8 if SLOW else 3), "after ~500 ms (%.2f s)" % took)
        check(s.wait_nfds(full - 3), "the silent ones' descriptors freed")
        kept += [await connect(s, "fd%d" % i) for i in range(6, 9)]
        await send(kept[0], {"message": "hop", "target_user": "fd8"})
        m = await recv_json(kept[-1])
        check(m.get("message") == "hop", "a client on a reused descriptor "
              "is routed to (%r)" % m)
        s.proc.send_signal(signal.SIGTERM)
        for i, ws in enumerate(kept):
            code, reason = await closed(ws, 10)
            check(code == 1001 and reason == "server shutting down",
                  "shutdown reaches client %d: %r %r" % (i, code, reason))
        check(s.wait_log(r"closing 6 connection"), "shutdown counted 6")
    finally:
        check(s.stop() == 0, "fdreuse server exits 0")


async def test_ping_idle():
    with chatlib.Server("--ping-interval", "300ms", "--idle-timeout", "1s",
                        name="ping") as s:
        py = await connect(s, "pinged")	# websockets answers pings
        raw = RawWS(s.port, "/demo/ws/mute")
        t0 = time.monotonic()
        # Blocking reads in a thread: the loop must run to answer pings.
        loop = asyncio.get_running_loop()
        fin, op, p = await loop.run_in_executor(None, raw.recv_frame, 5)
        check(op == 9, "a silent client is pinged (op %d)" % op)
        check(time.monotonic() - t0 < 2, "ping within ~300 ms")
        c = await loop.run_in_executor(None, raw.recv_close, 10)
        took = time.monotonic() - t0
        check(c is not None and c[0] == 1001 and c[1] == b"idle timeout",
              "unanswered: close 1001 idle timeout (got %r)" % (c,))
        check(0.8 <= took <= (8 if SLOW else 3),
              "closed after ~1 s (%.2f s)" % took)
        raw.close()
        # Not a synchronization: py must outlive the idle timeout (1 s)
        # by a margin, so time has to pass.
        await asyncio.sleep(max(0.1, 2.5 - (time.monotonic() - t0)))
        check(py.open, "a client that answers pings stays past the idle "
              "timeout")
        other = await connect(s, "other")
        await send(other, {"message": "still", "target_user": "pinged"})
        m = await recv_json(py)
        check(m.get("message") == "still", "and still receives")
        await py.close()
        await other.close()
        check(s.wait_log(r"idle for \d+ ms, closing"), "log: idle closing")
    with chatlib.Server("--ping-interval", "0", "--idle-timeout", "700ms",
                        name="idle") as s:
        py = await connect(s, "quiet")
        t0 = time.monotonic()
        code, reason = await closed(py, 10)
        took = time.monotonic() - t0
        check(code == 1001 and reason == "idle timeout",
              "no pings: silent client closed 1001 (%r %r)" % (code, reason))
        check(0.5 <= took <= (8 if SLOW else 3), "after ~700 ms (%.2f s)"
              % took)
        # Talking keeps a client alive.
        chat = await connect(s, "talker")
        t0 = time.monotonic()
        while time.monotonic() - t0 < 1.5:
            await send(chat, {"type": "who"})
            await recv_json(chat)
            await asyncio.sleep(0.2)	# pacing: a who every 0.2 s
        check(chat.open, "a client that talks is not idle")
        await chat.close()


async def test_max_clients():
    with chatlib.Server("--max-clients", "3", name="maxc") as s:
        conns = [await connect(s, "mc%d" % i) for i in range(3)]
        resp = chatlib.raw_http(s.port, (chatlib.HANDSHAKE % (
            "/demo/ws/mc9", s.port)).encode())
        check(resp.startswith(b"HTTP/1.1 503"), "4th connection: 503 (%r)"
              % resp[:40])
        try:
            await connect(s, "mc8")
            check(False, "websockets client over the cap refused")
        except Exception as e:
            check("503" in str(e), "websockets sees 503: %r" % e)
        check(s.wait_log(r"refused: 3 connections \(--max-clients\)"),
              "log: refused over --max-clients")
        await send(conns[0], {"message": "x", "target_user": "mc2"})
        m = await recv_json(conns[2])
        check(m.get("message") == "x", "existing clients still chat")
        await conns[0].close()
        check(await chatlib.gone(s, "mc0"), "mc0 gone")
        again = await connect(s, "mc0")
        check(again.open, "a slot frees when a client leaves")
        for c in conns[1:] + [again]:
            await c.close()


def set_nofile():
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))


# Small enough that descriptors run out before --max-clients (the server
# keeps max-clients at 32 or more), large enough for valgrind.
NOFILE = 40 if SLOW else 24


async def test_emfile():
    with chatlib.Server(name="emfile", preexec=set_nofile) as s:
        a = await connect(s, "em-a")
        b = await connect(s, "em-b")
        socks = []
        for i in range(NOFILE + 10):
            sk = socket.socket()
            sk.setblocking(False)
            sk.connect_ex(("127.0.0.1", s.port))
            socks.append(sk)
        check(s.wait_log(r"accept: Too many open files; pausing", 10),
              "log: EMFILE, pausing")
        # Not a synchronization: CPU use over a 2 s window.
        t0 = s.cpu_ticks()
        time.sleep(2)
        used = s.cpu_ticks() - t0
        check(used < (60 if SLOW else 20), "not spinning: %d ticks in 2 s"
              % used)
        await send(a, {"message": "ok", "target_user": "em-b", "id": 1})
        ack = await recv_json(a, 10)
        m = await recv_json(b, 10)
        check(ack.get("status") == "delivered" and
              m.get("message") == "ok", "existing clients still chat")
        for sk in socks:
            sk.close()
        # Once descriptors are free, new clients are served again.
        ok = False
        deadline = time.monotonic() + 15
        while not ok and time.monotonic() < deadline:
            try:
                c = await connect(s, "em-c")
                ok = True
            except Exception:
                await asyncio.sleep(0.3)	# a poll: retry the connect
        check(ok, "new clients accepted after the pause")
        if ok:
            await send(c, {"message": "back", "target_user": "em-a"})
            m = await recv_json(a, 10)
            check(m.get("message") == "back", "and they chat")
            await c.close()
        await a.close()
        await b.close()


async def test_big_replies():
    """Answers to one legal request (who, watch) must not get a reader
    that reads everything cut off; a watcher that is cut off in the
    middle of its presence answers must not leave a dangling watcher."""
    with chatlib.Server("--max-message", "1k", "--max-output", "40k",
                        name="bigwho") as s:
        names = ["u%04d" % i + "x" * 59 for i in range(700)]
        conns = []
        for k in range(0, len(names), 50):
            conns += await asyncio.gather(*(connect(s, n)
                                            for n in names[k:k + 50]))
        a = conns[0]
        await send(a, {"type": "who"})
        try:
            w = await recv_json(a, 10)
            n = len(w.get("users", []))
            ok = n == 700 or (w.get("truncated") is True and
                              0 < n < 700 and
                              set(w["users"]) <= set(names))
        except Exception as e:
            n, ok = repr(e), False
        check(ok, "who with 700 64-byte ids online (a 47 kB answer, "
              "--max-output 40k) is answered in full or marked truncated,"
              " not cut off: %r" % (n,))
        try:
            await send(a, {"message": "still open",
                           "target_user": names[1]})
            m = await recv_json(conns[1], 5)
        except Exception as e:
            m = {"exception": repr(e)}
        check(m.get("message") == "still open", "the asker stays "
              "connected after who: %r" % m)
        await asyncio.gather(*(c.close() for c in conns))
    with chatlib.Server("--max-message", "2k", "--max-output", "48k",
                        name="bigwatch") as s:
        # 256 3-byte ids fit a 2k request; 64-byte ids come below.
        a = await connect(s, "watcher")
        users = ["u%02x" % i for i in range(256)]
        await a.send(json.dumps({"type": "watch", "users": users},
                                separators=(",", ":")))
        got = []
        try:
            while len(got) < 256:
                got.append((await recv_json(a, 10)).get("user"))
        except Exception:
            pass
        check(got == users, "watch of 256 answered in full: %d presences,"
              " close %r" % (len(got), a.close_code))
        await a.close()
        # A watcher that never reads and keeps asking: it is cut off
        # inside the watch answers.  No dangling watcher may remain.
        raw = RawWS(s.port, "/demo/ws/rawwatch", rcvbuf=4096)
        req = json.dumps({"type": "watch", "users": users},
                         separators=(",", ":"))
        try:
            for _ in range(40):
                raw.send_text(req)
        except (BrokenPipeError, ConnectionResetError):
            pass
        check(s.wait_log(r"user rawwatch: output over \d+ bytes, cut off",
                         10), "log: the non-reading watcher is cut off")
        raw.close()
        # Users come online once the cut watcher is freed.
        check(await chatlib.gone(s, "rawwatch"), "log: rawwatch gone")
        try:
            ons = [await connect(s, u) for u in users[:8] + users[-8:]]
            b = await connect(s, "after-watch")
            await send(b, {"message": "alive?", "target_user": users[-1],
                           "id": 1})
            ack = await recv_json(b)
            for c in ons + [b]:
                await c.close()
        except Exception as e:
            ack = {"exception": repr(e)}
        check(ack.get("status") == "delivered" and
              s.proc.poll() is None, "server alive after the cut watcher: "
              "%r, exit %r" % (ack, s.proc.poll()))
    with chatlib.Server("--max-message", "20k", "--max-output", "172k",
                        name="bigwatch64") as s:
        a = await connect(s, "watcher")
        users = ["w%03d" % i + "y" * 60 for i in range(256)]
        await a.send(json.dumps({"type": "watch", "users": users}))
        got = []
        try:
            while len(got) < 256:
                got.append((await recv_json(a, 10)).get("user"))
        except Exception:
            pass
        check(got == users, "watch of 256 64-byte ids answered in full: "
              "%d presences" % len(got))
        await a.close()


async def main():
    await test_queue_limit()
    await test_queue_bytes()
    await test_slow_reader()
    await test_handshake_timeout()
    await test_reused_descriptors()
    await test_ping_idle()
    await test_max_clients()
    await test_emfile()
    await test_big_replies()


chatlib.run(main())
chatlib.done()
