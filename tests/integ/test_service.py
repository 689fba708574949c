# Copyright (c) 2026 The chat authors.
#
# test_service: chat-server as a service sees it.  --log-format json
# (every line a JSON object with an ISO 8601 time and zone), refusals
# logged with their path and never the query, and a flood of refusals
# rate-limited with a count of what was suppressed.  /metrics parsed
# with python3-prometheus-client after a chat exchange, guarded by the
# stats token; HEAD on the operator endpoints; /readyz failing while the
# store fails or the cluster is unreachable.  The sd_notify protocol on a
# NOTIFY_SOCKET of the test's own (READY=1, WATCHDOG=1, RELOADING=1 then
# READY=1 on SIGHUP, STOPPING=1 on SIGTERM), socket activation with a
# listening socket passed as LISTEN_FDS, and SIGUSR1's status line.

import json
import os
import re
import resource
import signal
import socket
import subprocess
import time

from prometheus_client.parser import text_string_to_metric_families

import chatlib
from chatlib import check, connect, chat_ack, recv_json

ISO = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$"


def get(port, path, method="GET", headers=""):
    """One plain HTTP request; (status, headers, body)."""
    resp = chatlib.raw_http(port, ("%s %s HTTP/1.1\r\nHost: x\r\n%s\r\n"
                                   % (method, path, headers)).encode())
    head, _, body = resp.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0] else 0
    return status, lines[1:], body


def expect(port, path, status, part, what):
    """GET path: the status and a part of the body."""
    st, _, body = get(port, path)
    check(st == status and part in body, "%s: %d with %r (got %d %r)"
          % (what, status, part, st, body[:80]))


def test_json_log():
    with chatlib.Server("--log-format", "json", name="json") as s:
        status, _, _ = get(s.port, "/nope?token=SECRET42")
        check(status == 404, "404 for /nope (got %d)" % status)
        check(s.wait_log(r"refused: 404"), "the refusal is logged")
        lines = [l for l in s.log().splitlines() if l.strip()]
        objs = []
        for line in lines:
            try:
                objs.append(json.loads(line))
            except ValueError:
                check(False, "not a JSON line: %r" % line)
        check(len(objs) >= 3, "several JSON lines (%d)" % len(objs))
        for o in objs:
            check(set(o) == {"time", "level", "program", "msg"},
                  "fields: %r" % sorted(o))
            check(re.match(ISO, o.get("time", "")) is not None,
                  "ISO 8601 time with zone: %r" % o.get("time"))
            check(o.get("program") == "chat-server", "program name")
        msgs = [o["msg"] for o in objs]
        check(any(re.search(r"listening on ws://127\.0\.0\.1:\d+", m)
                  for m in msgs), "the listening line")
        refusal = [m for m in msgs if "refused: 404" in m]
        check(refusal and "(path /nope)" in refusal[0],
              "the refusal names its path: %r" % refusal)
        check("SECRET42" not in s.log(), "the query is never logged")


def test_text_log():
    with chatlib.Server(name="text") as s:
        first = s.log().splitlines()[0]
        check(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00 "
                       r"chat-server: info: ", first) is not None,
              "text line: ISO 8601 time, zone, program, level: %r" % first)


def test_refusal_flood():
    """200 refused requests in a burst: at most 20 lines a second of
    them, then a line counting the rest."""
    with chatlib.Server(name="flood") as s:
        n = 200
        for i in range(n):
            get(s.port, "/flood%d" % i)
        check(s.wait_log(r"similar lines? suppressed", 5),
              "the suppressed refusals are counted")
        log = s.log()
        logged = len(re.findall(r"refused: 404", log))
        counted = sum(int(m) for m in re.findall(
            r"(\d+) similar lines? suppressed in [\d.]+ s: "
            r"\"%s #%llu refused: ", log))
        check(logged < n, "fewer than %d refusal lines (%d)" % (n, logged))
        check(logged + counted == n, "every refusal logged or counted: "
              "%d + %d" % (logged, counted))


def metrics(port, token=None):
    """GET /metrics, parsed: {sample name with labels: value}."""
    status, headers, body = get(port, "/metrics", headers=(
        "Authorization: Bearer %s\r\n" % token) if token else "")
    check(status == 200, "/metrics: 200 (got %d)" % status)
    check("Content-Type: text/plain; version=0.0.4; charset=utf-8"
          in headers, "/metrics: the Prometheus content type: %r" % headers)
    out, types = {}, {}
    for fam in text_string_to_metric_families(body.decode()):
        types[fam.name] = fam.type
        for smp in fam.samples:
            key = smp.name + "".join(
                "{%s=%s}" % kv for kv in sorted(smp.labels.items()))
            out[key] = smp.value
    return out, types


async def test_metrics():
    tokf = os.path.join(chatlib.TMP, "stats.token")
    with open(tokf, "w") as f:
        f.write("t0ken-for-stats\n")
    db = os.path.join(chatlib.TMP, "m.db")
    with chatlib.Server("--store", db, "--stats-token-file", tokf,
                        name="metrics") as s:
        status, _, body = get(s.port, "/metrics")
        check(status == 401 and b"/metrics needs the --stats-token" in body,
              "/metrics without the token: 401 (got %d %r)" % (status, body))
        status, _, _ = get(s.port, "/metrics?token=wrong")
        check(status == 401, "/metrics with a wrong token: 401")
        m, types = metrics(s.port, "t0ken-for-stats")
        check(m.get("chat_ready") == 1, "chat_ready 1")
        check(m.get("chat_store_up") == 1, "chat_store_up 1")
        check(types.get("chat_messages") == "counter",
              "chat_messages_total is a counter: %r" % types.get(
                  "chat_messages"))
        check(types.get("chat_store_commit_seconds") == "histogram",
              "the store's commit latency is a histogram")

        a = await connect(s, "m-a")
        r1 = await chat_ack(a, "m-b", "one", 1)
        b = await connect(s, "m-b")
        await recv_json(b)              # "one", queued for m-b
        r2 = await chat_ack(a, "m-b", "two", 2)
        check(r1.get("status") == "queued" and r2.get("status") ==
              "delivered", "queued, then delivered: %r %r" % (r1, r2))
        get(s.port, "/nowhere")
        m, _ = metrics(s.port, "t0ken-for-stats")
        check(m.get('chat_messages_total{outcome=delivered}') == 1,
              "one delivered: %r" % m.get(
                  'chat_messages_total{outcome=delivered}'))
        check(m.get('chat_messages_total{outcome=queued}') == 1,
              "one queued")
        check(m.get('chat_messages_total{outcome=queue_full}') == 0,
              "none refused")
        check(m.get("chat_users_online") == 2, "two users online: %r"
              % m.get("chat_users_online"))
        check(m.get("chat_connections", 0) >= 2, "connections counted")
        check(m.get('chat_http_refusals_total{status=404}') == 1,
              "one 404 counted")
        check(m.get('chat_http_refusals_total{status=401}') == 2,
              "two 401s counted")
        check(m.get("chat_received_bytes_total", 0) > 0 and
              m.get("chat_sent_bytes_total", 0) > 0, "bytes counted")
        check(m.get("chat_store_messages") == 2, "two messages stored")
        check(m.get("chat_store_commit_seconds_count", 0) >= 2,
              "commits timed: %r" % m.get("chat_store_commit_seconds_count"))
        check(m.get('chat_store_commit_seconds_bucket{le=+Inf}') ==
              m.get("chat_store_commit_seconds_count"),
              "+Inf bucket == count")
        # /stats is guarded the same way.
        status, _, _ = get(s.port, "/stats")
        check(status == 401, "/stats without the token: 401")
        status, _, body = get(s.port, "/stats",
                              headers="Authorization: Bearer "
                              "t0ken-for-stats\r\n")
        check(status == 200 and json.loads(body).get("messages_routed") == 1,
              "/stats with the token: %d %r" % (status, body[:80]))
        await a.close()
        await b.close()


def test_head():
    with chatlib.Server(name="head") as s:
        for path in ("/healthz", "/readyz", "/stats", "/metrics", "/"):
            status, headers, body = get(s.port, path, method="HEAD")
            _, gh, gbody = get(s.port, path)
            length = [h for h in headers if h.lower().startswith(
                "content-length:")]
            check(status == 200 and body == b"" and length,
                  "HEAD %s: 200, headers, no body (%d %r)" % (path, status,
                                                              body[:40]))
            if path in ("/healthz", "/"):
                check(length and int(length[0].split(":")[1]) == len(gbody),
                      "HEAD %s: the GET's Content-Length" % path)
        status, headers, _ = get(s.port, "/demo/ws/x", method="HEAD")
        check(status == 405, "HEAD on the chat endpoint: 405 (%d)" % status)
        status, headers, _ = get(s.port, "/healthz", method="POST")
        check(status == 405 and "Allow: GET, HEAD" in headers,
              "POST: 405 with Allow: GET, HEAD (%d %r)" % (status, headers))


FSIZE = 64 * 1024


def fsize_limit():
    resource.setrlimit(resource.RLIMIT_FSIZE, (FSIZE, FSIZE))


async def test_readyz_store():
    """While writes fail (a file size limit), /readyz says 503 and
    chat_store_up 0; /healthz stays 200."""
    db = os.path.join(chatlib.TMP, "full.db")
    with chatlib.Server("--store", db, "--queue-limit", "5000",
                        "--history-limit", "5000", name="readyz",
                        preexec=fsize_limit) as s:
        expect(s.port, "/readyz", 200, b"ready\n", "/readyz")
        a = await connect(s, "r-a")
        refused = None
        for i in range(400):
            r = await chat_ack(a, "r-b", "x" * 1024, i)
            if r.get("error") == "store_unavailable":
                refused = i
                break
        check(refused is not None, "the store fills up")
        expect(s.port, "/readyz", 503, b"store unavailable",
               "/readyz while writes fail")
        expect(s.port, "/healthz", 200, b"ok", "/healthz meanwhile")
        m, _ = metrics(s.port)
        check(m.get("chat_ready") == 0, "chat_ready 0")
        check(m.get('chat_messages_total{outcome=store_unavailable}') == 1,
              "the refused message is counted")
        await a.close()


def test_readyz_cluster():
    """A node whose NATS is unreachable is alive, not ready."""
    with chatlib.Server("--cluster", "nats://127.0.0.1:1",
                        name="readyc") as s:
        expect(s.port, "/readyz", 503, b"cluster unavailable",
               "/readyz without NATS")
        expect(s.port, "/healthz", 200, b"ok", "/healthz without NATS")
        m, types = metrics(s.port)
        check(m.get("chat_cluster_up") == 0, "chat_cluster_up 0")
        check(types.get("chat_cluster_store_seconds") == "histogram",
              "the JetStream latency histogram is there")


class Notify:
    """A NOTIFY_SOCKET: a datagram socket the server reports to."""

    def __init__(self):
        self.path = os.path.join(chatlib.TMP, "notify.sock")
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.seen = []

    def wait(self, key, timeout=10):
        """The next datagram holding the line key (others are kept)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                msg = self.sock.recv(4096).decode()
            except socket.timeout:
                break
            self.seen.append(msg)
            if key in msg.split("\n"):
                return msg
        return None

    def close(self):
        self.sock.close()
        os.unlink(self.path)


def test_notify():
    n = Notify()
    env = dict(os.environ, NOTIFY_SOCKET=n.path, WATCHDOG_USEC="400000")
    s = chatlib.Server(env=env, name="notify")
    try:
        msg = n.wait("READY=1")
        check(msg is not None and "STATUS=accepting connections" in msg,
              "READY=1 with a status once listening: %r" % n.seen)
        check(n.wait("WATCHDOG=1", 2) is not None,
              "WATCHDOG=1 with WATCHDOG_USEC set: %r" % n.seen[-3:])
        s.proc.send_signal(signal.SIGHUP)
        msg = n.wait("RELOADING=1")
        check(msg is not None and re.search(r"MONOTONIC_USEC=\d+", msg),
              "RELOADING=1 with MONOTONIC_USEC on SIGHUP: %r" % msg)
        check(n.wait("READY=1") is not None, "READY=1 after the reload")
        s.proc.send_signal(signal.SIGUSR1)
        check(s.wait_log(r"SIGUSR1: up \d+ s, \d+ connection"),
              "SIGUSR1 logs a status line")
        check(s.proc.poll() is None, "SIGUSR1 does not stop the server")
        s.proc.send_signal(signal.SIGTERM)
        check(n.wait("STOPPING=1") is not None, "STOPPING=1 on SIGTERM")
        rc = s.stop()
        check(rc == 0, "exit 0 (got %r)" % rc)
    finally:
        s.kill()
        n.close()


def test_socket_activation():
    """The listening socket comes as descriptor 3 with LISTEN_FDS=1 and
    LISTEN_PID the server's pid (sh's $$ before exec)."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(16)
    port = lsock.getsockname()[1]
    logpath = os.path.join(chatlib.TMP, "activated.log")
    with open(logpath, "wb") as log:
        proc = subprocess.Popen(
            ["sh", "-c", 'exec 3<&0 0</dev/null; LISTEN_PID=$$ '
             'LISTEN_FDS=1 exec "$@"', "sh", chatlib.SERVER, "-v",
             "--port", "1"], stdin=lsock.fileno(), stdout=log, stderr=log)
    lsock.close()
    try:
        text = ""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "listening on" not in text:
            time.sleep(0.02)
            with open(logpath) as f:
                text = f.read()
        check(re.search(r"listening on ws://127\.0\.0\.1:%d .*socket from "
                        r"the service manager" % port, text) is not None,
              "listens on the passed socket, not --port 1: %r" % text)
        expect(port, "/healthz", 200, b"ok", "/healthz on the passed socket")
    finally:
        rc = chatlib.terminate(proc)
    check(rc == 0, "exit 0 (got %r)" % rc)


test_notify()
test_socket_activation()
test_json_log()
test_text_log()
test_refusal_flood()
chatlib.run(test_metrics())
test_head()
chatlib.run(test_readyz_store())
test_readyz_cluster()
chatlib.done()
