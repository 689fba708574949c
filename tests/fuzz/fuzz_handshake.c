/*
 * Copyright (c) 2026 The chat authors.
 *
 * libFuzzer target: the opening handshake parsers, request and
 * response, plus query decoding of whatever target was parsed and the
 * permessage-deflate negotiation of whatever extensions were.  The
 * input is copied into a buffer of exactly its size so that any read
 * past the end trips ASan.  Invariants: a parsed head fits the input,
 * every field is NUL-terminated within its bound, and an agreed
 * compressor window is 8..15.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "handshake.h"
#include "pmce.h"

#define FUZZ_MAX	(HS_MAX_HEAD + 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hs_request	 req;
	struct hs_response	 resp;
	struct pmce_params	 pp;
	uint8_t			*buf;
	char			 val[64], line[PMCE_LINE_MAX];
	int			 r;

	if (size > FUZZ_MAX)
		return 0;
	if ((buf = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(buf, data, size);

	r = hs_parse_request(buf, size, &req);
	if (r == HS_OK) {
		if (req.head_len > size || req.head_len > HS_MAX_HEAD)
			abort();
		if (strlen(req.key) != HS_KEY_LEN ||
		    strlen(req.target) > HS_MAX_TARGET ||
		    strlen(req.host) > HS_MAX_HOST ||
		    strlen(req.origin) > HS_MAX_ORIGIN ||
		    strlen(req.authorization) > HS_MAX_AUTH)
			abort();
		(void)hs_query_param(req.target, "token", val, sizeof(val));
		(void)hs_query_param(req.target, "since", val, sizeof(val));
		if (strlen(req.extensions) > HS_MAX_EXTENSIONS ||
		    strlen(req.if_none_match) > HS_MAX_ETAG)
			abort();
		r = pmce_accept(req.extensions, strlen(req.extensions), &pp,
		    line);
		if (r == PMCE_OK && (pp.send_bits < 8 || pp.send_bits > 15 ||
		    strlen(line) >= PMCE_LINE_MAX))
			abort();
		if (r != PMCE_OK && (pp.on || line[0] != '\0'))
			abort();
	} else if (r == HS_INCOMPLETE && size >= HS_MAX_HEAD)
		abort();
	(void)hs_strerror(r);

	r = hs_parse_response(buf, size, "dGhlIHNhbXBsZSBub25jZQ==", &resp);
	if (r == HS_OK && (resp.head_len > size || resp.status != 101))
		abort();
	if (r == HS_OK && pmce_check_answer(resp.extensions,
	    strlen(resp.extensions), &pp) == PMCE_OK &&
	    (pp.send_bits < 8 || pp.send_bits > 15))
		abort();
	free(buf);
	return 0;
}
