# Copyright (c) 2026 The chat authors.
#
# test_service: chat-server as a service sees it.  --log-format json
# (every line a JSON object with an ISO 8601 time and zone), refusals
# logged with their path and never the query, and a flood of refusals
# rate-limited with a count of what was suppressed.

import json
import re

import chatlib
from chatlib import check

ISO = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$"


def get(port, path, method="GET", headers=""):
    """One plain HTTP request; (status, headers, body)."""
    resp = chatlib.raw_http(port, ("%s %s HTTP/1.1\r\nHost: x\r\n%s\r\n"
                                   % (method, path, headers)).encode())
    head, _, body = resp.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0] else 0
    return status, lines[1:], body


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


test_json_log()
test_text_log()
test_refusal_flood()
chatlib.done()
