# Copyright (c) 2026 The chat authors.
#
# test_service: chat-server as a service sees it.  --log-format json
# (every line a JSON object with an ISO 8601 time and zone), refusals
# logged with their path and never the query, and a flood of refusals
# rate-limited with a count of what was suppressed.  /metrics parsed
# with python3-prometheus-client after a chat exchange, guarded by the
# stats token; HEAD on the operator endpoints; /readyz failing while the
# store fails or the cluster is unreachable.

import json
import os
import re
import resource

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


test_json_log()
test_text_log()
test_refusal_flood()
chatlib.run(test_metrics())
test_head()
chatlib.run(test_readyz_store())
test_readyz_cluster()
chatlib.done()
