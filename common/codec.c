/*
 * Copyright (c) 2026 The chat authors.
 *
 * codec: turns the chat protocol's JSON text into structs and back, with
 * jansson, in both directions (man/chat-protocol.7).  It owns the shape
 * and type checks of every message and the exact bytes we send; it does
 * no I/O, keeps no state between calls and never prints.  Routing
 * decisions (who may be addressed, queue limits) belong to the server.
 *
 * The chat message is the hot path: a request of the seed's plain shape
 * (string members without escapes, an integer or plain string "id") is
 * scanned directly, and the chat event is written directly; jansson
 * handles everything else, so both paths give the same answers (see
 * tests/unit/test_codec.c and the fuzz target).
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <utf8proc.h>

#include "codec.h"
#include "utf8.h"

/*
 * Every text we emit is compact and keeps members in the order we add
 * them, so the seed's {"message","from_user","ts"} bytes come out
 * exactly.  JSON_ENSURE_ASCII is left out on purpose: UTF-8 stays raw.
 */
#define DUMP_FLAGS	(JSON_COMPACT | JSON_PRESERVE_ORDER)

static void	set_detail(char *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
set_detail(char *detail, const char *fmt, ...)
{
	va_list	ap;

	if (detail == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(detail, CODEC_MAX_DETAIL + 1, fmt, ap);
	va_end(ap);
}

int
codec_valid_user(const char *p, size_t len)
{
	size_t	i;
	char	c;

	if (p == NULL || len == 0 || len > CODEC_MAX_USER)
		return 0;
	for (i = 0; i < len; i++) {
		c = p[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')
			continue;
		return 0;
	}
	return 1;
}

int
codec_valid_room(const char *p, size_t len)
{
	utf8proc_int32_t	cp;
	utf8proc_ssize_t	n;
	size_t			i;

	if (p == NULL || len == 0 || len > CODEC_MAX_ROOM ||
	    !utf8_valid((const uint8_t *)p, len))
		return 0;
	for (i = 0; i < len; i += (size_t)n) {
		n = utf8proc_iterate((const utf8proc_uint8_t *)p + i,
		    (utf8proc_ssize_t)(len - i), &cp);
		if (n <= 0 || cp == 0)
			return 0;
		switch (utf8proc_category(cp)) {
		case UTF8PROC_CATEGORY_CC:
		case UTF8PROC_CATEGORY_CF:
		case UTF8PROC_CATEGORY_ZS:
		case UTF8PROC_CATEGORY_ZL:
		case UTF8PROC_CATEGORY_ZP:
			return 0;
		default:
			break;
		}
	}
	return 1;
}

/*
 * jansson prints reals with 17 significant digits, so a client's id 0.1
 * would come back as 0.10000000000000001.  Find the fewest digits that
 * still read back as the same double; the result goes into
 * JSON_REAL_PRECISION.  snprintf and strtod use the same locale, so the
 * test holds even when a program has called setlocale().
 */
static int
real_precision(const json_t *v)
{
	char	buf[64];
	double	d;
	int	prec;

	if (v == NULL || !json_is_real(v))
		return 0;
	d = json_real_value(v);
	for (prec = 1; prec < 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			return prec;
	}
	return 17;
}

/*
 * Store v, a string or a number, as compact JSON text in
 * out[CODEC_MAX_IDJSON + 1].  Returns -1 for any other type or when the
 * text would not fit.  json_dumpb writes no NUL and reports the length
 * it needed, so an oversized id costs no allocation.
 */
static int
id_to_text(const json_t *v, char *out)
{
	size_t	n;
	int	prec;

	out[0] = '\0';
	if (!json_is_string(v) && !json_is_integer(v) && !json_is_real(v))
		return -1;
	prec = real_precision(v);
	n = json_dumpb(v, out, CODEC_MAX_IDJSON,
	    DUMP_FLAGS | JSON_ENCODE_ANY | JSON_REAL_PRECISION(prec));
	if (n == 0 || n > CODEC_MAX_IDJSON) {
		out[0] = '\0';
		return -1;
	}
	out[n] = '\0';
	return 0;
}

/* Say why jansson refused the text, without echoing the peer's bytes. */
static void
json_detail(char *detail, const json_error_t *jerr)
{
	switch (json_error_code(jerr)) {
	case json_error_null_character:
	case json_error_null_byte_in_key:
		set_detail(detail, "\\u0000 is not allowed in strings");
		break;
	case json_error_invalid_utf8:
		set_detail(detail, "text is not valid UTF-8");
		break;
	case json_error_out_of_memory:
		set_detail(detail, "out of memory");
		break;
	case json_error_stack_overflow:
		set_detail(detail, "JSON nested too deeply");
		break;
	case json_error_numeric_overflow:
		set_detail(detail, "number out of range at byte %d",
		    jerr->position);
		break;
	default:
		set_detail(detail, "not valid JSON at byte %d", jerr->position);
		break;
	}
}

/*
 * Copy the JSON string v into dst[size], refusing other types and
 * strings that do not fit or hold a NUL.
 */
static int
copy_string(char *dst, size_t size, const json_t *v)
{
	size_t	n;

	if (!json_is_string(v))
		return -1;
	n = json_string_length(v);
	if (n >= size || memchr(json_string_value(v), '\0', n) != NULL)
		return -1;
	memcpy(dst, json_string_value(v), n);
	dst[n] = '\0';
	return 0;
}

/*
 * Copy a JSON array of user ids into a new array of fixed slots.
 * Returns 0, -1 if an entry is not a valid id (*badp set to its index)
 * or -2 when out of memory.
 */
static int
copy_users(const json_t *a, char (**usersp)[CODEC_MAX_USER + 1],
    size_t *np, size_t *badp)
{
	char	(*users)[CODEC_MAX_USER + 1];
	json_t	*v;
	size_t	 i, n;

	*usersp = NULL;
	*np = 0;
	n = json_array_size(a);
	if (n == 0)
		return 0;
	/* calloc checks n * size for overflow. */
	if ((users = calloc(n, sizeof(*users))) == NULL)
		return -2;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) ||
		    !codec_valid_user(json_string_value(v),
		    json_string_length(v))) {
			free(users);
			*badp = i;
			return -1;
		}
		memcpy(users[i], json_string_value(v), json_string_length(v));
		users[i][json_string_length(v)] = '\0';
	}
	*usersp = users;
	*np = n;
	return 0;
}

/* ---- client to server ---- */

/* A room name member v (named key) into out[CODEC_MAX_ROOM + 1]. */
static int
parse_room(const json_t *v, char *out, const char *key, const char **code,
    char *detail)
{
	if (v == NULL || !json_is_string(v)) {
		set_detail(detail, "\"%s\" must be a room name (a string)",
		    key);
		*code = CODEC_E_BAD_MESSAGE;
		return -1;
	}
	if (!codec_valid_room(json_string_value(v), json_string_length(v))) {
		set_detail(detail, "\"%s\" must be 1-%d bytes of UTF-8 "
		    "without control or space characters", key,
		    CODEC_MAX_ROOM);
		*code = CODEC_E_BAD_ROOM;
		return -1;
	}
	memcpy(out, json_string_value(v), json_string_length(v));
	out[json_string_length(v)] = '\0';
	return 0;
}

static int
parse_chat(json_t *root, struct codec_req *req, const char **code,
    char *detail)
{
	json_t	*msg, *target, *room;

	msg = json_object_get(root, "message");
	target = json_object_get(root, "target_user");
	room = json_object_get(root, "target_room");
	if (msg == NULL) {
		set_detail(detail, "\"message\" is missing");
		*code = CODEC_E_BAD_MESSAGE;
		return -1;
	}
	if (!json_is_string(msg)) {
		set_detail(detail, "\"message\" must be a string");
		*code = CODEC_E_BAD_MESSAGE;
		return -1;
	}
	if (room != NULL && target != NULL) {
		set_detail(detail, "give \"target_user\" or \"target_room\", "
		    "not both");
		*code = CODEC_E_BAD_MESSAGE;
		return -1;
	}
	if (room != NULL) {
		if (parse_room(room, req->room, "target_room", code,
		    detail) == -1)
			return -1;
		req->message = json_string_value(msg);
		req->message_len = json_string_length(msg);
		req->type = CODEC_REQ_CHAT;
		return 0;
	}
	if (target == NULL) {
		set_detail(detail, "\"target_user\" is missing");
		*code = CODEC_E_BAD_MESSAGE;
		return -1;
	}
	if (!json_is_string(target)) {
		set_detail(detail, "\"target_user\" must be a string");
		*code = CODEC_E_BAD_MESSAGE;
		return -1;
	}
	if (!codec_valid_user(json_string_value(target),
	    json_string_length(target))) {
		set_detail(detail, "\"target_user\" must be 1-%d characters "
		    "of A-Z, a-z, 0-9, '.', '_' and '-'", CODEC_MAX_USER);
		*code = CODEC_E_BAD_TARGET;
		return -1;
	}
	memcpy(req->target, json_string_value(target),
	    json_string_length(target));
	req->target[json_string_length(target)] = '\0';
	req->message = json_string_value(msg);
	req->message_len = json_string_length(msg);
	req->type = CODEC_REQ_CHAT;
	return 0;
}

/*
 * A non-negative integer member: 0 with *v set, 1 if absent (*v = 0),
 * -1 if it is something else.
 */
static int
get_seq(json_t *root, const char *key, uint64_t *v)
{
	json_t		*j;
	json_int_t	 n;

	*v = 0;
	if ((j = json_object_get(root, key)) == NULL)
		return 1;
	if (!json_is_integer(j) || (n = json_integer_value(j)) < 0)
		return -1;
	*v = (uint64_t)n;
	return 0;
}

static int
parse_watch(json_t *root, struct codec_req *req, const char **code,
    char *detail)
{
	json_t	*users;
	size_t	 bad;

	users = json_object_get(root, "users");
	if (users == NULL || !json_is_array(users)) {
		set_detail(detail, "\"users\" must be an array of user ids");
		*code = CODEC_E_BAD_MESSAGE;
		return -1;
	}
	if (json_array_size(users) > CODEC_MAX_WATCH) {
		set_detail(detail, "at most %d users may be watched",
		    CODEC_MAX_WATCH);
		*code = CODEC_E_TOO_MANY;
		return -1;
	}
	switch (copy_users(users, &req->users, &req->nusers, &bad)) {
	case 0:
		break;
	case -1:
		set_detail(detail, "\"users\" entry %zu is not a valid user id",
		    bad);
		*code = CODEC_E_BAD_TARGET;
		return -1;
	default:
		/*
		 * XXX: there is no code for running out of memory; the
		 * server closes the connection on any error it cannot send.
		 */
		set_detail(detail, "out of memory");
		*code = CODEC_E_BAD_MESSAGE;
		return -1;
	}
	req->type = CODEC_REQ_WATCH;
	return 0;
}

/* ---- fast path for the chat request ---- */

static const char *
skip_ws(const char *s, const char *e)
{
	while (s < e && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
		s++;
	return s;
}

/*
 * Bytes JSON writes escaped ('"', '\\', controls): a table, one load and
 * one test a byte where special_find() goes byte by byte.
 */
static const unsigned char json_special[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
};

/*
 * The first byte in [s, e) that json_special flags, or e.  Eight bytes
 * at a time first: in each byte, (x - 0x01) & ~x & 0x80 is set where x
 * is 0 (q, b: the byte xor '"' or '\\'), and (v - 0x20) & ~v & 0x80
 * where v < 0x20 (never where v >= 0x80).  Only a special byte starts
 * a borrow, so the lowest special byte is always flagged and a word
 * with no flag holds none; bytes above it may be flagged wrongly, so
 * the byte loop finds the exact one.  (bench/RESULTS.md, "Scanning for
 * bytes to escape".)
 */
static const char *
special_find(const char *s, const char *e)
{
	const uint64_t	ones = 0x0101010101010101ULL, tops = ones * 0x80;
	uint64_t	v, q, b;

	while (e - s >= 8) {
		memcpy(&v, s, 8);
		q = v ^ (ones * '"');
		b = v ^ (ones * '\\');
		if ((((v - ones * 0x20) & ~v) | ((q - ones) & ~q) |
		    ((b - ones) & ~b)) & tops)
			break;
		s += 8;
	}
	while (s < e && !json_special[(unsigned char)*s])
		s++;
	return s;
}

/*
 * A string without escapes or control characters (so its bytes are its
 * value).  Returns the position past the closing quote, or NULL to send
 * the input to jansson.
 */
static const char *
fast_string(const char *s, const char *e, const char **vp, size_t *lenp)
{
	const char	*start;

	if (s >= e || *s != '"')
		return NULL;
	start = ++s;
	s = special_find(s, e);
	if (s >= e || *s != '"')
		return NULL;
	*vp = start;
	*lenp = (size_t)(s - start);
	return s + 1;
}

/* An integer as jansson prints it back: no leading zero, no "-0". */
static const char *
fast_integer(const char *s, const char *e, size_t *lenp)
{
	const char	*start = s, *d;

	if (s < e && *s == '-')
		s++;
	d = s;
	while (s < e && *s >= '0' && *s <= '9')
		s++;
	if (s == d || s - d > 18 || (*d == '0' && (s - d > 1 || d != start)))
		return NULL;
	if (s < e && (*s == '.' || *s == 'e' || *s == 'E'))
		return NULL;
	*lenp = (size_t)(s - start);
	return s;
}

/* Off only to compare the two paths (tests, fuzzing, benchmarks). */
static int	codec_fast = 1;

void
codec_set_fast_path(int on)
{
	codec_fast = on;
}

#define KEY_IS(k, kl, lit) ((kl) == sizeof(lit) - 1 && \
	memcmp((k), (lit), sizeof(lit) - 1) == 0)

/*
 * The seed's chat shape, scanned without building a tree.  Returns 1
 * with req filled (message points into p), or 0 if anything is unusual:
 * then jansson decides, errors included.
 */
static int
fast_chat(const char *p, size_t len, struct codec_req *req)
{
	const char	*s = p, *e = p + len, *k, *v, *msg = NULL, *tgt = NULL;
	const char	*id = NULL, *room = NULL;
	size_t		 kl, vl, msglen = 0, tgtlen = 0, idlen = 0, roomlen = 0;
	int		 seen_type = 0;

	s = skip_ws(s, e);
	if (s >= e || *s++ != '{')
		return 0;
	for (;;) {
		s = skip_ws(s, e);
		if ((s = fast_string(s, e, &k, &kl)) == NULL)
			return 0;
		s = skip_ws(s, e);
		if (s >= e || *s++ != ':')
			return 0;
		s = skip_ws(s, e);
		if (KEY_IS(k, kl, "message") && msg == NULL) {
			if ((s = fast_string(s, e, &msg, &msglen)) == NULL)
				return 0;
		} else if (KEY_IS(k, kl, "target_user") && tgt == NULL) {
			if ((s = fast_string(s, e, &tgt, &tgtlen)) == NULL)
				return 0;
		} else if (KEY_IS(k, kl, "target_room") && room == NULL) {
			if ((s = fast_string(s, e, &room, &roomlen)) == NULL)
				return 0;
		} else if (KEY_IS(k, kl, "id") && id == NULL) {
			id = s;
			if (s < e && *s == '"') {
				if ((s = fast_string(s, e, &v, &vl)) == NULL)
					return 0;
				idlen = vl + 2;
			} else if ((s = fast_integer(s, e, &idlen)) == NULL)
				return 0;
			if (idlen > CODEC_MAX_IDJSON)
				return 0;
		} else if (KEY_IS(k, kl, "type") && !seen_type) {
			if ((s = fast_string(s, e, &v, &vl)) == NULL ||
			    !KEY_IS(v, vl, "chat"))
				return 0;
			seen_type = 1;
		} else
			return 0;
		s = skip_ws(s, e);
		if (s < e && *s == ',') {
			s++;
			continue;
		}
		if (s < e && *s == '}')
			break;
		return 0;
	}
	if (skip_ws(s + 1, e) != e || msg == NULL ||
	    (tgt == NULL) == (room == NULL) ||
	    (tgt != NULL && !codec_valid_user(tgt, tgtlen)) ||
	    !utf8_valid((const uint8_t *)p, len) ||
	    (room != NULL && !codec_valid_room(room, roomlen)))
		return 0;
	req->type = CODEC_REQ_CHAT;
	req->message = msg;
	req->message_len = msglen;
	if (tgt != NULL) {
		memcpy(req->target, tgt, tgtlen);
		req->target[tgtlen] = '\0';
	} else {
		memcpy(req->room, room, roomlen);
		req->room[roomlen] = '\0';
	}
	if (id != NULL) {
		memcpy(req->id, id, idlen);
		req->id[idlen] = '\0';
	}
	return 1;
}

int
codec_parse_req(const char *p, size_t len, struct codec_req *req,
    const char **err, char *detail)
{
	json_error_t	 jerr;
	json_t		*root, *v;
	const char	*code = CODEC_E_BAD_JSON, *type;

	memset(req, 0, sizeof(*req));
	if (detail != NULL)
		detail[0] = '\0';
	if (p == NULL)
		p = "";
	if (codec_fast && fast_chat(p, len, req)) {
		if (err != NULL)
			*err = NULL;
		return 0;
	}

	/*
	 * Flags 0: no JSON_ALLOW_NUL, so "\u0000" is refused and every
	 * string we hand out is also a C string; no JSON_DECODE_ANY, so
	 * the top level must be an object or an array.  jansson bounds the
	 * nesting depth itself.
	 */
	if ((root = json_loadb(p, len, 0, &jerr)) == NULL) {
		json_detail(detail, &jerr);
		goto fail;
	}
	req->priv = root;
	if (!json_is_object(root)) {
		set_detail(detail, "expected a JSON object");
		goto fail;
	}

	/* The id first, so that any later error can carry it. */
	if ((v = json_object_get(root, "id")) != NULL &&
	    id_to_text(v, req->id) == -1) {
		set_detail(detail, "\"id\" must be a string or a number of at "
		    "most %d bytes as JSON", CODEC_MAX_IDJSON);
		code = CODEC_E_BAD_ID;
		goto fail;
	}

	if ((v = json_object_get(root, "type")) == NULL) {
		/* The seed's messages carry no "type": they are chat. */
		if (json_object_get(root, "message") == NULL &&
		    json_object_get(root, "target_user") == NULL &&
		    json_object_get(root, "target_room") == NULL) {
			set_detail(detail, "\"type\" or \"message\" is "
			    "missing");
			code = CODEC_E_BAD_MESSAGE;
			goto fail;
		}
		type = "chat";
	} else if (!json_is_string(v)) {
		set_detail(detail, "\"type\" must be a string");
		code = CODEC_E_BAD_MESSAGE;
		goto fail;
	} else
		type = json_string_value(v);

	if (strcmp(type, "chat") == 0) {
		if (parse_chat(root, req, &code, detail) == -1)
			goto fail;
	} else if (strcmp(type, "who") == 0)
		req->type = CODEC_REQ_WHO;
	else if (strcmp(type, "watch") == 0) {
		if (parse_watch(root, req, &code, detail) == -1)
			goto fail;
	} else if (strcmp(type, "resume") == 0) {
		if (get_seq(root, "since", &req->since) != 0) {
			set_detail(detail, "resume: \"since\" must be a "
			    "non-negative integer");
			code = CODEC_E_BAD_MESSAGE;
			goto fail;
		}
		if ((v = json_object_get(root, "epoch")) != NULL &&
		    copy_string(req->epoch, sizeof(req->epoch), v) == -1) {
			set_detail(detail, "resume: \"epoch\" must be a "
			    "string of at most %d bytes", CODEC_MAX_EPOCH);
			code = CODEC_E_BAD_MESSAGE;
			goto fail;
		}
		req->type = CODEC_REQ_RESUME;
	} else if (strcmp(type, "join") == 0 || strcmp(type, "leave") == 0 ||
	    strcmp(type, "members") == 0) {
		if (parse_room(json_object_get(root, "room"), req->room,
		    "room", &code, detail) == -1)
			goto fail;
		req->type = type[0] == 'j' ? CODEC_REQ_JOIN : type[0] == 'l' ?
		    CODEC_REQ_LEAVE : CODEC_REQ_MEMBERS;
	} else if (strcmp(type, "rooms") == 0)
		req->type = CODEC_REQ_ROOMS;
	else {
		set_detail(detail, "unknown \"type\"; expected \"chat\", "
		    "\"who\", \"watch\", \"resume\", \"join\", \"leave\", "
		    "\"members\" or \"rooms\"");
		code = CODEC_E_UNKNOWN_TYPE;
		goto fail;
	}
	if (err != NULL)
		*err = NULL;
	return 0;

fail:
	codec_req_release(req);
	req->type = 0;
	if (err != NULL)
		*err = code;
	return -1;
}

void
codec_req_release(struct codec_req *req)
{
	if (req == NULL)
		return;
	json_decref(req->priv);
	req->priv = NULL;
	free(req->users);
	req->users = NULL;
	req->nusers = 0;
	req->message = NULL;
	req->message_len = 0;
}

/* ---- builders ---- */

/*
 * Add v to o under key.  Takes v's reference even on failure, as
 * json_object_set_new does, and accepts v == NULL (a failed
 * constructor) so that callers can chain without checking each step.
 */
static int
add(json_t *o, const char *key, json_t *v)
{
	if (o == NULL || v == NULL) {
		json_decref(v);
		return -1;
	}
	return json_object_set_new(o, key, v);
}

static json_t	*uint_value(uint64_t);

/* Parse id text from struct codec_req; NULL when absent or broken. */
static json_t *
id_value(const char *id)
{
	if (id == NULL || *id == '\0')
		return NULL;
	return json_loads(id, JSON_DECODE_ANY, NULL);
}

static int
has_id(const char *id)
{
	return id != NULL && *id != '\0';
}

/* Dump o (consumed) as compact text; prec is for a real "id". */
static char *
dump(json_t *o, int prec, size_t *lenp)
{
	char	*s;

	if (lenp != NULL)
		*lenp = 0;
	if (o == NULL)
		return NULL;
	s = json_dumps(o, DUMP_FLAGS | JSON_REAL_PRECISION(prec));
	json_decref(o);
	if (s != NULL && lenp != NULL)
		*lenp = strlen(s);
	return s;
}

static json_t *
string_array(const char *const *users, size_t n)
{
	json_t	*a;
	size_t	 i;

	if ((a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (users[i] == NULL ||
		    json_array_append_new(a, json_string(users[i])) == -1) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *
text(const char *msg, size_t msglen)
{
	if (msg == NULL)
		return msglen == 0 ? json_string("") : NULL;
	return json_stringn(msg, msglen);
}

/*
 * The chat event is written directly, escaping exactly as jansson's
 * dump_string does without JSON_ENSURE_ASCII: '"', '\\' and control
 * characters only, short forms where JSON has them, else \u00XX.
 */
static size_t
escape_into(char *out, const char *s, size_t n)
{
	static const char	 hex[] = "0123456789ABCDEF";
	size_t			 o = 0, i = 0, run;

	while (i < n) {
		unsigned char	c;
		char		short_form = 0;

		/* Copy the run up to the next byte that needs escaping. */
		run = (size_t)(special_find(s + i, s + n) - s);
		if (run > i) {
			if (out != NULL)
				memcpy(out + o, s + i, run - i);
			o += run - i;
			i = run;
			if (i == n)
				break;
		}
		c = (unsigned char)s[i++];
		switch (c) {
		case '"': short_form = '"'; break;
		case '\\': short_form = '\\'; break;
		case '\b': short_form = 'b'; break;
		case '\f': short_form = 'f'; break;
		case '\n': short_form = 'n'; break;
		case '\r': short_form = 'r'; break;
		case '\t': short_form = 't'; break;
		}
		if (short_form != 0) {
			if (out != NULL) {
				out[o] = '\\';
				out[o + 1] = short_form;
			}
			o += 2;
		} else {
			if (out != NULL) {
				memcpy(out + o, "\\u00", 4);
				out[o + 4] = hex[c >> 4];
				out[o + 5] = hex[c & 15];
			}
			o += 6;
		}
	}
	return o;
}

/* Append the decimal digits of v to buf at o; the new offset. */
static size_t
put_u64(char *buf, size_t o, uint64_t v)
{
	char	digits[24];
	size_t	nd = 0;

	do {
		digits[nd++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	while (nd > 0)
		buf[o++] = digits[--nd];
	return o;
}

size_t
codec_chat_into(char *buf, size_t buflen, const char *from, const char *msg,
    size_t msglen, uint64_t ts_ms, uint64_t seq)
{
	return codec_room_chat_into(buf, buflen, from, NULL, msg, msglen,
	    ts_ms, seq);
}

/*
 * s (n bytes) escaped into out, esc being its escaped length: a copy
 * when nothing in it needs escaping (every escape makes a byte longer),
 * so that a text is scanned once to size it, not again to write it.
 */
static size_t
put_escaped(char *out, const char *s, size_t n, size_t esc)
{
	if (esc != n)
		return escape_into(out, s, n);
	if (n > 0)
		memcpy(out, s, n);
	return n;
}

size_t
codec_room_chat_into(char *buf, size_t buflen, const char *from,
    const char *room, const char *msg, size_t msglen, uint64_t ts_ms,
    uint64_t seq)
{
	static const char	 rk[] = "\",\"room\":\"";
	char			 tail[80];
	size_t			 need, o, fl = strlen(from), tl, rl = 0;
	size_t			 em, ef, er = 0;

	/* json_int_t is signed: clamp instead of wrapping negative. */
	if (ts_ms > (uint64_t)LLONG_MAX)
		ts_ms = (uint64_t)LLONG_MAX;
	if (seq > (uint64_t)LLONG_MAX)
		seq = (uint64_t)LLONG_MAX;
	memcpy(tail, "\",\"ts\":", 7);
	tl = put_u64(tail, 7, ts_ms);
	if (seq != 0) {
		memcpy(tail + tl, ",\"seq\":", 7);
		tl = put_u64(tail, tl + 7, seq);
	}
	tail[tl++] = '}';
	tail[tl] = '\0';
	em = escape_into(NULL, msg, msglen);
	ef = escape_into(NULL, from, fl);
	need = sizeof("{\"message\":\"") - 1 + em +
	    sizeof("\",\"from_user\":\"") - 1 + ef + tl;
	if (room != NULL) {
		rl = strlen(room);
		er = escape_into(NULL, room, rl);
		need += sizeof(rk) - 1 + er;
	}
	if (buf == NULL || buflen < need + 1)
		return need;
	o = sizeof("{\"message\":\"") - 1;
	memcpy(buf, "{\"message\":\"", o);
	o += put_escaped(buf + o, msg, msglen, em);
	memcpy(buf + o, "\",\"from_user\":\"", sizeof("\",\"from_user\":\"") - 1);
	o += sizeof("\",\"from_user\":\"") - 1;
	o += put_escaped(buf + o, from, fl, ef);
	if (room != NULL) {
		memcpy(buf + o, rk, sizeof(rk) - 1);
		o += sizeof(rk) - 1;
		o += put_escaped(buf + o, room, rl, er);
	}
	memcpy(buf + o, tail, tl + 1);
	return need;
}

char *
codec_chat(const char *from, const char *msg, size_t msglen,
    uint64_t ts_ms, uint64_t seq, size_t *lenp)
{
	char	*p;
	size_t	 n;

	if (lenp != NULL)
		*lenp = 0;
	if (msg == NULL && msglen != 0)
		return NULL;
	if (msg == NULL)
		msg = "";
	if (!utf8_valid((const uint8_t *)msg, msglen) ||
	    !utf8_valid((const uint8_t *)from, strlen(from)))
		return NULL;
	n = codec_chat_into(NULL, 0, from, msg, msglen, ts_ms, seq);
	if ((p = malloc(n + 1)) == NULL)
		return NULL;
	codec_chat_into(p, n + 1, from, msg, msglen, ts_ms, seq);
	if (lenp != NULL)
		*lenp = n;
	return p;
}

/*
 * A broken id (not produced by codec_parse_req) makes the builders
 * return NULL rather than silently drop it.
 */
char *
codec_ack(const char *id, const char *status, size_t *lenp)
{
	return codec_ack_room(id, status, 0, 0, lenp);
}

char *
codec_ack_room(const char *id, const char *status, uint64_t seq,
    uint64_t missed, size_t *lenp)
{
	json_t	*o, *idv = NULL;
	int	 prec = 0;

	if (has_id(id)) {
		if ((idv = id_value(id)) == NULL)
			return dump(NULL, 0, lenp);
		prec = real_precision(idv);
	}
	o = json_object();
	if (add(o, "type", json_string("ack")) == -1 ||
	    (idv != NULL && add(o, "id", json_incref(idv)) == -1) ||
	    add(o, "status", json_string(status)) == -1 ||
	    (seq != 0 && add(o, "seq", uint_value(seq)) == -1) ||
	    (missed != 0 && add(o, "missed", uint_value(missed)) == -1)) {
		json_decref(o);
		o = NULL;
	}
	json_decref(idv);
	return dump(o, prec, lenp);
}

char *
codec_error(const char *code, const char *detail, const char *id,
    size_t *lenp)
{
	json_t	*o, *idv = NULL;
	int	 prec = 0;

	if (has_id(id)) {
		if ((idv = id_value(id)) == NULL)
			return dump(NULL, 0, lenp);
		prec = real_precision(idv);
	}
	o = json_object();
	if (add(o, "type", json_string("error")) == -1 ||
	    add(o, "error", json_string(code)) == -1 ||
	    add(o, "detail", json_string(detail != NULL ? detail : "")) == -1 ||
	    (idv != NULL && add(o, "id", json_incref(idv)) == -1)) {
		json_decref(o);
		o = NULL;
	}
	json_decref(idv);
	return dump(o, prec, lenp);
}

/*
 * Written directly, not through jansson: the list can hold thousands
 * of ids and is asked for often (measured with 3,000 users online,
 * jansson took ~40x the time of the copy below).  The text is the same
 * as jansson's dump (test_codec compares them).
 */
char *
codec_who(const char *const *users, size_t n, int truncated, size_t *lenp)
{
	static const char	 head[] = "{\"type\":\"who\",\"users\":[";
	static const char	 trunc[] = ",\"truncated\":true";
	char			*p;
	size_t			 need = sizeof(head) - 1 + 2, i, o, l;

	if (lenp != NULL)
		*lenp = 0;
	for (i = 0; i < n; i++) {
		if (users[i] == NULL)
			return NULL;
		l = escape_into(NULL, users[i], strlen(users[i]));
		if (l > SIZE_MAX / 2 - need - 3)
			return NULL;
		need += l + 2 + (i > 0);
	}
	if (truncated)
		need += sizeof(trunc) - 1;
	if ((p = malloc(need + 1)) == NULL)
		return NULL;
	memcpy(p, head, sizeof(head) - 1);
	o = sizeof(head) - 1;
	for (i = 0; i < n; i++) {
		if (i > 0)
			p[o++] = ',';
		p[o++] = '"';
		o += escape_into(p + o, users[i], strlen(users[i]));
		p[o++] = '"';
	}
	p[o++] = ']';
	if (truncated) {
		memcpy(p + o, trunc, sizeof(trunc) - 1);
		o += sizeof(trunc) - 1;
	}
	p[o++] = '}';
	p[o] = '\0';
	if (lenp != NULL)
		*lenp = o;
	return p;
}

char *
codec_presence(const char *user, int online, size_t *lenp)
{
	json_t	*o;

	o = json_object();
	if (add(o, "type", json_string("presence")) == -1 ||
	    add(o, "user", json_string(user)) == -1 ||
	    add(o, "online", json_boolean(online)) == -1) {
		json_decref(o);
		o = NULL;
	}
	return dump(o, 0, lenp);
}

/* A non-negative JSON integer (json_int_t is signed: clamp). */
static json_t *
uint_value(uint64_t v)
{
	return json_integer(v > (uint64_t)LLONG_MAX ? LLONG_MAX :
	    (json_int_t)v);
}

char *
codec_resumed(uint64_t since, uint64_t first, uint64_t last,
    const char *epoch, int reset, int sparse, int cursor, size_t *lenp)
{
	json_t	*o;

	o = json_object();
	if (add(o, "type", json_string("resumed")) == -1 ||
	    add(o, "since", uint_value(since)) == -1 ||
	    add(o, "first", uint_value(first)) == -1 ||
	    add(o, "last", uint_value(last)) == -1 ||
	    add(o, "epoch", json_string(epoch)) == -1 ||
	    (reset && add(o, "reset", json_true()) == -1) ||
	    (sparse && add(o, "sparse", json_true()) == -1) ||
	    (cursor && add(o, "cursor", json_true()) == -1)) {
		json_decref(o);
		o = NULL;
	}
	return dump(o, 0, lenp);
}

char *
codec_expired(uint64_t after, uint64_t before, size_t *lenp)
{
	json_t	*o;

	o = json_object();
	if (add(o, "type", json_string("expired")) == -1 ||
	    add(o, "after", uint_value(after)) == -1 ||
	    add(o, "before", uint_value(before)) == -1) {
		json_decref(o);
		o = NULL;
	}
	return dump(o, 0, lenp);
}

char *
codec_sent(const char *target, const char *msg, size_t msglen,
    uint64_t ts_ms, size_t *lenp)
{
	json_t	*o;

	o = json_object();
	if (add(o, "type", json_string("sent")) == -1 ||
	    add(o, "message", text(msg, msglen)) == -1 ||
	    add(o, "target_user", json_string(target)) == -1 ||
	    add(o, "ts", uint_value(ts_ms)) == -1) {
		json_decref(o);
		o = NULL;
	}
	return dump(o, 0, lenp);
}

/* {"type":type,"room":room,"members":[users],["truncated":true]}. */
static char *
room_users(const char *type, const char *room, const char *const *users,
    size_t n, int truncated, size_t *lenp)
{
	json_t	*o;

	o = json_object();
	if (add(o, "type", json_string(type)) == -1 ||
	    add(o, "room", json_string(room)) == -1 ||
	    add(o, "members", string_array(users, n)) == -1 ||
	    (truncated && add(o, "truncated", json_true()) == -1)) {
		json_decref(o);
		o = NULL;
	}
	return dump(o, 0, lenp);
}

char *
codec_joined(const char *room, const char *const *users, size_t n,
    int truncated, size_t *lenp)
{
	return room_users("joined", room, users, n, truncated, lenp);
}

char *
codec_members(const char *room, const char *const *users, size_t n,
    int truncated, size_t *lenp)
{
	return room_users("members", room, users, n, truncated, lenp);
}

char *
codec_left(const char *room, size_t *lenp)
{
	return codec_req_room("left", room, lenp);
}

char *
codec_member(const char *room, const char *user, int joined, size_t *lenp)
{
	json_t	*o;

	o = json_object();
	if (add(o, "type", json_string("member")) == -1 ||
	    add(o, "room", json_string(room)) == -1 ||
	    add(o, "user", json_string(user)) == -1 ||
	    add(o, "event", json_string(joined ? "join" : "leave")) == -1) {
		json_decref(o);
		o = NULL;
	}
	return dump(o, 0, lenp);
}

char *
codec_rooms(const char *const *rooms, const size_t *members, size_t n,
    size_t *lenp)
{
	json_t	*o, *a, *r;
	size_t	 i;

	o = json_object();
	a = json_array();
	for (i = 0; a != NULL && i < n; i++) {
		r = json_object();
		if (add(r, "room", json_string(rooms[i])) == -1 ||
		    add(r, "members", uint_value(members[i])) == -1) {
			json_decref(r);
			r = NULL;
		}
		/* Takes r's reference, even when it fails. */
		if (r == NULL || json_array_append_new(a, r) == -1) {
			json_decref(a);
			a = NULL;
		}
	}
	if (add(o, "type", json_string("rooms")) == -1 ||
	    add(o, "rooms", a) == -1) {
		json_decref(o);
		o = NULL;
	}
	return dump(o, 0, lenp);
}

/* A chat request to a user (key "target_user") or a room. */
static char *
req_chat(const char *key, const char *target, const char *msg,
    size_t msglen, const char *id, size_t *lenp)
{
	json_t	*o, *idv = NULL;
	int	 prec = 0;

	if (has_id(id)) {
		if ((idv = id_value(id)) == NULL)
			return dump(NULL, 0, lenp);
		prec = real_precision(idv);
	}
	o = json_object();
	if (add(o, "message", text(msg, msglen)) == -1 ||
	    add(o, key, json_string(target)) == -1 ||
	    (idv != NULL && add(o, "id", json_incref(idv)) == -1)) {
		json_decref(o);
		o = NULL;
	}
	json_decref(idv);
	return dump(o, prec, lenp);
}

char *
codec_req_chat(const char *target, const char *msg, size_t msglen,
    const char *id, size_t *lenp)
{
	return req_chat("target_user", target, msg, msglen, id, lenp);
}

char *
codec_req_room_chat(const char *room, const char *msg, size_t msglen,
    const char *id, size_t *lenp)
{
	return req_chat("target_room", room, msg, msglen, id, lenp);
}

char *
codec_req_room(const char *type, const char *room, size_t *lenp)
{
	json_t	*o;

	o = json_object();
	if (add(o, "type", json_string(type)) == -1 ||
	    (room != NULL && add(o, "room", json_string(room)) == -1)) {
		json_decref(o);
		o = NULL;
	}
	return dump(o, 0, lenp);
}

char *
codec_req_who(size_t *lenp)
{
	json_t	*o;

	o = json_object();
	if (add(o, "type", json_string("who")) == -1) {
		json_decref(o);
		o = NULL;
	}
	return dump(o, 0, lenp);
}

char *
codec_req_watch(const char *const *users, size_t n, size_t *lenp)
{
	json_t	*o;

	o = json_object();
	if (add(o, "type", json_string("watch")) == -1 ||
	    add(o, "users", string_array(users, n)) == -1) {
		json_decref(o);
		o = NULL;
	}
	return dump(o, 0, lenp);
}

char *
codec_req_resume(uint64_t since, const char *epoch, size_t *lenp)
{
	json_t	*o;

	o = json_object();
	if (add(o, "type", json_string("resume")) == -1 ||
	    add(o, "since", uint_value(since)) == -1 ||
	    (epoch != NULL && epoch[0] != '\0' &&
	    add(o, "epoch", json_string(epoch)) == -1)) {
		json_decref(o);
		o = NULL;
	}
	return dump(o, 0, lenp);
}

/* ---- server to client ---- */

/*
 * Copy a server's detail text, cutting an over-long one at a UTF-8
 * character boundary rather than refusing the whole event.
 */
static void
copy_detail(char *dst, const char *s, size_t n)
{
	if (n > CODEC_MAX_DETAIL) {
		n = CODEC_MAX_DETAIL;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* A room name in an event: into ev->room, else -1 with detail. */
static int
ev_room(const json_t *v, struct codec_ev *ev, const char *what,
    char *detail)
{
	if (!json_is_string(v) || !codec_valid_room(json_string_value(v),
	    json_string_length(v))) {
		set_detail(detail, "%s: \"room\" must be a room name", what);
		return -1;
	}
	memcpy(ev->room, json_string_value(v), json_string_length(v));
	ev->room[json_string_length(v)] = '\0';
	return 0;
}

/* "members" of a joined or members event into ev->users. */
static int
ev_members(json_t *root, struct codec_ev *ev, const char *what,
    char *detail)
{
	json_t	*v;
	size_t	 bad;

	if (ev_room(json_object_get(root, "room"), ev, what, detail) == -1)
		return -1;
	v = json_object_get(root, "members");
	if (!json_is_array(v)) {
		set_detail(detail, "%s: \"members\" must be an array", what);
		return -1;
	}
	switch (copy_users(v, &ev->users, &ev->nusers, &bad)) {
	case 0:
		break;
	case -1:
		set_detail(detail, "%s: \"members\" entry %zu is not a valid "
		    "user id", what, bad);
		return -1;
	default:
		set_detail(detail, "out of memory");
		return -1;
	}
	v = json_object_get(root, "truncated");
	ev->truncated = v != NULL && json_is_true(v);
	return 0;
}

/* {"type":"rooms","rooms":[{"room","members"}...]}. */
static int
ev_rooms(json_t *root, struct codec_ev *ev, char *detail)
{
	json_t		*a, *r, *n;
	size_t		 i;

	a = json_object_get(root, "rooms");
	if (!json_is_array(a)) {
		set_detail(detail, "rooms: \"rooms\" must be an array");
		return -1;
	}
	if (json_array_size(a) > 0 && (ev->rooms = calloc(json_array_size(a),
	    sizeof(*ev->rooms))) == NULL) {
		set_detail(detail, "out of memory");
		return -1;
	}
	json_array_foreach(a, i, r) {
		n = json_object_get(r, "members");
		if (!json_is_object(r) || ev_room(json_object_get(r, "room"),
		    ev, "rooms", detail) == -1 || !json_is_integer(n) ||
		    json_integer_value(n) < 0) {
			set_detail(detail, "rooms: entry %zu must be "
			    "{\"room\":NAME,\"members\":N}", i);
			return -1;
		}
		memcpy(ev->rooms[i].room, ev->room, sizeof(ev->room));
		ev->rooms[i].members = (uint64_t)json_integer_value(n);
	}
	ev->nrooms = json_array_size(a);
	ev->room[0] = '\0';
	return 0;
}

static int
parse_ev_chat(json_t *root, struct codec_ev *ev, char *detail)
{
	json_t		*msg, *from, *ts, *room;
	json_int_t	 t;

	msg = json_object_get(root, "message");
	from = json_object_get(root, "from_user");
	if (!json_is_string(msg)) {
		set_detail(detail, "chat: \"message\" must be a string");
		return -1;
	}
	if (!json_is_string(from) || !codec_valid_user(
	    json_string_value(from), json_string_length(from))) {
		set_detail(detail, "chat: \"from_user\" must be a user id");
		return -1;
	}
	if ((ts = json_object_get(root, "ts")) != NULL) {
		if (!json_is_integer(ts) || (t = json_integer_value(ts)) < 0) {
			set_detail(detail, "chat: \"ts\" must be a "
			    "non-negative integer");
			return -1;
		}
		ev->ts = (uint64_t)t;
	}
	if (get_seq(root, "seq", &ev->seq) == -1) {
		set_detail(detail, "chat: \"seq\" must be a non-negative "
		    "integer");
		return -1;
	}
	if ((room = json_object_get(root, "room")) != NULL &&
	    ev_room(room, ev, "chat", detail) == -1)
		return -1;
	memcpy(ev->from, json_string_value(from), json_string_length(from));
	ev->from[json_string_length(from)] = '\0';
	ev->message = json_string_value(msg);
	ev->message_len = json_string_length(msg);
	ev->type = CODEC_EV_CHAT;
	return 0;
}

/* An event's optional "id"; null counts as absent. */
static int
parse_ev_id(json_t *root, struct codec_ev *ev, char *detail)
{
	json_t	*v;

	v = json_object_get(root, "id");
	if (v == NULL || json_is_null(v))
		return 0;
	if (id_to_text(v, ev->id) == -1) {
		set_detail(detail, "\"id\" must be a string or a number of at "
		    "most %d bytes as JSON", CODEC_MAX_IDJSON);
		return -1;
	}
	return 0;
}

/* A copy of our own message, sent from another connection. */
static int
parse_ev_sent(json_t *root, struct codec_ev *ev, char *detail)
{
	json_t	*msg, *to;

	msg = json_object_get(root, "message");
	to = json_object_get(root, "target_user");
	if (!json_is_string(msg)) {
		set_detail(detail, "sent: \"message\" must be a string");
		return -1;
	}
	if (!json_is_string(to) || !codec_valid_user(json_string_value(to),
	    json_string_length(to))) {
		set_detail(detail, "sent: \"target_user\" must be a user id");
		return -1;
	}
	if (get_seq(root, "ts", &ev->ts) == -1) {
		set_detail(detail, "sent: \"ts\" must be a non-negative "
		    "integer");
		return -1;
	}
	memcpy(ev->target, json_string_value(to), json_string_length(to));
	ev->target[json_string_length(to)] = '\0';
	ev->message = json_string_value(msg);
	ev->message_len = json_string_length(msg);
	ev->type = CODEC_EV_SENT;
	return 0;
}

static int
parse_ev_typed(json_t *root, const char *type, struct codec_ev *ev,
    char *detail)
{
	json_t	*v;
	size_t	 bad;

	if (strcmp(type, "chat") == 0)
		return parse_ev_chat(root, ev, detail);
	if (strcmp(type, "sent") == 0)
		return parse_ev_sent(root, ev, detail);
	if (strcmp(type, "ack") == 0) {
		if (parse_ev_id(root, ev, detail) == -1)
			return -1;
		if (copy_string(ev->status, sizeof(ev->status),
		    json_object_get(root, "status")) == -1) {
			set_detail(detail, "ack: \"status\" must be a short "
			    "string");
			return -1;
		}
		if (get_seq(root, "seq", &ev->seq) == -1 ||
		    get_seq(root, "missed", &ev->missed) == -1) {
			set_detail(detail, "ack: \"seq\" and \"missed\" must "
			    "be non-negative integers");
			return -1;
		}
		ev->type = CODEC_EV_ACK;
		return 0;
	}
	if (strcmp(type, "error") == 0) {
		if (parse_ev_id(root, ev, detail) == -1)
			return -1;
		if (copy_string(ev->error, sizeof(ev->error),
		    json_object_get(root, "error")) == -1) {
			set_detail(detail, "error: \"error\" must be a short "
			    "string");
			return -1;
		}
		v = json_object_get(root, "detail");
		if (v != NULL && !json_is_string(v)) {
			set_detail(detail, "error: \"detail\" must be a "
			    "string");
			return -1;
		}
		if (v != NULL)
			copy_detail(ev->detail, json_string_value(v),
			    json_string_length(v));
		ev->type = CODEC_EV_ERROR;
		return 0;
	}
	if (strcmp(type, "who") == 0) {
		v = json_object_get(root, "users");
		if (!json_is_array(v)) {
			set_detail(detail, "who: \"users\" must be an array");
			return -1;
		}
		switch (copy_users(v, &ev->users, &ev->nusers, &bad)) {
		case 0:
			break;
		case -1:
			set_detail(detail, "who: \"users\" entry %zu is not a "
			    "valid user id", bad);
			return -1;
		default:
			set_detail(detail, "out of memory");
			return -1;
		}
		ev->type = CODEC_EV_WHO;
		return 0;
	}
	if (strcmp(type, "presence") == 0) {
		v = json_object_get(root, "user");
		if (!json_is_string(v) || !codec_valid_user(
		    json_string_value(v), json_string_length(v))) {
			set_detail(detail, "presence: \"user\" must be a user "
			    "id");
			return -1;
		}
		memcpy(ev->user, json_string_value(v), json_string_length(v));
		ev->user[json_string_length(v)] = '\0';
		v = json_object_get(root, "online");
		if (!json_is_boolean(v)) {
			set_detail(detail, "presence: \"online\" must be true "
			    "or false");
			return -1;
		}
		ev->online = json_is_true(v);
		ev->type = CODEC_EV_PRESENCE;
		return 0;
	}
	if (strcmp(type, "resumed") == 0) {
		if (get_seq(root, "since", &ev->since) != 0 ||
		    get_seq(root, "first", &ev->first) != 0 ||
		    get_seq(root, "last", &ev->last) != 0) {
			set_detail(detail, "resumed: \"since\", \"first\" and "
			    "\"last\" must be non-negative integers");
			return -1;
		}
		if ((v = json_object_get(root, "epoch")) != NULL &&
		    copy_string(ev->epoch, sizeof(ev->epoch), v) == -1) {
			set_detail(detail, "resumed: \"epoch\" must be a short "
			    "string");
			return -1;
		}
		v = json_object_get(root, "reset");
		if (v != NULL && !json_is_boolean(v)) {
			set_detail(detail, "resumed: \"reset\" must be true or "
			    "false");
			return -1;
		}
		ev->reset = v != NULL && json_is_true(v);
		v = json_object_get(root, "sparse");
		ev->sparse = v != NULL && json_is_true(v);
		v = json_object_get(root, "cursor");
		ev->cursor = v != NULL && json_is_true(v);
		ev->type = CODEC_EV_RESUMED;
		return 0;
	}
	if (strcmp(type, "expired") == 0) {
		if (get_seq(root, "after", &ev->after) != 0 ||
		    get_seq(root, "before", &ev->before) != 0 ||
		    ev->before <= ev->after) {
			set_detail(detail, "expired: \"after\" and \"before\" "
			    "must be integers, after < before");
			return -1;
		}
		ev->type = CODEC_EV_EXPIRED;
		return 0;
	}
	if (strcmp(type, "joined") == 0 || strcmp(type, "members") == 0) {
		if (ev_members(root, ev, type, detail) == -1)
			return -1;
		ev->type = type[0] == 'j' ? CODEC_EV_JOINED : CODEC_EV_MEMBERS;
		return 0;
	}
	if (strcmp(type, "left") == 0) {
		if (ev_room(json_object_get(root, "room"), ev, type,
		    detail) == -1)
			return -1;
		ev->type = CODEC_EV_LEFT;
		return 0;
	}
	if (strcmp(type, "member") == 0) {
		if (ev_room(json_object_get(root, "room"), ev, type,
		    detail) == -1)
			return -1;
		v = json_object_get(root, "user");
		if (!json_is_string(v) || !codec_valid_user(
		    json_string_value(v), json_string_length(v))) {
			set_detail(detail, "member: \"user\" must be a user "
			    "id");
			return -1;
		}
		memcpy(ev->user, json_string_value(v), json_string_length(v));
		ev->user[json_string_length(v)] = '\0';
		v = json_object_get(root, "event");
		if (!json_is_string(v) || (strcmp(json_string_value(v),
		    "join") != 0 && strcmp(json_string_value(v),
		    "leave") != 0)) {
			set_detail(detail, "member: \"event\" must be "
			    "\"join\" or \"leave\"");
			return -1;
		}
		ev->joined = strcmp(json_string_value(v), "join") == 0;
		ev->type = CODEC_EV_MEMBER;
		return 0;
	}
	if (strcmp(type, "rooms") == 0) {
		if (ev_rooms(root, ev, detail) == -1)
			return -1;
		ev->type = CODEC_EV_ROOMS;
		return 0;
	}
	ev->type = CODEC_EV_OTHER;
	return 0;
}

int
codec_parse_ev(const char *p, size_t len, struct codec_ev *ev,
    char *detail)
{
	json_error_t	 jerr;
	json_t		*root, *v;

	memset(ev, 0, sizeof(*ev));
	if (detail != NULL)
		detail[0] = '\0';
	if (p == NULL)
		p = "";
	if ((root = json_loadb(p, len, 0, &jerr)) == NULL) {
		json_detail(detail, &jerr);
		return -1;
	}
	ev->priv = root;
	if (!json_is_object(root)) {
		set_detail(detail, "expected a JSON object");
		goto fail;
	}
	if ((v = json_object_get(root, "type")) == NULL) {
		/* Chat events carry no "type", as in the seed. */
		if (json_object_get(root, "message") == NULL ||
		    json_object_get(root, "from_user") == NULL) {
			set_detail(detail, "\"type\" is missing");
			goto fail;
		}
		if (parse_ev_chat(root, ev, detail) == -1)
			goto fail;
		return 0;
	}
	if (!json_is_string(v)) {
		set_detail(detail, "\"type\" must be a string");
		goto fail;
	}
	if (parse_ev_typed(root, json_string_value(v), ev, detail) == -1)
		goto fail;
	return 0;

fail:
	codec_ev_release(ev);
	ev->type = 0;
	return -1;
}

void
codec_ev_release(struct codec_ev *ev)
{
	if (ev == NULL)
		return;
	json_decref(ev->priv);
	ev->priv = NULL;
	free(ev->users);
	ev->users = NULL;
	ev->nusers = 0;
	free(ev->rooms);
	ev->rooms = NULL;
	ev->nrooms = 0;
	ev->message = NULL;
	ev->message_len = 0;
}
