# Copyright (c) 2026 The chat authors.
#
# test_client_frames: the client side of our frame layer against a tiny
# scripted server written here (plain sockets, our own server handshake)
# that breaks RFC 6455 on purpose, case by case: a masked server frame,
# reserved opcodes and bits, invalid UTF-8 (also mid-fragment: the client
# must close before the rest arrives), oversized and fragmented control
# frames, a message over the client's limit, bad close frames.  The
# clients are build/ws-echo-client and, where practical, chat-client in
# line mode; each must answer with a close frame of the right code,
# masked like every client frame, and say so.  One good case checks the
# echo of text, binary, a fragmented message with a ping in between.

import base64
import hashlib
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chatlib  # noqa: E402
from chatlib import check, frame, close_payload  # noqa: E402

ECHO = os.path.join(chatlib.BUILD, "ws-echo-client")
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, BINARY, CLOSE, PING, PONG, CONT = 1, 2, 8, 9, 10, 0
SLOW = os.environ.get("CHAT_VALGRIND") == "1"
ECHO_MAX = 16 << 20		# ws-echo-client's max_message
CHAT_MAX = 1 << 20		# chat-client's (client/conn.c)


def sframe(op, payload=b"", **kw):
    """A server frame: unmasked unless asked."""
    kw.setdefault("mask", False)
    return frame(op, payload, **kw)


class Peer:
    """The server end of one accepted connection."""

    def __init__(self, sock, extra=b""):
        self.sock = sock
        self.sock.settimeout(10)
        self.buf = b""
        self.masked_all = True
        while b"\r\n\r\n" not in self.buf:
            b = self.sock.recv(4096)
            if not b:
                raise ConnectionError("client left during the handshake")
            self.buf += b
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        self.request = lines[0]
        hdr = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            hdr[k.strip().lower()] = v.strip()
        self.headers = hdr
        key = hdr.get("sec-websocket-key", "").encode()
        acc = base64.b64encode(hashlib.sha1(key + GUID).digest())
        self.sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\n"
                          b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                          b"Sec-WebSocket-Accept: " + acc + b"\r\n\r\n" +
                          extra)

    def send(self, data):
        self.sock.sendall(data)

    def _need(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout()
            self.sock.settimeout(left)
            b = self.sock.recv(1 << 16)
            if not b:
                raise EOFError()
            self.buf += b

    def recv_frame(self, timeout=10):
        """(fin, opcode, unmasked payload); notes unmasked frames."""
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
        key = None
        if b1 & 0x80:
            self._need(hl + 4, deadline)
            key = self.buf[hl:hl + 4]
            hl += 4
        else:
            self.masked_all = False
        self._need(hl + n, deadline)
        p = self.buf[hl:hl + n]
        self.buf = self.buf[hl + n:]
        if key is not None:
            p = bytes(c ^ key[i % 4] for i, c in enumerate(p))
        return bool(b0 & 0x80), b0 & 0x0f, p

    def recv_close(self, timeout=10):
        """The client's close code (None: no code, "eof": none at all)."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                fin, op, p = self.recv_frame(max(0.01, deadline -
                                                 time.monotonic()))
                if op == CLOSE:
                    return int.from_bytes(p[:2], "big") if len(p) >= 2 \
                        else None
        except (EOFError, ConnectionResetError):
            return "eof"
        except socket.timeout:
            return "timeout"

    def close(self):
        self.sock.close()


class Listener:
    def __init__(self):
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(8)
        self.ls.settimeout(15 if not SLOW else 60)
        self.port = self.ls.getsockname()[1]

    def accept(self, extra=b""):
        s, _ = self.ls.accept()
        return Peer(s, extra)

    def close(self):
        self.ls.close()


def spawn(argv):
    return subprocess.Popen(argv, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(proc, timeout=10):
    """Wait (killing after timeout); returns (rc, stderr text)."""
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return proc.returncode, err.decode("utf-8", "replace")


# (name, bytes the server sends, the client's close code, bytes sent
# only if the client has not closed yet: fail fast when set)
BAD = [
    ("masked server frame", sframe(TEXT, "hi", mask=True), 1002, None),
    ("reserved data opcode 3", sframe(3, "x"), 1002, None),
    ("reserved data opcode 7", sframe(7, "x"), 1002, None),
    ("reserved control opcode 0xB", sframe(0xB, "x"), 1002, None),
    ("reserved control opcode 0xF", sframe(0xF), 1002, None),
    ("RSV1 without an extension", sframe(TEXT, "x", rsv=4), 1002, None),
    ("RSV2", sframe(BINARY, "x", rsv=2), 1002, None),
    ("RSV3 on a ping", sframe(PING, "x", rsv=1), 1002, None),
    ("invalid UTF-8 text", sframe(TEXT, b"ok \xff"), 1007, None),
    ("overlong UTF-8", sframe(TEXT, b"\xc0\xaf"), 1007, None),
    ("UTF-8 surrogate", sframe(TEXT, b"\xed\xa0\x80"), 1007, None),
    ("invalid UTF-8 mid-fragment (fail fast)",
     sframe(TEXT, b"abc\xc3\x28", fin=False), 1007,
     sframe(CONT, b"rest of the message")),
    ("ping of 126 bytes", sframe(PING, b"p" * 126), 1002, None),
    ("close of 126 bytes", sframe(CLOSE, close_payload(1000, "r" * 124)),
     1002, None),
    ("fragmented ping", sframe(PING, "p", fin=False), 1002, None),
    ("fragmented close", sframe(CLOSE, close_payload(1000), fin=False),
     1002, None),
    ("continuation without a start", sframe(CONT, "x"), 1002, None),
    ("new message inside a fragmented one",
     sframe(TEXT, "a", fin=False) + sframe(BINARY, "b"), 1002, None),
    ("close code 1005 on the wire", sframe(CLOSE, close_payload(1005)),
     1002, None),
    ("close code 999", sframe(CLOSE, close_payload(999)), 1002, None),
    ("close code 5000", sframe(CLOSE, close_payload(5000)), 1002, None),
    ("close with a 1-byte body", sframe(CLOSE, b"\x03"), 1002, None),
    ("close reason not UTF-8",
     sframe(CLOSE, close_payload(1000, b"bye \xff")), 1007, None),
    ("64-bit length with the top bit set",
     b"\x82\x7f" + (1 << 63).to_bytes(8, "big") + b"0123456789", 1002,
     None),
]


def oversize(limit):
    """A frame header claiming limit+1 bytes and a little payload."""
    return (b"\x82\x7f" + (limit + 1).to_bytes(8, "big") + b"x" * 1000)


def echo_case(name, data, code, rest, ln, with_101=False):
    proc = spawn([ECHO, "ws://127.0.0.1:%d/case" % ln.port])
    try:
        p = ln.accept(extra=data if with_101 else b"")
        if not with_101:
            # Each part in a read of its own: sent once the client has
            # read what came before it (the 101, the previous part).
            for part in data if isinstance(data, list) else [data]:
                chatlib.peer_read_all(p.sock)
                p.send(part)
        got = p.recv_close(10)
        if rest is not None and got not in ("eof", "timeout"):
            # Only now send the rest: the close came before it.
            try:
                p.send(rest)
            except OSError:
                pass
        if isinstance(got, int):
            try:
                p.send(sframe(CLOSE, close_payload(got)))
            except OSError:
                pass
        p.close()
        rc, err = finish(proc)
        check(got == code, "ws-echo-client, %s: close %d (got %r)"
              % (name, code, got))
        check(p.masked_all, "ws-echo-client, %s: client frames masked"
              % name)
        check(rc == 1 and ("sent close %d" % code) in err,
              "ws-echo-client, %s: exit 1 and reports it (rc %r, %r)"
              % (name, rc, err.strip()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def echo_case_ok(name, parts, code, ln):
    """A valid server close in parts: echoed with its code, exit 0."""
    proc = spawn([ECHO, "ws://127.0.0.1:%d/" % ln.port])
    try:
        p = ln.accept()
        for part in parts:
            chatlib.peer_read_all(p.sock)	# a read of its own
            p.send(part)
        got = p.recv_close()
        p.close()
        rc, err = finish(proc)
        check(got == code and rc == 0, "ws-echo-client, %s: close %d "
              "echoed, exit 0 (got %r, rc %r, %r)" % (name, code, got, rc,
                                                      err.strip()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def chat_case(name, data, code, ln, with_101=False):
    """chat-client --batch: the close code on the wire and on stderr.
    with_101: the bad frame goes in the same write as the 101."""
    proc = spawn([chatlib.CLIENT, "--batch", "--user", "u", "--to", "v",
                  "--server", "ws://127.0.0.1:%d" % ln.port])
    try:
        p = ln.accept(extra=data if with_101 else b"")
        # With no state yet it asks for the epoch (?epoch=).
        check(p.request.startswith("GET /demo/ws/u?epoch= "),
              "chat-client asks for /demo/ws/u?epoch=: %r" % p.request)
        if not with_101:
            chatlib.peer_read_all(p.sock)	# a read of its own
            p.send(data)
        got = p.recv_close(10)
        if isinstance(got, int):
            try:
                p.send(sframe(CLOSE, close_payload(got)))
            except OSError:
                pass
        p.close()
        # It reports the loss, then reconnects: wait for that.
        ln.ls.settimeout(20 if SLOW else 5)
        try:
            again, _ = ln.ls.accept()
            again.close()
            back = True
        except socket.timeout:
            back = False
        check(back, "chat-client, %s: notices the loss and reconnects"
              % name)
        proc.terminate()
        rc, err = finish(proc)
        check(got == code, "chat-client, %s: close %d (got %r)"
              % (name, code, got))
        check(p.masked_all, "chat-client, %s: frames masked" % name)
        check(str(code) in err, "chat-client, %s: reports %d on stderr "
              "(%r)" % (name, code, err.strip()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_good(ln):
    big = os.urandom(1 << 20)
    proc = spawn([ECHO, "-v", "ws://127.0.0.1:%d/echo" % ln.port])
    try:
        # A message in the same write as the 101 is echoed too.
        p = ln.accept(extra=sframe(TEXT, "early"))
        check(p.request == "GET /echo HTTP/1.1", "request line: %r"
              % p.request)
        check(p.headers.get("sec-websocket-version") == "13" and
              p.headers.get("upgrade", "").lower() == "websocket",
              "upgrade headers: %r" % p.headers)
        fin, op, got = p.recv_frame()
        check((fin, op, got) == (True, TEXT, b"early"),
              "message sent with the 101 echoed: %r" % got)
        p.send(sframe(TEXT, "h\u00e9llo \U0001F600"))
        fin, op, got = p.recv_frame()
        check(op == TEXT and got == "h\u00e9llo \U0001F600".encode(),
              "text echoed: %r" % got)
        p.send(sframe(BINARY, b"\x00\xff\x80bin"))
        fin, op, got = p.recv_frame()
        check(op == BINARY and got == b"\x00\xff\x80bin",
              "binary echoed as binary: %r" % got)
        p.send(sframe(TEXT, b"", fin=True))
        fin, op, got = p.recv_frame()
        check(op == TEXT and got == b"", "empty text echoed")
        # Fragmented, with a ping between the fragments, split mid-UTF-8.
        p.send(sframe(TEXT, b"frag \xe2\x82", fin=False) +
               sframe(PING, b"ping payload \x00\xff"))
        fin, op, got = p.recv_frame()
        check(op == PONG and got == b"ping payload \x00\xff",
              "ping inside a fragmented message: pong with its payload "
              "(%d %r)" % (op, got))
        p.send(sframe(CONT, b"\xac", fin=False) + sframe(CONT, b" end"))
        fin, op, got = p.recv_frame()
        check(fin and op == TEXT and got == "frag \u20ac end".encode(),
              "fragmented text echoed as one message: %r" % got)
        p.send(sframe(PONG, b"unasked") + sframe(PING, b"") +
               sframe(BINARY, big))
        fin, op, got = p.recv_frame()
        check(op == PONG and got == b"", "empty ping: empty pong")
        fin, op, got = p.recv_frame(20)
        check(op == BINARY and got == big, "1 MiB binary echoed (%d)"
              % len(got))
        # Byte by byte.
        for b in sframe(TEXT, "slow"):
            chatlib.peer_read_all(p.sock)
            p.send(bytes([b]))
        fin, op, got = p.recv_frame()
        check(got == b"slow", "a frame one byte at a time: %r" % got)
        check(p.masked_all, "every client frame masked")
        p.send(sframe(CLOSE, close_payload(4001, "done \u00e9")))
        got = p.recv_close()
        check(got == 4001, "server close 4001 echoed (%r)" % got)
        p.close()
        rc, err = finish(proc)
        check(rc == 0 and "closed 4001" in err,
              "exit 0 with 'closed 4001' (rc %r, %r)" % (rc, err.strip()))
        check("text 5 bytes" in err and "binary 1048576 bytes" in err,
              "-v reports messages")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # A close without a code is echoed without one; exit 0.
    proc = spawn([ECHO, "ws://127.0.0.1:%d/" % ln.port])
    p = ln.accept()
    p.send(sframe(CLOSE))
    got = p.recv_close()
    p.close()
    rc, err = finish(proc)
    check(got is None and rc == 0 and "closed 1005" in err,
          "empty close: echoed empty, exit 0 (%r, %r, %r)"
          % (got, rc, err.strip()))
    # A server that vanishes without a close: exit 1.
    proc = spawn([ECHO, "ws://127.0.0.1:%d/" % ln.port])
    p = ln.accept()
    p.send(sframe(TEXT, "x" * 50)[:20])
    p.close()
    rc, err = finish(proc)
    check(rc == 1 and "ws-echo-client: connection lost" in err,
          "server gone mid-frame: exit 1 (%r, %r)" % (rc, err.strip()))


def test_usage():
    for argv, want in (([], 2), (["-x", "ws://a"], 2), (["a", "b"], 2),
                       (["http://127.0.0.1:1/"], 1)):
        p = subprocess.run([ECHO] + argv, capture_output=True, timeout=10)
        err = p.stderr.decode()
        check(p.returncode == want and ("usage: ws-echo-client" in err
                                        if want == 2 else
                                        err.startswith("ws-echo-client:")),
              "ws-echo-client %r: exit %d (%r, %r)" % (argv, want,
                                                       p.returncode, err))
    # Nobody listening.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    p = subprocess.run([ECHO, "ws://127.0.0.1:%d/" % port],
                       capture_output=True, timeout=20)
    check(p.returncode == 1 and b"ws-echo-client:" in p.stderr,
          "refused: exit 1 with a message (%r)" % p.stderr)


def main():
    if not os.access(ECHO, os.X_OK):
        print("SKIP: %s not built" % ECHO)
        sys.exit(77)
    ln = Listener()
    test_usage()
    test_good(ln)
    cases = BAD + [("message over 16 MiB", oversize(ECHO_MAX), 1009, None)]
    for name, data, code, rest in cases:
        echo_case(name, data, code, rest, ln)
    # Close frames whose payload arrives in two reads.
    d = sframe(CLOSE, close_payload(1000, b"caf\xc3\xa9 au lait"))
    echo_case_ok("close reason split inside a UTF-8 sequence",
                 [d[:2 + 2 + 4], d[2 + 2 + 4:]], 1000, ln)
    d = sframe(CLOSE, close_payload(1000, b"ok\xff rest"))
    echo_case("bad close reason byte at the start of a 2nd read",
              [d[:2 + 2 + 2], d[2 + 2 + 2:]], 1007, None, ln)
    echo_case("bad frame in the same write as the 101",
              sframe(TEXT, "x", mask=True), 1002, None, ln, with_101=True)
    # chat-client: the same frame layer, as a user sees it.
    chat = [c for c in BAD if c[0] in (
        "masked server frame", "reserved data opcode 3",
        "RSV1 without an extension", "invalid UTF-8 text",
        "invalid UTF-8 mid-fragment (fail fast)", "ping of 126 bytes",
        "fragmented ping", "close code 999", "close reason not UTF-8")]
    chat.append(("message over 1 MiB", oversize(CHAT_MAX), 1009, None))
    ln.close()
    for name, data, code, rest in chat:
        # A listener each: the client reconnects after the loss.
        ln = Listener()
        chat_case(name, data, code, ln)
        ln.close()
    ln = Listener()
    chat_case("bad frame in the same write as the 101",
              sframe(TEXT, "x", mask=True), 1002, ln, with_101=True)
    ln.close()
    print("client frames: %d bad cases for ws-echo-client, %d for "
          "chat-client, 1 good session" % (len(cases) + 3, len(chat) + 1))


main()
chatlib.done()
