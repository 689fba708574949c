# Copyright (c) 2026 The chat authors.
#
# chat-client, wsc and ws-echo-client over wss:// against TLS servers
# written here with Python's ssl module and python3-websockets, using a
# CA and certificates made with the openssl command at test time.
# Checks: a chat round trip with verification by --ca-file; SNI sent
# for a name and not for an address (RFC 6066); expired, wrong-host,
# unknown-CA and (with the system store) self-made certificates refused
# in words, with exit 1 and no retry in line mode; --insecure connects
# with a warning; a plain server or one that hangs up mid-handshake is
# named as such; bad --ca-file exits 2; the test tools speak wss://.

import asyncio
import json
import os
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.join(os.environ["TOP"], "tests/integ"))
from chatlib import (BUILD, CLIENT, check, done, make_certs, need_openssl,
                     run)

WSC = os.path.join(BUILD, "tests", "wsc")
ECHO = os.path.join(BUILD, "ws-echo-client")

need_openssl()
import websockets  # noqa: E402

CERTS = make_certs()


class TlsPeer:
    """A python3-websockets server over TLS with cert (cert, key) that
    speaks just enough of the chat protocol: it answers /who with a chat
    message then the user list, acks chat messages, and with echo=True
    echoes everything instead.  Records SNI names and request paths."""

    def __init__(self, pair, echo=False, plain=False):
        self.pair = pair
        self.echo = echo
        self.plain = plain
        self.sni = []
        self.paths = []

    async def __aenter__(self):
        ctx = None
        if not self.plain:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*self.pair)

            def on_sni(sslobj, name, c):
                self.sni.append(name)
            ctx.sni_callback = on_sni
        self.server = await websockets.serve(self.handler, "127.0.0.1", 0,
                                             ssl=ctx, ping_interval=None)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc):
        self.server.close()
        await self.server.wait_closed()

    async def handler(self, ws, path):
        self.paths.append(path)
        try:
            if self.echo:
                await ws.send("from the server")
                await ws.recv()
                await ws.close(1000)
                return
            async for m in ws:
                o = json.loads(m)
                if o.get("type") == "who":
                    await ws.send(json.dumps({"message": "over tls",
                                              "from_user": "srv"}))
                    await ws.send(json.dumps({"type": "who",
                                              "users": ["alice"]}))
                elif "message" in o:
                    await ws.send(json.dumps({"type": "ack",
                                              "id": o.get("id"),
                                              "status": "delivered"}))
        except websockets.ConnectionClosed:
            pass


async def proc(cmd, stdin=b"", timeout=20):
    """Run cmd to completion: (rc, stdout, stderr, seconds)."""
    t0 = time.monotonic()
    p = await asyncio.create_subprocess_exec(
        *cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(p.communicate(stdin), timeout)
    except asyncio.TimeoutError:
        p.kill()
        await p.wait()
        return (None, "", "timed out", time.monotonic() - t0)
    return (p.returncode, out.decode("utf-8", "replace"),
            err.decode("utf-8", "replace"), time.monotonic() - t0)


def chat_client(url, *args, stdin=b"/who\n"):
    return proc([CLIENT, "-b", "-u", "alice", "-s", url] + list(args),
                stdin=stdin)


async def test_verified():
    async with TlsPeer(CERTS["good"]) as peer:
        url = "wss://localhost:%d" % peer.port
        rc, out, err, _ = await chat_client(url, "--ca-file", CERTS["ca"],
                                            "-t", "bob", stdin=b"hi\n/who\n")
        check(rc == 0 and "srv: over tls" in out and "online: alice" in out,
              "wss://localhost with --ca-file: chat over TLS (%r %r %r)"
              % (rc, out, err))
        check(err == "", "nothing on stderr (%r)" % err)
        check(peer.sni == ["localhost"], "SNI 'localhost' sent (%r)"
              % peer.sni)
        check(peer.paths == ["/demo/ws/alice?epoch="], "request path, "
              "asking for the epoch (%r)"
              % peer.paths)

        url = "wss://127.0.0.1:%d/" % peer.port
        rc, out, err, _ = await chat_client(url, "-C", CERTS["ca"])
        check(rc == 0 and "srv: over tls" in out,
              "wss://127.0.0.1 checked against the IP SAN (%r %r)"
              % (rc, err))
        check(peer.sni == ["localhost", None],
              "no SNI for an IP address (%r)" % peer.sni)


async def refused(pair, url_host, words, what, *args):
    async with TlsPeer(pair) as peer:
        url = "wss://%s:%d" % (url_host, peer.port)
        rc, out, err, secs = await chat_client(url, *args)
        want = "chat-client: cannot connect to '%s': %s\n" % (url, words)
        check(rc == 1 and err == want,
              "%s: exit 1, %r (%r %r)" % (what, want, rc, err))
        check(secs < 5, "%s: no retry without --retry (%.1f s)"
              % (what, secs))
        check(peer.paths == [], "%s: no request sent (%r)"
              % (what, peer.paths))


async def test_refused():
    ca = ("-C", CERTS["ca"])
    await refused(CERTS["expired"], "localhost", "certificate has expired",
                  "expired", *ca)
    await refused(CERTS["wrong_host"], "127.0.0.1",
                  "certificate is for another host",
                  "wrong host (IP)", *ca)
    await refused(CERTS["unknown_ca"], "localhost",
                  "certificate issuer is unknown", "unknown CA", *ca)
    await refused(CERTS["good"], "localhost",
                  "certificate issuer is unknown",
                  "a private CA is not in the system store")
    await refused(CERTS["good"], "localhost",
                  "certificate issuer is unknown", "the other CA only",
                  "-C", CERTS["other_ca"])

    # wrong-host by name as well: example.com is all the cert names.
    async with TlsPeer(CERTS["wrong_host"]) as peer:
        url = "wss://localhost:%d" % peer.port
        rc, out, err, _ = await chat_client(url, "-C", CERTS["ca"])
        check(rc == 1 and "certificate is for another host" in err,
              "wrong host (name) (%r)" % err)


async def test_insecure():
    async with TlsPeer(CERTS["wrong_host"]) as peer:
        url = "wss://localhost:%d" % peer.port
        rc, out, err, _ = await chat_client(url, "--insecure")
        check(rc == 0 and "srv: over tls" in out,
              "--insecure connects despite the wrong host (%r %r)"
              % (rc, err))
        check("warning: --insecure" in err,
              "--insecure warns on stderr (%r)" % err)
        rc, out, err, _ = await chat_client(url, "-k", "-C", CERTS["ca"])
        check(rc == 0, "-k wins over --ca-file (%r)" % err)
    async with TlsPeer(CERTS["expired"]) as peer:
        url = "wss://localhost:%d" % peer.port
        rc, out, err, _ = await chat_client(url, "-k")
        check(rc == 0, "-k accepts an expired certificate (%r)" % err)


async def test_not_tls():
    # wss:// to a plain ws:// server: it answers 400 in clear text.
    async with TlsPeer(None, plain=True) as peer:
        url = "wss://127.0.0.1:%d" % peer.port
        rc, out, err, secs = await chat_client(url, "-C", CERTS["ca"])
        check(rc == 1 and "not TLS" in err and secs < 5,
              "wss:// to a plain server is named (%r %r)" % (rc, err))

    # A server that hangs up as soon as the ClientHello arrives.
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(4)
    ls.setblocking(False)
    port = ls.getsockname()[1]

    async def hang_up():
        loop = asyncio.get_running_loop()
        s, _ = await loop.sock_accept(ls)
        await loop.sock_recv(s, 4096)
        s.close()
    task = asyncio.ensure_future(hang_up())
    url = "wss://127.0.0.1:%d" % port
    rc, out, err, _ = await chat_client(url, "-C", CERTS["ca"])
    want = "cannot connect to '%s': server closed the connection " \
        "during the TLS handshake" % url
    check(rc == 1 and want in err, "hang-up mid-handshake (%r)" % err)
    await task
    ls.close()


async def test_options():
    url = "wss://127.0.0.1:1"
    rc, out, err, _ = await chat_client(url, "-C", "/nonexistent/ca.pem")
    check(rc == 2 and err == "chat-client: cannot read CA file "
          "'/nonexistent/ca.pem': No such file or directory\n",
          "missing --ca-file: exit 2 (%r %r)" % (rc, err))
    bad = os.path.join(CERTS["dir"], "not-a-ca.pem")
    with open(bad, "w") as f:
        f.write("not PEM\n")
    rc, out, err, _ = await chat_client(url, "-C", bad)
    check(rc == 2 and err.startswith("chat-client: cannot load CA file '%s'"
                                     % bad),
          "garbage --ca-file: exit 2 (%r %r)" % (rc, err))
    rc, out, err, _ = await proc([CLIENT, "--help"])
    check("--ca-file" in out and "--insecure" in out,
          "--help lists --ca-file and --insecure")


async def test_tools():
    async with TlsPeer(CERTS["good"], echo=True) as peer:
        url = "wss://localhost:%d/x" % peer.port
        rc, out, err, _ = await proc([WSC, "-C", CERTS["ca"], url],
                                     stdin=b"hello\n")
        check(rc == 0 and out == "from the server\n",
              "wsc -C over wss:// (%r %r %r)" % (rc, out, err))
        rc, out, err, _ = await proc([WSC, url], stdin=b"hello\n")
        check(rc == 1 and "certificate issuer is unknown" in err,
              "wsc without -C refuses the private CA (%r)" % err)
        rc, out, err, _ = await proc([ECHO, "-C", CERTS["ca"], url])
        check(rc == 0 and err == "closed 1000\n",
              "ws-echo-client -C over wss:// (%r %r)" % (rc, err))
        rc, out, err, _ = await proc([ECHO, "-k", url])
        check(rc == 0, "ws-echo-client -k (%r)" % err)


async def main():
    await test_verified()
    await test_refused()
    await test_insecure()
    await test_not_tls()
    await test_options()
    await test_tools()

run(main())
done()
