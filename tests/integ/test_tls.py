# Copyright (c) 2026 The chat authors.
#
# wss:// end to end: chat-server --cert/--key against chat-client and
# python3-websockets, with a CA and certificates made by the openssl
# command at test time.  Checks: two line-mode clients chat over wss://
# with the fresh CA; python3-websockets interoperates with verification
# on; expired, wrong-host and unknown-CA server certificates are refused
# by the client in words (and accepted with --insecure); --tls-port
# serves ws:// and wss:// at once; a silent or half-done TLS handshake
# and garbage on the TLS port stall nobody; SIGHUP reloads the
# certificate for new connections (and a bad reload keeps the old one);
# the client reconnects over TLS after a server restart; bad certificate
# files stop the server with exit 2 naming the file; chat-client is
# clean under valgrind with TLS on.

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["TOP"], "tests/integ"))
from chatlib import (CLIENT, SERVER, TMP, TlsServer, check, client_ssl,
                     connect, done, make_certs, need_openssl, recv_json,
                     run)

need_openssl()
CERTS = make_certs()
CA = CERTS["ca"]


async def client(url, user, *args, stdin=b"", timeout=20, wrap=None):
    """Run chat-client -b to completion: (rc, stdout, stderr, secs)."""
    t0 = time.monotonic()
    cmd = (wrap or []) + [CLIENT, "-b", "-u", user, "-s", url] + list(args)
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


class Listener:
    """A chat-client -b that stays connected until stop()."""

    async def start(self, srv, url, user, *args):
        self.user = user
        self.p = await asyncio.create_subprocess_exec(
            CLIENT, "-b", "-u", user, "-s", url, *args,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        return srv.wait_log(r"user %s connected" % user, 10)

    async def line(self, timeout=5):
        try:
            b = await asyncio.wait_for(self.p.stdout.readline(), timeout)
        except asyncio.TimeoutError:
            return ""
        return b.decode("utf-8", "replace")

    async def stop(self):
        self.p.stdin.close()
        try:
            rc = await asyncio.wait_for(self.p.wait(), 10)
        except asyncio.TimeoutError:
            self.p.kill()
            rc = await self.p.wait()
        err = (await self.p.stderr.read()).decode("utf-8", "replace")
        return rc, err


async def test_chat():
    with TlsServer(*CERTS["good"], name="chat") as srv:
        check(srv.url.startswith("wss://"), "--cert/--key: a wss:// "
              "listener (%s)" % srv.url)
        bob = Listener()
        url = "wss://localhost:%d" % srv.tls_port
        check(await bob.start(srv, url, "bob", "--ca-file", CA),
              "bob connects over wss:// with the fresh CA")
        rc, out, err, _ = await client(url, "alice", "-C", CA, "-t", "bob",
                                       stdin=b"hello over wss\n")
        check(rc == 0 and err == "", "alice sends over wss:// (%r %r)"
              % (rc, err))
        line = await bob.line()
        check(re.fullmatch(r"\d\d:\d\d:\d\d alice: hello over wss\n", line),
              "bob receives alice's message (%r)" % line)

        # python3-websockets with verification, both ways.
        py = await connect(srv.url, "carol", ssl=client_ssl(CA))
        await py.send(json.dumps({"message": "from python",
                                  "target_user": "bob", "id": 1}))
        ack = await recv_json(py)
        check(ack.get("status") == "delivered",
              "python3-websockets over TLS: delivered (%r)" % ack)
        line = await bob.line()
        check(line.endswith(" carol: from python\n"),
              "bob receives python's message (%r)" % line)
        rc, out, err, _ = await client(url, "alice", "-C", CA, "-t", "carol",
                                       stdin=b"to python\n")
        m = await recv_json(py)
        check(m.get("message") == "to python" and
              m.get("from_user") == "alice",
              "python receives chat-client's message (%r)" % m)
        await py.close()
        try:
            await connect(srv.url, "dave", ssl=ssl.create_default_context())
            ok = False
        except ssl.SSLCertVerificationError:
            ok = True
        check(ok, "python3-websockets without the CA refuses the server")

        rc, err = await bob.stop()
        check(rc == 0 and err == "", "bob exits 0 (%r %r)" % (rc, err))


async def refused(pair, words, what):
    with TlsServer(*pair, name=what.replace(" ", "-")) as srv:
        rc, out, err, secs = await client(srv.url, "alice", "-C", CA,
                                          "-t", "bob", stdin=b"x\n")
        want = "chat-client: cannot connect to '%s': %s\n" % (srv.url, words)
        check(rc == 1 and err == want and secs < 5,
              "%s: refused with %r (%r %r %.1f)" % (what, words, rc, err,
                                                    secs))
        rc, out, err, _ = await client(srv.url, "alice", "-k")
        check(rc == 0 and "warning: --insecure" in err,
              "%s: --insecure connects, with a warning (%r %r)"
              % (what, rc, err))
        check(srv.wait_log(r"TLS handshake failed"),
              "%s: the server logs the failed handshake" % what)


async def test_refused():
    await refused(CERTS["expired"], "certificate has expired", "expired")
    await refused(CERTS["wrong_host"], "certificate is for another host",
                  "wrong host")
    await refused(CERTS["unknown_ca"], "certificate issuer is unknown",
                  "unknown CA")


async def test_both_ports():
    with TlsServer(*CERTS["good"], plain=True, name="both") as srv:
        check(srv.url.startswith("ws://") and srv.port != srv.tls_port,
              "--tls-port: ws:// and wss:// at once")
        bob = Listener()
        check(await bob.start(srv, srv.url, "bob"), "bob on ws://")
        rc, out, err, _ = await client(srv.wss_url, "alice", "-C", CA,
                                       "-t", "bob", stdin=b"across\n")
        check(rc == 0, "alice on wss:// sends (%r)" % err)
        line = await bob.line()
        check(line.endswith(" alice: across\n"),
              "ws:// and wss:// clients chat (%r)" % line)
        # wss:// to the ws:// port: the server sees a TLS record where
        # a request belongs and closes at once, not at the timeout.
        rc, out, err, secs = await client(srv.url.replace("ws:", "wss:"),
                                          "alice", "-C", CA)
        check(rc == 1 and secs < 5, "wss:// to the ws:// port fails fast "
              "(rc %r in %.1f s: %r)" % (rc, secs, err))
        check(srv.wait_log(r"TLS handshake on a plain ws:// port"),
              "the server logs a TLS client on its plain port")
        rc, out, err, _ = await client(srv.wss_url.replace("wss:", "ws:"),
                                       "alice")
        check(rc == 1 and "cannot connect" in err,
              "ws:// to the wss:// port fails (%r)" % err)
        await bob.stop()


async def test_stall_and_garbage():
    with TlsServer(*CERTS["good"], name="stall") as srv:
        port = srv.tls_port
        silent = socket.create_connection(("127.0.0.1", port))
        # Half a ClientHello: a TLS record header announcing more.
        half = socket.create_connection(("127.0.0.1", port))
        half.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        # A TLS client that completes TCP but never reads.
        raw = socket.create_connection(("127.0.0.1", port))
        ctx = client_ssl(CA)
        tls = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                              server_hostname="localhost")
        check(srv.wait_log(r"#4 accepted"), "four idle connections open")

        bob = Listener()
        t0 = time.monotonic()
        check(await bob.start(srv, srv.url, "bob", "-C", CA),
              "bob connects past silent TLS peers")
        rc, out, err, _ = await client(srv.url, "alice", "-C", CA,
                                       "-t", "bob", stdin=b"not stalled\n")
        line = await bob.line()
        check(line.endswith(" alice: not stalled\n"),
              "chat works while TLS peers stay silent (%r)" % line)
        check(time.monotonic() - t0 < 5, "and quickly (%.1f s)"
              % (time.monotonic() - t0))

        for data, log in ((b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                           "plain HTTP sent to the TLS port"),
                          (os.urandom(64) + b"\x00" * 4096,
                           "TLS handshake failed")):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(data)
            try:
                while s.recv(4096):
                    pass
                closed = True
            except (ConnectionResetError, BrokenPipeError):
                closed = True
            except socket.timeout:
                closed = False
            s.close()
            check(closed, "garbage on the TLS port: dropped (%r...)"
                  % data[:8])
            check(srv.wait_log(re.escape(log)), "logged: %s" % log)
        rc, out, err, _ = await client(srv.url, "alice", "-C", CA,
                                       "-t", "bob", stdin=b"still here\n")
        line = await bob.line()
        check(line.endswith(" alice: still here\n"),
              "chat still works after garbage (%r)" % line)
        await bob.stop()
        for s in (silent, half, raw, tls):
            s.close()


def peer_der(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port)) as s:
        with ctx.wrap_socket(s, server_hostname="localhost") as t:
            return t.getpeercert(binary_form=True)


def der(path):
    with open(path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


async def test_reload():
    d = os.path.join(TMP, "reload")
    os.makedirs(d, exist_ok=True)
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")

    def install(pair):
        shutil.copy(pair[0], cert)
        shutil.copy(pair[1], key)

    install(CERTS["good"])
    with TlsServer(cert, key, name="reload") as srv:
        check(peer_der(srv.tls_port) == der(CERTS["good"][0]),
              "serves the first certificate")
        py = await connect(srv.url, "erin", ssl=client_ssl(CA))

        install(CERTS["good2"])
        srv.proc.send_signal(signal.SIGHUP)
        check(srv.wait_log(r"reloaded certificate"), "SIGHUP: reloaded")
        check(peer_der(srv.tls_port) == der(CERTS["good2"][0]),
              "new connections get the new certificate")

        install(CERTS["unknown_ca"])
        srv.proc.send_signal(signal.SIGHUP)
        check(srv.wait_log(r"reloaded certificate(.|\n)*reloaded "
                           r"certificate"), "SIGHUP again: reloaded")
        rc, out, err, _ = await client(srv.url, "alice", "-C", CA)
        check(rc == 1 and "certificate issuer is unknown" in err,
              "the client checks the reloaded certificate (%r)" % err)

        install(CERTS["good"])
        with open(cert, "w") as f:
            f.write("garbage\n")
        srv.proc.send_signal(signal.SIGHUP)
        check(srv.wait_log(r"certificate reload failed.*cert\.pem"),
              "bad reload: logged with the file name")
        check(peer_der(srv.tls_port) == der(CERTS["unknown_ca"][0]),
              "bad reload: the old certificate stays")
        check(srv.proc.poll() is None, "bad reload: server still runs")

        await py.send(json.dumps({"message": "still open",
                                  "target_user": "erin", "id": 2}))
        m = await recv_json(py)
        check(m.get("message") == "still open" or
              m.get("type") == "ack",
              "a connection from before the reloads still works (%r)" % m)
        await py.close()


async def test_reconnect():
    with TlsServer(*CERTS["good"], name="first") as srv:
        port = srv.tls_port
        bob = Listener()
        check(await bob.start(srv, srv.url, "bob", "-C", CA),
              "bob connected")
    # The server is gone; the same port again, still TLS.
    with TlsServer(*CERTS["good"], "--port", str(port), name="second") \
            as srv:
        check(srv.wait_log(r"user bob connected", 10),
              "bob reconnects over wss://")
        rc, out, err, _ = await client(srv.url, "alice", "-C", CA,
                                       "-t", "bob", stdin=b"welcome back\n")
        line = await bob.line()
        check(line.endswith(" alice: welcome back\n"),
              "bob receives after the reconnect (%r)" % line)
        rc, err = await bob.stop()
        check(rc == 0 and "reconnected to" in err,
              "bob said it reconnected (%r %r)" % (rc, err))


def test_bad_files():
    good, key = CERTS["good"]
    for args, words in (
            (["--cert", "/nonexistent.pem", "--key", key],
             "/nonexistent.pem"),
            (["--cert", good, "--key", "/nonexistent.key"],
             "/nonexistent.key"),
            (["--cert", good, "--key", CERTS["expired"][1]],
             CERTS["expired"][1]),
            (["--cert", CA.replace("ca.pem", "good.csr"), "--key", key],
             "good.csr")):
        p = subprocess.run([SERVER, "--port", "0"] + args,
                           capture_output=True, timeout=10)
        err = p.stderr.decode()
        check(p.returncode == 2 and words in err,
              "bad files %r: exit 2 naming the file (%r %r)"
              % (args, p.returncode, err))
    p = subprocess.run([SERVER, "--port", "0", "--tls-port", "0"],
                       capture_output=True, timeout=10)
    check(p.returncode == 2, "--tls-port without --cert: exit 2")


async def test_valgrind():
    if shutil.which("valgrind") is None:
        print("valgrind not found: client memcheck skipped")
        return
    ldd = subprocess.run(["ldd", CLIENT], capture_output=True, text=True)
    if "libasan" in ldd.stdout:
        print("sanitizer build: client memcheck skipped")
        return
    with TlsServer(*CERTS["good"], name="valgrind") as srv:
        vg = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
              "--errors-for-leak-kinds=definite"]
        rc, out, err, _ = await client(srv.url, "alice", "-C", CA,
                                       "-t", "bob", stdin=b"memcheck\n",
                                       wrap=vg, timeout=50)
        check(rc == 0, "chat-client over wss:// under valgrind: clean "
              "(%r %r)" % (rc, err[-2000:]))
        rc, out, err, _ = await client(srv.url, "alice", stdin=b"",
                                       wrap=vg, timeout=50)
        check(rc == 1 and "certificate issuer is unknown" in err and
              "==" not in err,
              "a refused certificate under valgrind: clean (%r)"
              % err[-2000:])


async def main():
    await test_chat()
    await test_refused()
    await test_both_ports()
    await test_stall_and_garbage()
    await test_reload()
    await test_reconnect()
    test_bad_files()
    await test_valgrind()

run(main())
done()
