/*
 * Copyright (c) 2026 The chat authors.
 *
 * test_codec: unit tests for common/codec.c.  Every error code the
 * request parser can give, client ids of each kind, the exact bytes of
 * the seed's chat event, escaping, UTF-8, watch limits and each server
 * event type.  No sockets: text in, struct out and back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "codec.h"
#include "tap.h"

#define S(lit)	(lit), (sizeof(lit) - 1)

/*
 * Parse s and expect failure with code and a detail in printable ASCII:
 * details never echo the peer's bytes.  Returns the detail's length.
 */
static size_t
req_fails(const char *s, size_t len, const char *code, struct codec_req *req)
{
	const char	*err = NULL;
	char		 detail[CODEC_MAX_DETAIL + 1];
	size_t		 i;
	int		 rc, printable = 1;

	memset(detail, 'x', sizeof(detail));
	rc = codec_parse_req(s, len, req, &err, detail);
	CHECK_INT(rc, -1);
	CHECK_STR(err, code);
	CHECK(req->priv == NULL && req->users == NULL &&
	    req->message == NULL);
	CHECK(strlen(detail) > 0 && strlen(detail) <= CODEC_MAX_DETAIL);
	for (i = 0; detail[i] != '\0'; i++)
		if (detail[i] < ' ' || detail[i] > '~')
			printable = 0;
	CHECK(printable);
	return strlen(detail);
}

static void
bad(const char *s, const char *code)
{
	struct codec_req	req;

	req_fails(s, strlen(s), code, &req);
	codec_req_release(&req);
}

/*
 * Compare a builder's whole text and its length, then free it.  The
 * length is read through a pointer: the builder that sets it is an
 * argument of this call, and argument order is unspecified.
 */
static void
same(char *got, const size_t *lenp, const char *want)
{
	CHECK_STR(got, want);
	CHECK_INT(*lenp, strlen(want));
	free(got);
}

static void
test_valid_user(void)
{
	char	long_id[CODEC_MAX_USER + 2];

	CHECK(codec_valid_user(S("8888")));
	CHECK(codec_valid_user(S("a.b_c-D9")));
	CHECK(!codec_valid_user(S("")));
	CHECK(!codec_valid_user(NULL, 0));
	CHECK(!codec_valid_user(S("a b")));
	CHECK(!codec_valid_user(S("a/b")));
	CHECK(!codec_valid_user(S("\xc3\xa9")));
	CHECK(!codec_valid_user(S("ab\0c")));
	/* Length is what counts, not a NUL: "ab" out of "abc". */
	CHECK(codec_valid_user("abc", 2));
	memset(long_id, 'u', sizeof(long_id));
	CHECK(codec_valid_user(long_id, CODEC_MAX_USER));
	CHECK(!codec_valid_user(long_id, CODEC_MAX_USER + 1));
}

static void
test_req_chat(void)
{
	struct codec_req	 req;
	const char		*err = (const char *)1;
	char			 detail[CODEC_MAX_DETAIL + 1];
	const char		*buf;

	/* The seed's message: no "type", no "id". */
	CHECK_INT(codec_parse_req(S("{\"message\":\"hello\","
	    "\"target_user\":\"8888\"}"), &req, &err, detail), 0);
	CHECK_INT(req.type, CODEC_REQ_CHAT);
	CHECK_INT(req.message_len, 5);
	CHECK(req.message != NULL && memcmp(req.message, "hello", 5) == 0);
	CHECK_STR(req.target, "8888");
	CHECK_STR(req.id, "");
	CHECK(err == NULL);
	codec_req_release(&req);

	/* Explicit type, unknown members ignored, whitespace allowed. */
	CHECK_INT(codec_parse_req(S(" { \"type\" : \"chat\", \"x\": [1, {}],"
	    " \"target_user\":\"b.o-b_1\", \"message\":\"\", \"id\":7 } "),
	    &req, &err, detail), 0);
	CHECK_INT(req.type, CODEC_REQ_CHAT);
	CHECK_INT(req.message_len, 0);
	CHECK_STR(req.message, "");
	CHECK_STR(req.target, "b.o-b_1");
	CHECK_STR(req.id, "7");
	codec_req_release(&req);

	/* Only len bytes are read: the buffer need not end in NUL. */
	buf = "{\"message\":\"m\",\"target_user\":\"t\"}trailing garbage";
	CHECK_INT(codec_parse_req(buf, strlen(buf) - 16, &req, &err, detail),
	    0);
	CHECK_STR(req.target, "t");
	codec_req_release(&req);
	req_fails(buf, strlen(buf), CODEC_E_BAD_JSON, &req);

	/* err and detail may be NULL. */
	CHECK_INT(codec_parse_req(S("{\"type\":\"who\"}"), &req, NULL, NULL),
	    0);
	codec_req_release(&req);
	CHECK_INT(codec_parse_req(S("{"), &req, NULL, NULL), -1);
	CHECK_INT(codec_parse_req(NULL, 0, &req, &err, detail), -1);
	CHECK_STR(err, CODEC_E_BAD_JSON);
}

static void
test_req_errors(void)
{
	struct codec_req	req;
	char			buf[512];
	size_t			n;

	/* bad_json */
	bad("", CODEC_E_BAD_JSON);
	bad("not json", CODEC_E_BAD_JSON);
	bad("{", CODEC_E_BAD_JSON);
	bad("{\"message\":\"a\",}", CODEC_E_BAD_JSON);
	bad("[1,2]", CODEC_E_BAD_JSON);
	bad("[]", CODEC_E_BAD_JSON);
	bad("\"message\"", CODEC_E_BAD_JSON);
	bad("42", CODEC_E_BAD_JSON);
	bad("null", CODEC_E_BAD_JSON);
	bad("{} {}", CODEC_E_BAD_JSON);
	bad("{\"message\":\"\xff\",\"target_user\":\"a\"}", CODEC_E_BAD_JSON);
	bad("{\"message\":\"\xc3\",\"target_user\":\"a\"}", CODEC_E_BAD_JSON);
	bad("{\"message\":\"\\ud800\",\"target_user\":\"a\"}",
	    CODEC_E_BAD_JSON);
	bad("{\"message\":\"a\nb\",\"target_user\":\"a\"}", CODEC_E_BAD_JSON);
	bad("{\"id\":1e99999,\"message\":\"a\",\"target_user\":\"a\"}",
	    CODEC_E_BAD_JSON);
	bad("{\"id\":99999999999999999999,\"message\":\"a\","
	    "\"target_user\":\"a\"}", CODEC_E_BAD_JSON);
	/* A raw NUL byte inside the buffer. */
	req_fails(S("{\"message\":\"a\0\",\"target_user\":\"a\"}"),
	    CODEC_E_BAD_JSON, &req);
	req_fails(S("{\"type\":\"who\"}\0"), CODEC_E_BAD_JSON, &req);
	/* Nesting is bounded by jansson, not by our stack. */
	memset(buf, '[', sizeof(buf));
	bad("{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
	    CODEC_E_BAD_JSON);
	req_fails(buf, sizeof(buf), CODEC_E_BAD_JSON, &req);

	/* bad_message */
	bad("{}", CODEC_E_BAD_MESSAGE);
	bad("{\"target_user\":\"a\"}", CODEC_E_BAD_MESSAGE);
	bad("{\"message\":\"hi\"}", CODEC_E_BAD_MESSAGE);
	bad("{\"message\":5,\"target_user\":\"a\"}", CODEC_E_BAD_MESSAGE);
	bad("{\"message\":null,\"target_user\":\"a\"}", CODEC_E_BAD_MESSAGE);
	bad("{\"message\":[\"a\"],\"target_user\":\"a\"}",
	    CODEC_E_BAD_MESSAGE);
	bad("{\"message\":\"a\",\"target_user\":8888}", CODEC_E_BAD_MESSAGE);
	bad("{\"message\":\"a\",\"target_user\":null}", CODEC_E_BAD_MESSAGE);
	bad("{\"type\":\"chat\"}", CODEC_E_BAD_MESSAGE);
	bad("{\"type\":1,\"message\":\"a\",\"target_user\":\"a\"}",
	    CODEC_E_BAD_MESSAGE);
	bad("{\"type\":null}", CODEC_E_BAD_MESSAGE);
	bad("{\"type\":\"watch\"}", CODEC_E_BAD_MESSAGE);
	bad("{\"type\":\"watch\",\"users\":\"a\"}", CODEC_E_BAD_MESSAGE);
	bad("{\"type\":\"watch\",\"users\":{}}", CODEC_E_BAD_MESSAGE);

	/* bad_target */
	bad("{\"message\":\"a\",\"target_user\":\"\"}", CODEC_E_BAD_TARGET);
	bad("{\"message\":\"a\",\"target_user\":\"a b\"}", CODEC_E_BAD_TARGET);
	bad("{\"message\":\"a\",\"target_user\":\"\xe4\xbd\xa0\"}",
	    CODEC_E_BAD_TARGET);
	bad("{\"message\":\"a\",\"target_user\":\"a\\u0000\"}",
	    CODEC_E_BAD_JSON);
	snprintf(buf, sizeof(buf), "{\"message\":\"a\",\"target_user\":"
	    "\"%065d\"}", 0);
	bad(buf, CODEC_E_BAD_TARGET);
	snprintf(buf, sizeof(buf), "{\"message\":\"a\",\"target_user\":"
	    "\"%064d\"}", 0);
	CHECK_INT(codec_parse_req(buf, strlen(buf), &req, NULL, NULL), 0);
	CHECK_INT(strlen(req.target), 64);
	codec_req_release(&req);

	/* unknown_type */
	bad("{\"type\":\"nope\"}", CODEC_E_UNKNOWN_TYPE);
	bad("{\"type\":\"\",\"message\":\"a\",\"target_user\":\"a\"}",
	    CODEC_E_UNKNOWN_TYPE);
	bad("{\"type\":\"WHO\"}", CODEC_E_UNKNOWN_TYPE);

	/* bad_id: checked before everything else. */
	bad("{\"id\":{},\"message\":\"a\",\"target_user\":\"a\"}",
	    CODEC_E_BAD_ID);
	bad("{\"id\":[1],\"type\":\"who\"}", CODEC_E_BAD_ID);
	bad("{\"id\":true,\"type\":\"who\"}", CODEC_E_BAD_ID);
	bad("{\"id\":null,\"type\":\"who\"}", CODEC_E_BAD_ID);
	bad("{\"id\":{},\"type\":\"nope\"}", CODEC_E_BAD_ID);

	/* The detail names the problem, not the bytes. */
	n = req_fails(S("{\"message\":\"a\",\"target_user\":\"\xff\"}"),
	    CODEC_E_BAD_JSON, &req);
	CHECK(n > 0);
}

static void
test_req_detail(void)
{
	struct codec_req	 req;
	const char		*err;
	char			 detail[CODEC_MAX_DETAIL + 1];

	CHECK_INT(codec_parse_req(S("{\"message\":\"a\",\"target_user\":5}"),
	    &req, &err, detail), -1);
	CHECK_STR(detail, "\"target_user\" must be a string");
	CHECK_INT(codec_parse_req(S("{\"message\":1,\"target_user\":\"a\"}"),
	    &req, &err, detail), -1);
	CHECK_STR(detail, "\"message\" must be a string");
	CHECK_INT(codec_parse_req(S("{\"target_user\":\"a\"}"),
	    &req, &err, detail), -1);
	CHECK_STR(detail, "\"message\" is missing");
	CHECK_INT(codec_parse_req(S("{\"message\":\"a\"}"),
	    &req, &err, detail), -1);
	CHECK_STR(detail, "\"target_user\" is missing");
	CHECK_INT(codec_parse_req(S("{\"message\":\"\xff\"}"),
	    &req, &err, detail), -1);
	CHECK_STR(detail, "text is not valid UTF-8");
	CHECK_INT(codec_parse_req(S("nope"), &req, &err, detail), -1);
	CHECK(strncmp(detail, "not valid JSON", 14) == 0);
}

static void
test_req_ids(void)
{
	struct codec_req	 req;
	const char		*err;
	char			 buf[512], detail[CODEC_MAX_DETAIL + 1];
	int			 i;
	static const struct {
		const char	*in;
		const char	*want;
	} ok[] = {
		{ "\"abc\"", "\"abc\"" },
		{ "\"\"", "\"\"" },
		{ "42", "42" },
		{ "-7", "-7" },
		{ "0", "0" },
		{ "9223372036854775807", "9223372036854775807" },
		{ "1.5", "1.5" },
		{ "0.1", "0.1" },
		{ "-2.0", "-2.0" },
		{ "1e3", "1e3" },
		{ "1e300", "1e300" },
		{ "1.5e-7", "1.5e-7" },
		{ "123456.0", "123456.0" },
		{ "3.141592653589793", "3.141592653589793" },
		{ "\"a\\\"b\"", "\"a\\\"b\"" },
		{ "\"\\u00e9\"", "\"\xc3\xa9\"" },
		{ "\"\xe4\xbd\xa0\"", "\"\xe4\xbd\xa0\"" },
		{ "\"a/b\\/c\"", "\"a/b/c\"" },
		{ "\"\\t\"", "\"\\t\"" },
	};

	for (i = 0; i < (int)(sizeof(ok) / sizeof(ok[0])); i++) {
		snprintf(buf, sizeof(buf), "{\"id\":%s,\"message\":\"m\","
		    "\"target_user\":\"t\"}", ok[i].in);
		CHECK_INT(codec_parse_req(buf, strlen(buf), &req, &err,
		    detail), 0);
		CHECK_STR(req.id, ok[i].want);
		codec_req_release(&req);
	}

	/* 126 characters plus quotes is exactly CODEC_MAX_IDJSON. */
	snprintf(buf, sizeof(buf), "{\"type\":\"who\",\"id\":\"%0*d\"}",
	    CODEC_MAX_IDJSON - 2, 0);
	CHECK_INT(codec_parse_req(buf, strlen(buf), &req, &err, detail), 0);
	CHECK_INT(strlen(req.id), CODEC_MAX_IDJSON);
	codec_req_release(&req);
	snprintf(buf, sizeof(buf), "{\"type\":\"who\",\"id\":\"%0*d\"}",
	    CODEC_MAX_IDJSON - 1, 0);
	CHECK_INT(codec_parse_req(buf, strlen(buf), &req, &err, detail), -1);
	CHECK_STR(err, CODEC_E_BAD_ID);
	CHECK_STR(req.id, "");
	/* Escapes count: 64 quotes become 128 bytes plus 2. */
	snprintf(buf, sizeof(buf), "{\"type\":\"who\",\"id\":\"%s\"}",
	    "\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\""
	    "\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\""
	    "\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\""
	    "\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"");
	CHECK_INT(codec_parse_req(buf, strlen(buf), &req, &err, detail), -1);
	CHECK_STR(err, CODEC_E_BAD_ID);
	/* A long number. */
	snprintf(buf, sizeof(buf), "{\"type\":\"who\",\"id\":0.%0*d1}",
	    CODEC_MAX_IDJSON + 10, 0);
	CHECK_INT(codec_parse_req(buf, strlen(buf), &req, &err, detail), 0);
	CHECK_STR(req.id, "1e-139");
	codec_req_release(&req);

	/* On a later error the id is still there, for the reply. */
	CHECK_INT(codec_parse_req(S("{\"id\":\"q1\",\"message\":5,"
	    "\"target_user\":\"x\"}"), &req, &err, detail), -1);
	CHECK_STR(err, CODEC_E_BAD_MESSAGE);
	CHECK_STR(req.id, "\"q1\"");
	CHECK(req.priv == NULL && req.message == NULL);
	CHECK_INT(codec_parse_req(S("{\"id\":2.5,\"type\":\"x\"}"), &req,
	    &err, detail), -1);
	CHECK_STR(err, CODEC_E_UNKNOWN_TYPE);
	CHECK_STR(req.id, "2.5");
	CHECK_INT(codec_parse_req(S("{\"id\":9,\"target_user\":\"a b\","
	    "\"message\":\"m\"}"), &req, &err, detail), -1);
	CHECK_STR(err, CODEC_E_BAD_TARGET);
	CHECK_STR(req.id, "9");
	/* But not when the text is not JSON at all. */
	CHECK_INT(codec_parse_req(S("{\"id\":9,"), &req, &err, detail), -1);
	CHECK_STR(req.id, "");
}

static void
test_req_who_watch(void)
{
	struct codec_req	 req;
	const char		*err;
	char			 detail[CODEC_MAX_DETAIL + 1], *buf, *p;
	int			 i;

	CHECK_INT(codec_parse_req(S("{\"type\":\"who\"}"), &req, &err,
	    detail), 0);
	CHECK_INT(req.type, CODEC_REQ_WHO);
	codec_req_release(&req);
	CHECK_INT(codec_parse_req(S("{\"type\":\"who\",\"message\":5,"
	    "\"id\":\"w\"}"), &req, &err, detail), 0);
	CHECK_INT(req.type, CODEC_REQ_WHO);
	CHECK_STR(req.id, "\"w\"");
	codec_req_release(&req);

	CHECK_INT(codec_parse_req(S("{\"type\":\"watch\",\"users\":[]}"),
	    &req, &err, detail), 0);
	CHECK_INT(req.type, CODEC_REQ_WATCH);
	CHECK_INT(req.nusers, 0);
	codec_req_release(&req);

	CHECK_INT(codec_parse_req(S("{\"type\":\"watch\",\"users\":[\"a\","
	    "\"b.c\",\"a\"]}"), &req, &err, detail), 0);
	CHECK_INT(req.nusers, 3);
	if (req.nusers == 3) {
		CHECK_STR(req.users[0], "a");
		CHECK_STR(req.users[1], "b.c");
		CHECK_STR(req.users[2], "a");
	}
	codec_req_release(&req);

	bad("{\"type\":\"watch\",\"users\":[\"a\",\"b c\"]}",
	    CODEC_E_BAD_TARGET);
	bad("{\"type\":\"watch\",\"users\":[\"a\",5]}", CODEC_E_BAD_TARGET);
	bad("{\"type\":\"watch\",\"users\":[\"\"]}", CODEC_E_BAD_TARGET);
	bad("{\"type\":\"watch\",\"users\":[null]}", CODEC_E_BAD_TARGET);

	/* CODEC_MAX_WATCH users is fine, one more is not. */
	buf = malloc(32 + (CODEC_MAX_WATCH + 1) * 16);
	CHECK(buf != NULL);
	if (buf == NULL)
		return;
	p = buf + sprintf(buf, "{\"type\":\"watch\",\"users\":[");
	for (i = 0; i < CODEC_MAX_WATCH; i++)
		p += sprintf(p, "%s\"u%d\"", i == 0 ? "" : ",", i);
	strcpy(p, "]}");
	CHECK_INT(codec_parse_req(buf, strlen(buf), &req, &err, detail), 0);
	CHECK_INT(req.nusers, CODEC_MAX_WATCH);
	if (req.nusers == CODEC_MAX_WATCH) {
		CHECK_STR(req.users[0], "u0");
		CHECK_STR(req.users[CODEC_MAX_WATCH - 1], "u255");
	}
	codec_req_release(&req);
	p += sprintf(p, ",\"u%d\"]}", i);
	CHECK_INT(codec_parse_req(buf, strlen(buf), &req, &err, detail), -1);
	CHECK_STR(err, CODEC_E_TOO_MANY);
	CHECK(req.users == NULL && req.nusers == 0);
	free(buf);
}

static void
test_release(void)
{
	struct codec_req	req;
	struct codec_ev		ev;

	memset(&req, 0, sizeof(req));
	codec_req_release(&req);
	codec_req_release(NULL);
	CHECK_INT(codec_parse_req(S("{\"type\":\"watch\",\"users\":[\"a\"]}"),
	    &req, NULL, NULL), 0);
	codec_req_release(&req);
	CHECK(req.priv == NULL && req.users == NULL && req.nusers == 0);
	codec_req_release(&req);
	CHECK_INT(codec_parse_req(S("{\"message\":\"a\","
	    "\"target_user\":\"b\"}"), &req, NULL, NULL), 0);
	codec_req_release(&req);
	CHECK(req.message == NULL && req.message_len == 0);
	codec_req_release(&req);

	memset(&ev, 0, sizeof(ev));
	codec_ev_release(&ev);
	codec_ev_release(NULL);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"who\",\"users\":[\"a\"]}"),
	    &ev, NULL), 0);
	codec_ev_release(&ev);
	CHECK(ev.priv == NULL && ev.users == NULL && ev.nusers == 0);
	codec_ev_release(&ev);
}

static void
test_nul(void)
{
	struct codec_req	 req;
	const char		*err;
	char			 detail[CODEC_MAX_DETAIL + 1], *s;
	size_t			 len;

	/*
	 * We do not allow NUL in messages: "\u0000" is refused, so every
	 * message handed out is also a C string.
	 */
	CHECK_INT(codec_parse_req(S("{\"message\":\"a\\u0000b\","
	    "\"target_user\":\"t\",\"id\":1}"), &req, &err, detail), -1);
	CHECK_STR(err, CODEC_E_BAD_JSON);
	CHECK_STR(detail, "\\u0000 is not allowed in strings");
	CHECK(req.message == NULL);

	/* Builders escape a NUL they are given; parsing it back fails. */
	s = codec_req_chat("t", "a\0b", 3, NULL, &len);
	CHECK_STR(s, "{\"message\":\"a\\u0000b\",\"target_user\":\"t\"}");
	CHECK_INT(codec_parse_req(s, len, &req, &err, detail), -1);
	CHECK_STR(err, CODEC_E_BAD_JSON);
	free(s);
	s = codec_chat("f", "\0", 1, 1, 0, &len);
	CHECK_STR(s, "{\"message\":\"\\u0000\",\"from_user\":\"f\",\"ts\":1}");
	free(s);
}

static void
test_builders(void)
{
	const char *const	 users[] = { "a", "b.c", "8888" };
	size_t			 len;
	char			*s;

	/* The seed's bytes exactly. */
	s = codec_chat("8888", "hello", 5, 123, 0, &len);
	same(s, &len, "{\"message\":\"hello\",\"from_user\":\"8888\","
	    "\"ts\":123}");
	s = codec_chat("u", "hi", 2, 1767225600123ULL, 0, &len);
	same(s, &len, "{\"message\":\"hi\",\"from_user\":\"u\","
	    "\"ts\":1767225600123}");
	s = codec_chat("u", "", 0, 0, 0, &len);
	same(s, &len, "{\"message\":\"\",\"from_user\":\"u\",\"ts\":0}");
	s = codec_chat("u", NULL, 0, UINT64_MAX, 0, &len);
	same(s, &len, "{\"message\":\"\",\"from_user\":\"u\","
	    "\"ts\":9223372036854775807}");
	/* Only msglen bytes are used. */
	s = codec_chat("u", "hello", 4, 5, 0, NULL);
	CHECK_STR(s, "{\"message\":\"hell\",\"from_user\":\"u\",\"ts\":5}");
	free(s);

	/* Escaping: quotes, backslash, newlines, control bytes. */
	s = codec_chat("u", S("q\"b\\n\nr\rt\tb\bf\f\x01\x1f\x7f/"), 9, 0, &len);
	same(s, &len, "{\"message\":\"q\\\"b\\\\n\\nr\\rt\\tb\\bf\\f"
	    "\\u0001\\u001F\x7f/\",\"from_user\":\"u\",\"ts\":9}");

	/* UTF-8 stays raw. */
	s = codec_chat("u", S("\xe4\xbd\xa0\xe5\xa5\xbd, "
	    "\xe4\xb8\x96\xe7\x95\x8c"), 2, 0, &len);
	same(s, &len, "{\"message\":\"\xe4\xbd\xa0\xe5\xa5\xbd, "
	    "\xe4\xb8\x96\xe7\x95\x8c\",\"from_user\":\"u\",\"ts\":2}");
	s = codec_chat("u", S("\xf0\x9f\x98\x80"), 3, 0, &len);
	same(s, &len, "{\"message\":\"\xf0\x9f\x98\x80\",\"from_user\":\"u\","
	    "\"ts\":3}");

	/* Invalid UTF-8 is refused. */
	CHECK(codec_chat("u", S("\xff"), 1, 0, &len) == NULL);
	CHECK_INT(len, 0);
	CHECK(codec_chat("u", S("\xe4\xbd"), 1, 0, &len) == NULL);
	CHECK(codec_req_chat("t", S("\xc0\x80"), NULL, &len) == NULL);
	CHECK(codec_chat("u", NULL, 3, 1, 0, &len) == NULL);

	/* ack */
	same(codec_ack("\"abc\"", "ok", &len), &len,
	    "{\"type\":\"ack\",\"id\":\"abc\",\"status\":\"ok\"}");
	same(codec_ack("42", "queued", &len), &len,
	    "{\"type\":\"ack\",\"id\":42,\"status\":\"queued\"}");
	same(codec_ack("0.1", "ok", &len), &len,
	    "{\"type\":\"ack\",\"id\":0.1,\"status\":\"ok\"}");
	same(codec_ack("\"\xe4\xbd\xa0\"", "ok", &len), &len,
	    "{\"type\":\"ack\",\"id\":\"\xe4\xbd\xa0\",\"status\":\"ok\"}");
	same(codec_ack(NULL, "ok", &len), &len,
	    "{\"type\":\"ack\",\"status\":\"ok\"}");
	same(codec_ack("", "ok", &len), &len,
	    "{\"type\":\"ack\",\"status\":\"ok\"}");
	CHECK(codec_ack("{broken", "ok", &len) == NULL);

	/* error */
	same(codec_error(CODEC_E_BAD_TARGET, "no such \"user\"", NULL, &len),
	    &len, "{\"type\":\"error\",\"error\":\"bad_target\","
	    "\"detail\":\"no such \\\"user\\\"\"}");
	same(codec_error(CODEC_E_QUEUE_FULL, "full", "\"m1\"", &len), &len,
	    "{\"type\":\"error\",\"error\":\"queue_full\",\"detail\":\"full\","
	    "\"id\":\"m1\"}");
	same(codec_error(CODEC_E_BINARY, NULL, "7", &len), &len,
	    "{\"type\":\"error\",\"error\":\"binary_unsupported\","
	    "\"detail\":\"\",\"id\":7}");

	/* who, presence */
	same(codec_who(users, 3, 0, &len), &len,
	    "{\"type\":\"who\",\"users\":[\"a\",\"b.c\",\"8888\"]}");
	same(codec_who(NULL, 0, 0, &len), &len, "{\"type\":\"who\",\"users\":[]}");
	same(codec_who(NULL, 0, 1, &len), &len,
	    "{\"type\":\"who\",\"users\":[],\"truncated\":true}");
	/* The hand-written "who" is jansson's text, escapes included. */
	{
		const char *const	 odd[] = { "q\"uote", "back\\slash",
		    "tab\tnl\n", "\x01\x1f", "caf\xc3\xa9", "", "z" };
		json_t			*o, *a;
		char			*want, *got;
		size_t			 i, glen;

		for (i = 0; i <= 7; i++) {
			a = json_array();
			for (size_t j = 0; j < i; j++)
				json_array_append_new(a, json_string(odd[j]));
			o = json_pack("{s:s,s:o}", "type", "who", "users", a);
			if (i % 2)
				json_object_set_new(o, "truncated", json_true());
			want = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
			got = codec_who(odd, i, i % 2, &glen);
			CHECK_STR(got, want);
			CHECK_INT(glen, strlen(want));
			free(got);
			free(want);
			json_decref(o);
		}
	}
	same(codec_presence("a", 1, &len), &len,
	    "{\"type\":\"presence\",\"user\":\"a\",\"online\":true}");
	same(codec_presence("a", 0, &len), &len,
	    "{\"type\":\"presence\",\"user\":\"a\",\"online\":false}");
	same(codec_presence("a", 42, &len), &len,
	    "{\"type\":\"presence\",\"user\":\"a\",\"online\":true}");

	/* sent: a copy of our own message from another connection */
	same(codec_sent("6666", "hi \"x\"\n", 7, 1700000000123ULL, &len),
	    &len, "{\"type\":\"sent\",\"message\":\"hi \\\"x\\\"\\n\","
	    "\"target_user\":\"6666\",\"ts\":1700000000123}");

	/* Client requests. */
	same(codec_req_chat("8888", "hello", 5, NULL, &len), &len,
	    "{\"message\":\"hello\",\"target_user\":\"8888\"}");
	same(codec_req_chat("8888", "hello", 5, "\"c1\"", &len), &len,
	    "{\"message\":\"hello\",\"target_user\":\"8888\",\"id\":\"c1\"}");
	same(codec_req_chat("8888", "hello", 5, "12", &len), &len,
	    "{\"message\":\"hello\",\"target_user\":\"8888\",\"id\":12}");
	same(codec_req_who(&len), &len, "{\"type\":\"who\"}");
	same(codec_req_watch(users, 2, &len), &len,
	    "{\"type\":\"watch\",\"users\":[\"a\",\"b.c\"]}");
	same(codec_req_watch(NULL, 0, &len), &len,
	    "{\"type\":\"watch\",\"users\":[]}");
}

static void
test_roundtrip(void)
{
	static const char	 cjk[] = "\xe4\xbd\xa0\xe5\xa5\xbd, "
	    "\xe4\xb8\x96\xe7\x95\x8c";	/* 你好, 世界 */
	static const char	 nasty[] = "\"\\\n\r\t\x01 </script> \xc3\xa9";
	struct codec_req	 req;
	struct codec_ev		 ev;
	const char		*err;
	char			 detail[CODEC_MAX_DETAIL + 1], *s, *e;
	size_t			 len, elen;

	CHECK_INT(strlen(cjk), 14);

	/* Client builds, server parses. */
	s = codec_req_chat("8888", cjk, strlen(cjk), "\"x\"", &len);
	CHECK(s != NULL);
	CHECK_INT(codec_parse_req(s, len, &req, &err, detail), 0);
	CHECK_INT(req.message_len, strlen(cjk));
	CHECK(memcmp(req.message, cjk, strlen(cjk)) == 0);
	CHECK_STR(req.target, "8888");
	CHECK_STR(req.id, "\"x\"");

	/* Server relays, client parses. */
	e = codec_chat("me", req.message, req.message_len, 77, 0, &elen);
	codec_req_release(&req);
	free(s);
	CHECK_INT(codec_parse_ev(e, elen, &ev, detail), 0);
	CHECK_INT(ev.type, CODEC_EV_CHAT);
	CHECK_INT(ev.message_len, strlen(cjk));
	CHECK(memcmp(ev.message, cjk, strlen(cjk)) == 0);
	CHECK_STR(ev.from, "me");
	CHECK_INT(ev.ts, 77);
	codec_ev_release(&ev);
	free(e);

	/* \u escapes in the input come out as raw UTF-8. */
	CHECK_INT(codec_parse_req(S("{\"message\":\"\\u4f60\\u597d, "
	    "\\u4e16\\u754c\",\"target_user\":\"a\"}"), &req, &err, detail),
	    0);
	CHECK_INT(req.message_len, strlen(cjk));
	CHECK(memcmp(req.message, cjk, strlen(cjk)) == 0);
	codec_req_release(&req);
	CHECK_INT(codec_parse_req(S("{\"message\":\"\\ud83d\\ude00\","
	    "\"target_user\":\"a\"}"), &req, &err, detail), 0);
	CHECK_STR(req.message, "\xf0\x9f\x98\x80");
	codec_req_release(&req);

	/* Escaped bytes survive both directions. */
	s = codec_req_chat("t", nasty, strlen(nasty), "0.1", &len);
	CHECK_INT(codec_parse_req(s, len, &req, &err, detail), 0);
	CHECK_INT(req.message_len, strlen(nasty));
	CHECK_STR(req.message, nasty);
	CHECK_STR(req.id, "0.1");
	free(s);
	s = codec_chat("f", req.message, req.message_len, 1, 0, &len);
	codec_req_release(&req);
	CHECK_INT(codec_parse_ev(s, len, &ev, detail), 0);
	CHECK_STR(ev.message, nasty);
	codec_ev_release(&ev);
	free(s);

	/* An error reply carries the request's id and reads back. */
	CHECK_INT(codec_parse_req(S("{\"id\":[\"no\"]}"), &req, &err, detail),
	    -1);
	CHECK_INT(codec_parse_req(S("{\"id\":\"r9\",\"type\":\"dance\"}"), &req,
	    &err, detail), -1);
	e = codec_error(err, detail, req.id, &elen);
	CHECK(e != NULL);
	CHECK_INT(codec_parse_ev(e, elen, &ev, NULL), 0);
	CHECK_INT(ev.type, CODEC_EV_ERROR);
	CHECK_STR(ev.error, CODEC_E_UNKNOWN_TYPE);
	CHECK_STR(ev.detail, detail);
	CHECK_STR(ev.id, "\"r9\"");
	codec_ev_release(&ev);
	free(e);
}

/*
 * A byte to escape, or one close to it (the same low bits, a UTF-8
 * byte with its top bit set), after 0 to 39 bytes and before 0 to 39
 * (the last byte of a text too): the scans go eight bytes at a time
 * where they can, so each word's every lane and the tail after the
 * last whole word are tried.
 * Each text goes through the builders and the parser, fast path and
 * jansson, unchanged; one with nothing to escape is written as is.
 */
static void
test_scan_offsets(void)
{
	static const char *const	 xs[] = {
		"\x01", "\x1f", "\n", "\"", "\\", "\x7f", " ", "!", "#", "[",
		"]", "\xc2\xa2", "\xdc\x80", "\xc2\x9f", "\xe2\x80\xa8"
	};
	struct codec_req	 req;
	struct codec_ev		 ev;
	const char		*err;
	char			 msg[64], *s;
	size_t			 len, pos, x, xl, n, mlen, bad = 0;
	int			 fast, plain;

	for (len = 1; len <= 40; len++)
		for (pos = 0; pos < len; pos++)
			for (x = 0; x < sizeof(xs) / sizeof(xs[0]); x++) {
		xl = strlen(xs[x]);
		memset(msg, 'a', pos);
		memcpy(msg + pos, xs[x], xl);
		memset(msg + pos + xl, 'b', len - pos - 1);
		mlen = pos + xl + len - pos - 1;
		msg[mlen] = '\0';
		plain = strchr("\x01\x1f\n\"\\", xs[x][0]) == NULL;
		/* Built by the server, read by a client. */
		s = codec_chat("me", msg, mlen, 1, 0, &n);
		if (s == NULL || codec_parse_ev(s, n, &ev, NULL) != 0) {
			bad++;
			free(s);
			continue;
		}
		if (ev.message_len != mlen ||
		    memcmp(ev.message, msg, mlen) != 0 ||
		    (n > 13 + mlen && memcmp(s + 12, msg, mlen) == 0 &&
		    memcmp(s + 12 + mlen, "\",", 2) == 0) != plain)
			bad++;
		codec_ev_release(&ev);
		free(s);
		/* Built by a client, read by the server either way. */
		s = codec_req_chat("t", msg, mlen, NULL, &n);
		for (fast = 0; fast <= 1 && s != NULL; fast++) {
			codec_set_fast_path(fast);
			if (codec_parse_req(s, n, &req, &err, NULL) != 0) {
				bad++;
				continue;
			}
			if (req.message_len != mlen ||
			    memcmp(req.message, msg, mlen) != 0)
				bad++;
			codec_req_release(&req);
		}
		codec_set_fast_path(1);
		free(s);
	}
	CHECK_INT(bad, 0);
}

static void
test_prefixes(void)
{
	static const char	 full[] = "{\"id\":\"p\",\"message\":"
	    "\"\xe4\xbd\xa0\\n\",\"target_user\":\"t\"}";
	struct codec_req	 req;
	struct codec_ev		 ev;
	const char		*err;
	char			 detail[CODEC_MAX_DETAIL + 1], *copy;
	size_t			 n, fails = 0;

	/* Every proper prefix is refused, read from an exact-size copy. */
	for (n = 0; n < sizeof(full) - 1; n++) {
		copy = malloc(n + 1);
		memcpy(copy, full, n);
		if (codec_parse_req(copy, n, &req, &err, detail) == -1 &&
		    strcmp(err, CODEC_E_BAD_JSON) == 0)
			fails++;
		CHECK(codec_parse_ev(copy, n, &ev, detail) == -1);
		free(copy);
	}
	CHECK_INT(fails, sizeof(full) - 1);
	CHECK_INT(codec_parse_req(full, sizeof(full) - 1, &req, &err, detail),
	    0);
	codec_req_release(&req);
}

static void
test_ev(void)
{
	struct codec_ev	ev;
	char		detail[CODEC_MAX_DETAIL + 1], buf[512];

	/* chat */
	CHECK_INT(codec_parse_ev(S("{\"message\":\"hello\",\"from_user\":"
	    "\"8888\",\"ts\":123}"), &ev, detail), 0);
	CHECK_INT(ev.type, CODEC_EV_CHAT);
	CHECK_INT(ev.message_len, 5);
	CHECK_STR(ev.message, "hello");
	CHECK_STR(ev.from, "8888");
	CHECK_INT(ev.ts, 123);
	codec_ev_release(&ev);
	CHECK_INT(codec_parse_ev(S("{\"from_user\":\"a\",\"message\":\"\","
	    "\"extra\":{}}"), &ev, detail), 0);
	CHECK_INT(ev.type, CODEC_EV_CHAT);
	CHECK_INT(ev.ts, 0);
	codec_ev_release(&ev);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"chat\",\"from_user\":\"a\","
	    "\"message\":\"x\",\"ts\":1}"), &ev, detail), 0);
	CHECK_INT(ev.type, CODEC_EV_CHAT);
	codec_ev_release(&ev);
	CHECK_INT(codec_parse_ev(S("{\"message\":\"x\",\"from_user\":\"a\","
	    "\"ts\":\"1\"}"), &ev, detail), -1);
	CHECK(detail[0] != '\0');
	CHECK_INT(codec_parse_ev(S("{\"message\":\"x\",\"from_user\":\"a\","
	    "\"ts\":-1}"), &ev, detail), -1);
	CHECK_INT(codec_parse_ev(S("{\"message\":\"x\",\"from_user\":\"a\","
	    "\"ts\":1.5}"), &ev, detail), -1);
	CHECK_INT(codec_parse_ev(S("{\"message\":5,\"from_user\":\"a\"}"),
	    &ev, detail), -1);
	CHECK_INT(codec_parse_ev(S("{\"message\":\"x\",\"from_user\":\"a b\"}"),
	    &ev, detail), -1);
	CHECK(ev.priv == NULL && ev.message == NULL);

	/* ack */
	CHECK_INT(codec_parse_ev(S("{\"type\":\"ack\",\"id\":\"abc\","
	    "\"status\":\"ok\"}"), &ev, detail), 0);
	CHECK_INT(ev.type, CODEC_EV_ACK);
	CHECK_STR(ev.id, "\"abc\"");
	CHECK_STR(ev.status, "ok");
	codec_ev_release(&ev);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"ack\",\"id\":4.25,"
	    "\"status\":\"queued\"}"), &ev, detail), 0);
	CHECK_STR(ev.id, "4.25");
	CHECK_STR(ev.status, "queued");
	codec_ev_release(&ev);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"ack\",\"status\":\"ok\"}"),
	    &ev, detail), 0);
	CHECK_STR(ev.id, "");
	codec_ev_release(&ev);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"ack\",\"id\":1}"), &ev,
	    detail), -1);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"ack\",\"id\":{},"
	    "\"status\":\"ok\"}"), &ev, detail), -1);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"ack\",\"status\":"
	    "\"0123456789abcdef\"}"), &ev, detail), -1);

	/* error */
	CHECK_INT(codec_parse_ev(S("{\"type\":\"error\",\"error\":"
	    "\"bad_target\",\"detail\":\"no \\\"such\\\" user\",\"id\":3}"),
	    &ev, detail), 0);
	CHECK_INT(ev.type, CODEC_EV_ERROR);
	CHECK_STR(ev.error, "bad_target");
	CHECK_STR(ev.detail, "no \"such\" user");
	CHECK_STR(ev.id, "3");
	codec_ev_release(&ev);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"error\",\"error\":\"x\"}"),
	    &ev, detail), 0);
	CHECK_STR(ev.detail, "");
	codec_ev_release(&ev);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"error\",\"detail\":\"x\"}"),
	    &ev, detail), -1);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"error\",\"error\":\"x\","
	    "\"detail\":5}"), &ev, detail), -1);
	/* A long detail is cut on a character boundary (3-byte chars). */
	strcpy(buf, "{\"type\":\"error\",\"error\":\"x\",\"detail\":\"");
	while (strlen(buf) < 400)
		strcat(buf, "\xe4\xbd\xa0");
	strcat(buf, "\"}");
	CHECK_INT(codec_parse_ev(buf, strlen(buf), &ev, detail), 0);
	CHECK_INT(strlen(ev.detail), 198);
	codec_ev_release(&ev);

	/* who */
	CHECK_INT(codec_parse_ev(S("{\"type\":\"who\","
	    "\"users\":[\"a\",\"b\"]}"), &ev, detail), 0);
	CHECK_INT(ev.type, CODEC_EV_WHO);
	CHECK_INT(ev.nusers, 2);
	if (ev.nusers == 2) {
		CHECK_STR(ev.users[0], "a");
		CHECK_STR(ev.users[1], "b");
	}
	codec_ev_release(&ev);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"who\",\"users\":[]}"), &ev,
	    detail), 0);
	CHECK_INT(ev.type, CODEC_EV_WHO);
	CHECK_INT(ev.nusers, 0);
	codec_ev_release(&ev);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"who\"}"), &ev, detail), -1);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"who\",\"users\":[\"a\",1]}"),
	    &ev, detail), -1);
	CHECK(ev.users == NULL);

	/* presence */
	CHECK_INT(codec_parse_ev(S("{\"type\":\"presence\",\"user\":\"a\","
	    "\"online\":true}"), &ev, detail), 0);
	CHECK_INT(ev.type, CODEC_EV_PRESENCE);
	CHECK_STR(ev.user, "a");
	CHECK_INT(ev.online, 1);
	codec_ev_release(&ev);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"presence\",\"user\":\"a\","
	    "\"online\":false}"), &ev, detail), 0);
	CHECK_INT(ev.online, 0);
	codec_ev_release(&ev);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"presence\",\"user\":\"a\"}"),
	    &ev, detail), -1);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"presence\",\"user\":\"a\","
	    "\"online\":1}"), &ev, detail), -1);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"presence\",\"online\":true}"),
	    &ev, detail), -1);

	/* sent */
	CHECK_INT(codec_parse_ev(S("{\"type\":\"sent\",\"message\":\"a\\nb\","
	    "\"target_user\":\"6666\",\"ts\":42}"), &ev, detail), 0);
	CHECK_INT(ev.type, CODEC_EV_SENT);
	CHECK_STR(ev.target, "6666");
	CHECK(ev.message_len == 3 && memcmp(ev.message, "a\nb", 3) == 0);
	CHECK(ev.ts == 42);
	CHECK_STR(ev.from, "");
	codec_ev_release(&ev);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"sent\",\"message\":\"a\","
	    "\"target_user\":\"6666\"}"), &ev, detail), 0);
	CHECK(ev.ts == 0);
	codec_ev_release(&ev);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"sent\",\"message\":\"a\","
	    "\"target_user\":\"bad id\"}"), &ev, detail), -1);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"sent\",\"message\":1,"
	    "\"target_user\":\"6666\"}"), &ev, detail), -1);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"sent\",\"message\":\"a\","
	    "\"target_user\":\"6666\",\"ts\":-1}"), &ev, detail), -1);
	CHECK_STR(detail, "sent: \"ts\" must be a non-negative integer");

	/* unknown types are not errors */
	CHECK_INT(codec_parse_ev(S("{\"type\":\"typing\",\"user\":5}"), &ev,
	    detail), 0);
	CHECK_INT(ev.type, CODEC_EV_OTHER);
	codec_ev_release(&ev);

	/* malformed */
	CHECK_INT(codec_parse_ev(S("not json"), &ev, detail), -1);
	CHECK(strncmp(detail, "not valid JSON", 14) == 0);
	CHECK_INT(codec_parse_ev(S("[1]"), &ev, detail), -1);
	CHECK_STR(detail, "expected a JSON object");
	CHECK_INT(codec_parse_ev(S("{\"type\":3}"), &ev, detail), -1);
	CHECK_STR(detail, "\"type\" must be a string");
	CHECK_INT(codec_parse_ev(S("{\"status\":\"ok\"}"), &ev, detail), -1);
	CHECK_INT(codec_parse_ev(S("{\"message\":\"a\\u0000\","
	    "\"from_user\":\"a\"}"), &ev, detail), -1);
	CHECK_INT(codec_parse_ev(NULL, 0, &ev, detail), -1);
	CHECK_INT(codec_parse_ev(S("{"), &ev, NULL), -1);
	CHECK(ev.priv == NULL);

	/* Builders and parser agree on every event type. */
	{
		const char *const	 u[] = { "x", "y" };
		char			*s;
		size_t			 len;

		s = codec_who(u, 2, 0, &len);
		CHECK_INT(codec_parse_ev(s, len, &ev, detail), 0);
		CHECK_INT(ev.nusers, 2);
		codec_ev_release(&ev);
		free(s);
		s = codec_sent("b.c", "\xc3\xa9t\xc3\xa9", 5, 7, &len);
		CHECK_INT(codec_parse_ev(s, len, &ev, detail), 0);
		CHECK_INT(ev.type, CODEC_EV_SENT);
		CHECK(ev.message_len == 5 && ev.ts == 7);
		codec_ev_release(&ev);
		free(s);
		s = codec_presence("x", 1, &len);
		CHECK_INT(codec_parse_ev(s, len, &ev, detail), 0);
		CHECK_INT(ev.type, CODEC_EV_PRESENCE);
		CHECK_INT(ev.online, 1);
		codec_ev_release(&ev);
		free(s);
		s = codec_ack("-3", "ok", &len);
		CHECK_INT(codec_parse_ev(s, len, &ev, detail), 0);
		CHECK_INT(ev.type, CODEC_EV_ACK);
		CHECK_STR(ev.id, "-3");
		codec_ev_release(&ev);
		free(s);
	}
}

/* seq, resume and resumed (durable history). */
static void
test_history(void)
{
	struct codec_req	 req;
	struct codec_ev		 ev;
	const char		*err;
	char			 detail[CODEC_MAX_DETAIL + 1], *s;
	size_t			 len, n;

	s = codec_chat("8888", "hi", 2, 5, 42, &len);
	same(s, &len, "{\"message\":\"hi\",\"from_user\":\"8888\","
	    "\"ts\":5,\"seq\":42}");
	s = codec_chat("u", "", 0, 1, UINT64_MAX, &len);
	same(s, &len, "{\"message\":\"\",\"from_user\":\"u\",\"ts\":1,"
	    "\"seq\":9223372036854775807}");
	/* Sized for the largest seq: never shorter than the real one. */
	n = codec_chat_into(NULL, 0, "u", "x", 1, 7, UINT64_MAX);
	CHECK(n >= codec_chat_into(NULL, 0, "u", "x", 1, 7, 3));

	CHECK_INT(codec_parse_req(S("{\"type\":\"resume\",\"since\":41}"),
	    &req, &err, detail), 0);
	CHECK_INT(req.type, CODEC_REQ_RESUME);
	CHECK(req.since == 41);
	codec_req_release(&req);
	CHECK_INT(codec_parse_req(S("{\"type\":\"resume\",\"since\":0}"),
	    &req, &err, detail), 0);
	CHECK(req.since == 0);
	codec_req_release(&req);
	CHECK_INT(codec_parse_req(S("{\"type\":\"resume\"}"), &req, &err,
	    detail), -1);
	CHECK_STR(err, CODEC_E_BAD_MESSAGE);
	CHECK_INT(codec_parse_req(S("{\"type\":\"resume\",\"since\":-1,"
	    "\"id\":3}"), &req, &err, detail), -1);
	CHECK_STR(err, CODEC_E_BAD_MESSAGE);
	CHECK_STR(req.id, "3");
	CHECK_INT(codec_parse_req(S("{\"type\":\"resume\",\"since\":\"4\"}"),
	    &req, &err, detail), -1);
	CHECK_INT(codec_parse_req(S("{\"type\":\"resume\",\"since\":1.5}"),
	    &req, &err, detail), -1);

	s = codec_req_resume(7, NULL, &len);
	same(s, &len, "{\"type\":\"resume\",\"since\":7}");
	s = codec_req_resume(7, "ab12", &len);
	CHECK_STR(s, "{\"type\":\"resume\",\"since\":7,"
	    "\"epoch\":\"ab12\"}");
	CHECK_INT(codec_parse_req(s, len, &req, &err, detail), 0);
	CHECK_STR(req.epoch, "ab12");
	codec_req_release(&req);
	free(s);
	CHECK_INT(codec_parse_req(S("{\"type\":\"resume\",\"since\":1,"
	    "\"epoch\":5}"), &req, &err, detail), -1);
	CHECK_STR(err, CODEC_E_BAD_MESSAGE);
	s = codec_resumed(3, 1, 9, "00ff", 0, 0, 0, &len);
	same(s, &len, "{\"type\":\"resumed\",\"since\":3,\"first\":1,"
	    "\"last\":9,\"epoch\":\"00ff\"}");
	s = codec_resumed(0, 1, 9, "00ff", 1, 0, 0, &len);
	same(s, &len, "{\"type\":\"resumed\",\"since\":0,\"first\":1,"
	    "\"last\":9,\"epoch\":\"00ff\",\"reset\":true}");
	s = codec_resumed(4, 2, 90, "00ff", 0, 1, 0, &len);
	same(s, &len, "{\"type\":\"resumed\",\"since\":4,\"first\":2,"
	    "\"last\":90,\"epoch\":\"00ff\",\"sparse\":true}");
	/* Asked for the epoch only: since is the server's cursor. */
	s = codec_resumed(5, 1, 9, "00ff", 0, 0, 1, &len);
	CHECK_STR(s, "{\"type\":\"resumed\",\"since\":5,\"first\":1,"
	    "\"last\":9,\"epoch\":\"00ff\",\"cursor\":true}");
	CHECK_INT(codec_parse_ev(s, len, &ev, detail), 0);
	CHECK_INT(ev.type, CODEC_EV_RESUMED);
	CHECK_INT(ev.cursor, 1);
	CHECK(ev.since == 5);
	codec_ev_release(&ev);
	free(s);
	/* Retention took what lay between. */
	s = codec_expired(5, 12, &len);
	CHECK_STR(s, "{\"type\":\"expired\",\"after\":5,\"before\":12}");
	CHECK_INT(codec_parse_ev(s, len, &ev, detail), 0);
	CHECK_INT(ev.type, CODEC_EV_EXPIRED);
	CHECK(ev.after == 5 && ev.before == 12);
	codec_ev_release(&ev);
	free(s);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"expired\",\"after\":5,"
	    "\"before\":5}"), &ev, detail), -1);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"expired\",\"after\":-1,"
	    "\"before\":5}"), &ev, detail), -1);

	CHECK_INT(codec_parse_ev(S("{\"message\":\"m\",\"from_user\":\"a\","
	    "\"ts\":1,\"seq\":12}"), &ev, detail), 0);
	CHECK_INT(ev.type, CODEC_EV_CHAT);
	CHECK(ev.seq == 12);
	codec_ev_release(&ev);
	CHECK_INT(codec_parse_ev(S("{\"message\":\"m\",\"from_user\":\"a\"}"),
	    &ev, detail), 0);
	CHECK(ev.seq == 0);
	codec_ev_release(&ev);
	CHECK_INT(codec_parse_ev(S("{\"message\":\"m\",\"from_user\":\"a\","
	    "\"seq\":-2}"), &ev, detail), -1);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"resumed\",\"since\":2,"
	    "\"first\":3,\"last\":5}"), &ev, detail), 0);
	CHECK_INT(ev.type, CODEC_EV_RESUMED);
	CHECK(ev.since == 2 && ev.first == 3 && ev.last == 5);
	CHECK_STR(ev.epoch, "");
	CHECK_INT(ev.reset, 0);
	CHECK_INT(ev.sparse, 0);
	codec_ev_release(&ev);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"resumed\",\"since\":2,"
	    "\"first\":30,\"last\":50,\"sparse\":true}"), &ev, detail), 0);
	CHECK_INT(ev.sparse, 1);
	codec_ev_release(&ev);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"resumed\",\"since\":0,"
	    "\"first\":3,\"last\":5,\"epoch\":\"e1\",\"reset\":true}"),
	    &ev, detail), 0);
	CHECK_STR(ev.epoch, "e1");
	CHECK_INT(ev.reset, 1);
	codec_ev_release(&ev);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"resumed\",\"since\":0,"
	    "\"first\":3,\"last\":5,\"reset\":1}"), &ev, detail), -1);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"resumed\",\"since\":2}"),
	    &ev, detail), -1);
}

/* Rooms: names, requests both ways, events both ways. */
static void
test_rooms(void)
{
	struct codec_req	 req;
	struct codec_ev		 ev;
	const char		*err, *users[2] = { "alice", "bob" };
	const char		*names[2] = { "ops", "caf\xc3\xa9" };
	const size_t		 counts[2] = { 3, 1 };
	char			 detail[CODEC_MAX_DETAIL + 1], name[80];
	char			 buf[256];
	size_t			 len, n;
	int			 fast;

	CHECK(codec_valid_room(S("ops")));
	CHECK(codec_valid_room(S("#general")));
	CHECK(codec_valid_room(S("caf\xc3\xa9")));
	CHECK(codec_valid_room(S("\xe2\x9c\x93\"\\")));
	CHECK(!codec_valid_room(S("")));
	CHECK(!codec_valid_room(NULL, 0));
	CHECK(!codec_valid_room(S("a b")));
	CHECK(!codec_valid_room(S("a\tb")));
	CHECK(!codec_valid_room(S("a\nb")));
	CHECK(!codec_valid_room(S("ab\0c")));
	CHECK(!codec_valid_room(S("a\x7f")));
	CHECK(!codec_valid_room(S("a\xc2\x85")));		/* NEL, Cc */
	CHECK(!codec_valid_room(S("a\xc2\xa0")));		/* NBSP, Zs */
	CHECK(!codec_valid_room(S("a\xe2\x80\xae")));	/* RLO, Cf */
	CHECK(!codec_valid_room(S("a\xe2\x80\xa8")));	/* Zl */
	CHECK(!codec_valid_room(S("a\xe3\x80\x80")));	/* ideographic sp */
	CHECK(!codec_valid_room(S("\xc3")));		/* cut */
	CHECK(!codec_valid_room(S("\xed\xa0\x80")));	/* surrogate */
	CHECK(!codec_valid_room(S("\xc0\xaf")));		/* overlong */
	memset(name, 'r', sizeof(name));
	CHECK(codec_valid_room(name, CODEC_MAX_ROOM));
	CHECK(!codec_valid_room(name, CODEC_MAX_ROOM + 1));
	/* 64 bytes, not 64 characters. */
	for (n = 0; n + 2 <= 66; n += 2)
		memcpy(name + n, "\xc3\xa9", 2);
	CHECK(codec_valid_room(name, 64));
	CHECK(!codec_valid_room(name, 66));

	/* A room message, on the fast path and through jansson. */
	for (fast = 1; fast >= 0; fast--) {
		codec_set_fast_path(fast);
		CHECK_INT(codec_parse_req(S("{\"message\":\"hi\","
		    "\"target_room\":\"ops\",\"id\":\"m1\"}"), &req, &err,
		    detail), 0);
		CHECK_INT(req.type, CODEC_REQ_CHAT);
		CHECK_STR(req.room, "ops");
		CHECK_STR(req.target, "");
		CHECK_STR(req.id, "\"m1\"");
		CHECK(req.message_len == 2 && memcmp(req.message, "hi", 2) ==
		    0);
		codec_req_release(&req);
		CHECK_INT(codec_parse_req(S("{\"message\":\"hi\","
		    "\"target_room\":\"caf\xc3\xa9\"}"), &req, &err, detail), 0);
		CHECK_STR(req.room, "caf\xc3\xa9");
		codec_req_release(&req);
		req_fails(S("{\"message\":\"hi\",\"target_room\":\"a b\"}"),
		    CODEC_E_BAD_ROOM, &req);
		req_fails(S("{\"message\":\"hi\",\"target_room\":\"\"}"),
		    CODEC_E_BAD_ROOM, &req);
		req_fails(S("{\"message\":\"hi\",\"target_room\":7}"),
		    CODEC_E_BAD_MESSAGE, &req);
		req_fails(S("{\"message\":\"hi\",\"target_room\":\"ops\","
		    "\"target_user\":\"bob\"}"), CODEC_E_BAD_MESSAGE, &req);
		req_fails(S("{\"target_room\":\"ops\"}"), CODEC_E_BAD_MESSAGE,
		    &req);
	}
	codec_set_fast_path(1);
	/* An escaped room name goes through jansson. */
	CHECK_INT(codec_parse_req(S("{\"message\":\"x\",\"target_room\":"
	    "\"a\\\"b\"}"), &req, &err, detail), 0);
	CHECK_STR(req.room, "a\"b");
	codec_req_release(&req);

	CHECK_INT(codec_parse_req(S("{\"type\":\"join\",\"room\":\"ops\"}"),
	    &req, &err, detail), 0);
	CHECK_INT(req.type, CODEC_REQ_JOIN);
	CHECK_STR(req.room, "ops");
	codec_req_release(&req);
	CHECK_INT(codec_parse_req(S("{\"type\":\"leave\",\"room\":\"ops\"}"),
	    &req, &err, detail), 0);
	CHECK_INT(req.type, CODEC_REQ_LEAVE);
	codec_req_release(&req);
	CHECK_INT(codec_parse_req(S("{\"type\":\"members\",\"room\":\"o\"}"),
	    &req, &err, detail), 0);
	CHECK_INT(req.type, CODEC_REQ_MEMBERS);
	codec_req_release(&req);
	CHECK_INT(codec_parse_req(S("{\"type\":\"rooms\"}"), &req, &err,
	    detail), 0);
	CHECK_INT(req.type, CODEC_REQ_ROOMS);
	codec_req_release(&req);
	bad("{\"type\":\"join\"}", CODEC_E_BAD_MESSAGE);
	bad("{\"type\":\"join\",\"room\":[]}", CODEC_E_BAD_MESSAGE);
	bad("{\"type\":\"join\",\"room\":\"a\\u0001\"}", CODEC_E_BAD_ROOM);
	bad("{\"type\":\"leave\",\"room\":\" \"}", CODEC_E_BAD_ROOM);

	/* The chat event, with "room" before "ts". */
	len = codec_room_chat_into(buf, sizeof(buf), "8888", "ops", "hi", 2,
	    1700000000000ULL, 0);
	CHECK_STR(buf, "{\"message\":\"hi\",\"from_user\":\"8888\","
	    "\"room\":\"ops\",\"ts\":1700000000000}");
	CHECK_INT(len, strlen(buf));
	len = codec_room_chat_into(buf, sizeof(buf), "8888", "a\"b", "", 0,
	    5, 9);
	CHECK_STR(buf, "{\"message\":\"\",\"from_user\":\"8888\","
	    "\"room\":\"a\\\"b\",\"ts\":5,\"seq\":9}");
	CHECK_INT(codec_room_chat_into(NULL, 0, "8888", "ops", "hi", 2, 5, 0),
	    codec_room_chat_into(buf, sizeof(buf), "8888", "ops", "hi", 2, 5,
	    0));
	CHECK_INT(codec_parse_ev(buf, strlen(buf), &ev, detail), 0);
	CHECK_INT(ev.type, CODEC_EV_CHAT);
	CHECK_STR(ev.room, "ops");
	CHECK_STR(ev.from, "8888");
	codec_ev_release(&ev);
	/* A direct message has no room. */
	CHECK_INT(codec_parse_ev(S("{\"message\":\"x\",\"from_user\":\"a\"}"),
	    &ev, detail), 0);
	CHECK_STR(ev.room, "");
	codec_ev_release(&ev);
	CHECK_INT(codec_parse_ev(S("{\"message\":\"x\",\"from_user\":\"a\","
	    "\"room\":\"a b\"}"), &ev, detail), -1);

	same(codec_ack_room("\"m1\"", "delivered", 42, 0, &len), &len,
	    "{\"type\":\"ack\",\"id\":\"m1\",\"status\":\"delivered\","
	    "\"seq\":42}");
	same(codec_ack_room("7", "queued", 0, 3, &len), &len,
	    "{\"type\":\"ack\",\"id\":7,\"status\":\"queued\","
	    "\"missed\":3}");
	same(codec_ack_room("7", "queued", 0, 0, &len), &len,
	    "{\"type\":\"ack\",\"id\":7,\"status\":\"queued\"}");
	CHECK_INT(codec_parse_ev(S("{\"type\":\"ack\",\"id\":1,\"status\":"
	    "\"queued\",\"seq\":5,\"missed\":2}"), &ev, detail), 0);
	CHECK_INT(ev.seq, 5);
	CHECK_INT(ev.missed, 2);
	codec_ev_release(&ev);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"ack\",\"id\":1,\"status\":"
	    "\"queued\",\"missed\":-1}"), &ev, detail), -1);

	same(codec_joined("ops", users, 2, 0, &len), &len,
	    "{\"type\":\"joined\",\"room\":\"ops\",\"members\":"
	    "[\"alice\",\"bob\"]}");
	same(codec_members("ops", users, 1, 1, &len), &len,
	    "{\"type\":\"members\",\"room\":\"ops\",\"members\":[\"alice\"],"
	    "\"truncated\":true}");
	same(codec_left("ops", &len), &len,
	    "{\"type\":\"left\",\"room\":\"ops\"}");
	same(codec_member("ops", "bob", 1, &len), &len,
	    "{\"type\":\"member\",\"room\":\"ops\",\"user\":\"bob\","
	    "\"event\":\"join\"}");
	same(codec_member("ops", "bob", 0, &len), &len,
	    "{\"type\":\"member\",\"room\":\"ops\",\"user\":\"bob\","
	    "\"event\":\"leave\"}");
	same(codec_rooms(names, counts, 2, &len), &len,
	    "{\"type\":\"rooms\",\"rooms\":[{\"room\":\"ops\",\"members\":3},"
	    "{\"room\":\"caf\xc3\xa9\",\"members\":1}]}");
	same(codec_rooms(NULL, NULL, 0, &len), &len,
	    "{\"type\":\"rooms\",\"rooms\":[]}");
	same(codec_req_room("join", "ops", &len), &len,
	    "{\"type\":\"join\",\"room\":\"ops\"}");
	same(codec_req_room("rooms", NULL, &len), &len,
	    "{\"type\":\"rooms\"}");
	same(codec_req_room_chat("ops", "hi", 2, "3", &len), &len,
	    "{\"message\":\"hi\",\"target_room\":\"ops\",\"id\":3}");

	CHECK_INT(codec_parse_ev(S("{\"type\":\"joined\",\"room\":\"ops\","
	    "\"members\":[\"alice\",\"bob\"]}"), &ev, detail), 0);
	CHECK_INT(ev.type, CODEC_EV_JOINED);
	CHECK_STR(ev.room, "ops");
	CHECK_INT(ev.nusers, 2);
	CHECK_STR(ev.users[1], "bob");
	CHECK_INT(ev.truncated, 0);
	codec_ev_release(&ev);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"members\",\"room\":\"ops\","
	    "\"members\":[],\"truncated\":true}"), &ev, detail), 0);
	CHECK_INT(ev.type, CODEC_EV_MEMBERS);
	CHECK_INT(ev.truncated, 1);
	codec_ev_release(&ev);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"joined\",\"room\":\"ops\","
	    "\"members\":[\"a b\"]}"), &ev, detail), -1);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"left\",\"room\":\"ops\"}"),
	    &ev, detail), 0);
	CHECK_INT(ev.type, CODEC_EV_LEFT);
	CHECK_STR(ev.room, "ops");
	codec_ev_release(&ev);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"member\",\"room\":\"ops\","
	    "\"user\":\"bob\",\"event\":\"leave\"}"), &ev, detail), 0);
	CHECK_INT(ev.type, CODEC_EV_MEMBER);
	CHECK_STR(ev.user, "bob");
	CHECK_INT(ev.joined, 0);
	codec_ev_release(&ev);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"member\",\"room\":\"ops\","
	    "\"user\":\"bob\",\"event\":\"kick\"}"), &ev, detail), -1);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"rooms\",\"rooms\":[{\"room\":"
	    "\"ops\",\"members\":3},{\"room\":\"x\",\"members\":0}]}"), &ev,
	    detail), 0);
	CHECK_INT(ev.type, CODEC_EV_ROOMS);
	CHECK_INT(ev.nrooms, 2);
	CHECK_STR(ev.rooms[0].room, "ops");
	CHECK_INT(ev.rooms[0].members, 3);
	CHECK_STR(ev.rooms[1].room, "x");
	codec_ev_release(&ev);
	CHECK(ev.rooms == NULL);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"rooms\",\"rooms\":[{\"room\":"
	    "\"ops\"}]}"), &ev, detail), -1);
	CHECK_INT(codec_parse_ev(S("{\"type\":\"rooms\"}"), &ev, detail), -1);
}

int
main(void)
{
	test_valid_user();
	test_req_chat();
	test_req_errors();
	test_req_detail();
	test_req_ids();
	test_req_who_watch();
	test_release();
	test_nul();
	test_builders();
	test_roundtrip();
	test_scan_offsets();
	test_prefixes();
	test_ev();
	test_history();
	test_rooms();
	return test_done();
}
