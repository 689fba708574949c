# Copyright (c) 2026 The chat authors.
#
# test_deflate: permessage-deflate (RFC 7692) on /demo/echo, the
# Autobahn test suite's cases 12.* and 13.* reproduced with Debian's
# python3-websockets, whose compression is a peer nobody here wrote:
# 12.* sends messages of 16 bytes to 128 KiB, text, JSON-like and
# random binary, whole and fragmented; 13.* the same under each offer
# Autobahn makes (server_no_context_takeover, server_max_window_bits 8
# and 15, several offers at once), plus the client_* parameters.  Every
# echo must be exact.  A raw socket then checks what websockets hides:
# the server's frames carry RSV1 when that is shorter, and what a
# compressed message must not do: inflate past --max-message (1009),
# hold invalid UTF-8 (1007), not be deflate data (1007), or set RSV1
# on a continuation (1002).

import asyncio
import json
import os
import random
import socket
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chatlib  # noqa: E402
from chatlib import check, RawWS, frame  # noqa: E402

from websockets.extensions.permessage_deflate import \
    ClientPerMessageDeflateFactory as Deflate  # noqa: E402

MAX = 256 * 1024
SLOW = os.environ.get("CHAT_VALGRIND") == "1"
COUNT = 2 if SLOW else 8         # messages per size (Autobahn: 1000)
SIZES = [16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131072]
WORDS = ("chat message hello world 你好 emoji 😀 deflate window bits "
         "context takeover lorem ipsum dolor sit amet").split()


def payloads(rng, n):
    """Autobahn's kinds of payload at size n: text, JSON, random."""
    text = " ".join(rng.choice(WORDS) for _ in range(n // 3 + 1))
    text = text.encode()[:n].decode("utf-8", "ignore")
    js = json.dumps([{"message": rng.choice(WORDS), "seq": i,
                      "from_user": "u%d" % rng.randrange(50)}
                     for i in range(n // 40 + 1)])[:n]
    return [text, js, rng.randbytes(n)]


def chunks(data, size):
    return [data[i:i + size] for i in range(0, len(data), size)] or [data]


# name, the offers (as python3-websockets factories), the answer wanted
OFFERS = [
    ("12 default", [Deflate()], ""),
    ("13.1 plain", [Deflate(client_max_window_bits=None)], ""),
    ("13.2 server_no_context_takeover",
     [Deflate(server_no_context_takeover=True)], ""),
    ("13.3 server_max_window_bits=8",
     [Deflate(server_max_window_bits=8)], "; server_max_window_bits=8"),
    ("13.4 server_max_window_bits=15",
     [Deflate(server_max_window_bits=15)], "; server_max_window_bits=15"),
    ("13.5 no takeover, 8 bits",
     [Deflate(server_no_context_takeover=True, server_max_window_bits=8)],
     "; server_max_window_bits=8"),
    ("13.6 no takeover, 15 bits",
     [Deflate(server_no_context_takeover=True, server_max_window_bits=15)],
     "; server_max_window_bits=15"),
    ("13.7 three offers",
     [Deflate(server_no_context_takeover=True, server_max_window_bits=8),
      Deflate(server_no_context_takeover=True), Deflate()],
     "; server_max_window_bits=8"),
    ("client_no_context_takeover, client_max_window_bits=9",
     [Deflate(client_no_context_takeover=True, client_max_window_bits=9)],
     ""),
    ("server_max_window_bits=11",
     [Deflate(server_max_window_bits=11)], "; server_max_window_bits=11"),
]
ANSWER = ("permessage-deflate; server_no_context_takeover; "
          "client_no_context_takeover")


async def echo_cases(s):
    rng = random.Random(7692)
    for name, offers, extra in OFFERS:
        ws = await chatlib.connect(s, path="/demo/echo", extensions=offers,
                                   max_size=MAX)
        got = ws.response_headers.get("Sec-WebSocket-Extensions")
        check(got == ANSWER + extra, "%s: answered %r" % (name, got))
        bad = 0
        for n in SIZES:
            for data in payloads(rng, n) * COUNT:
                # Whole, then fragmented as Autobahn's 12.x.11+ do.
                for frag in (None, 256 if n <= 4096 else 4096):
                    if frag is None:
                        await ws.send(data)
                    else:
                        await ws.send(chunks(data, frag))
                    back = await asyncio.wait_for(ws.recv(), 10)
                    if back != data:
                        bad += 1
        check(bad == 0, "%s: %d echoes differ" % (name, bad))
        await ws.close()
        check(ws.close_code == 1000, "%s: closed %r" % (name, ws.close_code))


OFFER = b"Sec-WebSocket-Extensions: permessage-deflate\r\n"


def zpeer(data):
    """Compress as a client does: raw deflate, sync flush, tail cut."""
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    out = z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


def raw(s):
    w = RawWS(s.port, "/demo/echo", handshake=False)
    w.sock.sendall((chatlib.HANDSHAKE % ("/demo/echo", s.port)).encode()
                   [:-2] + OFFER + b"\r\n")
    while b"\r\n\r\n" not in w.buf:
        w.buf += w.sock.recv(4096)
    head, w.buf = w.buf.split(b"\r\n\r\n", 1)
    check(b"101 " in head and b"permessage-deflate" in head,
          "raw handshake with the offer: %r" % head[:200])
    return w


def raw_frame(w, timeout=5):
    """(first byte, payload) of the next frame from the server."""
    deadline = time.monotonic() + timeout
    w._need(2, deadline)
    b0, n, hl = w.buf[0], w.buf[1] & 0x7f, 2
    if n == 126:
        w._need(4, deadline)
        n, hl = int.from_bytes(w.buf[2:4], "big"), 4
    elif n == 127:
        w._need(10, deadline)
        n, hl = int.from_bytes(w.buf[2:10], "big"), 10
    w._need(hl + n, deadline)
    p = w.buf[hl:hl + n]
    w.buf = w.buf[hl + n:]
    return b0, p


def raw_cases(s):
    # The server compresses what gains, and only that.
    w = raw(s)
    text = ("hello " * 500).encode()
    w.send(frame(1, text))
    b0, p = raw_frame(w)
    check(b0 == 0xc1 and len(p) < 100, "echo compressed: %#x, %d bytes"
          % (b0, len(p)))
    d = zlib.decompressobj(-15)
    check(d.decompress(p + b"\x00\x00\xff\xff") == text,
          "the compressed echo inflates to the message")
    w.send(frame(1, b"hi"))
    b0, p = raw_frame(w)
    check(b0 == 0x81 and p == b"hi", "a short echo goes uncompressed")
    # A compressed message in frames, a ping between them.
    z = zpeer("分片的消息 ".encode() * 300)
    w.send(frame(1, z[:10], fin=False, rsv=4) + frame(9, b"p") +
           frame(0, z[10:]))
    b0, p = raw_frame(w)
    check(b0 == 0x8a and p == b"p", "the ping inside is answered")
    b0, p = raw_frame(w)
    got = zlib.decompressobj(-15).decompress(p + b"\x00\x00\xff\xff") \
        if b0 & 0x40 else p
    check(got == "分片的消息 ".encode() * 300,
          "fragmented compressed message echoed")
    w.close()

    for what, data, code in [
            ("a zip bomb (16 MB of zeros)",
             frame(2, zpeer(bytes(16 << 20)), rsv=4), 1009),
            ("invalid UTF-8 once inflated",
             frame(1, zpeer(b"ok \xed\xa0\x80"), rsv=4), 1007),
            ("not deflate data", frame(1, b"\xff\xff\xff\xff", rsv=4), 1007),
            ("RSV1 on a continuation",
             frame(1, b"a", fin=False) + frame(0, b"b", rsv=4), 1002),
            ("RSV1 on a ping", frame(9, b"", rsv=4), 1002)]:
        w = raw(s)
        w.send(data)
        c = w.recv_close()
        check(c is not None and c[0] == code,
              "%s: closed with %r, want %d" % (what, c, code))
        w.close()

    # Without the offer, RSV1 is still a protocol error.
    w = RawWS(s.port, "/demo/echo")
    w.send(frame(1, zpeer(b"hello hello"), rsv=4))
    c = w.recv_close()
    check(c is not None and c[0] == 1002, "RSV1 unnegotiated: %r" % (c,))
    w.close()
    # And an offer the server cannot read is answered without one.
    w = RawWS(s.port, "/demo/echo", handshake=False)
    w.sock.sendall((chatlib.HANDSHAKE % ("/demo/echo", s.port)).encode()
                   [:-2] + b"Sec-WebSocket-Extensions: permessage-deflate;"
                   b"\r\n\r\n")
    while b"\r\n\r\n" not in w.buf:
        w.buf += w.sock.recv(4096)
    check(b" 101 " in w.buf and b"Sec-WebSocket-Extensions" not in w.buf,
          "a malformed offer is declined: %r" % w.buf[:300])
    w.close()


async def chat_case(s):
    """Two compressing users chat, CJK and emoji intact."""
    a = await chatlib.connect(s, "dz1")
    b = await chatlib.connect(s, "dz2")
    text = "压缩的聊天 😀 " * 40
    await chatlib.send(a, {"message": text, "target_user": "dz2", "id": 1})
    m, _ = await chatlib.recv_until(b, lambda m: "message" in m)
    check(m.get("message") == text and m.get("from_user") == "dz1",
          "compressed chat message arrives intact")
    await a.close()
    await b.close()


def main():
    with chatlib.Server("-m", str(MAX), "-o", "4m") as s:
        chatlib.run(echo_cases(s))
        raw_cases(s)
        chatlib.run(chat_case(s))
        # A good client is still served after all of the above.
        w = RawWS(s.port, "/demo/echo")
        w.send_text("still here")
        fin, op, p = w.recv_frame()
        check(p == b"still here", "server still echoes")
        w.close()
    chatlib.done()


if __name__ == "__main__":
    main()
