# Copyright (c) 2026 The chat authors.
#
# test_stress: many clients doing random things at once, to find what
# no single case thought of (issue 14): connecting as one of a few
# dozen users with and without since, chatting to random users, watch
# lists with repeats, who and resume in bursts, readers that stop
# reading until they are cut off, resets mid-frame, garbage and
# oversize frames, polite and rude closes.  The server runs with small
# limits so that cuts, quotas and retention happen often.  It must stay
# up and serving, exit 0 on SIGTERM, and (under ASan, as CI runs it)
# report nothing.  STRESS_SECONDS (default 12) sets how long the actors
# run; a seed is printed and STRESS_SEED replays one.

import os
import random
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chatlib  # noqa: E402
from chatlib import check, RawWS, frame  # noqa: E402

SECONDS = float(os.environ.get("STRESS_SECONDS", "12"))
SEED = int(os.environ.get("STRESS_SEED", str(int(time.time()) % 100000)))
USERS = ["s%d" % i for i in range(40)]
ACTORS = 12

counts = {}
lock = threading.Lock()


def count(what, n=1):
    with lock:
        counts[what] = counts.get(what, 0) + n


def rst(sock):
    """Close with a reset instead of a FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        b"\x01\x00\x00\x00\x00\x00\x00\x00")
    except OSError:
        pass
    sock.close()


def drain(w, rnd):
    """Read whatever has come, without waiting; keep the last seq."""
    try:
        w.sock.setblocking(False)
        while True:
            b = w.sock.recv(65536)
            if not b:
                return False
            w.buf += b
            count("bytes_read", len(b))
    except (BlockingIOError, InterruptedError):
        pass
    except OSError:
        return False
    finally:
        try:
            w.sock.setblocking(True)
        except OSError:
            pass
    # Parse whole frames to learn seqs; answer pings.
    while len(w.buf) >= 2:
        n, hl = w.buf[1] & 0x7f, 2
        if n == 126:
            if len(w.buf) < 4:
                break
            n, hl = int.from_bytes(w.buf[2:4], "big"), 4
        elif n == 127:
            if len(w.buf) < 10:
                break
            n, hl = int.from_bytes(w.buf[2:10], "big"), 10
        if len(w.buf) < hl + n:
            break
        op, payload = w.buf[0] & 0x0f, w.buf[hl:hl + n]
        w.buf = w.buf[hl + n:]
        if op == 9:
            try:
                w.send_frame(10, payload)
            except OSError:
                return False
        elif op == 8:
            return False
        elif op == 1 and b'"seq":' in payload:
            try:
                w.seq = int(payload.split(b'"seq":')[1].split(b"}")[0]
                            .split(b",")[0])
            except ValueError:
                pass
    return True


def connect(port, rnd, u, seq):
    q = ""
    r = rnd.random()
    if seq and r < 0.4:
        q = "?since=%d" % seq
    elif r < 0.5:
        q = "?epoch="
    elif r < 0.55:
        q = "?since=%d&epoch=0123456789abcdef" % rnd.randrange(10)
    w = RawWS(port, "/demo/ws/%s%s" % (u, q),
              rcvbuf=rnd.choice([None, None, 4096]), timeout=5)
    w.user = u
    w.seq = seq
    return w


def actor(port, seed, stop):
    rnd = random.Random(seed)
    seqs = {}
    w = None
    while time.monotonic() < stop:
        try:
            if w is None:
                u = rnd.choice(USERS)
                w = connect(port, rnd, u, seqs.get(u, 0))
                count("connects")
            r = rnd.random()
            if r < 0.45:
                for _ in range(rnd.randrange(1, 20)):
                    w.send_json({"message": "m" * rnd.choice([1, 50, 900,
                                                             3000]),
                                 "target_user": rnd.choice(USERS),
                                 "id": rnd.randrange(1 << 30)})
                count("chats")
            elif r < 0.55:
                n = rnd.randrange(0, 256)
                w.send_json({"type": "watch", "users":
                             [rnd.choice(USERS) for _ in range(n)]})
                count("watches")
            elif r < 0.62:
                for _ in range(rnd.randrange(1, 15)):
                    w.send_json({"type": "who"})
                count("whos")
            elif r < 0.66:
                w.send_json({"type": "resume", "since":
                             rnd.randrange(0, 50)})
                count("resumes")
            elif r < 0.70:
                # Stop reading a while: the output fills, maybe a cut.
                time.sleep(rnd.uniform(0.05, 0.4))	# the point
                count("pauses")
            elif r < 0.73:
                w.send(rnd.choice([frame(1, "{"), frame(2, b"\x00\x01"),
                                   frame(1, b"\xff\xfe"),
                                   frame(1, b"", length=1 << 20)[:8],
                                   os.urandom(30)]))
                count("garbage")
            elif r < 0.77:
                rst(w.sock)
                w = None
                count("resets")
                continue
            elif r < 0.80:
                w.send_frame(8, b"\x03\xe8bye")
                w.close()
                w = None
                count("closes")
                continue
            if w is not None and not drain(w, rnd):
                w.close()
                w = None
                count("ended_by_server")
            elif w is not None and w.seq:
                seqs[w.user] = w.seq
        except (OSError, ConnectionError, EOFError, ValueError):
            if w is not None:
                w.close()
            w = None
            count("errors")
    if w is not None:
        w.close()


def pair_ok(port):
    a = RawWS(port, "/demo/ws/final-a")
    b = RawWS(port, "/demo/ws/final-b")
    try:
        a.send_json({"message": "still well", "target_user": "final-b"})
        while True:
            m = b.recv_json(10)
            if m.get("message") == "still well":
                return True
    except (OSError, EOFError, ValueError):
        return False
    finally:
        a.close()
        b.close()


def main():
    print("stress: seed %d, %d actors, %.0f s" % (SEED, ACTORS, SECONDS))
    with chatlib.Server("-m", "4k", "-o", "64k", "--history-limit", "20",
                        "--history-bytes", "2m", "--queue-limit", "50",
                        "--sender-bytes", "256k", "--target-bytes", "256k",
                        "-u", "3", "--idle-timeout", "3s",
                        "--ping-interval", "1s", name="stress") as s:
        stop = time.monotonic() + SECONDS
        ts = [threading.Thread(target=actor, args=(s.port, SEED * 100 + i,
                                                   stop), daemon=True)
              for i in range(ACTORS)]
        for t in ts:
            t.start()
        alive = True
        while time.monotonic() < stop and alive:
            time.sleep(0.5)		# sample, not synchronization
            alive = s.proc.poll() is None
        for t in ts:
            t.join(SECONDS + 30)
        print("stress: %r" % sorted(counts.items()))
        check(alive and s.proc.poll() is None, "the server survived %.0f s "
              "of %d random clients (seed %d)" % (SECONDS, ACTORS, SEED))
        check(counts.get("chats", 0) > 0 and counts.get("connects", 0) > 0,
              "the actors did something")
        check(pair_ok(s.port), "and still serves a fresh pair")
    chatlib.done()


main()
