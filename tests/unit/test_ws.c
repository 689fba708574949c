/*
 * Copyright (c) 2026 The chat authors.
 *
 * Unit tests for common/ws.c without a network: a ws_conn over one end
 * of a socketpair, fed hand-built frames through ws_conn_feed() whole,
 * split at every byte, and in random pieces.  Checks that messages
 * arrive intact, that the wslay context is released exactly at frame
 * boundaries (never mid-frame or mid-message), that violations close
 * with the RFC code, and the output cap and stream offsets.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
}

int
main(void)
{
	test_split_every_byte(WS_ROLE_SERVER);
	test_split_every_byte(WS_ROLE_CLIENT);
	test_violations();
	test_fragments();
	test_output();
	return test_done();
}
