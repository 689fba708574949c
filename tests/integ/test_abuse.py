# Copyright (c) 2026 The chat authors.
#
# test_abuse: peers that attack or fail, on loopback, each bounded in
# time, with the server's RSS sampled while it happens.  Slowloris
# handshakes; a flooder beside a normal pair (fairness); several senders
# flooding a reader that stopped reading (cut off with 1008, everything
# delivered after it reconnects); oversized heads and frames, petabyte
# length fields, endless tiny fragments, ping floods; descriptors running
# out (new clients wait or are refused, old ones chat, no spinning);
# resets mid-frame and mid-handshake, peers that never answer a close,
# readers gone while the server writes (SIGPIPE); and 2,000 connections
# with messages counted.  Memory bounds come from the server's own
# limits (--max-message, --max-output, --queue-bytes, the 8 KiB request
# cap) times the connections involved, plus a fixed slack; under ASan
# (quarantine, shadow memory) they are widened.  test_limits.py has the
# single-limit cases; these are the floods and faults.

import asyncio
import json
import os
import resource
import select
import socket
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chatlib  # noqa: E402
from chatlib import check, RawWS, frame, close_payload  # noqa: E402

TEXT, BINARY, CLOSE, PING, PONG, CONT = 1, 2, 8, 9, 10, 0
SLOW = os.environ.get("CHAT_VALGRIND") == "1"
KB = 1024
figures = []


def figure(line):
    print(line, flush=True)
    figures.append(line)


def asan(s):
    try:
        with open("/proc/%d/maps" % s.proc.pid) as f:
            return "libasan" in f.read()
    except OSError:
        return False


def bound(s, kb):
    """The RSS growth allowed: kb, widened under a sanitizer or valgrind,
    whose allocators keep freed memory (ASan's quarantine is 256 MB)."""
    if SLOW or asan(s):
        return kb * 3 + 320 * KB
    return kb


class Peak:
    """Samples the server's RSS every 20 ms in a thread."""

    def __init__(self, s):
        self.s = s
        self.base = s.rss_kb()
        self.peak = self.base
        self.run = True
        self.t = threading.Thread(target=self._loop, daemon=True)
        self.t.start()

    def _loop(self):
        while self.run:
            try:
                self.peak = max(self.peak, self.s.rss_kb())
            except (OSError, ValueError):
                return
            time.sleep(0.02)	# the sampling period

    def stop(self):
        self.run = False
        self.t.join()
        return self.peak - self.base


def rst(sock):
    """Close with a reset instead of a FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        b"\x01\x00\x00\x00\x00\x00\x00\x00")
    except OSError:
        pass
    sock.close()


def chat(s, a, b, text, timeout=10):
    """a sends text to user b (RawWS both); returns the round trip in s
    or None if it did not arrive."""
    t0 = time.monotonic()
    a.send_json({"message": text, "target_user": b.user})
    try:
        while True:
            m = b.recv_json(timeout)
            if m.get("message") == text:
                return time.monotonic() - t0
    except (socket.timeout, EOFError, ValueError, ConnectionError):
        return None


def user(s, name, **kw):
    r = RawWS(s.port, "/demo/ws/" + name, **kw)
    r.user = name
    return r


def pair_ok(s, tag):
    """A fresh pair can chat: the server is still well."""
    try:
        a, b = user(s, tag + "-a"), user(s, tag + "-b")
        rtt = chat(s, a, b, "still well")
        a.close()
        b.close()
    except (OSError, ConnectionError) as e:
        rtt = None
        print("pair_ok: %r" % e)
    return rtt is not None and s.proc.poll() is None


def rtts(s, a, b, n):
    out = []
    for i in range(n):
        r = chat(s, a, b, "rt%d" % i)
        out.append(r if r is not None else 10.0)
    return out


# ---- slowloris ----

def test_slowloris():
    n = 300
    with chatlib.Server("--handshake-timeout", "2s", name="slowloris") as s:
        pk = Peak(s)
        socks = []
        for i in range(n):
            k = socket.create_connection(("127.0.0.1", s.port))
            k.sendall(b"GET /demo/ws/slow%d HTTP/1.1\r\nHost: x\r\n" % i)
            socks.append(k)
        a, b = user(s, "sl-a"), user(s, "sl-b")
        t0 = time.monotonic()
        times = []
        # Trickle a header byte on every socket while the pair chats.
        while time.monotonic() - t0 < 1.2:
            for k in socks:
                try:
                    k.send(b"X")
                except OSError:
                    pass
            r = chat(s, a, b, "during")
            times.append(r if r is not None else 10.0)
        med = statistics.median(times)
        check(med < (0.2 if asan(s) else 0.05),
              "slowloris: %d half-open handshakes, the pair's median round "
              "trip %.1f ms" % (n, med * 1000))
        # Trickling does not extend the handshake timeout.
        dropped = 0
        deadline = time.monotonic() + (15 if SLOW else 6)
        pending = list(socks)
        while pending and time.monotonic() < deadline:
            r, _, _ = select.select(pending, [], [], 0.2)
            for k in r:
                try:
                    d = k.recv(100)
                except OSError:
                    d = b""
                if d == b"":
                    dropped += 1
                    pending.remove(k)
            for k in pending:
                try:
                    k.send(b"Y")
                except OSError:
                    pass
        took = time.monotonic() - t0
        check(dropped == n, "slowloris: all %d dropped by the handshake "
              "timeout though trickling (%d, %.1f s)" % (n, dropped, took))
        grow = pk.stop()
        figure("slowloris: %d half-open handshakes, peak RSS +%d KiB, "
               "median round trip %.1f ms" % (n, grow, med * 1000))
        check(grow < bound(s, n * 12 + 8 * KB), "slowloris: RSS growth "
              "%d KiB < %d x (8 KiB request cap + 4 KiB) + 8 MiB"
              % (grow, n))
        check(chat(s, a, b, "after") is not None, "slowloris: chat after")
        for k in socks:
            k.close()
        a.close()
        b.close()


# ---- floods ----

def drain(sock, stop, counter):
    sock.settimeout(0.2)
    while not stop.is_set():
        try:
            d = sock.recv(1 << 16)
            if not d:
                return
            counter[0] += len(d)
        except socket.timeout:
            continue
        except OSError:
            return


def test_fairness():
    mo, mm = 256 * KB, 16 * KB
    with chatlib.Server("--max-output", "256k", "--max-message", "16k",
                        "--queue-limit", "100000", name="fair") as s:
        a, b = user(s, "fair-a"), user(s, "fair-b")
        base = rtts(s, a, b, 10)
        pk = Peak(s)
        stop = threading.Event()
        got = [0]
        sent = [0]
        flooders = []

        def flood_echo():
            r = RawWS(s.port, "/demo/echo", timeout=10)
            th = threading.Thread(target=drain, args=(r.sock, stop, got),
                                  daemon=True)
            th.start()
            msg = frame(BINARY, b"F" * 16000)
            try:
                while not stop.is_set():
                    r.send(msg)
                    sent[0] += len(msg)
            except OSError:
                pass
            th.join()
            r.close()

        def flood_chat():
            r = user(s, "flooder")
            sink = user(s, "sink")
            th = threading.Thread(target=drain, args=(sink.sock, stop, got),
                                  daemon=True)
            th2 = threading.Thread(target=drain, args=(r.sock, stop, [0]),
                                   daemon=True)
            th.start()
            th2.start()
            batch = b"".join(frame(TEXT, json.dumps(
                {"message": "x" * 200, "target_user": "sink"}))
                for _ in range(200))
            try:
                while not stop.is_set():
                    r.send(batch)
                    sent[0] += len(batch)
            except OSError:
                pass
            th.join()
            th2.join()
            r.close()
            sink.close()

        for fn in (flood_echo, flood_chat):
            t = threading.Thread(target=fn, daemon=True)
            t.start()
            flooders.append(t)
        # Measure once the flood flows both ways.
        deadline = time.monotonic() + 10
        while (sent[0] < 1e6 or got[0] == 0) and \
                time.monotonic() < deadline:
            time.sleep(0.01)
        during = rtts(s, a, b, 40)
        stop.set()
        for t in flooders:
            t.join(20)
        grow = pk.stop()
        med, p90 = statistics.median(during), sorted(during)[35]
        figure("fairness: 2 flooders pushed %.1f MB and got %.1f MB back; "
               "the pair's median round trip %.1f ms (p90 %.1f ms, %.1f ms "
               "before); peak RSS +%d KiB" % (
                   sent[0] / 1e6, got[0] / 1e6, med * 1000, p90 * 1000,
                   statistics.median(base) * 1000, grow))
        check(sent[0] > 5e6, "fairness: the flood really flowed (%d bytes)"
              % sent[0])
        check(med < (0.2 if asan(s) else 0.05), "fairness: median round "
              "trip under a flood %.1f ms" % (med * 1000))
        # 5 connections (2 flooders, sink, pair): output and input caps.
        check(grow < bound(s, 5 * (mo + mm) // KB + 16 * KB),
              "fairness: RSS growth %d KiB < 5 x (max-output + "
              "max-message) + 16 MiB" % grow)
        check(pair_ok(s, "fair2"), "fairness: server well after")
        a.close()
        b.close()


def test_flood_nonreader():
    """Three senders flood a reader that stopped reading: it is cut off
    with 1008 and, once back, gets every message once, in order."""
    senders = 3
    with chatlib.Server("--max-output", "64k", "--max-message", "4k",
                        "--queue-limit", "100000", "--queue-bytes", "8m",
                        name="nonreader") as s:
        victim = user(s, "victim", rcvbuf=4096)
        pk = Peak(s)
        acked = [[] for _ in range(senders)]
        stop = threading.Event()
        pad = "p" * 300

        def sender(i):
            r = user(s, "snd%d" % i)
            n = 0
            while not stop.is_set() and n < 20000:
                batch = b""
                for _ in range(50):
                    batch += frame(TEXT, json.dumps(
                        {"message": "%d:%06d:%s" % (i, n, pad),
                         "target_user": "victim", "id": n}))
                    n += 1
                r.send(batch)
                for _ in range(50):
                    m = r.recv_json(20)
                    if m.get("type") == "ack":
                        acked[i].append(m["id"])
            r.close()

        ths = [threading.Thread(target=sender, args=(i,), daemon=True)
               for i in range(senders)]
        for t in ths:
            t.start()
        cut = s.wait_log(r"user victim: output over \d+ bytes, cut off|"
                         r"cut off \(1008\)", 40)
        time.sleep(0.5)		# more arrive while it is away
        stop.set()
        for t in ths:
            t.join(30)
        check(cut, "non-reader: cut off (1008) while 3 senders flood")
        total = sum(len(x) for x in acked)
        before, end = [], None
        try:
            while True:
                fin, op, p = victim.recv_frame(10)
                if op == CLOSE:
                    end = int.from_bytes(p[:2], "big")
                    break
                if op == TEXT:
                    before.append(json.loads(p)["message"][:8])
        except EOFError:
            end = "eof"
        except (socket.timeout, ConnectionError):
            end = "timeout"
        victim.close()
        check(end in (1008, "eof"), "non-reader: close 1008 or end of "
              "stream (%r)" % end)
        back = user(s, "victim")
        after = []
        try:
            while True:
                after.append(back.recv_json(3)["message"][:8])
        except (socket.timeout, EOFError):
            pass
        grow = pk.stop()
        got = before + after
        for i in range(senders):
            mine = [int(x.split(":")[1]) for x in got
                    if x.startswith("%d:" % i)]
            check(mine == acked[i], "non-reader: sender %d: %d acked, %d "
                  "received, exactly once and in order" % (
                      i, len(acked[i]), len(mine)))
        figure("non-reader flood: %d messages from %d senders, %d before "
               "the cut, %d after reconnecting; peak RSS +%d KiB"
               % (total, senders, len(before), len(after), grow))
        # Output cap, queue-bytes (with per-entry overhead), 5 conns.
        check(grow < bound(s, 64 + 2 * 8 * KB + 16 * KB),
              "non-reader: RSS growth %d KiB < max-output + 2 x "
              "queue-bytes + 16 MiB" % grow)
        back.close()


# ---- oversized ----

def test_oversize():
    n = 200
    with chatlib.Server("--max-message", "64k", name="oversize") as s:
        pk = Peak(s)
        # Heads over the 8 KiB cap, and one endless header line.
        answers = []
        for i in range(50):
            answers.append(chatlib.raw_http(
                s.port, b"GET /demo/ws/h HTTP/1.1\r\nHost: x\r\nX-Pad: " +
                b"a" * 9000 + b"\r\n\r\n", timeout=10))
        check(all(a.startswith(b"HTTP/1.1 431") for a in answers),
              "50 heads of 9 KB: 431 each")
        k = socket.create_connection(("127.0.0.1", s.port))
        k.settimeout(10)
        line = b"GET /demo/ws/h HTTP/1.1\r\nX: " + b"b" * 65536
        resp = b""
        try:
            for _ in range(64):
                k.sendall(line)
        except OSError:
            pass
        try:
            resp = k.recv(100)
        except OSError:
            pass
        k.close()
        check(resp.startswith(b"HTTP/1.1 431") or resp == b"",
              "a 4 MB header line: 431 or dropped (%r)" % resp[:30])
        # n connections each announce a frame just under the limit and
        # send one byte: at most n x max-message held.
        held = []
        for i in range(n):
            r = RawWS(s.port, "/demo/echo")
            r.send(frame(BINARY, b"x" * 65000)[:20])
            held.append(r)
        check(all(chatlib.peer_read_all(r.sock) for r in held),
              "the server read the %d frame starts" % n)
        mid = s.rss_kb() - pk.base
        # Petabyte and 2^63-1 length fields: 1009 at once, nothing held.
        codes = []
        for i in range(n):
            r = RawWS(s.port, "/demo/echo")
            r.send(frame(BINARY, b"0123456789", length=(1 << 50) + i))
            c = r.recv_close(10)
            codes.append(c[0] if c else None)
            r.close()
        check(codes == [1009] * n, "%d petabyte frames: 1009 each (%r)"
              % (n, sorted(set(codes), key=str)))
        for r in held:
            rst(r.sock)
        grow = pk.stop()
        figure("oversize: %d half-sent 65000-byte frames held (+%d KiB), "
               "%d petabyte length fields refused; peak RSS +%d KiB"
               % (n, mid, n, grow))
        check(grow < bound(s, n * 80 + 16 * KB), "oversize: RSS growth "
              "%d KiB < %d x (64 KiB max-message + 16 KiB) + 16 MiB"
              % (grow, n))
        check(pair_ok(s, "ov"), "oversize: server well after")


def test_fragments_pings():
    with chatlib.Server("--max-message", "64k", "--max-output", "512k",
                        name="frags") as s:
        pk = Peak(s)
        # 200,000 empty fragments: nothing accumulates; then the end.
        r = RawWS(s.port, "/demo/echo")
        r.send(frame(TEXT, "start", fin=False))
        chunk = frame(CONT, b"", fin=False) * 5000
        for _ in range(40):
            r.send(chunk)
        r.send(frame(CONT, "end"))
        try:
            fin, op, p = r.recv_frame(30)
        except (socket.timeout, EOFError) as e:
            op, p = None, repr(e)
        check((op, p) == (TEXT, b"startend"), "200,000 empty fragments, "
              "then the message (%r %r)" % (op, p[:40]))
        r.close()
        g1 = s.rss_kb() - pk.base
        # One-byte fragments up to the limit: 1009 when it is passed.
        r = RawWS(s.port, "/demo/echo")
        msg = frame(BINARY, b"a", fin=False) + \
            frame(CONT, b"b", fin=False) * (64 * KB + 10)
        try:
            r.send(msg)
        except OSError:
            pass
        c = r.recv_close(20)
        check(c is not None and c[0] == 1009, "65,546 one-byte fragments: "
              "1009 (%r)" % (c,))
        r.close()
        # A ping flood from a peer that does not read its pongs.
        r = RawWS(s.port, "/demo/echo", rcvbuf=4096)
        r.sock.setblocking(False)
        ping = frame(PING, b"P" * 125)
        batch = ping * 500
        sent = 0
        t0 = time.monotonic()
        while time.monotonic() - t0 < (6 if SLOW else 3) and sent < 100e6:
            try:
                sent += r.sock.send(batch)
            except BlockingIOError:
                select.select([], [r.sock], [], 0.1)
            except OSError:
                break
        g2 = s.rss_kb() - pk.base
        ok = pair_ok(s, "pf")
        check(ok, "a ping flood does not stop others")
        rst(r.sock)
        grow = pk.stop()
        figure("tiny fragments and pings: 200,000 empty fragments (+%d KiB);"
               " %.1f MB of pings (%d) not read (+%d KiB); peak RSS +%d KiB"
               % (g1, sent / 1e6, sent // len(ping), g2, grow))
        check(grow < bound(s, 2 * (512 + 64) + 16 * KB), "fragments and "
              "pings: RSS growth %d KiB < 2 x (max-output + max-message) + "
              "16 MiB" % grow)


# ---- descriptors ----

def test_fd_exhaustion(nofile, extra, emfile):
    """With 64 descriptors the server lowers --max-clients to fit and
    refuses the rest with 503; with 24 (below its floor of 32 clients)
    accept() fails with EMFILE and it pauses.  Either way the pair keeps
    chatting, the loop does not spin, and every waiting client gets an
    answer once descriptors free up."""

    def lower():
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    with chatlib.Server("--max-clients", "3000", name="fds",
                        preexec=lower) as s:
        a, b = user(s, "fd-a"), user(s, "fd-b")
        socks = []
        for i in range(extra):
            k = socket.socket()
            k.setblocking(False)
            k.connect_ex(("127.0.0.1", s.port))
            socks.append(k)
        # The kernel completes the connects (SOMAXCONN backlog) whether
        # or not the server accepts them: wait for that.
        todo, deadline = list(socks), time.monotonic() + 10
        while todo and time.monotonic() < deadline:
            _, w, _ = select.select([], todo, [], 0.2)
            todo = [k for k in todo if k not in w]
        check(not todo, "fds: %d connects completed" % extra)
        for i, k in enumerate(socks):
            try:
                k.send((chatlib.HANDSHAKE % ("/demo/ws/x%d" % i,
                                             s.port)).encode())
            except OSError:
                pass
        if emfile:
            check(s.wait_log(r"accept: Too many open files; pausing", 10),
                  "fds: EMFILE logged")
        else:
            check(s.wait_log(r"max clients lowered from 3000", 10) and
                  s.wait_log(r"refused: \d+ connections", 10),
                  "fds: --max-clients lowered to fit, extras refused")
        # Not a synchronization: CPU use over a window of 2 s or more.
        t0 = s.cpu_ticks()
        w0 = time.monotonic()
        times = rtts(s, a, b, 20)
        time.sleep(max(0, 2 - (time.monotonic() - w0)))
        ticks = s.cpu_ticks() - t0
        secs = time.monotonic() - w0
        med = statistics.median(times)
        check(ticks < secs * 100 * (0.3 if not SLOW else 0.6),
              "fds: not spinning: %d ticks in %.1f s" % (ticks, secs))
        check(med < (0.2 if asan(s) else 0.05), "fds: existing pair still "
              "chats (median %.1f ms)" % (med * 1000))
        # Every waiting client gets an answer once descriptors free up:
        # take the 101s (or refusals) and hang up, freeing room.
        answered, status = 0, {}
        pending = list(socks)
        deadline = time.monotonic() + (60 if SLOW else 20)
        bufs = {k: b"" for k in socks}
        while pending and time.monotonic() < deadline:
            r, _, _ = select.select(pending, [], [], 0.2)
            for k in r:
                try:
                    d = k.recv(4096)
                except OSError:
                    d = b""
                bufs[k] += d
                if b"\r\n\r\n" in bufs[k] or not d:
                    st = bufs[k][9:12].decode("latin-1") or "closed"
                    status[st] = status.get(st, 0) + 1
                    answered += 1
                    pending.remove(k)
                    rst(k)
        figure("fd exhaustion (RLIMIT_NOFILE %d%s): %d extra clients, %d "
               "CPU ticks in %.1f s, pair median %.1f ms; answers %r"
               % (nofile, ", EMFILE" if emfile else "", extra, ticks, secs,
                  med * 1000, status))
        check(answered == extra and set(status) <= {"101", "503"},
              "fds: every waiting client answered 101 or 503 in the end "
              "(%d of %d: %r)" % (answered, extra, status))
        for k in pending:
            k.close()
        check(chat(s, a, b, "after") is not None, "fds: pair after")
        check(pair_ok(s, "fd2"), "fds: new clients served after")
        a.close()
        b.close()


# ---- faults ----

def test_resets():
    with chatlib.Server("--max-output", "512k", name="resets") as s:
        pk = Peak(s)
        fds = s.nfds()
        hs = (chatlib.HANDSHAKE % ("/demo/ws/rst", s.port)).encode()
        for i in range(100):
            k = socket.create_connection(("127.0.0.1", s.port))
            k.sendall(hs[:10 + i % 60])
            rst(k)
        for i in range(100):
            r = RawWS(s.port, "/demo/ws/rst%d" % (i % 10) if i % 2 else
                      "/demo/echo")
            f = frame(TEXT, "x" * 1000)
            r.send(f[:3 + i % 200])
            rst(r.sock)
        for i in range(50):
            r = RawWS(s.port, "/demo/ws/frag%d" % i)
            r.send(frame(TEXT, '{"mess', fin=False))
            rst(r.sock)
        # Reset while the server has output pending for it.
        for i in range(30):
            r = RawWS(s.port, "/demo/echo", rcvbuf=4096)
            try:
                r.send(frame(BINARY, b"z" * 60000) * 3)
            except OSError:
                pass
            rst(r.sock)
        # Every one seen and closed.  (Not every reset in the handshake
        # is logged: one found with its reset already pending is just
        # dropped.  The descriptors say it.)
        closed = s.wait_nfds(fds, 20)
        check(s.proc.poll() is None, "resets: server alive after 280 "
              "resets")
        check(closed, "resets: the server closed all 280 (%d descriptors, "
              "%d before)" % (s.nfds(), fds))
        check(s.wait_log(r"disconnected: (connection lost|transport failed|"
                         r"socket error)"), "resets: logged as lost")
        check(pair_ok(s, "rs"), "resets: a pair chats after")
        # Close the loop on leaks: the same churn again does not grow.
        mid = s.rss_kb()
        n0 = s.count(r"disconnected: ")
        for i in range(100):
            r = RawWS(s.port, "/demo/echo")
            r.send(frame(TEXT, "y" * 500)[:50])
            rst(r.sock)
        check(s.wait_count(r"disconnected: ", n0 + 100, 20),
              "resets: the last 100 seen")
        again = s.rss_kb() - mid
        grow = pk.stop()
        figure("resets: 380 connections reset mid-handshake, mid-frame, "
               "mid-fragment and mid-write; peak RSS +%d KiB, +%d KiB for "
               "the last 100" % (grow, again))
        check(again < bound(s, 2 * KB), "resets: 100 more resets grow RSS "
              "by %d KiB (< 2 MiB)" % again)


def test_close_unanswered():
    with chatlib.Server("--ping-interval", "0", "--idle-timeout", "1s",
                        name="noclose") as s:
        # The server starts the closing handshake (idle timeout) and the
        # peer neither answers nor hangs up: the TCP connection ends
        # about 3 s after the server's close frame.
        rs = []
        for i in range(20):
            rs.append(RawWS(s.port, "/demo/ws/mute%d" % i))
        for r in rs:
            c = r.recv_close(10)
            check(c is not None and c[0] == 1001, "mute peer: close 1001 "
                  "(%r)" % (c,))
        t0 = time.monotonic()
        ends = []
        for r in rs:
            ok = r.eof(15 if SLOW else 8)
            ends.append(time.monotonic() - t0 if ok else None)
            r.close()
        check(all(e is not None and 2.4 <= e <= (12 if SLOW else 5)
                  for e in ends), "mute peers: dropped ~3 s after the "
              "server's close (%s)" % ", ".join(
                  "%.1f" % e if e else "never" for e in ends[:5]))
        # A peer that sends its close and never reads the answer.
        r = RawWS(s.port, "/demo/echo", rcvbuf=4096)
        r.send(frame(BINARY, b"q" * 60000) * 5 + frame(CLOSE,
                                                      close_payload(1000)))
        check(r.eof(15 if SLOW else 8), "a closer that never reads is "
              "dropped")
        r.close()
        figure("unanswered close: 20 mute peers dropped after %.1f-%.1f s"
               % (min(e or 99 for e in ends), max(e or 0 for e in ends)))
        check(pair_ok(s, "nc"), "unanswered close: server well after")


def test_sigpipe():
    with chatlib.Server("--max-output", "1m", name="sigpipe") as s:
        # Echo readers that send, then vanish while the echo is written.
        for i in range(40):
            r = RawWS(s.port, "/demo/echo", rcvbuf=4096)
            try:
                r.send(frame(BINARY, b"e" * 60000) * 4)
            except OSError:
                pass
            if i % 2:
                r.sock.shutdown(socket.SHUT_RDWR)
            r.close()
        # Chat readers flooded by a sender, closing mid-stream.
        snd = user(s, "piper")
        readers = [user(s, "pipe%d" % i) for i in range(20)]
        batch = b"".join(frame(TEXT, json.dumps(
            {"message": "m" * 1000, "target_user": "pipe%d" % (j % 20)}))
            for j in range(400))
        stop = threading.Event()
        th = threading.Thread(target=drain, args=(snd.sock, stop, [0]),
                              daemon=True)
        th.start()
        for k in range(5):
            snd.send(batch)
            for rd in readers[k * 4:k * 4 + 4]:
                try:
                    rd.sock.recv(1000)
                except OSError:
                    pass
                if k % 2:
                    rst(rd.sock)
                else:
                    rd.close()
        # The server has written to them and seen each one go (40 echo
        # connections, 20 readers).
        check(s.wait_count(r"disconnected: ", 60, 20),
              "sigpipe: the 60 vanished peers seen (%d)"
              % s.count(r"disconnected: "))
        stop.set()
        th.join()
        snd.close()
        check(s.proc.poll() is None, "sigpipe: server alive after writing "
              "to 60 vanished readers")
        check(pair_ok(s, "sp"), "sigpipe: a pair chats after")


# ---- 2,000 connections ----

async def aopen(port, path):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write((chatlib.HANDSHAKE % (path, port)).encode())
    head = await r.readuntil(b"\r\n\r\n")
    if b" 101 " not in head.split(b"\r\n", 1)[0]:
        raise ConnectionError(head[:40])
    return r, w


async def aframe(r, w):
    """The next text frame's payload; pings answered."""
    while True:
        h = await r.readexactly(2)
        n = h[1] & 0x7f
        if n == 126:
            n = int.from_bytes(await r.readexactly(2), "big")
        elif n == 127:
            n = int.from_bytes(await r.readexactly(8), "big")
        p = await r.readexactly(n)
        op = h[0] & 0x0f
        if op == PING:
            w.write(frame(PONG, p))
            continue
        if op == CLOSE:
            raise EOFError(p)
        return p


async def many(s, conns, per):
    pairs = conns // 2
    names = ["m%04d" % i for i in range(conns)]
    socks = {}
    sem = asyncio.Semaphore(64)

    async def one(nm):
        async with sem:
            socks[nm] = await aopen(s.port, "/demo/ws/" + nm)
    t0 = time.monotonic()
    res = await asyncio.gather(*(one(nm) for nm in names),
                               return_exceptions=True)
    errs = [e for e in res if isinstance(e, Exception)]
    check(not errs, "2,000: every connection opened (%d failed: %r)"
          % (len(errs), errs[:3]))
    opened = time.monotonic() - t0
    # who, from one of them, lists everybody.
    r, w = socks[names[0]]
    w.write(frame(TEXT, '{"type":"who"}'))
    whoa = json.loads(await asyncio.wait_for(aframe(r, w), 30))
    held = len(whoa.get("users", []))
    check(held == conns, "2,000: who lists %d users" % held)
    got = {nm: [] for nm in names}

    async def talk(i):
        me, peer = names[i], names[i ^ 1]
        r, w = socks[me]
        for k in range(per):
            w.write(frame(TEXT, json.dumps({"message": "%s:%d" % (me, k),
                                            "target_user": peer})))
        await w.drain()
        while len(got[me]) < per:
            m = json.loads(await aframe(r, w))
            got[me].append(m)
    t1 = time.monotonic()
    res = await asyncio.wait_for(asyncio.gather(
        *(talk(i) for i in range(conns)), return_exceptions=True),
        120 if SLOW else 60)
    flow = time.monotonic() - t1
    errs = [e for e in res if isinstance(e, Exception)]
    check(not errs, "2,000: every reader done (%d failed: %r)"
          % (len(errs), errs[:3]))
    bad = 0
    for i, nm in enumerate(names):
        peer = names[i ^ 1]
        want = ["%s:%d" % (peer, k) for k in range(per)]
        mine = [m.get("message") for m in got[nm]]
        if mine != want or any(m.get("from_user") != peer
                               for m in got[nm]):
            bad += 1
    check(bad == 0, "2,000: every message exactly once, in order per pair "
          "(%d connections wrong)" % bad)
    total = sum(len(v) for v in got.values())
    for nm in names:
        socks[nm][1].close()
    return held, total, opened, flow, pairs


def test_2000():
    conns, per = 2000, 20
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = conns + 200
    if hard != resource.RLIM_INFINITY and hard < need:
        check(True, "skipped")
        print("2,000 connections skipped: descriptor hard limit %d < %d"
              % (hard, need))
        return
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with chatlib.Server("--max-clients", "3000", name="c2000") as s:
        pk = Peak(s)
        held, total, opened, flow, pairs = asyncio.run(
            asyncio.wait_for(many(s, conns, per), 170))
        grow = pk.stop()
        figure("2,000 connections: %d held at once, %d messages in %d "
               "pairs delivered exactly once in order (opened in %.1f s, "
               "flowed in %.1f s); peak RSS +%d KiB" % (
                   held, total, pairs, opened, flow, grow))
        check(total == conns * per, "2,000: %d of %d messages" %
              (total, conns * per))
        # A connection's state, its share of the wslay parser (13 KB,
        # held only while busy) and socket buffers' bookkeeping.
        check(grow < bound(s, conns * 32 + 16 * KB), "2,000: RSS growth "
              "%d KiB < 2,000 x 32 KiB + 16 MiB" % grow)
        check(pair_ok(s, "c2"), "2,000: server well after")
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def main():
    t0 = time.monotonic()
    for t in (test_slowloris, test_fairness, test_flood_nonreader,
              test_oversize, test_fragments_pings,
              lambda: test_fd_exhaustion(64, 120, False),
              lambda: test_fd_exhaustion(40 if SLOW else 24, 60, True),
              test_resets, test_close_unanswered, test_sigpipe, test_2000):
        t1 = time.monotonic()
        t()
        print("%s: %.1f s" % (t.__name__ if t.__name__ != "<lambda>" else
                              "test_fd_exhaustion", time.monotonic() - t1),
              flush=True)
    print("---- figures ----")
    for f in figures:
        print(f)
    print("abuse: %.1f s in all" % (time.monotonic() - t0))


main()
chatlib.done()
