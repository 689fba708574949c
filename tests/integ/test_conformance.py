# Copyright (c) 2026 The chat authors.
#
# test_conformance: the MUSTs of RFC 6455 that concern a server, case by
# case from a raw socket, in the categories of the Autobahn test suite:
# framing, pings and pongs, reserved bits, opcodes, fragmentation,
# UTF-8, limits and closing.  Each case is a name, the bytes to send
# after the handshake (in several writes, each read on its own, where
# reads matter) and the outcome: the messages and pongs to get back, a close
# code, or a connection that stays open.  Every case runs against
# /demo/echo; those that do not depend on an echo also run against the
# chat endpoint.  Every frame from the server must be unmasked with no
# RSV bit.  "Fail fast" cases send only the start of a message: the close
# must come before the rest, which is never sent.  test_proto.py has the
# chat-level errors; this file is the systematic table.

import json
import os
import random
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chatlib  # noqa: E402
from chatlib import check, RawWS, close_payload  # noqa: E402
from chatlib import frame as f  # noqa: E402

TEXT, BINARY, CLOSE, PING, PONG, CONT = 1, 2, 8, 9, 10, 0
MAX = 70000			# --max-message: 16-bit and 64-bit lengths fit
SLOW = os.environ.get("CHAT_VALGRIND") == "1"
T = 20 if SLOW else 5


def echo(*msgs):
    """Expect these frames back (data messages reassembled), then close
    cleanly.  A bare payload means a text message of it."""
    out = []
    for m in msgs:
        if not isinstance(m, tuple):
            m = (TEXT, m)
        op, p = m
        out.append((op, p.encode() if isinstance(p, str) else p))
    return ("echo", out)


def closes(code, *before):
    """Expect a close with code (after the frames in before, on the echo
    endpoint), then the end of the stream."""
    return ("close", code, echo(*before)[1])


OPEN = ("open",)


def who(pongs=()):
    """Chat endpoint: pongs with these payloads, then a who answer."""
    return ("who", [p.encode() if isinstance(p, str) else p for p in pongs])


def cut(data, n):
    """data split after n bytes: [data[:n], data[n:]]."""
    return [data[:n], data[n:]]


def nonminimal16(op, payload):
    """A masked frame whose short payload uses a 16-bit length."""
    key = os.urandom(4)
    return (bytes([0x80 | op, 0x80 | 126]) + len(payload).to_bytes(2, "big")
            + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload)))


def nonminimal64(op, payload):
    key = os.urandom(4)
    return (bytes([0x80 | op, 0x80 | 127]) + len(payload).to_bytes(8, "big")
            + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload)))


def header_only(op, length, payload=b""):
    """A frame announcing length bytes, with only payload sent."""
    return f(op, payload, length=length)


def frags(op, payload, n):
    """payload as a message in fragments of n bytes."""
    chunks = [payload[i:i + n] for i in range(0, len(payload), n)] or [b""]
    out = b""
    for i, c in enumerate(chunks):
        out += f(op if i == 0 else CONT, c, fin=i == len(chunks) - 1)
    return out


# ---- the table: (name, parts, expectation, where) ----
# parts: bytes, or a list of bytes sent in separate writes, each once the
# server has read the one before;
# where: "both" (echo and chat endpoints) or "echo".

U = "\u03ba\u1f79\u03c3\u03bc\u03b5"		# "kosme", Autobahn's sample
LEN = (0, 1, 125, 126, 127, 128, 1000, 65535, 65536)

FRAMING = [
    ("text of %d bytes" % n, f(TEXT, "t" * n), echo("t" * n), "echo")
    for n in LEN
] + [
    ("binary of %d bytes" % n, f(BINARY, bytes(range(256)) * (n // 256) +
                                 bytes(range(n % 256))),
     echo((BINARY, bytes(range(256)) * (n // 256) + bytes(range(n % 256)))),
     "echo") for n in LEN
] + [
    ("100 messages in one write",
     b"".join(f(TEXT, "m%d" % i) for i in range(100)),
     echo(*["m%d" % i for i in range(100)]), "echo"),
    ("a frame one byte per write", [bytes([b]) for b in f(TEXT, "bytes")],
     echo("bytes"), "echo"),
    ("header split after 1 byte", cut(f(TEXT, "h1"), 1), echo("h1"), "echo"),
    ("16-bit length split", cut(f(TEXT, "x" * 300), 3), echo("x" * 300),
     "echo"),
    ("64-bit length split", cut(f(BINARY, b"y" * 70000), 6),
     echo((BINARY, b"y" * 70000)), "echo"),
    ("mask key split", cut(f(TEXT, "mk"), 4), echo("mk"), "echo"),
    ("payload split", cut(f(TEXT, "payload"), 9), echo("payload"), "echo"),
    ("three frames cut across", [x for x in (lambda d: [d[:5], d[5:13],
                                                      d[13:]])(
        f(TEXT, "one") + f(BINARY, b"two") + f(TEXT, "three"))],
     echo("one", (BINARY, b"two"), "three"), "echo"),
    ("mask key of zeros", b"\x81\x82\x00\x00\x00\x00ok", echo("ok"), "echo"),
    ("unmasked text", f(TEXT, "x", mask=False), closes(1002), "both"),
    ("unmasked ping", f(PING, "x", mask=False), closes(1002), "both"),
    ("unmasked close", f(CLOSE, close_payload(1000), mask=False),
     closes(1002), "both"),
    ("unmasked frame after a good one", f(TEXT, "ok") +
     f(TEXT, "x", mask=False), closes(1002, "ok"), "both"),
    ("16-bit length for 5 bytes (not minimal)",
     nonminimal16(TEXT, b"short"), closes(1002), "both"),
    ("64-bit length for 200 bytes (not minimal)",
     nonminimal64(BINARY, b"b" * 200), closes(1002), "both"),
    ("who pipelined in pieces", [bytes([b]) for b in
                                 f(TEXT, '{"type":"who"}')], who(), "chat"),
]

PINGS = [
    ("empty ping", f(PING), echo((PONG, b"")), "echo"),
    ("ping with text", f(PING, "Hello, world!"),
     echo((PONG, b"Hello, world!")), "echo"),
    ("ping with binary", f(PING, b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff"),
     echo((PONG, b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff")), "echo"),
    ("ping of 125 bytes", f(PING, b"\xfe" * 125), echo((PONG, b"\xfe" * 125)),
     "echo"),
    ("ping of 126 bytes", f(PING, b"\xfe" * 126), closes(1002), "both"),
    ("ping claiming 2^16 bytes", header_only(PING, 65536, b"x"),
     closes(1002), "both"),
    ("ping one byte per write", [bytes([b]) for b in f(PING, "slow")],
     echo((PONG, b"slow")), "echo"),
    ("unsolicited pong", f(PONG, "unasked"), OPEN, "both"),
    ("unsolicited pong then ping", f(PONG, "a") + f(PING, "b"),
     echo((PONG, b"b")), "echo"),
    ("pong of 126 bytes", f(PONG, b"q" * 126), closes(1002), "both"),
    ("10 pings in a row", b"".join(f(PING, "p%d" % i) for i in range(10)),
     echo(*[(PONG, b"p%d" % i) for i in range(10)]), "echo"),
    ("pings in a flood (500)", b"".join(f(PING, "%03d" % (i % 1000))
                                        for i in range(500)),
     echo(*[(PONG, b"%03d" % i) for i in range(500)]), "echo"),
    ("ping answered on chat", f(PING, "chat ping") + f(TEXT, '{"type":'
                                                       '"who"}'),
     who(["chat ping"]), "chat"),
]

RSV = [
    ("RSV=%d on text" % r, f(TEXT, "x", rsv=r), closes(1002), "both")
    for r in range(1, 8)
] + [
    ("RSV=1 on binary", f(BINARY, b"\x00", rsv=1), closes(1002), "both"),
    ("RSV=2 on ping", f(PING, "p", rsv=2), closes(1002), "both"),
    ("RSV=3 on pong", f(PONG, "p", rsv=3), closes(1002), "both"),
    ("RSV=4 on close", f(CLOSE, close_payload(1000), rsv=4), closes(1002),
     "both"),
    ("RSV=5 on a continuation", f(TEXT, "a", fin=False) +
     f(CONT, "b", rsv=5), closes(1002), "both"),
    ("RSV after a good message", f(TEXT, "good") + f(TEXT, "x", rsv=1),
     closes(1002, "good"), "both"),
    ("RSV in a later write", [f(TEXT, "first"), f(TEXT, "x", rsv=6)],
     closes(1002, "first"), "both"),
]

OPCODES = [
    ("reserved opcode %d" % op, f(op), closes(1002), "both")
    for op in (3, 4, 5, 6, 7, 11, 12, 13, 14, 15)
] + [
    ("reserved opcode 5 with payload", f(5, b"payload"), closes(1002),
     "both"),
    ("reserved opcode 12 with payload", f(12, b"payload"), closes(1002),
     "both"),
    ("reserved opcode after a good message", f(TEXT, "good") + f(4),
     closes(1002, "good"), "both"),
    ("reserved opcode inside a fragmented message",
     f(TEXT, "a", fin=False) + f(6, "b"), closes(1002), "both"),
]

FRAG = [
    ("fragmented ping", f(PING, "p", fin=False) + f(CONT, "q"),
     closes(1002), "both"),
    ("fragmented pong", f(PONG, "p", fin=False) + f(CONT, "q"),
     closes(1002), "both"),
    ("fragmented close", f(CLOSE, close_payload(1000), fin=False),
     closes(1002), "both"),
    ("text in 2 fragments", f(TEXT, "frag", fin=False) + f(CONT, "ment"),
     echo("fragment"), "echo"),
    ("binary in 3 fragments", f(BINARY, b"\x01", fin=False) +
     f(CONT, b"\x02", fin=False) + f(CONT, b"\x03"),
     echo((BINARY, b"\x01\x02\x03")), "echo"),
    ("fragments in separate writes", [f(TEXT, "a", fin=False),
                                      f(CONT, "b", fin=False), f(CONT, "c")],
     echo("abc"), "echo"),
    ("ping between fragments", f(TEXT, "fr", fin=False) + f(PING, "in") +
     f(CONT, "ag"), echo((PONG, b"in"), "frag"), "echo"),
    ("pong between fragments", f(TEXT, "fr", fin=False) + f(PONG, "in") +
     f(CONT, "ag"), echo("frag"), "echo"),
    ("pings between fragments, split writes",
     [f(TEXT, "a", fin=False), f(PING, "1"), f(CONT, "b", fin=False) +
      f(PING, "2"), f(CONT, "c")],
     echo((PONG, b"1"), (PONG, b"2"), "abc"), "echo"),
    ("1000 one-byte fragments", frags(TEXT, b"z" * 1000, 1),
     echo("z" * 1000), "echo"),
    ("64k in 8-byte fragments", frags(BINARY, b"8" * 65536, 8),
     echo((BINARY, b"8" * 65536)), "echo"),
    ("empty fragments", f(TEXT, "", fin=False) + f(CONT, "", fin=False) +
     f(CONT, ""), echo(""), "echo"),
    ("continuation without a start, fin", f(CONT, "x"), closes(1002),
     "both"),
    ("continuation without a start, no fin", f(CONT, "x", fin=False),
     closes(1002), "both"),
    ("continuation after a whole message", f(TEXT, "done") + f(CONT, "x"),
     closes(1002, "done"), "both"),
    ("text inside a fragmented text", f(TEXT, "a", fin=False) +
     f(TEXT, "b"), closes(1002), "both"),
    ("binary inside a fragmented text", f(TEXT, "a", fin=False) +
     f(BINARY, b"b"), closes(1002), "both"),
    ("close inside a fragmented message", f(TEXT, "part", fin=False) +
     f(CLOSE, close_payload(1000)), closes(1000), "both"),
    ("fragmented who with a ping between", f(TEXT, '{"type":', fin=False) +
     f(PING, "mid") + f(CONT, '"who"}'), who(["mid"]), "chat"),
]

VALID_UTF8 = [
    ("kosme", U.encode()),
    ("U+0000..U+007F", bytes(range(1, 128))),
    ("2-byte U+0080", b"\xc2\x80"), ("2-byte U+07FF", b"\xdf\xbf"),
    ("3-byte U+0800", b"\xe0\xa0\x80"), ("3-byte U+FFFF", b"\xef\xbf\xbf"),
    ("U+D7FF", b"\xed\x9f\xbf"), ("U+E000", b"\xee\x80\x80"),
    ("U+FFFD", b"\xef\xbf\xbd"), ("BOM U+FEFF", b"\xef\xbb\xbf"),
    ("noncharacter U+FFFE", b"\xef\xbf\xbe"),
    ("4-byte U+10000", b"\xf0\x90\x80\x80"),
    ("4-byte U+10FFFF", b"\xf4\x8f\xbf\xbf"),
    ("emoji", "\U0001F600".encode()),
]

INVALID_UTF8 = [
    ("lone continuation 0x80", b"\x80"), ("continuations", b"\x80\xbf\x80"),
    ("0xFE", b"\xfe"), ("0xFF", b"\xff"), ("FE FE FF FF", b"\xfe\xfe\xff\xff"),
    ("overlong NUL", b"\xc0\x80"), ("overlong C1", b"\xc1\xbf"),
    ("overlong 3-byte", b"\xe0\x80\xaf"), ("overlong 3-byte max",
                                          b"\xe0\x9f\xbf"),
    ("overlong 4-byte", b"\xf0\x80\x80\xaf"),
    ("overlong 4-byte max", b"\xf0\x8f\xbf\xbf"),
    ("5-byte sequence", b"\xf8\x88\x80\x80\x80"),
    ("6-byte sequence", b"\xfc\x84\x80\x80\x80\x80"),
    ("surrogate U+D800", b"\xed\xa0\x80"), ("surrogate U+DFFF",
                                            b"\xed\xbf\xbf"),
    ("surrogate pair", b"\xed\xa0\x80\xed\xb0\x80"),
    ("U+110000", b"\xf4\x90\x80\x80"), ("0xF5 lead", b"\xf5\x80\x80\x80"),
    ("0xF7 lead", b"\xf7\xbf\xbf\xbf"),
    ("2-byte truncated at the end", b"ab\xc2"),
    ("3-byte truncated at the end", b"ab\xe0\xa0"),
    ("4-byte truncated at the end", b"ab\xf0\x90\x80"),
    ("truncated then ASCII", b"\xe2\x82A"),
    ("kosme then a surrogate", U.encode() + b"\xed\xa0\x80edited"),
]

UTF8 = [
    ("valid " + n, f(TEXT, b), echo(b), "echo") for n, b in VALID_UTF8
] + [
    ("valid " + n + ", one byte per fragment", frags(TEXT, b, 1), echo(b),
     "echo") for n, b in VALID_UTF8[:4] + VALID_UTF8[-3:]
] + [
    ("valid 4-byte split across writes", cut(f(TEXT, "\U0001F600"), 8),
     echo("\U0001F600"), "echo"),
] + [
    ("invalid " + n, f(TEXT, b), closes(1007), "both")
    for n, b in INVALID_UTF8
] + [
    ("invalid " + n + ", one byte per fragment", frags(TEXT, b, 1),
     closes(1007), "both") for n, b in INVALID_UTF8[:3] + INVALID_UTF8[-3:]
] + [
    # Fail fast: the rest of the message is never sent.
    ("fail fast: bad byte in a first fragment",
     f(TEXT, b"hello \xff", fin=False), closes(1007), "both"),
    ("fail fast: bad sequence in a middle fragment (Autobahn 6.4.1)",
     f(TEXT, U.encode(), fin=False) +
     f(CONT, b"\xf4\x90\x80\x80", fin=False), closes(1007), "both"),
    ("fail fast: bad byte early in a 1000-byte frame",
     f(TEXT, b"ab\xffc" + b"x" * 996)[:8 + 20], closes(1007), "both"),
    ("fail fast: bad sequence split across reads of one frame",
     cut(f(TEXT, b"x" * 40 + b"\xf0\x9f\x98" + b"(" + b"y" * 400)[:8 + 60],
         8 + 42), closes(1007), "both"),
    ("fail fast: surrogate in the 2nd write of a fragment",
     cut(f(TEXT, b"abcdef\xed\xa0\x80" + b"z" * 300, fin=False)[:8 + 20],
         8 + 7), closes(1007), "both"),
    ("fail fast: bad byte in a fragmented chat message",
     f(TEXT, b'{"message":"\xc3(', fin=False), closes(1007), "both"),
]

LIMITS = [
    ("text of --max-message bytes", f(TEXT, "L" * MAX), echo("L" * MAX),
     "echo"),
    ("binary of --max-message bytes in 7 fragments",
     frags(BINARY, b"B" * MAX, 10000), echo((BINARY, b"B" * MAX)), "echo"),
    ("text of --max-message + 1", f(TEXT, "L" * (MAX + 1)), closes(1009),
     "both"),
    ("binary of --max-message + 1", f(BINARY, b"B" * (MAX + 1)),
     closes(1009), "both"),
    ("fragments adding up to --max-message + 1",
     f(TEXT, "a" * (MAX // 2), fin=False) + f(CONT, "a" * (MAX // 2 + 1)),
     closes(1009), "both"),
    ("fail fast: fragments over the limit, no final one",
     f(BINARY, b"a" * (MAX - 10), fin=False) + f(CONT, b"a" * 11,
                                                 fin=False),
     closes(1009), "both"),
    ("fail fast: 64-bit length over the limit, 10 bytes sent",
     header_only(BINARY, 100000, b"0123456789"), closes(1009), "both"),
    ("fail fast: 64-bit length of a petabyte (2^50)",
     header_only(BINARY, 1 << 50, b"0123456789"), closes(1009), "both"),
    ("fail fast: 64-bit length 2^63-1", header_only(TEXT, (1 << 63) - 1,
                                                    b"x" * 10),
     closes(1009), "both"),
    ("64-bit length with the top bit set",
     bytes([0x82, 0xff]) + (1 << 63).to_bytes(8, "big") + b"mask" +
     b"0123456789", closes(1002), "both"),
    ("close reason of 123 bytes", f(CLOSE, close_payload(1000, "r" * 123)),
     ("closeecho", 1000, b"r" * 123), "both"),
    ("close payload of 126 bytes", f(CLOSE, close_payload(1000, "r" * 124)),
     closes(1002), "both"),
]

VALID_CODES = (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000,
               3999, 4000, 4999)
INVALID_CODES = (0, 999, 1004, 1005, 1006, 1012, 1013, 1014, 1015, 1016,
                 1100, 2000, 2999, 5000, 65535)

CLOSING = [
    ("close code %d echoed" % c, f(CLOSE, close_payload(c)),
     ("closeecho", c, None), "both") for c in VALID_CODES
] + [
    ("invalid close code %d" % c, f(CLOSE, close_payload(c)), closes(1002),
     "both") for c in INVALID_CODES
] + [
    ("close without a body", f(CLOSE), ("closeecho", None, None), "both"),
    ("close with a 1-byte body", f(CLOSE, b"\x03"), closes(1002), "both"),
    ("close with a UTF-8 reason", f(CLOSE, close_payload(1000, U)),
     ("closeecho", 1000, U.encode()), "both"),
    ("close reason not UTF-8", f(CLOSE, close_payload(1000, b"bye \xff")),
     closes(1007), "both"),
    ("close reason with a surrogate",
     f(CLOSE, close_payload(1001, b"\xed\xa0\x80")), closes(1007), "both"),
    ("close reason truncated mid-sequence",
     f(CLOSE, close_payload(1000, b"caf\xc3")), closes(1007), "both"),
    ("fail fast: bad close reason, rest never sent",
     f(CLOSE, close_payload(1000, b"bad \xff and more"))[:6 + 2 + 6],
     closes(1007), "both"),
    # A close frame whose payload arrives in several reads.
    ("close split inside the code",
     cut(f(CLOSE, close_payload(1000, "plain")), 6 + 1),
     ("closeecho", 1000, b"plain"), "both"),
    ("close reason split inside a UTF-8 sequence",
     cut(f(CLOSE, close_payload(1000, b"caf\xc3\xa9 au lait")), 6 + 2 + 4),
     ("closeecho", 1000, "caf\u00e9 au lait".encode()), "both"),
    ("close reason split in 3 writes",
     (lambda d: [d[:9], d[9:12], d[12:]])(
         f(CLOSE, close_payload(4000, U))),
     ("closeecho", 4000, U.encode()), "both"),
    ("bad close reason byte at the start of a 2nd read",
     cut(f(CLOSE, close_payload(1000, b"ok\xff rest")), 6 + 2 + 2),
     closes(1007), "both"),
    ("bad close reason byte right after a split code",
     cut(f(CLOSE, close_payload(1000, b"\xff rest")), 6 + 1),
     closes(1007), "both"),
    ("data after a close is ignored", f(CLOSE, close_payload(1000)) +
     f(TEXT, "late"), ("closeecho", 1000, None), "both"),
    ("close after a message", f(TEXT, "before") +
     f(CLOSE, close_payload(1000)), ("closeecho", 1000, None, "before"),
     "both"),
    ("ping after a close is not answered", f(CLOSE, close_payload(1000)) +
     f(PING, "late"), ("closeecho", 1000, None), "both"),
]

CATEGORIES = [
    ("framing", FRAMING), ("pings/pongs", PINGS), ("reserved bits", RSV),
    ("opcodes", OPCODES), ("fragmentation", FRAG), ("UTF-8", UTF8),
    ("limits", LIMITS), ("closing", CLOSING),
]


class Conn(RawWS):
    """A raw client that also checks every server frame's header."""

    def __init__(self, port, path):
        super().__init__(port, path, timeout=T)
        self.bad_headers = []

    def recv_frame(self, timeout=5):
        deadline = time.monotonic() + timeout
        self._need(2, deadline)
        if self.buf[1] & 0x80:
            self.bad_headers.append("masked")
        if self.buf[0] & 0x70:
            self.bad_headers.append("RSV set")
        fin, op, p = super().recv_frame(max(0.01,
                                            deadline - time.monotonic()))
        if op >= 8 and (not fin or len(p) > 125):
            self.bad_headers.append("bad control frame")
        return fin, op, p

    def message(self, timeout=T):
        """The next control frame or whole data message: (op, payload).
        Raises EOFError, socket.timeout."""
        fin, op, p = self.recv_frame(timeout)
        if op >= 8 or fin:
            return op, p
        data = p
        while True:
            fin, cop, p = self.recv_frame(timeout)
            if cop >= 8:
                self.bad_headers.append("control frames inside an echo")
                continue
            data += p
            if fin:
                return op, data

    def send_parts(self, parts):
        """Each part in a read of its own: sent once the server has read
        the one before (or closed)."""
        try:
            for p in parts:
                chatlib.peer_read_all(self.sock)
                self.send(p)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False


def read_close(c):
    """(frames before, close payload or None at EOF without one)."""
    before = []
    try:
        while True:
            op, p = c.message()
            if op == CLOSE:
                return before, p
            before.append((op, p))
    except (EOFError, ConnectionResetError, socket.timeout):
        return before, None


def utf8(b):
    try:
        b.decode("utf-8", "strict")
        return True
    except UnicodeDecodeError:
        return False


def fmt(p):
    return repr(p[:40]) + ("...(%d)" % len(p) if len(p) > 40 else "")


def run_case(port, where, n, name, parts, want):
    path = "/demo/echo" if where == "echo" else "/demo/ws/conf%d" % n
    what = "%s [%s]" % (name, where)
    if isinstance(parts, bytes):
        parts = [parts]
    c = Conn(port, path)
    try:
        c.send_parts(parts)
        kind = want[0]
        if kind == "echo":
            got = []
            try:
                while len(got) < len(want[1]):
                    got.append(c.message())
            except (EOFError, ConnectionResetError, socket.timeout) as e:
                got.append(("error", repr(e).encode()))
            check(got == want[1], "%s: echo %s (got %s)" % (
                what, [(o, fmt(p)) for o, p in want[1][:4]],
                [(o, fmt(p)) for o, p in got[:4]]))
            c.send_frame(CLOSE, close_payload(1000))
            before, p = read_close(c)
            check(before == [] and p is not None and p[:2] == b"\x03\xe8",
                  "%s: then a clean close 1000 (%r %r)" % (what, before, p))
        elif kind == "close":
            before, p = read_close(c)
            code = int.from_bytes(p[:2], "big") if p and len(p) >= 2 \
                else p
            check(code == want[1], "%s: close %d (got %r)"
                  % (what, want[1], code))
            if where == "echo":
                check(before == want[2], "%s: before the close %s (got %s)"
                      % (what, want[2], before[:4]))
            check(p is None or utf8(p[2:]), "%s: the server's close reason"
                  " is UTF-8 (%r)" % (what, p))
        elif kind == "closeecho":
            before, p = read_close(c)
            if where == "echo" and len(want) > 3:
                check(before == [(TEXT, want[3].encode())],
                      "%s: message before the close (%r)" % (what, before))
            if want[1] is None:
                check(p == b"", "%s: close echoed without a body (%r)"
                      % (what, p))
            else:
                check(p is not None and p[:2] == want[1].to_bytes(2, "big"),
                      "%s: close %d echoed (got %r)" % (what, want[1], p))
                if want[2] is not None and p is not None:
                    check(p[2:] in (want[2], b""), "%s: reason echoed or "
                          "none (%r)" % (what, p[2:]))
            if where == "echo" and len(want) <= 3:
                check(before == [], "%s: nothing but the close (%r)"
                      % (what, before[:3]))
        elif kind == "open":
            # The pong to a ping is the barrier: whatever the server sent
            # for the case would come before it.
            c.send_frame(PING, "still there?")
            try:
                op, p = c.message()
            except (EOFError, ConnectionResetError, socket.timeout) as e:
                op, p = None, repr(e)
            check((op, p) == (PONG, b"still there?"),
                  "%s: nothing comes back, the connection stays open (%r "
                  "%r)" % (what, op, p))
            c.send_frame(CLOSE, close_payload(1000))
            read_close(c)
        elif kind == "who":
            pongs, answer = [], None
            try:
                while answer is None:
                    op, p = c.message()
                    if op == PONG:
                        pongs.append(p)
                    elif op == TEXT:
                        answer = json.loads(p)
            except (EOFError, ConnectionResetError, socket.timeout):
                pass
            check(pongs == want[1] and answer is not None and
                  answer.get("type") == "who" and
                  "conf%d" % n in answer.get("users", []),
                  "%s: pongs %r then who (got %r, %r)"
                  % (what, want[1], pongs, answer))
            c.send_frame(CLOSE, close_payload(1000))
            read_close(c)
        check(c.eof(T), "%s: the server closes the socket" % what)
        check(c.bad_headers == [], "%s: server frames unmasked, no RSV, "
              "control frames whole (%r)" % (what, c.bad_headers[:3]))
    finally:
        c.close()


def main():
    counts, cut_runs = {}, {}
    rng = random.Random(6455)
    with chatlib.Server("--max-message", str(MAX), name="conformance") as s:
        n = 0
        for cat, cases in CATEGORIES:
            counts[cat] = [0, 0]
            cut_runs[cat] = 0
            for name, parts, want, where in cases:
                targets = {"echo": ["echo"], "chat": ["chat"],
                           "both": ["echo", "chat"]}[where]
                for t in targets:
                    n += 1
                    run_case(s.port, t, n, name, parts, want)
                    counts[cat][0 if t == "echo" else 1] += 1
                # Echo cases again, cut at random points, 3 writes.
                if where == "echo" and want[0] == "echo":
                    data = parts if isinstance(parts, bytes) else \
                        b"".join(parts)
                    if len(data) > 2:
                        a, b = sorted(rng.sample(range(1, len(data)), 2))
                        n += 1
                        run_case(s.port, "echo", n, name + " (cut at %d, "
                                 "%d)" % (a, b), [data[:a], data[a:b],
                                                  data[b:]], want)
                        counts[cat][0] += 1
                        cut_runs[cat] += 1
        # After all that, the server is well.
        c = Conn(s.port, "/demo/echo")
        c.send_frame(TEXT, "still well")
        check(c.message() == (TEXT, b"still well"), "server still echoes")
        c.close()
        check(s.wait_log(r"protocol violation, closing with 1007"),
              "log: violations logged")
    total = [0, 0, 0, 0]
    for cat, cases in CATEGORIES:
        e, ch = counts[cat]
        for i, v in enumerate((len(cases), e, cut_runs[cat], ch)):
            total[i] += v
        print("%s: %d cases (runs: %d on /demo/echo, %d of them cut at "
              "random points, %d on the chat endpoint)"
              % (cat, len(cases), e, cut_runs[cat], ch))
    print("total: %d cases (runs: %d on /demo/echo, %d of them cut at "
          "random points, %d on the chat endpoint)" % tuple(total))


main()
chatlib.done()
