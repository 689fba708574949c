/*
 * Copyright (c) 2026 The chat authors.
 *
 * ws: the WebSocket frame layer for both programs, on wslay's event API.
 * This file is the only user of <wslay/wslay.h>.
 *
 * Input: one read per readable event into a buffer shared by every
 * connection (the programs are single-threaded), then wslay parses it
 * through the recv callback, which hands out that slice and reports
 * WOULDBLOCK when it is used up.  wslay validates UTF-8 in text messages
 * and close reasons (closing with 1007), answers pings and echoes close
 * codes.  It runs without buffering data messages: wslay's own
 * reassembly allocates per fragment (a message in one-byte fragments
 * would cost some ten times its size) and copies twice.  Instead a frame
 * whose whole payload arrives in one piece is passed on where it lies,
 * and anything else is gathered in one buffer per connection, bounded by
 * max_message (1009 beyond it, checked before anything is stored).
 *
 * Output: every frame goes into our own per-connection buffer at once,
 * so the caller can flush each connection with one write per loop pass
 * and knows the exact stream offset at which each message ends.  A data
 * message is framed by wslay's frame layer straight into that buffer
 * (room made first, so its send callback never refuses); wslay's event
 * queue copied each message once more and allocated twice for it, and
 * needed the connection's event context (13 KB) just to send.  Control
 * frames (pings, pongs, closes) go through the event queue, which is
 * drained into the buffer at once; when it could not be (the buffer at
 * its cap), data goes through it too, so order is kept.
 *
 * Memory: a wslay event context costs about 13 KB (its input and output
 * buffers are inline), so an idle connection holds none.  One is made
 * on the first byte in or message out and released by ws_conn_trim()
 * when the parser is at a frame boundary, no fragmented message is in
 * progress, nothing is queued inside wslay and no close has started.
 * The boundary is known exactly: wslay refuses non-minimal length
 * encodings and wrongly masked frames, so a frame occupies header bytes
 * (2, +2 or +8 for the length, +4 for a mask) plus its payload; bytes
 * handed to wslay equal bytes of completed frames only when its input
 * buffer is empty.
 *
 * Compression (permessage-deflate, RFC 7692, with zlib): wslay only
 * lets RSV1 through and skips its UTF-8 check on such messages, so the
 * rest is here.  A compressed message is inflated chunk by chunk into
 * the reassembly buffer, which never grows past max_message + 1 (a zip
 * bomb is refused with 1009 after max_message bytes of output, whatever
 * its frames announced), and text is checked as UTF-8 once whole (1007).
 * No zlib state is kept between messages on either side: our compressor
 * never reuses its window (RFC 7692 section 7.1.1 lets a sender always
 * do that), so one compressor per window size serves every connection
 * of the process, reset after each message; the server asks peers for
 * client_no_context_takeover, so an inflater is needed only while a
 * message is arriving, and one spare is kept for the next message of
 * any connection.  Only a peer allowed to take over its window (a
 * server that refused our client's offer of nothing more) makes a
 * connection hold an inflater, and keeps it from being trimmed.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <wslay/wslay.h>
#include <zlib.h>

#include "pmce.h"
#include "transport.h"
#include "utf8.h"
#include "ws.h"

#define WS_READ_CHUNK	65536
/* A control frame at most: 2 + 8 length + 4 mask + 125 payload. */
#define WS_STASH	144
/* Room beyond max_output for control frames and frame headers. */
#define WS_OUT_SLACK	1024
/*
 * Shorter messages are sent as they are.  Compressing one costs about
 * 1.5 us whatever its size (the block's Huffman trees and the flush;
 * measured with zlib 1.2.13), three times what the server spends on a
 * chat message otherwise, to save a few dozen bytes in a packet that
 * TCP and IP headers already weigh on.
 */
#define WS_DEFLATE_MIN	256
/*
 * The compressor's hash table: 2^(4 + 7) entries.  zlib's default of 8
 * costs a 64 KB memset per message (deflateReset) and buys nothing on
 * messages of a few kilobytes.
 */
#define WS_DEFLATE_MEMLEVEL 4
/* A compressed message bigger than this can't hold a valid one. */
#define WS_ZLIMIT(max)	((uint64_t)(max) + (max) / 8 + 1024)
/* An output buffer that grew past this is given back once flushed. */
#define WS_OBUF_KEEP	(64 * 1024)
/* A scratch buffer for compressing that grew past this is given back. */
#define WS_ZBUF_KEEP	(256 * 1024)

enum ws_pmce_flags {
	WS_PMCE_ON = 1 << 0,		/* permessage-deflate agreed */
	WS_PMCE_TAKEOVER = 1 << 1	/* the peer may reuse its window */
};

/*
 * Parser state: exists only while the connection is not at rest, with
 * the wslay context it goes with.
 */
struct ws_rx {
	wslay_event_context_ptr	 ctx;

	/* Input accounting for releasing ctx at a frame boundary. */
	uint64_t		 fed;		/* bytes given to wslay */
	uint64_t		 framed;	/* bytes of completed frames */
	uint64_t		 frame_len;	/* size of the current frame */
	uint64_t		 frame_payload;	/* payload of the current frame */

	/* Reassembly of data messages (wslay runs unbuffered). */
	uint8_t			*rbuf;		/* gathered payload */
	size_t			 rlen, rcap;
	const uint8_t		*whole;		/* zero-copy: the whole message */
	size_t			 whole_len;
	uint8_t			 fragmented;	/* a data message continues */
	uint8_t			 rop;		/* WSLAY_TEXT/BINARY_FRAME */
	uint8_t			 cur_ctrl;	/* current frame is control */
	uint8_t			 cur_first;	/* ...and starts a message */
	uint8_t			 cur_fin;
	uint8_t			 too_big;	/* a close (1009, 1007 for bad
						   compressed data) is queued:
						   ignore data */
	uint8_t			 bad_close;	/* 1002 queued for its close */
	uint8_t			 zmsg;		/* the message is compressed */
	uint64_t		 zfed;		/* its compressed bytes so far */
	z_stream		*zin;		/* its inflater (or, with
						   takeover, the connection's) */

	/*
	 * The frame gate (ws_recv_cb): where the next frame header starts
	 * in the input stream, and bytes held back until a control frame
	 * is complete.
	 */
	uint64_t		 next_hdr;
	uint8_t			 stash[WS_STASH];
	uint8_t			 stash_off, stash_len;
};

/*
 * The output buffer: data[off..len) is stream range [written, written +
 * len - off) of its connection, the end being what ws_conn_queued()
 * says.  Its offsets and capacity are kept at its head, not in struct
 * ws_conn: the buffer exists only while the connection is busy.
 */
struct ws_out {
	uint32_t		 off, len, cap;	/* cap: bytes of data */
	uint8_t			 data[];
};

/*
 * Kept small: an idle connection is this, its transport inline and no
 * more (56 bytes; the server holds it inside its own struct client,
 * whose budget is in bench/README.md, "Memory per idle connection").
 * Flags are bits; the callbacks, role and limits are behind one pointer
 * to what connections made alike share (struct ws_shared); the output
 * buffer's offsets are in it; the end of the output stream is derived,
 * not kept; bytes read are counted for the process (ws_bytes_read()),
 * not per connection.
 */
struct ws_conn {
	struct ws_rx		*rx;		/* NULL while at rest */
	struct tp		 tp;
	const struct ws_shared	*sh;		/* callbacks and limits */
	struct ws_out		*obuf;		/* NULL while idle */
	unsigned int		 eof:1;
	unsigned int		 failed:1;
	unsigned int		 pmce:2;	/* enum ws_pmce_flags */
	unsigned int		 zbits:4;	/* our compressor's window */
	unsigned int		 alone:1;	/* ws_conn_new(): arg in there */
	uint64_t		 written;
};

#define WS_CONN_SIZE	56
_Static_assert(sizeof(struct ws_conn) <= WS_CONN_SIZE,
    "struct ws_conn grew: see \"Memory per idle connection\" in "
    "bench/README.md before raising WS_CONN_SIZE");

/*
 * A connection of its own (ws_conn_new()): what it shares and the
 * callbacks' arg live right after it.  An embedded one finds its arg
 * around it, sh->arg_off bytes before it (ws_conn_init()).
 */
struct ws_conn_alone {
	struct ws_conn	 c;
	struct ws_shared sh;
	void		*arg;
};

static void *
ws_arg(struct ws_conn *c)
{
	if (c->alone)
		return ((struct ws_conn_alone *)(void *)c)->arg;
	return (char *)c - c->sh->arg_off;
}

/*
 * The programs are single-threaded: one read buffer serves every
 * connection, and the slice being parsed lives here while wslay runs.
 */
static uint8_t		 ws_rbuf[WS_READ_CHUNK];
static const uint8_t	*ws_in;
static size_t		 ws_inlen;
/* Bytes read by every connection, for statistics (ws_bytes_read()). */
static uint64_t		 ws_nread;

/*
 * Framing for data messages (ws_conn_send): one frame context per
 * direction of masking (wslay keeps a masked context's mask on), and
 * the connection whose buffer takes the frame while wslay writes it.
 */
static wslay_frame_context_ptr ws_fctx[2];
static struct ws_conn	*ws_fout;

/*
 * Compression state shared by every connection: a compressor per
 * window size (made on first use, reset after each message), the
 * buffer it writes into, and one inflater between messages.
 */
static z_stream		*ws_zdef[16];
static uint8_t		*ws_zbuf;
static size_t		 ws_zcap;
static z_stream		*ws_zspare;

/* Input not yet given to wslay: the stash, then the current slice. */
static size_t
ws_avail(const struct ws_rx *rx)
{
	return (size_t)(rx->stash_len - rx->stash_off) + ws_inlen;
}

static size_t
ws_take(struct ws_rx *rx, uint8_t *buf, size_t len)
{
	size_t	n, done = 0;

	n = rx->stash_len - rx->stash_off;
	if (n > 0) {
		if (n > len)
			n = len;
		memcpy(buf, rx->stash + rx->stash_off, n);
		rx->stash_off += (uint8_t)n;
		if (rx->stash_off == rx->stash_len)
			rx->stash_off = rx->stash_len = 0;
		done = n;
	}
	n = len - done;
	if (n > ws_inlen)
		n = ws_inlen;
	memcpy(buf + done, ws_in, n);
	ws_in += n;
	ws_inlen -= n;
	return done + n;
}

/* Keep everything available for the next read (at most WS_STASH). */
static void
ws_hold(struct ws_rx *rx)
{
	size_t	have = rx->stash_len - rx->stash_off;

	memmove(rx->stash, rx->stash + rx->stash_off, have);
	memcpy(rx->stash + have, ws_in, ws_inlen);
	rx->stash_off = 0;
	rx->stash_len = (uint8_t)(have + ws_inlen);
	ws_in += ws_inlen;
	ws_inlen = 0;
}

/*
 * A close frame is being held back: its reason must still fail fast
 * (RFC 6455 8.1), so check what has arrived of it now and close with
 * 1007 as soon as it cannot become UTF-8.
 */
static void
ws_close_reason_check(struct ws_conn *c, size_t hdr, size_t payload)
{
	struct ws_rx	*rx = c->rx;
	const uint8_t	*f = rx->stash;		/* ws_hold() put it all here */
	uint8_t		 reason[125];
	size_t		 have, i;

	have = rx->stash_len - hdr;
	if (have > payload)
		have = payload;
	if (have <= 2)
		return;
	for (i = 2; i < have; i++)
		reason[i - 2] = (f[1] & 0x80) ? f[hdr + i] ^ f[hdr - 4 + i % 4] :
		    f[hdr + i];
	if (utf8_prefix_valid(reason, have - 2))
		return;
	(void)wslay_event_queue_close(rx->ctx,
	    WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA, NULL, 0);
	wslay_event_shutdown_read(rx->ctx);
	rx->stash_off = rx->stash_len = 0;
}

/* Would a data frame of payload bytes, first byte b0, pass max_message? */
static int
ws_frame_too_big(const struct ws_conn *c, uint8_t b0, uint64_t payload)
{
	const struct ws_rx	*rx = c->rx;
	uint8_t			 op = b0 & 0x0f;

	if ((b0 & 0x70) != 0 || payload >= (1ULL << 63) || rx->too_big)
		return 0;
	if (op == WSLAY_CONTINUATION_FRAME && rx->fragmented)
		return payload > c->sh->max_message - rx->rlen;
	if ((op == WSLAY_TEXT_FRAME || op == WSLAY_BINARY_FRAME) &&
	    !rx->fragmented)
		return payload > c->sh->max_message;
	return 0;
}

/*
 * At the start of a frame, read its header before wslay does and decide
 * how far wslay may read.  wslay 1.1.1 validates a close reason's UTF-8
 * per chunk and skips the first two bytes of every chunk, not just the
 * status code: a close frame split across reads is then refused when
 * valid, or accepted when not.  So a control frame (at most 131 bytes)
 * is held back until it is complete and handed over in one piece, and
 * wslay never reads past the end of a frame in one call.  Returns 1 if
 * wslay may read, 0 to wait for more input.
 */
static int
ws_gate(struct ws_conn *c)
{
	struct ws_rx	*rx = c->rx;
	uint8_t		 h[14];
	size_t		 avail = ws_avail(rx), hdr, i, n;
	uint64_t	 payload;

	n = avail < sizeof(h) ? avail : sizeof(h);
	i = rx->stash_len - rx->stash_off;
	if (i > n)
		i = n;
	memcpy(h, rx->stash + rx->stash_off, i);
	memcpy(h + i, ws_in, n - i);
	if (n < 2) {
		ws_hold(rx);
		return 0;
	}
	payload = h[1] & 0x7f;
	hdr = 2 + ((h[1] & 0x80) ? 4 : 0) +
	    (payload == 126 ? 2 : payload == 127 ? 8 : 0);
	if (n < hdr) {
		ws_hold(rx);
		return 0;
	}
	if (payload == 126)
		payload = (uint64_t)h[2] << 8 | h[3];
	else if (payload == 127)
		for (payload = 0, i = 2; i < 10; i++)
			payload = payload << 8 | h[i];
	/*
	 * A data frame that would pass max_message is refused with 1009 as
	 * soon as its header is in, not when its first payload byte comes
	 * (wslay reports the frame only then): a header announcing 2^40
	 * bytes must not hold the connection.  Frames wslay refuses for
	 * other reasons (reserved bits, a continuation out of place, a
	 * length with the top bit) are left to it, for their own codes.
	 */
	if (ws_frame_too_big(c, h[0], payload)) {
		rx->too_big = 1;
		(void)wslay_event_queue_close(rx->ctx,
		    WSLAY_CODE_MESSAGE_TOO_BIG, NULL, 0);
		wslay_event_shutdown_read(rx->ctx);
		rx->stash_off = rx->stash_len = 0;
		ws_in += ws_inlen;
		ws_inlen = 0;
		return 0;
	}
	if ((h[0] & 0x08) && payload <= 125 && avail < hdr + payload) {
		ws_hold(rx);
		if ((h[0] & 0x0f) == WSLAY_CONNECTION_CLOSE)
			ws_close_reason_check(c, hdr, (size_t)payload);
		return 0;
	}
	/* Lengths wslay will refuse (top bit set) need no gate. */
	rx->next_hdr = payload >= (1ULL << 62) ? UINT64_MAX :
	    rx->fed + hdr + payload;
	return 1;
}

static ssize_t
ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
    void *user)
{
	struct ws_conn	*c = user;
	struct ws_rx	*rx = c->rx;
	size_t		 n;

	if (ws_avail(rx) == 0 || (rx->fed == rx->next_hdr && !ws_gate(c))) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (len > rx->next_hdr - rx->fed)
		len = (size_t)(rx->next_hdr - rx->fed);
	n = ws_take(rx, buf, len);
	rx->fed += n;
	return (ssize_t)n;
}

/*
 * Stop reading and close with code: data that follows is ignored (the
 * peer's close is still read by wslay's own bookkeeping).
 */
static void
ws_refuse(struct ws_conn *c, uint16_t code)
{
	c->rx->too_big = 1;
	(void)wslay_event_queue_close(c->rx->ctx, code, NULL, 0);
	wslay_event_shutdown_read(c->rx->ctx);
}

/* An inflater for the message starting now: the spare, or a new one. */
static z_stream *
ws_zin_get(void)
{
	z_stream	*z;

	if ((z = ws_zspare) != NULL) {
		ws_zspare = NULL;
		return z;
	}
	if ((z = calloc(1, sizeof(*z))) == NULL)
		return NULL;
	/* 15 bits: at least the peer's window, whatever it was. */
	if (inflateInit2(z, -15) != Z_OK) {
		free(z);
		return NULL;
	}
	return z;
}

/* Keep z as the spare if there is none, else free it. */
static void
ws_zin_put(z_stream *z)
{
	if (z == NULL)
		return;
	if (ws_zspare == NULL && inflateReset(z) == Z_OK) {
		ws_zspare = z;
		return;
	}
	inflateEnd(z);
	free(z);
}

/*
 * The message's compressed bytes p[0..len) go through its inflater into
 * rbuf, which grows to max_message + 1 bytes at most: one byte over the
 * limit is enough to know a message is too big.  Returns 0, or -1
 * after queueing a close (1009 too big, 1007 not deflate data, 1011
 * out of memory).
 */
static int
ws_inflate(struct ws_conn *c, const uint8_t *p, size_t len)
{
	struct ws_rx	*rx = c->rx;
	size_t		 ncap, limit = (size_t)c->sh->max_message + 1;
	uint8_t		*nb;
	int		 r;

	if (rx->zin == NULL && (rx->zin = ws_zin_get()) == NULL) {
		ws_refuse(c, WSLAY_CODE_INTERNAL_SERVER_ERROR);
		return -1;
	}
	rx->zin->next_in = (Bytef *)(uintptr_t)p;
	rx->zin->avail_in = (uInt)len;
	for (;;) {
		if (rx->rlen == rx->rcap) {
			if (rx->rcap == limit) {
				ws_refuse(c, WSLAY_CODE_MESSAGE_TOO_BIG);
				return -1;
			}
			ncap = rx->rcap ? rx->rcap * 2 : 4096;
			if (ncap > limit)
				ncap = limit;
			if ((nb = realloc(rx->rbuf, ncap)) == NULL) {
				ws_refuse(c, WSLAY_CODE_INTERNAL_SERVER_ERROR);
				return -1;
			}
			rx->rbuf = nb;
			rx->rcap = ncap;
		}
		rx->zin->next_out = rx->rbuf + rx->rlen;
		rx->zin->avail_out = (uInt)(rx->rcap - rx->rlen);
		r = inflate(rx->zin, Z_SYNC_FLUSH);
		rx->rlen = rx->rcap - rx->zin->avail_out;
		if (rx->rlen > c->sh->max_message) {
			ws_refuse(c, WSLAY_CODE_MESSAGE_TOO_BIG);
			return -1;
		}
		/*
		 * A peer may end a message with a final block (RFC 7692
		 * section 7.2.3.4 lets it); what follows starts afresh.
		 */
		if (r == Z_STREAM_END)
			r = inflateReset(rx->zin);
		if (r == Z_MEM_ERROR) {
			ws_refuse(c, WSLAY_CODE_INTERNAL_SERVER_ERROR);
			return -1;
		}
		if (r != Z_OK && r != Z_BUF_ERROR) {
			ws_refuse(c, WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA);
			return -1;
		}
		/* Done when the input is used and output had room to spare. */
		if (rx->zin->avail_in == 0 && rx->zin->avail_out > 0)
			return 0;
	}
}

/*
 * The end of a compressed message: inflate the 4 bytes the sender
 * stripped (RFC 7692 section 7.2.2), check text, and give the inflater
 * back unless the peer may take over its window.  Returns 0 if the
 * message in rbuf may be delivered.
 */
static int
ws_inflate_end(struct ws_conn *c)
{
	static const uint8_t	tail[4] = { 0x00, 0x00, 0xff, 0xff };
	struct ws_rx		*rx = c->rx;

	if (ws_inflate(c, tail, sizeof(tail)) != 0)
		return -1;
	if (!(c->pmce & WS_PMCE_TAKEOVER)) {
		ws_zin_put(rx->zin);
		rx->zin = NULL;
	}
	if (rx->rop == WSLAY_TEXT_FRAME && !utf8_valid(rx->rbuf, rx->rlen)) {
		ws_refuse(c, WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA);
		return -1;
	}
	return 0;
}

static void
ws_frame_start_cb(wslay_event_context_ptr ctx,
    const struct wslay_event_on_frame_recv_start_arg *arg, void *user)
{
	struct ws_conn	*c = user;
	uint64_t	 hdr = 2;

	if (arg->payload_length > 65535)
		hdr += 8;
	else if (arg->payload_length > 125)
		hdr += 2;
	if (c->sh->role == WS_ROLE_SERVER)
		hdr += 4;	/* clients mask; wslay refuses otherwise */
	c->rx->frame_len = hdr + arg->payload_length;
	c->rx->frame_payload = arg->payload_length;
	c->rx->cur_ctrl = wslay_is_ctrl_frame(arg->opcode);
	c->rx->cur_fin = arg->fin;
	c->rx->cur_first = arg->opcode != WSLAY_CONTINUATION_FRAME;
	/*
	 * A close body is empty or starts with a 2-byte code (RFC 6455
	 * 5.5.1); wslay treats one byte as no code and echoes that.
	 */
	if (arg->opcode == WSLAY_CONNECTION_CLOSE &&
	    arg->payload_length == 1) {
		c->rx->bad_close = 1;
		(void)wslay_event_queue_close(ctx, WSLAY_CODE_PROTOCOL_ERROR,
		    NULL, 0);
		wslay_event_shutdown_read(ctx);
	}
	if (c->rx->cur_ctrl)
		return;
	c->rx->fragmented = !arg->fin;
	if (c->rx->cur_first) {
		c->rx->rop = arg->opcode;
		c->rx->rlen = 0;
		c->rx->whole = NULL;
		/* wslay lets RSV1 through only once deflate was agreed. */
		c->rx->zmsg = (arg->rsv & WSLAY_RSV1_BIT) != 0;
		c->rx->zfed = 0;
	}
	if (c->rx->too_big)
		return;
	/*
	 * wslay checks each frame against max_message; the message as a
	 * whole is ours to check, before anything is stored.  Compressed
	 * bytes are not stored, only bounded; their output is checked as
	 * it is inflated.
	 */
	if (c->rx->zmsg) {
		if (arg->payload_length > WS_ZLIMIT(c->sh->max_message) -
		    c->rx->zfed)
			ws_refuse(c, WSLAY_CODE_MESSAGE_TOO_BIG);
		else
			c->rx->zfed += arg->payload_length;
	} else if (arg->payload_length > c->sh->max_message - c->rx->rlen)
		ws_refuse(c, WSLAY_CODE_MESSAGE_TOO_BIG);
}

static void
ws_frame_chunk_cb(wslay_event_context_ptr ctx,
    const struct wslay_event_on_frame_recv_chunk_arg *arg, void *user)
{
	struct ws_conn	*c = user;
	size_t		 ncap;
	uint8_t		*p;

	/* Control frames are small and wslay keeps them itself. */
	if (c->rx->cur_ctrl || c->rx->too_big || arg->data_length == 0)
		return;
	if (c->rx->zmsg) {
		(void)ws_inflate(c, arg->data, arg->data_length);
		return;
	}
	/*
	 * The common case: an unfragmented frame whose payload arrived in
	 * one piece.  The data stays valid until wslay reports the message
	 * in this same step of its loop.
	 */
	if (c->rx->cur_first && c->rx->cur_fin && c->rx->rlen == 0 &&
	    arg->data_length == c->rx->frame_payload) {
		c->rx->whole = arg->data;
		c->rx->whole_len = arg->data_length;
		return;
	}
	if (c->rx->rcap - c->rx->rlen < arg->data_length) {
		ncap = c->rx->rcap ? c->rx->rcap : 4096;
		while (ncap - c->rx->rlen < arg->data_length)
			ncap *= 2;
		if (ncap > c->sh->max_message)
			ncap = c->sh->max_message;
		if ((p = realloc(c->rx->rbuf, ncap)) == NULL) {
			ws_refuse(c, WSLAY_CODE_INTERNAL_SERVER_ERROR);
			return;
		}
		c->rx->rbuf = p;
		c->rx->rcap = ncap;
	}
	memcpy(c->rx->rbuf + c->rx->rlen, arg->data, arg->data_length);
	c->rx->rlen += arg->data_length;
}

static void
ws_frame_end_cb(wslay_event_context_ptr ctx, void *user)
{
	struct ws_conn	*c = user;

	c->rx->framed += c->rx->frame_len;
	c->rx->frame_len = 0;
}

/*
 * ws_obuf_reserve()'s slow path: make, compact or grow obuf for need
 * more bytes.  Allocations double from 4 KB, the head included.
 */
static int
ws_obuf_grow(struct ws_conn *c, size_t need)
{
	struct ws_out	*o = c->obuf;
	size_t		 size, len = o != NULL ? o->len : 0;

	if (o != NULL && o->off > 0) {
		memmove(o->data, o->data + o->off, o->len - o->off);
		o->len -= o->off;
		o->off = 0;
		len = o->len;
		if (o->cap - o->len >= need)
			return 0;
	}
	size = o != NULL ? sizeof(*o) + o->cap : 4096;
	while (size - sizeof(*o) - len < need) {
		if (size > UINT32_MAX / 2)
			return -1;
		size *= 2;
	}
	if ((o = realloc(o, size)) == NULL)
		return -1;
	if (c->obuf == NULL)
		o->off = o->len = 0;
	o->cap = (uint32_t)(size - sizeof(*o));
	c->obuf = o;
	return 0;
}

/* Make room for need more bytes in obuf. */
static int
ws_obuf_reserve(struct ws_conn *c, size_t need)
{
	if (c->obuf != NULL && c->obuf->cap - c->obuf->len >= need)
		return 0;
	return ws_obuf_grow(c, need);
}

static void	ws_obuf_free(struct ws_conn *);

static ssize_t
ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
    int flags, void *user)
{
	struct ws_conn	*c = user;

	/*
	 * ws_conn_send() checked the cap before queueing, so this only
	 * trips on allocation failure or runaway control frames; wslay
	 * then keeps the rest queued.
	 */
	if (ws_conn_pending(c) + len > c->sh->max_output + WS_OUT_SLACK ||
	    ws_obuf_reserve(c, len) == -1) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	memcpy(c->obuf->data + c->obuf->len, data, len);
	c->obuf->len += (uint32_t)len;
	return (ssize_t)len;
}

/*
 * RFC 6455 5.3: masking keys from a strong source of entropy.  glibc's
 * arc4random_buf is a ChaCha20 generator seeded from getrandom(2);
 * RAND_bytes cost a getpid() and 11% of a loaded client's CPU.
 */
static int
ws_genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
    void *user)
{
	arc4random_buf(buf, len);
	return 0;
}

/* The frame layer writes a data frame: room was made for all of it. */
static ssize_t
ws_fsend_cb(const uint8_t *data, size_t len, int flags, void *user)
{
	struct ws_out	*o = ws_fout->obuf;

	memcpy(o->data + o->len, data, len);
	o->len += (uint32_t)len;
	return (ssize_t)len;
}

static int
ws_fmask_cb(uint8_t *buf, size_t len, void *user)
{
	arc4random_buf(buf, len);
	return 0;
}

/*
 * Frame one data message p[0..len) (with RSV1 if compressed) into c's
 * buffer.  0, or a WS_ERR code.
 */
static int
ws_frame_data(struct ws_conn *c, uint8_t op, uint8_t rsv, const uint8_t *p,
    size_t len)
{
	static const struct wslay_frame_callbacks fcb = {
		ws_fsend_cb, NULL, ws_fmask_cb
	};
	struct wslay_frame_iocb	iocb;
	int			mask = c->sh->role == WS_ROLE_CLIENT;
	ssize_t			r;

	if (ws_fctx[mask] == NULL &&
	    wslay_frame_context_init(&ws_fctx[mask], &fcb, NULL) != 0)
		return WS_ERR_NOMEM;
	/* 14 bytes: the largest frame header (with a client's mask). */
	if (ws_obuf_reserve(c, len + 14) == -1)
		return WS_ERR_NOMEM;
	memset(&iocb, 0, sizeof(iocb));
	iocb.fin = 1;
	iocb.rsv = rsv;
	iocb.opcode = op;
	iocb.mask = (uint8_t)mask;
	iocb.payload_length = len;
	iocb.data = p;
	iocb.data_length = len;
	ws_fout = c;
	r = wslay_frame_send(ws_fctx[mask], &iocb);
	ws_fout = NULL;
	/* Nothing here can fail halfway: the callbacks always take it all. */
	return r == (ssize_t)len ? 0 : WS_ERR_INVALID;
}

static void
ws_msg_cb(wslay_event_context_ptr ctx,
    const struct wslay_event_on_msg_recv_arg *arg, void *user)
{
	struct ws_conn	*c = user;
	const uint8_t	*data;
	size_t		 len;

	switch (arg->opcode) {
	case WSLAY_TEXT_FRAME:
	case WSLAY_BINARY_FRAME:
		if (c->rx->too_big ||
		    (c->rx->zmsg && ws_inflate_end(c) != 0))
			break;
		if (c->rx->whole != NULL) {
			data = c->rx->whole;
			len = c->rx->whole_len;
		} else {
			/* An empty message has no buffer: callers get "". */
			data = c->rx->rlen > 0 ? c->rx->rbuf : (const uint8_t *)"";
			len = c->rx->rlen;
		}
		c->rx->whole = NULL;
		c->rx->rlen = 0;
		if (c->sh->cb->on_message != NULL)
			c->sh->cb->on_message(ws_arg(c),
			    arg->opcode == WSLAY_TEXT_FRAME ? WS_OP_TEXT :
			    WS_OP_BINARY, data, len);
		break;
	case WSLAY_CONNECTION_CLOSE:
		/* A malformed close is a violation, not the peer's close. */
		if (c->sh->cb->on_close != NULL && !c->rx->bad_close)
			c->sh->cb->on_close(ws_arg(c), arg->status_code == 0 ?
			    WSLAY_CODE_NO_STATUS_RCVD : arg->status_code,
			    arg->msg_length > 2 ? arg->msg + 2 : NULL,
			    arg->msg_length > 2 ? arg->msg_length - 2 : 0);
		break;
	default:
		/* Pings are answered by wslay; pongs only show liveness. */
		break;
	}
}

void
ws_shared_init(struct ws_shared *sh, const struct ws_config *cfg,
    const struct ws_callbacks *cb, size_t arg_off)
{
	sh->cb = cb;
	sh->arg_off = (uint32_t)arg_off;
	sh->role = cfg->role;
	/* Both fit 32 bits: no program allows more than 1 GiB. */
	sh->max_output = cfg->max_output > (1U << 31) ? 1U << 31 :
	    (uint32_t)cfg->max_output;
	sh->max_message = cfg->max_message > (1U << 31) ? 1U << 31 :
	    (uint32_t)cfg->max_message;
}

size_t
ws_conn_size(void)
{
	return sizeof(struct ws_conn);
}

struct ws_conn *
ws_conn_init(void *mem, const struct ws_shared *sh, struct tp *tp)
{
	struct ws_conn	*c = mem;

	if (tp == NULL)
		return NULL;
	memset(c, 0, sizeof(*c));
	tp_move(&c->tp, tp);
	c->sh = sh;
	return c;
}

struct ws_conn *
ws_conn_new(const struct ws_config *cfg, struct tp *tp,
    const struct ws_callbacks *cb, void *arg)
{
	struct ws_conn_alone	*a;

	if (tp == NULL)
		return NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		tp_free(tp);
		return NULL;
	}
	ws_shared_init(&a->sh, cfg, cb, 0);
	a->arg = arg;
	ws_conn_init(&a->c, &a->sh, tp);
	a->c.alone = 1;
	return &a->c;
}

/* Let RSV1 through, and compressed frames up to their own bound. */
static void
ws_ctx_deflate(struct ws_conn *c, wslay_event_context_ptr ctx)
{
	wslay_event_config_set_allowed_rsv_bits(ctx, WSLAY_RSV1_BIT);
	wslay_event_config_set_max_recv_msg_length(ctx,
	    WS_ZLIMIT(c->sh->max_message));
}

void
ws_conn_set_deflate(struct ws_conn *c, const struct pmce_params *p)
{
	if (p == NULL || !p->on)
		return;
	c->pmce = WS_PMCE_ON | (p->peer_takeover ? WS_PMCE_TAKEOVER : 0);
	c->zbits = p->send_bits;
	if (c->rx != NULL)
		ws_ctx_deflate(c, c->rx->ctx);
}

/* Attach a wslay context if the connection is at rest. */
static int
ws_ctx(struct ws_conn *c)
{
	static const struct wslay_event_callbacks wcb = {
		ws_recv_cb, ws_send_cb, ws_genmask_cb, ws_frame_start_cb,
		ws_frame_chunk_cb, ws_frame_end_cb, ws_msg_cb
	};
	struct ws_rx	*rx;
	int		 r;

	if (c->rx != NULL)
		return 0;
	if ((rx = calloc(1, sizeof(*rx))) == NULL)
		return WS_ERR_NOMEM;
	if (c->sh->role == WS_ROLE_SERVER)
		r = wslay_event_context_server_init(&rx->ctx, &wcb, c);
	else
		r = wslay_event_context_client_init(&rx->ctx, &wcb, c);
	if (r != 0) {
		free(rx);
		return WS_ERR_NOMEM;
	}
	/* wslay's default is 2^31-1: never let a header size our buffers. */
	wslay_event_config_set_max_recv_msg_length(rx->ctx, c->sh->max_message);
	wslay_event_config_set_no_buffering(rx->ctx, 1);
	if (c->pmce & WS_PMCE_ON)
		ws_ctx_deflate(c, rx->ctx);
	c->rx = rx;
	return 0;
}

static void
ws_rx_free(struct ws_rx *rx)
{
	if (rx == NULL)
		return;
	wslay_event_context_free(rx->ctx);
	ws_zin_put(rx->zin);
	free(rx->rbuf);
	free(rx);
}

int
ws_conn_at_rest(const struct ws_conn *c)
{
	return c->rx == NULL;
}

static void
ws_obuf_free(struct ws_conn *c)
{
	free(c->obuf);
	c->obuf = NULL;
}

void
ws_conn_trim(struct ws_conn *c)
{
	/* An idle connection holds no output buffer. */
	if (c->obuf != NULL && c->obuf->off == c->obuf->len)
		ws_obuf_free(c);
	if (c->rx == NULL || c->rx->fed != c->rx->framed || c->rx->fragmented ||
	    c->rx->stash_len != 0 || c->rx->zin != NULL ||
	    wslay_event_want_write(c->rx->ctx) ||
	    wslay_event_get_close_sent(c->rx->ctx) ||
	    wslay_event_get_close_received(c->rx->ctx) ||
	    !wslay_event_get_read_enabled(c->rx->ctx))
		return;
	ws_rx_free(c->rx);
	c->rx = NULL;
}

/* Serialise whatever wslay holds (pongs, close echoes) into obuf. */
static int
ws_pump(struct ws_conn *c)
{
	if (c->rx != NULL && wslay_event_want_write(c->rx->ctx) &&
	    wslay_event_send(c->rx->ctx) != 0) {
		c->failed = 1;
		return WS_ERR_NOMEM;
	}
	return 0;
}

/*
 * Our recv callback never fails, so this failure is wslay's frame
 * parser refusing a header (a control frame over 125 bytes or
 * fragmented, a 64-bit length with the top bit set).  wslay then queues
 * a close without a status code; RFC 6455 section 7.4.1 wants 1002, so
 * the context is replaced by a fresh one that sends exactly that and
 * reads nothing more.
 */
static int
ws_frame_error(struct ws_conn *c)
{
	int	r;

	ws_rx_free(c->rx);
	c->rx = NULL;
	if ((r = ws_ctx(c)) != 0) {
		c->failed = 1;
		return r;
	}
	wslay_event_shutdown_read(c->rx->ctx);
	if (wslay_event_queue_close(c->rx->ctx, WSLAY_CODE_PROTOCOL_ERROR, NULL,
	    0) != 0) {
		c->failed = 1;
		return WS_ERR_NOMEM;
	}
	return ws_pump(c);
}

int
ws_conn_feed(struct ws_conn *c, const uint8_t *p, size_t len)
{
	int	r;

	if (len == 0)
		return 0;
	if ((r = ws_ctx(c)) != 0) {
		c->failed = 1;
		return r;
	}
	ws_in = p;
	ws_inlen = len;
	r = wslay_event_recv(c->rx->ctx);
	/* Bytes after a close frame or a violation are ignored. */
	ws_in = NULL;
	ws_inlen = 0;
	if (r == WSLAY_ERR_CALLBACK_FAILURE)
		return ws_frame_error(c);
	if (r != 0) {
		c->failed = 1;
		return r == WSLAY_ERR_NOMEM ? WS_ERR_NOMEM : WS_ERR_PROTOCOL;
	}
	return ws_pump(c);
}

int
ws_conn_on_readable(struct ws_conn *c)
{
	ssize_t	n;
	int	r, rounds = 0;

	/*
	 * One read per event, except that TLS may hold decrypted bytes
	 * that poll cannot report: drain those (a bounded number of
	 * records, so one peer cannot hold the loop).
	 */
	do {
		if (c->failed || c->eof ||
		    (c->rx != NULL && !wslay_event_want_read(c->rx->ctx)))
			return 0;
		n = tp_read(&c->tp, ws_rbuf, sizeof(ws_rbuf));
		if (n == TP_WANT_READ || n == TP_WANT_WRITE)
			return 0;
		if (n == TP_EOF) {
			c->eof = 1;
			return 0;
		}
		if (n < 0) {
			c->failed = 1;
			return WS_ERR_TRANSPORT;
		}
		ws_nread += (uint64_t)n;
		if ((r = ws_conn_feed(c, ws_rbuf, (size_t)n)) != 0)
			return r;
	} while (tp_pending(&c->tp) && ++rounds < 16);
	return 0;
}

int
ws_conn_flush(struct ws_conn *c)
{
	struct ws_out	*o = c->obuf;
	ssize_t		 n;

	if (c->failed)
		return WS_ERR_TRANSPORT;
	if (o == NULL)
		return 0;
	while (o->off < o->len) {
		n = tp_write(&c->tp, o->data + o->off, o->len - o->off);
		if (n == TP_WANT_WRITE || n == TP_WANT_READ)
			break;
		if (n < 0) {
			c->failed = 1;
			return WS_ERR_TRANSPORT;
		}
		o->off += (uint32_t)n;
		c->written += (uint64_t)n;
	}
	if (o->off == o->len) {
		/*
		 * Kept for the next pass while the connection is busy
		 * (ws_conn_trim() gives it back once it is quiet): freed
		 * and made again at every flush, a 4 KB buffer at the top
		 * of the heap cost a brk() each way and its page faults.
		 */
		o->off = o->len = 0;
		if (o->cap > WS_OBUF_KEEP)
			ws_obuf_free(c);
	}
	return 0;
}

/*
 * Compress p[0..len) as one message (RFC 7692 section 7.2.1) into
 * ws_zbuf with the process's compressor for our window, which starts
 * afresh every time.  Returns the compressed length, or 0 if the
 * message is better sent as it is (not smaller, or zlib failed).
 */
static size_t
ws_deflate(const struct ws_conn *c, const uint8_t *p, size_t len)
{
	z_stream	*z;
	size_t		 need, out;
	uint8_t		*nb;
	int		 bits = c->zbits, r;

	/*
	 * zlib cannot make a raw stream with a 256-byte window; one of 512
	 * bytes never reaches further back than a 256-byte message's
	 * start, so with 8 bits only such messages are compressed.
	 */
	if (bits == 8) {
		if (len > 256)
			return 0;
		bits = 9;
	}
	if (len < WS_DEFLATE_MIN || len > UINT32_MAX / 2)
		return 0;
	if ((z = ws_zdef[bits]) == NULL) {
		if ((z = calloc(1, sizeof(*z))) == NULL)
			return 0;
		if (deflateInit2(z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -bits,
		    WS_DEFLATE_MEMLEVEL,
		    Z_DEFAULT_STRATEGY) != Z_OK) {
			free(z);
			return 0;
		}
		ws_zdef[bits] = z;
	}
	/* The bound for Z_FINISH, plus the empty block of a sync flush. */
	need = deflateBound(z, (uLong)len) + 16;
	if (ws_zcap < need) {
		if ((nb = realloc(ws_zbuf, need)) == NULL)
			return 0;
		ws_zbuf = nb;
		ws_zcap = need;
	}
	z->next_in = (Bytef *)(uintptr_t)p;
	z->avail_in = (uInt)len;
	z->next_out = ws_zbuf;
	z->avail_out = (uInt)ws_zcap;
	r = deflate(z, Z_SYNC_FLUSH);
	out = ws_zcap - z->avail_out;
	(void)deflateReset(z);
	/* All in, room to spare, and the flush marker to strip. */
	if (r != Z_OK || z->avail_in != 0 || z->avail_out == 0 || out < 4 ||
	    memcmp(ws_zbuf + out - 4, "\x00\x00\xff\xff", 4) != 0)
		return 0;
	out -= 4;
	return out < len ? out : 0;
}

int
ws_conn_send(struct ws_conn *c, enum ws_opcode op, const void *p, size_t len,
    uint64_t *endp)
{
	struct wslay_event_msg	m;
	size_t			zlen = 0;
	int			r;

	if (op == WS_OP_TEXT && !utf8_valid(p, len))
		return WS_ERR_INVALID;
	if (c->failed || (c->rx != NULL &&
	    wslay_event_get_close_sent(c->rx->ctx)))
		return WS_ERR_CLOSED;
	/* 14 bytes: the largest frame header (with a client mask). */
	if (ws_conn_pending(c) + len + 14 > c->sh->max_output)
		return WS_ERR_FULL;
	m.opcode = op == WS_OP_TEXT ? WSLAY_TEXT_FRAME : WSLAY_BINARY_FRAME;
	m.msg = p;
	m.msg_length = len;
	if ((c->pmce & WS_PMCE_ON) && (zlen = ws_deflate(c, p, len)) > 0) {
		m.msg = ws_zbuf;
		m.msg_length = zlen;
	}
	if (c->rx == NULL || !wslay_event_want_write(c->rx->ctx))
		r = ws_frame_data(c, m.opcode, zlen > 0 ? WSLAY_RSV1_BIT :
		    WSLAY_RSV_NONE, m.msg, m.msg_length);
	else {
		/* wslay holds frames it could not write: queue behind them. */
		r = wslay_event_queue_msg_ex(c->rx->ctx, &m, zlen > 0 ?
		    WSLAY_RSV1_BIT : WSLAY_RSV_NONE);
		if (r != 0)
			r = r == WSLAY_ERR_NOMEM ? WS_ERR_NOMEM : WS_ERR_CLOSED;
		else
			r = ws_pump(c);
	}
	/* The payload was copied: ws_zbuf is free again. */
	if (ws_zcap > WS_ZBUF_KEEP) {
		free(ws_zbuf);
		ws_zbuf = NULL;
		ws_zcap = 0;
	}
	if (r != 0)
		return r;
	if (endp != NULL)
		*endp = ws_conn_queued(c);
	return 0;
}

int
ws_conn_ping(struct ws_conn *c, const void *p, size_t len)
{
	struct wslay_event_msg	m;
	int			r;

	if (len > 125)
		return WS_ERR_INVALID;
	if (c->failed || (c->rx != NULL &&
	    wslay_event_get_close_sent(c->rx->ctx)))
		return WS_ERR_CLOSED;
	if ((r = ws_ctx(c)) != 0)
		return r;
	m.opcode = WSLAY_PING;
	m.msg = p;
	m.msg_length = len;
	if ((r = wslay_event_queue_msg(c->rx->ctx, &m)) != 0)
		return r == WSLAY_ERR_NOMEM ? WS_ERR_NOMEM : WS_ERR_CLOSED;
	return ws_pump(c);
}

int
ws_conn_close(struct ws_conn *c, uint16_t code, const char *reason)
{
	size_t	len = reason != NULL ? strlen(reason) : 0;
	int	r;

	if (len > 123 || !utf8_valid((const uint8_t *)reason, len))
		return WS_ERR_INVALID;
	if (c->failed)
		return WS_ERR_CLOSED;
	if ((r = ws_ctx(c)) != 0)
		return r;
	r = wslay_event_queue_close(c->rx->ctx, code, (const uint8_t *)reason,
	    len);
	if (r == WSLAY_ERR_NO_MORE_MSG)
		return WS_ERR_CLOSED;
	if (r != 0)
		return r == WSLAY_ERR_NOMEM ? WS_ERR_NOMEM : WS_ERR_INVALID;
	return ws_pump(c);
}

void
ws_conn_truncate(struct ws_conn *c, uint64_t off)
{
	if (off < c->written || off > ws_conn_queued(c) || c->obuf == NULL)
		return;
	c->obuf->len = c->obuf->off + (uint32_t)(off - c->written);
}

short
ws_conn_events(const struct ws_conn *c)
{
	short	ev = 0;

	if (ws_conn_done(c))
		return 0;
	if (!c->eof && (c->rx == NULL || wslay_event_want_read(c->rx->ctx)))
		ev |= POLLIN;
	/*
	 * Output waits for a writable socket, unless TLS is blocked on the
	 * other direction (a write that must read first): then waiting for
	 * POLLOUT would only spin.
	 */
	if (ws_conn_pending(c) > 0)
		ev |= tp_events(&c->tp) != 0 ? tp_events(&c->tp) : POLLOUT;
	else
		ev |= tp_events(&c->tp);
	return ev;
}

int
ws_conn_done(const struct ws_conn *c)
{
	if (c->failed || c->eof)
		return 1;
	if (c->rx == NULL)
		return 0;
	return !wslay_event_want_read(c->rx->ctx) &&
	    !wslay_event_want_write(c->rx->ctx) && ws_conn_pending(c) == 0;
}

size_t
ws_conn_pending(const struct ws_conn *c)
{
	return c->obuf != NULL ? c->obuf->len - c->obuf->off : 0;
}

uint64_t
ws_conn_written(const struct ws_conn *c)
{
	return c->written;
}

uint64_t
ws_bytes_read(void)
{
	return ws_nread;
}

uint64_t
ws_conn_queued(const struct ws_conn *c)
{
	return c->written + ws_conn_pending(c);
}

/* At rest, no close has started: the answers of an open connection. */
int
ws_conn_close_sent(const struct ws_conn *c)
{
	return c->rx != NULL && wslay_event_get_close_sent(c->rx->ctx);
}

int
ws_conn_close_received(const struct ws_conn *c)
{
	return c->rx != NULL && !c->rx->bad_close &&
	    wslay_event_get_close_received(c->rx->ctx);
}

uint16_t
ws_conn_code_sent(const struct ws_conn *c)
{
	return c->rx != NULL ? wslay_event_get_status_code_sent(c->rx->ctx) :
	    WSLAY_CODE_ABNORMAL_CLOSURE;
}

uint16_t
ws_conn_code_received(const struct ws_conn *c)
{
	return c->rx != NULL ?
	    wslay_event_get_status_code_received(c->rx->ctx) :
	    WSLAY_CODE_ABNORMAL_CLOSURE;
}

int
ws_conn_fd(const struct ws_conn *c)
{
	return tp_fd(&c->tp);
}

int
ws_conn_is_tls(const struct ws_conn *c)
{
	return tp_is_tls(&c->tp);
}

const char *
ws_conn_transport_error(const struct ws_conn *c)
{
	return tp_strerror(&c->tp);
}

const char *
ws_strerror(int code)
{
	switch (code) {
	case WS_OK:
		return "success";
	case WS_ERR_SYSTEM:
		return strerror(errno);
	case WS_ERR_NOMEM:
		return "out of memory";
	case WS_ERR_CLOSED:
		return "connection is closing";
	case WS_ERR_FULL:
		return "output buffer full";
	case WS_ERR_INVALID:
		return "invalid argument";
	case WS_ERR_PROTOCOL:
		return "protocol error";
	case WS_ERR_TRANSPORT:
		return "transport failed";
	}
	return "unknown error";
}

void
ws_conn_release(struct ws_conn *c)
{
	if (c == NULL)
		return;
	ws_rx_free(c->rx);
	c->rx = NULL;
	tp_release(&c->tp);
	free(c->obuf);
	c->obuf = NULL;
}

void
ws_conn_free(struct ws_conn *c)
{
	if (c == NULL)
		return;
	ws_conn_release(c);
	free(c);		/* the start of its struct ws_conn_alone */
}
