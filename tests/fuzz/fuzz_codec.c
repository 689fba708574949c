/*
 * Copyright (c) 2026 The chat authors.
 *
 * libFuzzer target: the JSON codec in both directions.  A request that
 * parses is turned into the event the server would send, which must
 * parse back to the same message text; events are parsed too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

#define FUZZ_MAX	(64 * 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

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
	if (codec_parse_req((const char *)data, size, &req, &err,
	    detail) == 0) {
		if (req.type == CODEC_REQ_CHAT) {
			if (!codec_valid_user(req.target, strlen(req.target)))
				abort();
			p = codec_chat("8888", req.message, req.message_len,
			    1, &len);
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
