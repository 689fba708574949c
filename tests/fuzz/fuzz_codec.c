/*
 * Copyright (c) 2026 The chat authors.
 *
 * libFuzzer target: the JSON codec in both directions.  A request that
 * parses is turned into the event the server would send, which must
 * parse back to the same message text; events are parsed too.  The
 * fast path for chat requests must agree with jansson on every input:
 * same verdict, same message, target and id.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "codec.h"

#define FUZZ_MAX	(64 * 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The hand-written chat event must be byte for byte jansson's. */
static void
compare_builder(const char *msg, size_t len)
{
	json_t	*o;
	char	*want, *got;
	size_t	 n;

	o = json_pack("{s:s%,s:s,s:I}", "message", msg, len, "from_user",
	    "a.b_c-9", "ts", (json_int_t)1795632412826LL);
	if (o == NULL)
		return;
	want = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	got = codec_chat("a.b_c-9", msg, len, 1795632412826ULL, 0, &n);
	if (want == NULL || got == NULL || strcmp(want, got) != 0 ||
	    n != strlen(want))
		abort();
	free(want);
	free(got);
}

static void
compare_paths(const char *p, size_t size)
{
	struct codec_req	 fast, slow;
	const char		*e1, *e2;
	char			 d1[CODEC_MAX_DETAIL + 1], d2[CODEC_MAX_DETAIL + 1];
	int			 r1, r2;

	codec_set_fast_path(1);
	r1 = codec_parse_req(p, size, &fast, &e1, d1);
	codec_set_fast_path(0);
	r2 = codec_parse_req(p, size, &slow, &e2, d2);
	codec_set_fast_path(1);
	if (r1 != r2)
		abort();
	if (r1 == 0 && (fast.type != slow.type ||
	    strcmp(fast.id, slow.id) != 0 ||
	    (fast.type == CODEC_REQ_CHAT &&
	    (strcmp(fast.target, slow.target) != 0 ||
	    strcmp(fast.room, slow.room) != 0 ||
	    fast.message_len != slow.message_len ||
	    memcmp(fast.message, slow.message, fast.message_len) != 0))))
		abort();
	if (r1 != 0 && strcmp(e1, e2) != 0)
		abort();
	codec_req_release(&fast);
	codec_req_release(&slow);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct codec_req	 req;
	struct codec_ev		 ev;
	const char		*err;
	char			 detail[CODEC_MAX_DETAIL + 1], *p;
	size_t			 len;

	if (size > FUZZ_MAX)
		return 0;
	compare_paths((const char *)data, size);
	if (codec_parse_req((const char *)data, size, &req, &err,
	    detail) == 0) {
		if (req.type == CODEC_REQ_CHAT) {
			compare_builder(req.message, req.message_len);
			/* One target: a user or a room. */
			if (codec_valid_user(req.target, strlen(req.target)) ==
			    codec_valid_room(req.room, strlen(req.room)))
				abort();
			p = codec_chat("8888", req.message, req.message_len,
			    1, 0, &len);
			if (p == NULL)
				abort();
			if (codec_parse_ev(p, len, &ev, detail) != 0 ||
			    ev.type != CODEC_EV_CHAT ||
			    ev.message_len != req.message_len ||
			    memcmp(ev.message, req.message, len > 0 ?
			    req.message_len : 0) != 0)
				abort();
			codec_ev_release(&ev);
			free(p);
			if ((p = codec_ack(req.id, "queued", &len)) == NULL)
				abort();
			free(p);
		}
		codec_req_release(&req);
	} else {
		if (err == NULL || strlen(detail) > CODEC_MAX_DETAIL)
			abort();
		if ((p = codec_error(err, detail, req.id, &len)) == NULL)
			abort();
		free(p);
	}
	if (codec_parse_ev((const char *)data, size, &ev, detail) == 0)
		codec_ev_release(&ev);
	return 0;
}
