# Copyright (c) 2026 The chat authors.
#
# chatlib: shared helpers for the integration tests.  Starts a real
# chat-server on 127.0.0.1 with --port 0, learns the port from its log,
# and always stops it (SIGTERM, then SIGKILL) when the test ends.
# Clients are Debian's python3-websockets (10.x, asyncio), a peer that
# nobody here wrote.

import asyncio
import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request

BUILD = os.environ.get("BUILD", os.path.join(os.getcwd(), "build"))
SERVER = os.environ.get("CHAT_SERVER_BIN", os.path.join(BUILD, "chat-server"))
CLIENT = os.environ.get("CHAT_CLIENT", os.path.join(BUILD, "chat-client"))
# Logs go to the runner's per-test directory, or a fresh one by hand.
TMP = os.environ.get("TEST_TMP") or tempfile.mkdtemp(prefix="chat-test-")

_checks = 0
_failed = 0


def check(cond, what):
    """Count one assertion; print it if it failed."""
    global _checks, _failed
    _checks += 1
    if not cond:
        _failed += 1
        print("FAILED: " + what, flush=True)
    return cond


def done():
    """Print the tally and exit with the test's status."""
    print("%d checks, %d failed" % (_checks, _failed), flush=True)
    sys.exit(1 if _failed or _checks == 0 else 0)


def terminate(proc, timeout=10):
    """SIGTERM a process and wait (SIGKILL after timeout); returns the
    exit status."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


class Server:
    """A chat-server process on 127.0.0.1 and a free port."""

    def __init__(self, *args, name="server", env=None, preexec=None):
        self.logpath = os.path.join(TMP, name + ".log")
        self.logf = open(self.logpath, "wb")
        cmd = [SERVER, "--listen", "127.0.0.1", "--port", "0", "-v"]
        cmd += list(args)
        if os.environ.get("CHAT_POLLER"):
            # Both backends of the loop run the same tests in CI.
            cmd += ["--poller", os.environ["CHAT_POLLER"]]
        if os.environ.get("CHAT_VALGRIND") == "1":
            # Memcheck: any error or definite leak fails the exit status.
            cmd = ["valgrind", "-q", "--error-exitcode=99",
                   "--leak-check=full", "--errors-for-leak-kinds=definite",
                   "--log-file=" + self.logpath + ".vg"] + cmd
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=self.logf, stderr=self.logf,
                                     env=env, preexec_fn=preexec)
        self.port = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            m = re.search(r"listening on ws://127\.0\.0\.1:(\d+)", self.log())
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        if self.port is None:
            self.kill()
            raise RuntimeError("server did not start:\n" + self.log())
        self.url = "ws://127.0.0.1:%d" % self.port

    def log(self):
        with open(self.logpath, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        if os.path.exists(self.logpath + ".vg"):
            with open(self.logpath + ".vg", "rb") as f:
                text += f.read().decode("utf-8", "replace")
        return text

    def wait_log(self, pattern, timeout=5):
        return self.wait_count(pattern, 1, timeout)

    def count(self, pattern):
        """How many times pattern (a regular expression) is in the log."""
        return len(re.findall(pattern, self.log()))

    def wait_count(self, pattern, n, timeout=5):
        """Wait until the log holds pattern n times in all."""
        deadline = time.monotonic() + timeout
        while True:
            if self.count(pattern) >= n:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)

    def stop(self, timeout=10):
        """SIGTERM and wait; returns the exit status."""
        rc = terminate(self.proc, timeout)
        self.logf.close()
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.logf.close()

    def nfds(self):
        """How many descriptors the server has open."""
        try:
            return len(os.listdir("/proc/%d/fd" % self.proc.pid))
        except OSError:
            return 0

    def wait_nfds(self, n, timeout=5):
        """Wait until the server has n descriptors open or fewer."""
        deadline = time.monotonic() + timeout
        while True:
            if self.nfds() <= n:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)

    def rss_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def cpu_ticks(self):
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        rc = self.stop()
        if exc[0] is None:
            check(rc == 0, "server exits 0 on SIGTERM (got %r)" % rc)
            if rc != 0:
                print(self.log()[-4000:])
            check("ERROR: AddressSanitizer" not in self.log() and
                  "runtime error:" not in self.log(),
                  "no sanitizer report in the server log")
        return False


async def connect(url_or_server, user=None, path=None, **kw):
    """Open a python3-websockets client to /demo/ws/USER (or path)."""
    import websockets
    base = url_or_server.url if isinstance(url_or_server, Server) \
        else url_or_server
    if path is None:
        path = "/demo/ws/" + user
    kw.setdefault("open_timeout", 5)
    kw.setdefault("max_size", 1 << 24)
    kw.setdefault("ping_interval", None)
    return await websockets.connect(base + path, **kw)


async def recv_json(ws, timeout=5):
    """The next text message as a dict (raises on timeout)."""
    data = await asyncio.wait_for(ws.recv(), timeout)
    return json.loads(data)


async def recv_until(ws, pred, timeout=5):
    """Messages until pred(msg) is true; returns (match, skipped)."""
    skipped = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise asyncio.TimeoutError()
        m = await recv_json(ws, left)
        if pred(m):
            return m, skipped
        skipped.append(m)


async def send(ws, obj):
    """Send obj as one JSON text message."""
    await ws.send(json.dumps(obj))


async def drain(ws, quiet=0.5, limit=15):
    """Every JSON message until quiet seconds pass without one (at most
    limit seconds in all)."""
    out = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            out.append(await recv_json(ws, quiet))
        except asyncio.TimeoutError:
            break
    return out


async def cut(ws):
    """Drop the TCP connection (no close handshake) and wait until the
    client sees it closed."""
    if ws.transport is not None:
        ws.transport.abort()
    try:
        await asyncio.wait_for(ws.wait_closed(), 5)
    except asyncio.TimeoutError:
        pass


async def settle(ws, timeout=5):
    """Every message the server had sent ws before it read a who sent
    now (the who's answer not included).  The server answers one
    connection's requests in order and queues what a request, a
    connect, another connection's chat it has acked or a close it has
    answered sends to ws before it reads further, so this is a barrier
    for one node: "nothing else arrived" is settle(ws) == [] instead of
    a quiet time.  (Across cluster nodes it is not: use no_message.)"""
    await send(ws, {"type": "who"})
    m, skipped = await recv_until(ws, lambda m: m.get("type") == "who",
                                  timeout)
    return skipped


async def no_message(ws, wait=0.3):
    """True if nothing arrives within wait seconds: only for what has
    no barrier (see settle), such as events from other cluster nodes."""
    try:
        await asyncio.wait_for(ws.recv(), wait)
        return False
    except asyncio.TimeoutError:
        return True


def raw_http(port, request, timeout=5, head=False):
    """Send raw bytes, return everything read until the server closes
    (with head, until the end of the answer's head: for a 101, after
    which the connection stays open)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(request)
        out = b""
        while not (head and b"\r\n\r\n" in out):
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                # What arrived before the reset is still an answer.
                break
            if not b:
                break
            out += b
        return out
    finally:
        s.close()


def _tcp_queues(port_a, port_b):
    """(tx, rx) queue sizes of the loopback TCP socket whose local port
    is port_a and remote port port_b, from /proc/net/tcp{,6}; None if
    there is none (closed)."""
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    fld = line.split()
                    if int(fld[1].rsplit(":", 1)[1], 16) == port_a and \
                            int(fld[2].rsplit(":", 1)[1], 16) == port_b:
                        tx, rx = fld[4].split(":")
                        return int(tx, 16), int(rx, 16)
        except OSError:
            pass
    return None


def peer_read_all(sock, timeout=10):
    """Wait until the other end of sock, a loopback TCP connection, has
    read everything sent on it (our send queue and its receive queue
    are empty, or it closed): what is sent next comes in a read of its
    own.  Returns False on timeout."""
    here, there = sock.getsockname()[1], sock.getpeername()[1]
    deadline = time.monotonic() + timeout
    while True:
        mine = _tcp_queues(here, there)
        theirs = _tcp_queues(there, here)
        if mine is None or theirs is None or \
                (mine[0] == 0 and theirs[1] == 0):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.002)


def run(coro):
    """Run an async test body with a global time limit."""
    asyncio.run(asyncio.wait_for(coro, 120))


def lap(what, t=[None]):
    """Print the time since the last lap (the first call starts the
    clock)."""
    now = time.monotonic()
    if t[0] is not None:
        print("  %-28s %5.1f s" % (what, now - t[0]), flush=True)
    t[0] = now


# ---- processes killed at exit; NATS and cluster nodes ----

# Every process given to kill_at_exit(), killed at exit whatever happens
# (the runner's timeout sends SIGTERM to the script only: it exits 1,
# which runs the atexit handlers).  A SIGTERM handler can only be set
# from the main thread: the first call there sets it.
_procs = []
_armed = set()


def kill_all():
    """SIGKILL every process given to kill_at_exit() still running."""
    for p in _procs:
        try:
            if p.poll() is None:
                p.kill()
                p.wait(5)
        except Exception:
            pass


def kill_at_exit(proc):
    """Kill proc (a Popen) when the script exits, if it still runs."""
    if "atexit" not in _armed:
        _armed.add("atexit")
        atexit.register(kill_all)
    if "signal" not in _armed and \
            threading.current_thread() is threading.main_thread():
        _armed.add("signal")
        signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    _procs.append(proc)
    return proc


def free_port():
    """A TCP port free on 127.0.0.1 just now (for servers that cannot
    be told port 0: nats-server, a server restarted on its port)."""
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


NATS_BIN = shutil.which("nats-server") or "/usr/sbin/nats-server"


def need_nats():
    """Skip the test (exit 77, with the reason) without nats-server."""
    if not os.access(NATS_BIN, os.X_OK):
        print("nats-server not found (apt-get install nats-server)")
        sys.exit(77)


class Nats:
    """A nats-server with JetStream on 127.0.0.1: start, stop (SIGTERM,
    then SIGKILL), kill, restart on the same port and store dir."""

    def __init__(self, name="nats", extra=()):
        self.name = name
        self.extra = list(extra)
        self.port = free_port()
        self.dir = os.path.join(TMP, name + "-store")
        self.logpath = os.path.join(TMP, name + ".log")
        self.url = "nats://127.0.0.1:%d" % self.port
        self.proc = None
        self.starts = 0

    def start(self, timeout=10):
        os.makedirs(self.dir, exist_ok=True)
        self.starts += 1
        logf = open(self.logpath, "ab")
        logf.write(b"==== start %d\n" % self.starts)
        logf.flush()
        self.proc = subprocess.Popen(
            [NATS_BIN, "-js", "-a", "127.0.0.1", "-p", str(self.port),
             "-sd", self.dir] + self.extra,
            stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
        logf.close()
        kill_at_exit(self.proc)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                s = socket.create_connection(("127.0.0.1", self.port), 0.5)
            except OSError:
                time.sleep(0.05)
                continue
            try:
                s.settimeout(1)
                if s.recv(4).startswith(b"INFO"):
                    return
            except OSError:
                pass
            finally:
                s.close()
            time.sleep(0.05)
        self.kill()
        raise RuntimeError("nats-server did not start:\n" + self.log())

    def log(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=5):
        if self.alive():
            terminate(self.proc, timeout)

    def kill(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait()

    def restart(self, timeout=10):
        self.stop()
        self.start(timeout)


def start_node(nats_url, name, *extra, ready=True):
    """A chat-server node with --cluster (killed at exit); with ready,
    waits for its log to say 'cluster: ready'."""
    s = Server("--cluster", nats_url, *extra, name=name)
    kill_at_exit(s.proc)
    if ready:
        ok = s.wait_log(r"cluster: ready", timeout=10)
        check(ok, "%s: logs 'cluster: ready' within 10 s" % name)
        if not ok:
            print(s.log()[-3000:])
    return s


def stats(s):
    """A server's /stats, or {"error": why}."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/stats" % s.port,
                                    timeout=5) as r:
            return json.loads(r.read().decode())
    except (OSError, ValueError, urllib.error.URLError) as e:
        return {"error": repr(e)}


# ---- history: seq, resume, acks ----

def upath(user, since=None, extra="", epoch=None):
    """/demo/ws/USER with ?since=N, epoch=E and extra query parameters
    (each only if given)."""
    q = []
    if since is not None:
        q.append("since=%d" % since)
    if epoch is not None:
        q.append("epoch=" + epoch)
    if extra:
        q.append(extra)
    return "/demo/ws/" + user + ("?" + "&".join(q) if q else "")


async def resume(s, user, since, extra="", epoch=None, **kw):
    """Connect with ?since= (and epoch, extra); (ws, the first message,
    meant: resumed)."""
    ws = await connect(s, path=upath(user, since, extra, epoch), **kw)
    r = await recv_json(ws)
    return ws, r


async def take(ws, n, timeout=5):
    """Exactly n messages (fewer if timeout)."""
    out = []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < n:
            out.append(await recv_json(ws, max(0.01, deadline -
                                               time.monotonic())))
    except asyncio.TimeoutError:
        pass
    return out


async def look_until(s, user, pred, timeout=12):
    """Look at user's inbox (?since=0, closed at once) until pred(the
    resumed answer) holds, or timeout passes; returns the last answer.
    For what retention does in its own time (--history-days)."""
    deadline = time.monotonic() + timeout
    while True:
        w, r = await resume(s, user, 0)
        await w.close()
        if pred(r) or time.monotonic() >= deadline:
            return r
        await asyncio.sleep(0.3)


def seqs(evs):
    """The seq of each event (None for one without)."""
    return [e.get("seq") for e in evs]


def chats(evs):
    """The chat messages of evs: without the "expired" events that say
    retention took what lay between."""
    return [e for e in evs if e.get("type") != "expired"]


def texts(evs):
    """The message of each event (None for one without)."""
    return [e.get("message") for e in evs]


async def chat_ack(ws, target, text, mid, timeout=5, skip=False):
    """Send one chat with an id; the answer (ack or error): the next
    message, or with skip the first ack or error with that id (other
    messages before it are passed over)."""
    await send(ws, {"message": text, "target_user": target, "id": mid})
    if not skip:
        return await recv_json(ws, timeout)
    m, _ = await recv_until(ws, lambda m: m.get("id") == mid and
                            m.get("type") in ("ack", "error"), timeout)
    return m


async def wait_online(node, user, timeout=5):
    """Until node knows that user is online (somewhere): an ack says
    delivered for a target online on another node once the nodes have
    told each other, which takes a moment after it connects."""
    w = await connect(node, "w-%s-%d" % (user, os.getpid()))
    try:
        await send(w, {"type": "watch", "users": [user]})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = await recv_json(w, max(0.01, deadline - time.monotonic()))
            if m.get("type") == "presence" and m.get("online"):
                return True
        return False
    except asyncio.TimeoutError:
        return False
    finally:
        await w.close()


async def scenario(what, coro):
    """Run one scenario; an exception (a timeout waiting for an answer)
    fails it with the traceback, and the next scenario still runs."""
    try:
        return await coro
    except (Exception, asyncio.TimeoutError):
        traceback.print_exc()
        check(False, "%s: raised (see the traceback above)" % what)
        return None


async def gone(s, user, n=1, timeout=5):
    """Wait until s's log shows n disconnects of user in all."""
    deadline = time.monotonic() + timeout
    pat = "user %s disconnected" % user
    while time.monotonic() < deadline:
        if s.log().count(pat) >= n:
            return True
        await asyncio.sleep(0.02)
    return False


# ---- a flow under kill -9: windowed senders, resuming receivers ----

class RState:
    """A receiver of a flow: its last seq, what it got, and the since
    and first answer of each of its connections."""

    def __init__(self, user):
        self.user = user
        self.last = 0
        self.got = []		# (seq, from_user, message)
        self.resumed = []
        self.since = []		# the since of each connection
        self.other = []
        self.ws = None


class SState:
    """A sender of a flow, user prefix+idx: logical messages, round
    robin to receivers, each sent again (a new attempt) until acked."""

    def __init__(self, idx, prefix, receivers):
        self.idx = idx
        self.user = "%s%d" % (prefix, idx)
        self.receivers = receivers
        self.attempt = 0
        self.logical = 0
        self.resend = []	# logical numbers to send again
        self.sent = {}		# attempt -> (logical, target, text)
        self.acked = set()	# attempts
        self.status = {}	# ack status -> count
        self.errors = []
        self.outstanding = {}


async def kreceiver(url, st, epoch=None, check_resumed=False):
    """Connect as st.user with ?since=st.last (and &epoch=), record all
    that arrives until the connection ends.  With check_resumed, check
    the answer: resumed since st.last, nothing trimmed."""
    import websockets
    st.since.append(st.last)
    try:
        ws = await connect(url, path=upath(st.user, st.last, epoch=epoch))
    except Exception as e:
        check(False, "%s connects: %r" % (st.user, e))
        return
    st.ws = ws
    try:
        r = await recv_json(ws, 5)
        st.resumed.append(r)
        if check_resumed:
            check(r.get("type") == "resumed" and
                  r.get("since") == st.last and
                  r.get("first", 0) <= st.last + 1,
                  "%s: resumed since %d, nothing trimmed: %r"
                  % (st.user, st.last, r))
        while True:
            m = json.loads(await ws.recv())
            if "seq" not in m:
                st.other.append(m)
                continue
            st.got.append((m["seq"], m.get("from_user"), m.get("message")))
            st.last = max(st.last, m["seq"])
    except (websockets.ConnectionClosed, asyncio.TimeoutError,
            ConnectionError):
        pass


async def ksender(url, st, stop, quota, cap=None, window=16, ack_wait=15,
                  close_wait=10):
    """Send (resends first, then new logical messages) with at most
    window unacked, until stop is set, quota new ones are sent or the
    connection dies; then wait up to ack_wait for the acks still due
    and close_wait for the close.  Unacked ones go back to resend.
    With a cap, idle once cap logical messages exist (until stop)."""
    import websockets
    outstanding = {}	# id -> (attempt, logical)
    st.outstanding = outstanding
    try:
        ws = await connect(url, st.user)
    except Exception as e:
        check(False, "%s connects: %r" % (st.user, e))
        return

    async def reader():
        try:
            while True:
                m = json.loads(await ws.recv())
                ent = outstanding.pop(m.get("id"), None)
                if ent is None:
                    st.errors.append(("stray", m))
                    continue
                if m.get("type") == "ack":
                    st.acked.add(ent[0])
                    st.status[m.get("status")] = \
                        st.status.get(m.get("status"), 0) + 1
                else:
                    st.errors.append(("refused", m))
                    st.resend.append(ent[1])
        except (websockets.ConnectionClosed, ConnectionError):
            pass

    rt = asyncio.ensure_future(reader())
    start = st.logical
    try:
        while not stop.is_set() and not rt.done():
            if len(outstanding) >= window:
                await asyncio.sleep(0.001)
                continue
            if st.resend:
                # Refused (cluster_unavailable...): not in a tight loop.
                await asyncio.sleep(0.01)
                logical = st.resend.pop(0)
            elif quota is not None and st.logical - start >= quota:
                break
            elif cap is not None and st.logical >= cap:
                await asyncio.sleep(0.01)
                continue
            else:
                logical = st.logical
                st.logical += 1
            st.attempt += 1
            a = st.attempt
            target = st.receivers[logical % len(st.receivers)]
            text = "%s:L%06d:A%06d" % (st.user, logical, a)
            mid = "%d-%d" % (st.idx, a)
            outstanding[mid] = (a, logical)
            st.sent[a] = (logical, target, text)
            try:
                await ws.send(json.dumps({"message": text,
                                          "target_user": target,
                                          "id": mid}))
            except (websockets.ConnectionClosed, ConnectionError):
                break
        deadline = time.monotonic() + ack_wait
        while outstanding and not rt.done() and \
                time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        if not rt.done():
            try:
                await ws.close()
            except (websockets.ConnectionClosed, ConnectionError):
                pass	# the server went away meanwhile (a kill -9)
        await asyncio.wait_for(rt, close_wait)
    except asyncio.TimeoutError:
        pass
    finally:
        if not rt.done():
            rt.cancel()
        st.resend = sorted(lg for (a, lg) in outstanding.values()) + \
            st.resend
        outstanding.clear()
        await cut(ws)


async def flow_settle(rs, ss, timeout, done=None):
    """Wait up to timeout for every acked message to reach its receiver
    (rs: user -> RState), 0.5 s more for duplicates; then set done (an
    asyncio.Event that receivers that reconnect watch), and close the
    receivers' connections."""
    want = {u: set() for u in rs}
    for x in ss:
        for a in x.acked:
            want[x.sent[a][1]].add(x.sent[a][2])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(want[u] <= {g[2] for g in r.got} for u, r in rs.items()):
            break
        await asyncio.sleep(0.05)
    # A quiet time for duplicates, if any: a negative with no barrier
    # (in a cluster, another node may still be sending).
    await asyncio.sleep(0.5)
    if done is not None:
        done.set()
    for r in rs.values():
        if r.ws is not None:
            await r.ws.close()


def flow_verdict(rs, ss, check_seqs):
    """Check a flow's outcome: no error answers, every logical message
    acked in the end; per receiver check_seqs(user, seqs), only what
    was sent to it, from its sender, each sender's in send order; every
    acked message delivered exactly once.  Returns (sent, acked,
    unacked but delivered, lost) for the report."""
    sent_by_text = {}
    for x in ss:
        for a, (lg, tgt, text) in x.sent.items():
            sent_by_text[text] = (x.idx, a, lg, tgt)
    lost, dup = [], []
    for x in ss:
        check(not x.errors, "%s: no error answers: %r" % (x.user,
                                                          x.errors[:3]))
        logicals = {x.sent[a][0] for a in x.acked}
        check(logicals == set(range(x.logical)) and not x.resend,
              "%s: every logical message acked in the end (%d of %d, %d "
              "to resend)" % (x.user, len(logicals), x.logical,
                              len(x.resend)))
    unacked_delivered = 0
    for u, r in rs.items():
        check_seqs(u, [g[0] for g in r.got])
        count = {}
        for seq, frm, text in r.got:
            count[text] = count.get(text, 0) + 1
        strange = [(t, frm) for seq, frm, t in r.got
                   if t not in sent_by_text or sent_by_text[t][3] != u or
                   ss[sent_by_text[t][0]].user != frm]
        check(not strange, "%s: only messages sent to it, from their "
              "sender: %r" % (u, strange[:3]))
        for x in ss:
            for a in x.acked:
                lg, tgt, text = x.sent[a]
                if tgt == u and count.get(text, 0) != 1:
                    (lost if count.get(text, 0) == 0 else dup).append(
                        (u, text, count.get(text, 0)))
        for t, n in count.items():
            if t in sent_by_text and \
                    sent_by_text[t][1] not in ss[sent_by_text[t][0]].acked:
                unacked_delivered += 1
                if n > 1:
                    dup.append((u, t, n))
        for x in ss:
            order = [sent_by_text[g[2]][1] for g in r.got
                     if g[2] in sent_by_text and
                     sent_by_text[g[2]][0] == x.idx]
            check(order == sorted(order) and len(order) == len(set(order)),
                  "%s: %s's messages in send order" % (u, x.user))
    check(not lost, "every acked message delivered (%d lost: %r)"
          % (len(lost), lost[:5]))
    check(not dup, "nothing delivered twice (%d: %r)" % (len(dup), dup[:5]))
    return (sum(len(x.sent) for x in ss), sum(len(x.acked) for x in ss),
            unacked_delivered, lost)


# ---- raw sockets: hand-built frames for protocol tests ----

HANDSHAKE = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
             "Upgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             "Sec-WebSocket-Version: 13\r\n\r\n")


def frame(opcode, payload=b"", fin=True, mask=True, rsv=0, length=None):
    """One WebSocket frame as bytes (masked, as a client must)."""
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload) if length is None else length
    out = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    mbit = 0x80 if mask else 0
    if n < 126:
        out += bytes([mbit | n])
    elif n < 65536:
        out += bytes([mbit | 126]) + n.to_bytes(2, "big")
    else:
        out += bytes([mbit | 127]) + n.to_bytes(8, "big")
    if mask:
        key = os.urandom(4)
        out += key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    else:
        out += payload
    return out


def close_payload(code, reason=b""):
    if isinstance(reason, str):
        reason = reason.encode()
    return code.to_bytes(2, "big") + reason


class RawWS:
    """A WebSocket client on a plain socket, for misbehaving on purpose."""

    def __init__(self, port, path, rcvbuf=None, timeout=5, handshake=True):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF,
                                 rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        self.port = port
        self.buf = b""
        self.status = None
        if handshake:
            self.handshake(path)

    def handshake(self, path, extra=b""):
        self.sock.sendall((HANDSHAKE % (path, self.port)).encode() + extra)
        while b"\r\n\r\n" not in self.buf:
            b = self.sock.recv(4096)
            if not b:
                raise ConnectionError("closed during handshake: %r"
                                      % self.buf)
            self.buf += b
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        self.status = int(head.split(b" ", 2)[1])
        if self.status != 101:
            raise ConnectionError("handshake answered %r" % head)

    def send(self, data):
        self.sock.sendall(data)

    def send_frame(self, opcode, payload=b"", **kw):
        self.sock.sendall(frame(opcode, payload, **kw))

    def send_text(self, text):
        self.send_frame(1, text)

    def send_json(self, obj):
        self.send_frame(1, json.dumps(obj))

    def _need(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout()
            self.sock.settimeout(left)
            b = self.sock.recv(65536)
            if not b:
                raise EOFError()
            self.buf += b

    def recv_frame(self, timeout=5):
        """(fin, opcode, payload); raises EOFError at end of stream."""
        deadline = time.monotonic() + timeout
        self._need(2, deadline)
        b0, b1 = self.buf[0], self.buf[1]
        n, hl = b1 & 0x7f, 2
        if n == 126:
            self._need(4, deadline)
            n, hl = int.from_bytes(self.buf[2:4], "big"), 4
        elif n == 127:
            self._need(10, deadline)
            n, hl = int.from_bytes(self.buf[2:10], "big"), 10
        if b1 & 0x80:
            hl += 4		# servers must not mask; tolerated here
        self._need(hl + n, deadline)
        payload = self.buf[hl:hl + n]
        self.buf = self.buf[hl + n:]
        return bool(b0 & 0x80), b0 & 0x0f, payload

    def recv_json(self, timeout=5):
        """The next text message as a dict (pings answered, skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            fin, op, p = self.recv_frame(max(0.01,
                                             deadline - time.monotonic()))
            if op == 9:
                self.send_frame(10, p)
                continue
            if op == 1:
                return json.loads(p)
            raise ValueError("unexpected frame opcode %d: %r" % (op, p))

    def recv_close(self, timeout=5):
        """Skip to the close frame: (code, reason bytes), or None at EOF
        without one; (None, b"") for a close without a code."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                fin, op, p = self.recv_frame(
                    max(0.01, deadline - time.monotonic()))
                if op == 8:
                    if len(p) < 2:
                        return (None, b"")
                    return (int.from_bytes(p[:2], "big"), p[2:])
        except (EOFError, ConnectionResetError):
            return None

    def eof(self, timeout=5):
        """True if the server closes the TCP stream within timeout."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.sock.settimeout(max(0.01, deadline - time.monotonic()))
                b = self.sock.recv(65536)
                if not b:
                    return True
                self.buf += b
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
        return False

    def close(self):
        self.sock.close()


# ---- TLS: throwaway certificates and TLS servers ----

def have_openssl():
    """True if the openssl command can make certificates here."""
    import shutil
    return shutil.which("openssl") is not None


def need_openssl():
    """Skip the test (exit 77, with the reason) without openssl."""
    if not have_openssl():
        print("openssl command not found (scripts/install-deps)")
        sys.exit(77)


def _openssl(*args, cwd):
    r = subprocess.run(["openssl"] + list(args), cwd=cwd,
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    if r.returncode != 0:
        raise RuntimeError("openssl %s failed:\n%s"
                           % (" ".join(args), r.stdout.decode()))


def _leaf(d, name, ca, san, days="30", eku="serverAuth"):
    """Key and certificate NAME.{key,pem} for san, signed by ca, for
    eku (serverAuth, clientAuth)."""
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
             "-subj", "/CN=" + name, cwd=d)
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=%s\n" % (san, eku))
    # A negative -days puts notAfter before now: an expired
    # certificate without faketime (OpenSSL 3.0 has no -not_after).
    _openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem",
             "-CAkey", ca + ".key", "-CAcreateserial", "-days", days,
             "-extfile", name + ".ext", "-out", name + ".pem", cwd=d)
    return os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")


def make_certs(d=None):
    """A fresh CA and certificates in d (default TMP), made with the
    openssl command; nothing secret is kept in the tree.  Returns a
    dict of paths: ca, other_ca (PEM), and (cert, key) pairs good
    (DNS:localhost, IP:127.0.0.1), expired, wrong_host (DNS:example.com
    only), unknown_ca (signed by other_ca), good2 (a second good one,
    for reloads) and client (for clientAuth, signed by ca)."""
    d = d or os.path.join(TMP, "certs")
    os.makedirs(d, exist_ok=True)
    for ca in ("ca", "other-ca"):
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                 ca + ".key", "-out", ca + ".pem", "-days", "30",
                 "-subj", "/CN=chat test " + ca, cwd=d)
    here = "DNS:localhost,IP:127.0.0.1"
    return {
        "dir": d,
        "ca": os.path.join(d, "ca.pem"),
        "other_ca": os.path.join(d, "other-ca.pem"),
        "good": _leaf(d, "good", "ca", here),
        "good2": _leaf(d, "good2", "ca", here),
        "expired": _leaf(d, "expired", "ca", here, days="-1"),
        "wrong_host": _leaf(d, "wrong-host", "ca", "DNS:example.com"),
        "unknown_ca": _leaf(d, "unknown-ca", "other-ca", here),
        "client": _leaf(d, "client", "ca", "DNS:chat-node",
                        eku="clientAuth"),
    }


class TlsServer(Server):
    """A chat-server with --cert/--key.  With plain=True it also serves
    ws:// (--tls-port): url is ws://, wss_url wss://; else its only
    listener is TLS and url is wss://."""

    def __init__(self, cert, key, *args, plain=False, name="server",
                 env=None):
        self.logpath = os.path.join(TMP, name + ".log")
        self.logf = open(self.logpath, "wb")
        cmd = [SERVER, "--listen", "127.0.0.1", "--port", "0", "-v",
               "--cert", cert, "--key", key]
        if plain:
            cmd += ["--tls-port", "0"]
        cmd += list(args)
        if os.environ.get("CHAT_POLLER"):
            cmd += ["--poller", os.environ["CHAT_POLLER"]]
        if os.environ.get("CHAT_VALGRIND") == "1":
            cmd = ["valgrind", "-q", "--error-exitcode=99",
                   "--leak-check=full", "--errors-for-leak-kinds=definite",
                   "--log-file=" + self.logpath + ".vg"] + cmd
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=self.logf, stderr=self.logf,
                                     env=env)
        self.port = self.tls_port = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            log = self.log()
            m = re.search(r"listening on wss://127\.0\.0\.1:(\d+)", log)
            p = re.search(r"listening on ws://127\.0\.0\.1:(\d+)", log)
            if m and (p or not plain):
                self.tls_port = int(m.group(1))
                self.port = int(p.group(1)) if p else self.tls_port
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        if self.tls_port is None:
            self.kill()
            raise RuntimeError("server did not start:\n" + self.log())
        self.wss_url = "wss://127.0.0.1:%d" % self.tls_port
        self.url = ("ws://127.0.0.1:%d" % self.port) if plain \
            else self.wss_url


def client_ssl(cafile):
    """An ssl context for python3-websockets that checks like ours."""
    import ssl
    ctx = ssl.create_default_context(cafile=cafile)
    return ctx
