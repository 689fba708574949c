/*
 * Copyright (c) 2026 The chat authors.
 *
 * Unit tests for common/ws.c without a network: a ws_conn over one end
 * of a socketpair, fed hand-built frames through ws_conn_feed() whole,
 * split at every byte, and in random pieces.  Checks that messages
 * arrive intact, that the wslay context is released exactly at frame
 * boundaries (never mid-frame or mid-message), that violations close
 * with the RFC code, the output cap and stream offsets, and
 * permessage-deflate both ways (zlib as the peer's compressor).
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zlib.h>

#include "pmce.h"
#include "tap.h"
#include "transport.h"
#include "util.h"
#include "ws.h"

struct got {
	int	n;
	size_t	total;
	char	last[70000];
	size_t	lastlen;
	int	op;
	int	closes;
};

static void
on_msg(void *arg, enum ws_opcode op, const uint8_t *p, size_t len)
{
	struct got	*g = arg;

	g->n++;
	g->total += len;
	g->op = op;
	g->lastlen = len < sizeof(g->last) ? len : sizeof(g->last);
	memcpy(g->last, p, g->lastlen);
}

static void
on_close(void *arg, uint16_t code, const uint8_t *r, size_t len)
{
	((struct got *)arg)->closes++;
}

static const struct ws_callbacks cbs = { on_msg, on_close };

static struct ws_conn *
mkconn(enum ws_role role, struct got *g, int *peer, size_t max_out)
{
	struct ws_config	cfg = { role, 70000, max_out };
	int			sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return NULL;
	util_set_nonblock(sv[0]);
	util_set_nonblock(sv[1]);
	*peer = sv[1];
	memset(g, 0, sizeof(*g));
	return ws_conn_new(&cfg, tp_plain_new(sv[0]), &cbs, g);
}

/* A frame as a client sends it (masked) or a server (mask == 0). */
static size_t
frame(uint8_t *out, int fin, int op, const void *p, size_t len, int mask)
{
	static const uint8_t	key[4] = { 0x37, 0xfa, 0x21, 0x3d };
	const uint8_t		*src = p;
	size_t			 o = 0, i;

	out[o++] = (uint8_t)((fin ? 0x80 : 0) | op);
	if (len < 126)
		out[o++] = (uint8_t)((mask ? 0x80 : 0) | len);
	else if (len < 65536) {
		out[o++] = (uint8_t)((mask ? 0x80 : 0) | 126);
		out[o++] = (uint8_t)(len >> 8);
		out[o++] = (uint8_t)len;
	} else {
		out[o++] = (uint8_t)((mask ? 0x80 : 0) | 127);
		for (i = 0; i < 8; i++)
			out[o++] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
	}
	if (mask) {
		memcpy(out + o, key, 4);
		o += 4;
	}
	for (i = 0; i < len; i++)
		out[o + i] = mask ? src[i] ^ key[i % 4] : src[i];
	return o + len;
}

/*
 * Feed buf split at position k, trimming after each piece: the context
 * may go away only when everything fed so far is whole frames.
 */
static void
test_split_every_byte(enum ws_role role)
{
	static uint8_t	 buf[140000];
	static char	 big[66000];
	struct got	 g;
	struct ws_conn	*c;
	size_t		 len = 0, k, ends[8], nends = 0, i;
	int		 peer, bad = 0, mask = role == WS_ROLE_SERVER;

	memset(big, 'b', sizeof(big));
	len += frame(buf + len, 1, 1, "hello", 5, mask);
	ends[nends++] = len;
	len += frame(buf + len, 1, 1, big, 300, mask);	/* 16-bit length */
	ends[nends++] = len;
	len += frame(buf + len, 0, 1, "frag", 4, mask);	/* fragmented... */
	len += frame(buf + len, 1, 9, "pi", 2, mask);	/* ...ping inside */
	len += frame(buf + len, 1, 0, "ment", 4, mask);
	ends[nends++] = len;
	len += frame(buf + len, 1, 2, big, 65600, mask);	/* 64-bit length */
	ends[nends++] = len;
	len += frame(buf + len, 1, 1, "", 0, mask);
	ends[nends++] = len;

	for (k = 0; k <= len; k += (k < 400 || k > len - 400) ? 1 : 97) {
		size_t	pos[2] = { k, len };
		size_t	start = 0, p;

		c = mkconn(role, &g, &peer, 1 << 20);
		for (p = 0; p < 2; p++) {
			int	boundary = 0;

			if (pos[p] > start)
				ws_conn_feed(c, buf + start, pos[p] - start);
			start = pos[p];
			ws_conn_trim(c);
			for (i = 0; i < nends; i++)
				if (ends[i] == start)
					boundary = 1;
			if (start == 0)
				boundary = 1;
			if (ws_conn_at_rest(c) != boundary)
				bad++;
		}
		if (g.n != 5 || g.total != 5 + 300 + 8 + 65600 ||
		    ws_conn_close_sent(c))
			bad++;
		ws_conn_free(c);
		close(peer);
	}
	CHECK_INT(bad, 0);

	/* One byte at a time, trimming after every byte. */
	c = mkconn(role, &g, &peer, 1 << 20);
	bad = 0;
	for (k = 0; k < len; k++) {
		int	boundary = 0;

		ws_conn_feed(c, buf + k, 1);
		ws_conn_trim(c);
		for (i = 0; i < nends; i++)
			if (ends[i] == k + 1)
				boundary = 1;
		if (ws_conn_at_rest(c) != boundary)
			bad++;
	}
	CHECK_INT(bad, 0);
	CHECK_INT(g.n, 5);
	CHECK_INT(g.op, WS_OP_TEXT);
	ws_conn_free(c);
	close(peer);
}

static void
test_violations(void)
{
	uint8_t		 buf[256];
	struct got	 g;
	struct ws_conn	*c;
	size_t		 len;
	int		 peer;

	/* Unmasked frame to a server: 1002. */
	c = mkconn(WS_ROLE_SERVER, &g, &peer, 1 << 20);
	len = frame(buf, 1, 1, "x", 1, 0);
	ws_conn_feed(c, buf, len);
	CHECK(ws_conn_close_sent(c));
	CHECK_INT(ws_conn_code_sent(c), 1002);
	ws_conn_trim(c);
	CHECK(!ws_conn_at_rest(c));
	ws_conn_free(c);
	close(peer);

	/*
	 * A ping over 125 bytes, refused by wslay's frame parser itself:
	 * still answered with 1002, not a close without a code.
	 */
	c = mkconn(WS_ROLE_SERVER, &g, &peer, 1 << 20);
	{
		static char	 big[200];

		len = frame(buf, 1, 9, big, 126, 1);
		ws_conn_feed(c, buf, len);
	}
	CHECK(ws_conn_close_sent(c));
	CHECK_INT(ws_conn_code_sent(c), 1002);
	ws_conn_flush(c);
	CHECK(ws_conn_done(c));
	ws_conn_free(c);
	close(peer);

	/* Invalid UTF-8 split across two feeds, mid-fragment: 1007. */
	c = mkconn(WS_ROLE_SERVER, &g, &peer, 1 << 20);
	len = frame(buf, 0, 1, "ok\xe4\xbd", 4, 1);
	ws_conn_feed(c, buf, len);
	CHECK(!ws_conn_close_sent(c));
	len = frame(buf, 1, 0, "\x41", 1, 1);
	ws_conn_feed(c, buf, len);
	CHECK_INT(ws_conn_code_sent(c), 1007);
	CHECK_INT(g.n, 0);
	ws_conn_free(c);
	close(peer);

	/*
	 * A 64-bit length over max_message: 1009 before any allocation
	 * (wslay looks at the length once the first payload byte is in).
	 */
	c = mkconn(WS_ROLE_SERVER, &g, &peer, 1 << 20);
	memcpy(buf, "\x81\xff\x00\x04\x00\x00\x00\x00\x00\x00\x01\x02\x03\x04"
	    "x", 15);
	ws_conn_feed(c, buf, 15);
	CHECK_INT(ws_conn_code_sent(c), 1009);
	ws_conn_free(c);
	close(peer);

	/* A peer's close is echoed with its code. */
	c = mkconn(WS_ROLE_SERVER, &g, &peer, 1 << 20);
	len = frame(buf, 1, 8, "\x03\xe8" "bye", 5, 1);
	ws_conn_feed(c, buf, len);
	CHECK_INT(g.closes, 1);
	CHECK(ws_conn_close_received(c));
	CHECK_INT(ws_conn_code_received(c), 1000);
	CHECK_INT(ws_conn_code_sent(c), 1000);
	ws_conn_flush(c);
	CHECK(ws_conn_done(c));
	ws_conn_free(c);
	close(peer);
}

/*
 * Many tiny fragments make one message, and cost one buffer of the
 * message's size; their total, not each frame, is held to max_message.
 */
static void
test_fragments(void)
{
	static uint8_t	 buf[1 << 16];
	static char	 chunk[40000];
	struct got	 g;
	struct ws_conn	*c;
	size_t		 len = 0;
	int		 peer, i;

	c = mkconn(WS_ROLE_SERVER, &g, &peer, 1 << 20);
	for (i = 0; i < 3000; i++)
		len += frame(buf + len, i == 2999, i == 0 ? 1 : 0, "y", 1, 1);
	ws_conn_feed(c, buf, len);
	CHECK_INT(g.n, 1);
	CHECK_INT(g.lastlen, 3000);
	CHECK(g.last[0] == 'y' && g.last[2999] == 'y');
	CHECK(!ws_conn_close_sent(c));
	ws_conn_free(c);
	close(peer);

	/* Two 40000-byte fragments pass 70000 together: 1009. */
	memset(chunk, 'z', sizeof(chunk));
	c = mkconn(WS_ROLE_SERVER, &g, &peer, 1 << 20);
	len = frame(buf, 0, 2, chunk, sizeof(chunk), 1);
	ws_conn_feed(c, buf, len);
	CHECK(!ws_conn_close_sent(c));
	len = frame(buf, 1, 0, chunk, sizeof(chunk), 1);
	ws_conn_feed(c, buf, len);
	CHECK_INT(ws_conn_code_sent(c), 1009);
	CHECK_INT(g.n, 0);
	ws_conn_free(c);
	close(peer);
}

static void
test_output(void)
{
	static char	 big[3000];
	uint8_t		 rd[8192];
	struct got	 g;
	struct ws_conn	*c;
	uint64_t	 end1, end2;
	int		 peer;
	ssize_t		 n;

	memset(big, 'x', sizeof(big));
	c = mkconn(WS_ROLE_SERVER, &g, &peer, 4096);
	CHECK(ws_conn_at_rest(c));
	CHECK_INT(ws_conn_send(c, WS_OP_TEXT, "hi", 2, &end1), 0);
	CHECK_INT(end1, 4);		/* 2-byte header, unmasked */
	CHECK_INT(ws_conn_send(c, WS_OP_TEXT, big, 3000, &end2), 0);
	CHECK_INT(end2, 4 + 4 + 3000);
	/* Sending needs no parser state. */
	CHECK(ws_conn_at_rest(c));
	/* Over the 4096-byte cap: refused, nothing queued. */
	CHECK_INT(ws_conn_send(c, WS_OP_TEXT, big, 3000, NULL), WS_ERR_FULL);
	CHECK_INT(ws_conn_queued(c), end2);
	CHECK_INT(ws_conn_send(c, WS_OP_TEXT, "\xff", 1, NULL),
	    WS_ERR_INVALID);
	CHECK(ws_conn_events(c) & POLLOUT);
	CHECK_INT(ws_conn_flush(c), 0);
	CHECK_INT(ws_conn_written(c), end2);
	CHECK_INT(ws_conn_pending(c), 0);
	n = read(peer, rd, sizeof(rd));
	CHECK_INT(n, (ssize_t)end2);
	CHECK(n >= 4 && memcmp(rd, "\x81\x02hi", 4) == 0);
	ws_conn_trim(c);
	CHECK(ws_conn_at_rest(c));
	/* Truncate drops what was queued past an offset. */
	ws_conn_send(c, WS_OP_TEXT, "a", 1, &end1);
	ws_conn_send(c, WS_OP_TEXT, "b", 1, NULL);
	ws_conn_truncate(c, end1);
	CHECK_INT(ws_conn_pending(c), 3);
	CHECK_INT(ws_conn_close(c, 1008, "slow"), 0);
	CHECK(ws_conn_close_sent(c));
	CHECK_INT(ws_conn_send(c, WS_OP_TEXT, "c", 1, NULL), WS_ERR_CLOSED);
	ws_conn_flush(c);
	n = read(peer, rd, sizeof(rd));
	CHECK_INT(n, 3 + 8);
	CHECK(n == 11 && rd[3] == 0x88 && rd[5] == 0x03 && rd[6] == 0xf0);
	ws_conn_free(c);
	close(peer);

	/* A client masks what it sends, a fresh key per frame. */
	c = mkconn(WS_ROLE_CLIENT, &g, &peer, 4096);
	CHECK_INT(ws_conn_send(c, WS_OP_BINARY, "hi", 2, &end1), 0);
	CHECK_INT(ws_conn_send(c, WS_OP_TEXT, "yo", 2, &end2), 0);
	CHECK_INT(end1, 2 + 4 + 2);
	CHECK_INT(end2, 2 * (2 + 4 + 2));
	CHECK_INT(ws_conn_flush(c), 0);
	n = read(peer, rd, sizeof(rd));
	CHECK_INT(n, 16);
	CHECK(n == 16 && rd[0] == 0x82 && rd[1] == 0x82 &&
	    (rd[6] ^ rd[2]) == 'h' && (rd[7] ^ rd[3]) == 'i');
	CHECK(n == 16 && rd[8] == 0x81 && rd[9] == 0x82 &&
	    (rd[14] ^ rd[10]) == 'y' && (rd[15] ^ rd[11]) == 'o');
	ws_conn_free(c);
	close(peer);
}

/*
 * The output buffer through its paths: made at the first message,
 * grown past its first 4 KB, compacted after partial writes (a small
 * send buffer and a peer reading only now and then), given back when
 * flushed.  The peer gets every frame whole and in order.
 */
static void
test_output_buffer(void)
{
	enum { NMSG = 300, LEN = 1000, FRAME = 4 + LEN };
	static uint8_t	 in[NMSG * FRAME];
	uint8_t		 msg[LEN];
	struct got	 g;
	struct ws_conn	*c;
	size_t		 got = 0, bad = 0, i, k;
	int		 peer, sndbuf = 4096, partial = 0, rounds = 0;
	ssize_t		 n;

	c = mkconn(WS_ROLE_SERVER, &g, &peer, 1 << 20);
	CHECK(c != NULL);
	if (c == NULL)
		return;
	CHECK_INT(setsockopt(ws_conn_fd(c), SOL_SOCKET, SO_SNDBUF, &sndbuf,
	    sizeof(sndbuf)), 0);
	for (i = 0; i < NMSG; i++) {
		memset(msg, (int)(i % 251), sizeof(msg));
		if (ws_conn_send(c, WS_OP_BINARY, msg, LEN, NULL) != 0)
			bad++;
		/* Now and then: write what the socket takes, read some. */
		if (i % 7 == 6) {
			CHECK_INT(ws_conn_flush(c), 0);
			if (ws_conn_pending(c) > 0)
				partial++;
			if (i % 21 == 20 && (n = recv(peer, in + got,
			    sizeof(in) - got, MSG_DONTWAIT)) > 0)
				got += (size_t)n;
		}
	}
	CHECK_INT(bad, 0);
	CHECK_INT(ws_conn_queued(c), NMSG * FRAME);
	CHECK(partial > 0);		/* the paths under test were taken */
	while (got < sizeof(in) && rounds++ < 10000) {
		CHECK_INT(ws_conn_flush(c), 0);
		if ((n = recv(peer, in + got, sizeof(in) - got,
		    MSG_DONTWAIT)) > 0)
			got += (size_t)n;
	}
	CHECK_INT(got, sizeof(in));
	CHECK_INT(ws_conn_pending(c), 0);
	CHECK_INT(ws_conn_written(c), NMSG * FRAME);
	for (i = 0, bad = 0; i < NMSG; i++) {
		const uint8_t	*f = in + i * FRAME;

		if (f[0] != 0x82 || f[1] != 126 || f[2] != LEN >> 8 ||
		    f[3] != (LEN & 0xff))
			bad++;
		for (k = 0; k < LEN; k++)
			if (f[4 + k] != i % 251)
				bad++;
	}
	CHECK_INT(bad, 0);
	/* Flushed: trimming gives the buffer back; sending makes another. */
	ws_conn_trim(c);
	CHECK(ws_conn_at_rest(c));
	CHECK_INT(ws_conn_send(c, WS_OP_TEXT, "hi", 2, NULL), 0);
	CHECK_INT(ws_conn_pending(c), 4);
	CHECK_INT(ws_conn_queued(c), NMSG * FRAME + 4);
	ws_conn_free(c);
	close(peer);
}

/*
 * Compress as a peer does (RFC 7692 section 7.2.1): raw deflate, sync
 * flush, the final 00 00 ff ff dropped.  z is reused (context takeover)
 * unless NULL.
 */
static size_t
zpeer(z_stream *z, const void *p, size_t len, uint8_t *out, size_t cap)
{
	z_stream	own;
	size_t		n;

	if (z == NULL) {
		memset(&own, 0, sizeof(own));
		if (deflateInit2(&own, 9, Z_DEFLATED, -15, 8,
		    Z_DEFAULT_STRATEGY) != Z_OK)
			return 0;
		z = &own;
	}
	z->next_in = (Bytef *)(uintptr_t)p;
	z->avail_in = (uInt)len;
	z->next_out = out;
	z->avail_out = (uInt)cap;
	if (deflate(z, Z_SYNC_FLUSH) != Z_OK || z->avail_out == 0)
		n = 0;
	else
		n = cap - z->avail_out - 4;
	if (z == &own)
		deflateEnd(&own);
	return n;
}

/* Inflate a whole compressed message as a peer does. */
static size_t
zunpeer(const uint8_t *p, size_t len, uint8_t *out, size_t cap)
{
	z_stream	z;
	size_t		n = 0;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, -15) != Z_OK)
		return 0;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	z.next_in = (Bytef *)(uintptr_t)p;
	z.avail_in = (uInt)len;
	if (inflate(&z, Z_SYNC_FLUSH) == Z_OK) {
		z.next_in = (Bytef *)(uintptr_t)"\x00\x00\xff\xff";
		z.avail_in = 4;
		if (inflate(&z, Z_SYNC_FLUSH) != Z_DATA_ERROR)
			n = cap - z.avail_out;
	}
	inflateEnd(&z);
	return n;
}

static struct ws_conn *
mkdeflate(enum ws_role role, struct got *g, int *peer, int bits,
    int takeover)
{
	struct pmce_params	 pp = { 1, (uint8_t)bits, (uint8_t)takeover };
	struct ws_conn		*c;

	if ((c = mkconn(role, g, peer, 1 << 20)) != NULL)
		ws_conn_set_deflate(c, &pp);
	return c;
}

/*
 * A compressed message in two frames, split at every byte: it arrives
 * intact, and the connection comes to rest only at message boundaries.
 */
static void
test_deflate_in(void)
{
	static uint8_t	 z[70000], buf[80000], text[60000];
	struct got	 g;
	struct ws_conn	*c;
	size_t		 zl, len = 0, half, k, i;
	int		 peer, bad = 0;

	for (i = 0; i + 12 <= sizeof(text); i += 12)
		memcpy(text + i, "h\xc3\xa9llo w\xc3\xb6rld", 12);
	zl = zpeer(NULL, text, sizeof(text), z, sizeof(z));
	CHECK(zl > 0 && zl < 1000);
	half = zl / 2;
	len += frame(buf + len, 0, 0x41, z, half, 1);
	len += frame(buf + len, 1, 9, "p", 1, 1);	/* a ping between */
	len += frame(buf + len, 1, 0, z + half, zl - half, 1);
	for (k = 1; k <= len; k++) {
		c = mkdeflate(WS_ROLE_SERVER, &g, &peer, 15, 0);
		ws_conn_feed(c, buf, k);
		ws_conn_trim(c);
		if (k < len && ws_conn_at_rest(c))
			bad++;
		ws_conn_feed(c, buf + k, len - k);
		ws_conn_trim(c);
		if (g.n != 1 || g.op != WS_OP_TEXT ||
		    g.lastlen != sizeof(text) ||
		    memcmp(g.last, text, g.lastlen) != 0 ||
		    ws_conn_close_sent(c) || !ws_conn_at_rest(c))
			bad++;
		ws_conn_free(c);
		close(peer);
	}
	CHECK_INT(bad, 0);

	/* Uncompressed messages still pass on a deflate connection. */
	c = mkdeflate(WS_ROLE_SERVER, &g, &peer, 15, 0);
	len = frame(buf, 1, 2, "\xff\x00", 2, 1);
	ws_conn_feed(c, buf, len);
	CHECK_INT(g.n, 1);
	CHECK_INT(g.op, WS_OP_BINARY);
	/* Empty compressed message: an empty block, or no bytes at all. */
	len = frame(buf, 1, 0x41, "\x00", 1, 1);
	len += frame(buf + len, 1, 0x41, "", 0, 1);
	ws_conn_feed(c, buf, len);
	CHECK_INT(g.n, 3);
	CHECK_INT(g.lastlen, 0);
	CHECK(!ws_conn_close_sent(c));
	ws_conn_free(c);
	close(peer);

	/* With takeover the peer's window spans messages. */
	{
		z_stream	zs;

		memset(&zs, 0, sizeof(zs));
		deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
		c = mkdeflate(WS_ROLE_CLIENT, &g, &peer, 15, 1);
		for (i = 0; i < 3; i++) {
			zl = zpeer(&zs, text, 5000, z, sizeof(z));
			len = frame(buf, 1, 0x42, z, zl, 0);
			ws_conn_feed(c, buf, len);
		}
		CHECK(zl < 100);		/* the window was used */
		CHECK_INT(g.n, 3);
		CHECK_INT(g.lastlen, 5000);
		CHECK(memcmp(g.last, text, 5000) == 0);
		CHECK(!ws_conn_close_sent(c));
		ws_conn_trim(c);
		CHECK(!ws_conn_at_rest(c));	/* it holds the window */
		deflateEnd(&zs);
		ws_conn_free(c);
		close(peer);
	}
}

/* What a deflate connection must refuse, and with which code. */
static void
test_deflate_bad(void)
{
	static uint8_t	 zeros[10 << 20], z[1 << 16], buf[1 << 17];
	struct got	 g;
	struct ws_conn	*c;
	size_t		 zl, len;
	int		 peer;

	/* 10 MB of zeros in 10 KB: 1009 once 70000 bytes came out. */
	zl = zpeer(NULL, zeros, sizeof(zeros), z, sizeof(z));
	CHECK(zl > 0 && zl < 20000);
	c = mkdeflate(WS_ROLE_SERVER, &g, &peer, 15, 0);
	len = frame(buf, 1, 0x42, z, zl, 1);
	ws_conn_feed(c, buf, len);
	CHECK_INT(ws_conn_code_sent(c), 1009);
	CHECK_INT(g.n, 0);
	ws_conn_free(c);
	close(peer);

	/* Exactly max_message inflated is fine. */
	zl = zpeer(NULL, zeros, 70000, z, sizeof(z));
	c = mkdeflate(WS_ROLE_SERVER, &g, &peer, 15, 0);
	len = frame(buf, 1, 0x42, z, zl, 1);
	ws_conn_feed(c, buf, len);
	CHECK_INT(g.n, 1);
	CHECK_INT(g.lastlen, 70000);
	CHECK(!ws_conn_close_sent(c));
	ws_conn_free(c);
	close(peer);

	/* Invalid UTF-8 once inflated: 1007 for text, fine for binary. */
	zl = zpeer(NULL, "ok \xc0\xaf", 5, z, sizeof(z));
	c = mkdeflate(WS_ROLE_SERVER, &g, &peer, 15, 0);
	len = frame(buf, 1, 0x42, z, zl, 1);
	ws_conn_feed(c, buf, len);
	CHECK_INT(g.n, 1);
	len = frame(buf, 1, 0x41, z, zl, 1);
	ws_conn_feed(c, buf, len);
	CHECK_INT(g.n, 1);
	CHECK_INT(ws_conn_code_sent(c), 1007);
	ws_conn_free(c);
	close(peer);

	/* Not deflate data: 1007. */
	c = mkdeflate(WS_ROLE_SERVER, &g, &peer, 15, 0);
	len = frame(buf, 1, 0x41, "\xff\xff\xff\xff", 4, 1);
	ws_conn_feed(c, buf, len);
	CHECK_INT(ws_conn_code_sent(c), 1007);
	CHECK_INT(g.n, 0);
	ws_conn_free(c);
	close(peer);

	/* RSV1 on a continuation or a control frame: 1002. */
	c = mkdeflate(WS_ROLE_SERVER, &g, &peer, 15, 0);
	len = frame(buf, 0, 1, "a", 1, 1);
	len += frame(buf + len, 1, 0x40, "b", 1, 1);
	ws_conn_feed(c, buf, len);
	CHECK_INT(ws_conn_code_sent(c), 1002);
	ws_conn_free(c);
	close(peer);
	c = mkdeflate(WS_ROLE_SERVER, &g, &peer, 15, 0);
	len = frame(buf, 1, 0x49, "", 0, 1);
	ws_conn_feed(c, buf, len);
	CHECK_INT(ws_conn_code_sent(c), 1002);
	ws_conn_free(c);
	close(peer);

	/* RSV1 without the extension: 1002, as before. */
	c = mkconn(WS_ROLE_SERVER, &g, &peer, 1 << 20);
	zl = zpeer(NULL, "hello hello hello", 17, z, sizeof(z));
	len = frame(buf, 1, 0x41, z, zl, 1);
	ws_conn_feed(c, buf, len);
	CHECK_INT(ws_conn_code_sent(c), 1002);
	CHECK_INT(g.n, 0);
	ws_conn_free(c);
	close(peer);
}

/* What goes out: compressed when that is shorter, RSV1 set. */
static void
test_deflate_out(void)
{
	static char	 text[4000];
	static uint8_t	 rd[8192], out[8192];
	struct got	 g;
	struct ws_conn	*c;
	ssize_t		 n;
	size_t		 i, hl;
	int		 peer;

	for (i = 0; i < sizeof(text); i++)
		text[i] = "chat message "[i % 13];
	c = mkdeflate(WS_ROLE_SERVER, &g, &peer, 15, 0);
	CHECK_INT(ws_conn_send(c, WS_OP_TEXT, text, sizeof(text), NULL), 0);
	CHECK_INT(ws_conn_send(c, WS_OP_TEXT, "short", 5, NULL), 0);
	ws_conn_flush(c);
	n = read(peer, rd, sizeof(rd));
	CHECK(n > 2 && n < 200);
	CHECK_INT(rd[0], 0xc1);		/* FIN, RSV1, text */
	hl = 2;
	CHECK_INT(zunpeer(rd + hl, rd[1], out, sizeof(out)), sizeof(text));
	CHECK(memcmp(out, text, sizeof(text)) == 0);
	hl += rd[1];
	CHECK(n == (ssize_t)hl + 7 && rd[hl] == 0x81 && rd[hl + 1] == 5);
	ws_conn_trim(c);
	CHECK(ws_conn_at_rest(c));
	ws_conn_free(c);
	close(peer);

	/*
	 * An 8-bit window (zlib makes 9 at least): only messages of 256
	 * bytes or less may be compressed.
	 */
	c = mkdeflate(WS_ROLE_CLIENT, &g, &peer, 8, 0);
	CHECK_INT(ws_conn_send(c, WS_OP_BINARY, text, 256, NULL), 0);
	ws_conn_flush(c);
	n = read(peer, rd, sizeof(rd));
	CHECK(n > 6 && rd[0] == 0xc2 && (rd[1] & 0x7f) < 100);
	CHECK_INT(ws_conn_send(c, WS_OP_BINARY, text, 257, NULL), 0);
	ws_conn_flush(c);
	n = read(peer, rd, sizeof(rd));
	CHECK(n == 4 + 4 + 257 && rd[0] == 0x82);
	ws_conn_free(c);
	close(peer);
}

/*
 * Connections in caller-owned storage (the server's struct client): two
 * share one struct ws_shared, each works on its own, the end of the
 * output stream follows what is written and pending, and release frees
 * what each holds (the sanitizer build checks) without its storage.
 */
struct holder {
	struct got	 g;
	uint64_t	 ws[];		/* the connection */
};

static void
test_embedded(void)
{
	struct ws_config	 cfg = { WS_ROLE_SERVER, 70000, 4096 };
	struct ws_shared	 sh;
	struct got		*g[2];
	struct ws_conn		*c[2];
	struct holder		*mem[2];
	uint64_t		 end;
	uint8_t			 buf[64], rd[64];
	size_t			 len;
	int			 sv[2][2], i;
	ssize_t			 n;

	CHECK(ws_conn_size() > 0 && ws_conn_size() % sizeof(void *) == 0);
	ws_shared_init(&sh, &cfg, &cbs, offsetof(struct holder, ws));
	CHECK_INT(sh.max_output, 4096);
	CHECK(ws_conn_init(&sh, &sh, NULL) == NULL);	/* no tp */
	for (i = 0; i < 2; i++) {
		CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]), 0);
		util_set_nonblock(sv[i][0]);
		mem[i] = calloc(1, sizeof(*mem[i]) + ws_conn_size());
		CHECK(mem[i] != NULL);
		g[i] = &mem[i]->g;
		c[i] = ws_conn_init(mem[i]->ws, &sh, tp_plain_new(sv[i][0]));
		CHECK((void *)c[i] == (void *)mem[i]->ws);
	}
	/* A message to each: each callback gets the holder around it. */
	for (i = 0; i < 2; i++) {
		len = frame(buf, 1, 1, i == 0 ? "zero" : "one!", 4, 1);
		CHECK_INT(write(sv[i][1], buf, len), (ssize_t)len);
		CHECK_INT(ws_conn_on_readable(c[i]), 0);
		CHECK_INT(g[i]->n, 1);
		CHECK(g[i]->lastlen == 4 && memcmp(g[i]->last,
		    i == 0 ? "zero" : "one!", 4) == 0);
	}
	/* The stream's end is written + pending, through a truncation. */
	CHECK_INT(ws_conn_send(c[0], WS_OP_TEXT, "hi", 2, &end), 0);
	CHECK_INT(end, 4);
	CHECK_INT(ws_conn_queued(c[0]), 4);
	CHECK_INT(ws_conn_flush(c[0]), 0);
	CHECK_INT(ws_conn_written(c[0]), 4);
	CHECK_INT(ws_conn_send(c[0], WS_OP_TEXT, "a", 1, &end), 0);
	CHECK_INT(end, 7);
	CHECK_INT(ws_conn_send(c[0], WS_OP_TEXT, "b", 1, &end), 0);
	CHECK_INT(ws_conn_queued(c[0]), 10);
	ws_conn_truncate(c[0], 7);
	CHECK_INT(ws_conn_queued(c[0]), 7);
	CHECK_INT(ws_conn_pending(c[0]), 3);
	ws_conn_truncate(c[0], 11);		/* beyond the end: ignored */
	CHECK_INT(ws_conn_queued(c[0]), 7);
	CHECK_INT(ws_conn_flush(c[0]), 0);
	n = read(sv[0][1], rd, sizeof(rd));
	CHECK_INT(n, 7);
	CHECK(n == 7 && memcmp(rd + 4, "\x81\x01" "a", 3) == 0);
	/* Released with an output buffer and a parser: nothing leaks. */
	CHECK_INT(ws_conn_send(c[1], WS_OP_TEXT, "x", 1, NULL), 0);
	for (i = 0; i < 2; i++) {
		ws_conn_release(c[i]);
		free(mem[i]);
		close(sv[i][1]);
	}
}

int
main(void)
{
	test_split_every_byte(WS_ROLE_SERVER);
	test_split_every_byte(WS_ROLE_CLIENT);
	test_violations();
	test_fragments();
	test_output();
	test_output_buffer();
	test_embedded();
	test_deflate_in();
	test_deflate_bad();
	test_deflate_out();
	return test_done();
}
