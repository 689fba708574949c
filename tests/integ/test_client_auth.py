# Copyright (c) 2026 The chat authors.
#
# chat-client with a token against a real server started with
# --jwt-secret-file: line-mode chat with --token-file and with
# CHAT_TOKEN; refusals in words and exit 1 (missing, expired, another
# user); an unusable token file or CHAT_TOKEN is exit 2; the token
# never shows on stdout, stderr or in the -v log; a token expiring
# during a connection (close 1008) is replaced from the token file and
# the next message is delivered, while a stale file or a CHAT_TOKEN
# ends line mode with the reason.

import asyncio
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("TOP", "."), "tests/integ"))
import chatlib  # noqa: E402
from chatlib import CLIENT, Server, check, connect, done, recv_json, run  # noqa: E402,E501

SECRET = os.path.join(chatlib.TMP, "secret")
KEY = b"0123456789abcdef0123456789abcdef-client"
with open(SECRET, "wb") as f:
    f.write(KEY + b"\n")

# Every token used, to make sure none leaks into output or logs.
TOKENS = []


def b64(x):
    return base64.urlsafe_b64encode(x).rstrip(b"=").decode()


def make(payload):
    """An HS256 token made here, independently of the server's code."""
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(payload).encode())
    sig = b64(hmac.new(KEY, (head + "." + body).encode(),
                       hashlib.sha256).digest())
    tok = head + "." + body + "." + sig
    TOKENS.append(tok)
    return tok


def minted(user, ttl="1h"):
    tok = subprocess.check_output(
        [chatlib.SERVER, "token", "--jwt-secret-file", SECRET, "-u", user,
         "-t", ttl], timeout=10).decode().strip()
    TOKENS.append(tok)
    return tok


def token_file(name, tok, newline=True):
    path = os.path.join(chatlib.TMP, name)
    with open(path, "w") as f:
        f.write(tok + ("\n" if newline else ""))
    return path


def client(*args, stdin=b"", env=None, timeout=20):
    """Run chat-client to completion; returns (rc, stdout, stderr, secs)."""
    e = dict(os.environ)
    e.pop("CHAT_TOKEN", None)
    e.update(env or {})
    t0 = time.monotonic()
    p = subprocess.run([CLIENT] + list(args), input=stdin, env=e,
                       capture_output=True, timeout=timeout)
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    OUTPUTS.append(out + err)
    return p.returncode, out, err, time.monotonic() - t0


OUTPUTS = []


def leaked(text):
    """The tokens (or their signatures) that appear in text."""
    return [t for t in TOKENS if t in text or t.split(".")[2] in text]


def test_options():
    rc, _, err, _ = client("-u", "8888", "-T", "/nonexistent/tok")
    check(rc == 2 and "cannot read token file '/nonexistent/tok': No such "
          "file or directory" in err,
          "missing token file: exit 2 naming it (%r %r)" % (rc, err))
    empty = token_file("empty", "", newline=False)
    rc, _, err, _ = client("-u", "8888", "--token-file", empty)
    check(rc == 2 and "invalid token in '%s': empty" % empty in err,
          "empty token file: exit 2 (%r %r)" % (rc, err))
    big = token_file("big", "a" * 5000)
    rc, _, err, _ = client("-u", "8888", "-T", big)
    check(rc == 2 and "longer than 4096 bytes" in err,
          "token file over 4096 bytes: exit 2 (%r %r)" % (rc, err))
    rc, _, err, _ = client("-u", "8888", "-T", chatlib.TMP)
    check(rc == 2 and "cannot read token file" in err,
          "a directory as token file: exit 2 (%r %r)" % (rc, err))
    rc, _, err, _ = client("-u", "8888", env={"CHAT_TOKEN": "a b\r\nX: y"})
    check(rc == 2 and "invalid token in CHAT_TOKEN" in err,
          "CHAT_TOKEN with spaces or controls: exit 2 (%r %r)" % (rc, err))
    rc, out, _, _ = client("--help")
    check(rc == 0 and "--token-file" in out, "--help lists --token-file")


async def chat(srv, me, args, env=None, text="hello"):
    """Send text from chat-client as me to a peer; returns (rc, err, got)."""
    peer = await connect(srv, "p" + me, extra_headers={
        "Authorization": "Bearer " + minted("p" + me)})
    rc, _, err, _ = await asyncio.to_thread(
        client, "-u", me, "-t", "p" + me, "-s", srv.url, *args,
        stdin=(text + "\n").encode(), env=env)
    try:
        got = (await recv_json(peer, 5)).get("message")
    except asyncio.TimeoutError:
        got = None
    await peer.close()
    return rc, err, got


async def test_chat(srv):
    f = token_file("tok8888", minted("8888"))
    rc, err, got = await chat(srv, "8888", ["--token-file", f])
    check(rc == 0 and got == "hello",
          "--token-file: chat works (%r %r %r)" % (rc, err, got))
    # A file without a final newline, and a CRLF one, are read the same.
    f = token_file("tok8889", minted("8889"), newline=False)
    rc, err, got = await chat(srv, "8889", ["-T", f])
    check(rc == 0 and got == "hello",
          "token file without newline: chat works (%r %r)" % (rc, err))
    rc, err, got = await chat(srv, "8890", [],
                              env={"CHAT_TOKEN": minted("8890")})
    check(rc == 0 and got == "hello",
          "CHAT_TOKEN: chat works (%r %r %r)" % (rc, err, got))
    # --token-file wins over CHAT_TOKEN.
    f = token_file("tok8891", minted("8891"))
    rc, err, got = await chat(srv, "8891", ["-T", f],
                              env={"CHAT_TOKEN": minted("other")})
    check(rc == 0 and got == "hello",
          "--token-file is used before CHAT_TOKEN (%r %r)" % (rc, err))
    # -v logs the connection, never the token.
    log = os.path.join(chatlib.TMP, "client-v.log")
    rc, err, got = await chat(srv, "8892", ["-vvv", "-l", log],
                              env={"CHAT_TOKEN": minted("8892")})
    with open(log) as fp:
        text = fp.read()
    check(rc == 0 and "connected to" in text,
          "-v -l: the log is written (%r %r)" % (rc, err))
    OUTPUTS.append(text)
    rc, err, got = await chat(srv, "8893", ["-vvv"],
                              env={"CHAT_TOKEN": minted("8893")})
    check(rc == 0 and "connected to" in err,
          "-vvv: line mode logs to stderr (%r)" % rc)


async def test_refusals(srv):
    now = int(time.time())
    cases = [
        ("missing", [], None, "401 missing token"),
        ("expired", ["-T", token_file("expired", make(
            {"sub": "8888", "exp": now - 600}))], None,
         "server refused the connection: 401 token has expired"),
        ("another user", [], {"CHAT_TOKEN": minted("6666")},
         "server refused the connection: 403 token is for another user"),
        ("bad signature", [], {"CHAT_TOKEN": minted("8888")[:-4] + "AAAA"},
         "401 token signature is wrong"),
        ("not yet valid", [], {"CHAT_TOKEN": make(
            {"sub": "8888", "exp": now + 600, "nbf": now + 300})},
         "401 token is not valid yet"),
    ]
    for name, args, env, want in cases:
        rc, out, err, secs = await asyncio.to_thread(
            client, "-u", "8888", "-t", "6666", "-s", srv.url, *args,
            stdin=b"never sent\n", env=env)
        check(rc == 1 and want in err and
              ("cannot connect to '%s'" % srv.url) in err,
              "%s token: exit 1 saying %r (%r %r)" % (name, want, rc, err))
        check(secs < 5, "%s token: no retry (%.1f s)" % (name, secs))
    rc, _, err, _ = await asyncio.to_thread(
        client, "-u", "8888", "-s", srv.url, stdin=b"")
    check("give one with --token-file or CHAT_TOKEN" in err,
          "missing token: the hint names the option (%r)" % err)
    # --retry keeps trying, and picks up a token that appears later.
    f = os.path.join(chatlib.TMP, "later")
    token_file("later", make({"sub": "8894", "exp": now - 600}))
    peer = await connect(srv, "p8894", extra_headers={
        "Authorization": "Bearer " + minted("p8894")})
    p = await asyncio.create_subprocess_exec(
        CLIENT, "-u", "8894", "-t", "p8894", "-s", srv.url, "-T", f, "-r",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    line = await asyncio.wait_for(p.stderr.readline(), 10)
    check(b"401 token has expired; retrying" in line,
          "--retry: the refusal is shown once (%r)" % line)
    token_file("later", minted("8894"))
    p.stdin.write(b"at last\n")
    p.stdin.close()
    try:
        got = (await recv_json(peer, 10)).get("message")
    except asyncio.TimeoutError:
        got = None
    check(got == "at last", "--retry: a fresh token in the file is used "
          "at the next attempt (%r)" % got)
    out, err = await asyncio.wait_for(p.communicate(), 10)
    OUTPUTS.append((line + out + err).decode("utf-8", "replace"))
    check(p.returncode == 0, "--retry: exit 0 once delivered (%r %r)" %
          (p.returncode, err))
    await peer.close()


async def expiring(srv, me, args, env=None, fresh=None, peer=None):
    """
    Run chat-client as me with a token that expires in about 5 s; once
    it says so, write fresh (if any) into the file and send a line.
    Returns (rc, stderr, message the peer got).
    """
    p = await asyncio.create_subprocess_exec(
        CLIENT, "-u", me, "-t", "p" + me, "-s", srv.url, *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=env)
    lines = []
    got = None
    try:
        if fresh is not None:
            # The operator drops in a new token before the old one ends.
            ok = await asyncio.to_thread(srv.wait_log,
                                         r"user %s connected" % me, 5)
            check(ok,
                  "%s: connected with the expiring token" % me)
            fresh()
        while True:
            line = await asyncio.wait_for(p.stderr.readline(), 20)
            if not line:
                break
            lines.append(line)
            if b"reconnected" in line:
                p.stdin.write(b"after expiry\n")
                p.stdin.close()
                got = (await recv_json(peer, 10)).get("message")
                break
    except asyncio.TimeoutError:
        pass
    if p.returncode is None and not p.stdin.is_closing():
        p.stdin.close()
    try:
        out, err = await asyncio.wait_for(p.communicate(), 20)
    except asyncio.TimeoutError:
        p.kill()
        out, err = await p.communicate()
    text = (b"".join(lines) + err).decode("utf-8", "replace")
    OUTPUTS.append(out.decode("utf-8", "replace") + text)
    return p.returncode, text, got


async def test_expiry(srv):
    now = int(time.time())
    # Accepted within the server's 30 s of skew, ends about 5 s later.
    f = token_file("soon", make({"sub": "7001", "exp": now - 25}))
    peer = await connect(srv, "p7001", extra_headers={
        "Authorization": "Bearer " + minted("p7001")})
    t0 = time.monotonic()
    a = expiring(srv, "7001", ["-T", f], peer=peer,
                 fresh=lambda: token_file("soon", minted("7001")))
    f2 = token_file("stale", make({"sub": "7002", "exp": now - 25}))
    b = expiring(srv, "7002", ["-T", f2])
    env = dict(os.environ)
    env["CHAT_TOKEN"] = make({"sub": "7003", "exp": now - 25})
    c = expiring(srv, "7003", [], env=env)
    (rc, err, got), (rc2, err2, _), (rc3, err3, _) = \
        await asyncio.gather(a, b, c)
    secs = time.monotonic() - t0
    check("token expired; reconnecting" in err,
          "expiry: line mode says the token expired (%r)" % err)
    check(got == "after expiry" and rc == 0,
          "expiry: reconnected with the fresh token from the file, a new "
          "message is delivered (%r %r %r)" % (rc, got, err))
    check("token expired; reconnecting" in err2 and rc2 == 1 and
          "401 token has expired" in err2,
          "expiry, stale token file: exit 1 with the refusal (%r %r)" %
          (rc2, err2))
    check(rc3 == 1 and "token expired: start again with a fresh CHAT_TOKEN"
          in err3, "expiry with CHAT_TOKEN: exit 1 at once (%r %r)" %
          (rc3, err3))
    check(secs < 25, "expiry tests are bounded (%.1f s)" % secs)
    await peer.close()


async def main():
    test_options()
    with Server("--jwt-secret-file", SECRET) as srv:
        await test_chat(srv)
        await test_refusals(srv)
        await test_expiry(srv)
        log = srv.log()
    bad = set()
    for text in OUTPUTS + [log]:
        bad.update(leaked(text))
    check(not bad, "no token appears on stdout, stderr, in the client's "
          "-v log or the server's log (%d leaked)" % len(bad))
    check(len(TOKENS) > 10 and len(OUTPUTS) > 10, "tokens were used")


run(main())
done()
