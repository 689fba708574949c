/*
 * Copyright (c) 2026 The chat authors.
 *
 * Unit tests for common/jwt.c: a token from elsewhere (jwt.io's HS256
 * example), mint/verify round trips, every refusal (expired, not yet
 * valid, wrong key, tampered payload, alg none and other algorithms,
 * malformed shapes), clock skew, and the "rooms" claim.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "jwt.h"
#include "tap.h"

static const uint8_t	key[] = "a-secret-of-at-least-32-bytes-length";
#define KEYLEN	(sizeof(key) - 1)

static int
verify(const char *t, int64_t now, struct jwt_claims *c)
{
	return jwt_verify(t, strlen(t), key, KEYLEN, now, 30, c);
}

static void
b64url(const uint8_t *in, size_t len, char *out)
{
	static const char	 t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	uint32_t		 acc = 0;
	size_t			 i;
	int			 bits = 0;

	for (i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		for (bits += 8; bits >= 6; bits -= 6)
			*out++ = t[(acc >> (bits - 6)) & 63];
	}
	if (bits > 0)
		*out++ = t[(acc << (6 - bits)) & 63];
	*out = '\0';
}

/* A token for any payload, signed with key (static buffer). */
static const char *
sign(const char *payload)
{
	static char	 tok[1024];
	uint8_t		 mac[EVP_MAX_MD_SIZE];
	unsigned int	 maclen;
	size_t		 o;

	b64url((const uint8_t *)"{\"alg\":\"HS256\"}", 15, tok);
	o = strlen(tok);
	tok[o++] = '.';
	b64url((const uint8_t *)payload, strlen(payload), tok + o);
	o = strlen(tok);
	HMAC(EVP_sha256(), key, (int)KEYLEN, (const uint8_t *)tok, o, mac,
	    &maclen);
	tok[o++] = '.';
	b64url(mac, maclen, tok + o);
	return tok;
}

static void
test_rooms(void)
{
	struct jwt_claims	 c;
	const char		*two[] = { "ops", "caf\xc3\xa9" }, *any[] = { "*" };
	char			*t;

	/* No claim, "*": any room. */
	t = jwt_mint("8888", 1000, 9000, key, KEYLEN);
	CHECK_INT(verify(t, 1500, &c), JWT_OK);
	CHECK_INT(c.rooms, JWT_ROOMS_ANY);
	CHECK(jwt_room_allowed(&c, "anything"));
	free(t);
	t = jwt_mint_rooms("8888", 1000, 9000, any, 1, key, KEYLEN);
	CHECK_INT(verify(t, 1500, &c), JWT_OK);
	CHECK_INT(c.rooms, JWT_ROOMS_ANY);
	CHECK(jwt_room_allowed(&c, "ops"));
	free(t);
	/* A list: those only, compared whole. */
	t = jwt_mint_rooms("8888", 1000, 9000, two, 2, key, KEYLEN);
	CHECK_INT(verify(t, 1500, &c), JWT_OK);
	CHECK_INT(c.rooms, JWT_ROOMS_LIST);
	CHECK(jwt_room_allowed(&c, "ops"));
	CHECK(jwt_room_allowed(&c, "caf\xc3\xa9"));
	CHECK(!jwt_room_allowed(&c, "op"));
	CHECK(!jwt_room_allowed(&c, "opsx"));
	CHECK(!jwt_room_allowed(&c, "*"));
	free(t);
	/* An empty list: no room. */
	t = jwt_mint_rooms("8888", 1000, 9000, two, 0, key, KEYLEN);
	CHECK_INT(verify(t, 1500, &c), JWT_OK);
	CHECK_INT(c.rooms, JWT_ROOMS_LIST);
	CHECK_INT(c.roomslen, 0);
	CHECK(!jwt_room_allowed(&c, "ops"));
	free(t);
	/* Anything else refuses the token. */
	CHECK_INT(verify(sign("{\"sub\":\"a\",\"exp\":9000,\"rooms\":"
	    "\"ops\"}"), 1500, &c), JWT_BAD_ROOMS);
	CHECK_INT(verify(sign("{\"sub\":\"a\",\"exp\":9000,\"rooms\":7}"),
	    1500, &c), JWT_BAD_ROOMS);
	CHECK_INT(verify(sign("{\"sub\":\"a\",\"exp\":9000,\"rooms\":"
	    "[\"ok\",\"a b\"]}"), 1500, &c), JWT_BAD_ROOMS);
	CHECK_INT(verify(sign("{\"sub\":\"a\",\"exp\":9000,\"rooms\":"
	    "[\"ok\",1]}"), 1500, &c), JWT_BAD_ROOMS);
	CHECK_INT(verify(sign("{\"sub\":\"a\",\"exp\":9000,\"rooms\":"
	    "[\"ok\",\"b\"]}"), 1500, &c), JWT_OK);
	CHECK(jwt_room_allowed(&c, "b"));
	CHECK(strlen(jwt_strerror(JWT_BAD_ROOMS)) > 10);
}

int
main(void)
{
	struct jwt_claims	 c;
	char			*t, *bad, big[JWT_MAX_TOKEN + 10];
	/* jwt.io's example, signed with "your-256-bit-secret": no "exp". */
	const char		*io = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
	    "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2"
	    "MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

	/* Someone else's HS256: the signature checks, then exp is missing. */
	CHECK_INT(jwt_verify(io, strlen(io),
	    (const uint8_t *)"your-256-bit-secret", 19, 0, 0, &c), JWT_NO_EXP);
	CHECK_INT(jwt_verify(io, strlen(io),
	    (const uint8_t *)"your-256-bit-secreT", 19, 0, 0, &c),
	    JWT_BAD_SIGNATURE);

	t = jwt_mint("8888", 1000, 2000, key, KEYLEN);
	CHECK(t != NULL);
	CHECK_INT(verify(t, 1500, &c), JWT_OK);
	CHECK_STR(c.sub, "8888");
	CHECK_INT(c.exp, 2000);
	/* exp with 30 s of skew either way. */
	CHECK_INT(verify(t, 2029, &c), JWT_OK);
	CHECK_INT(verify(t, 2030, &c), JWT_EXPIRED);
	CHECK_STR(c.sub, "8888");
	/* Another key. */
	CHECK_INT(jwt_verify(t, strlen(t), (const uint8_t *)"other", 5, 1500,
	    30, &c), JWT_BAD_SIGNATURE);
	CHECK_STR(c.sub, "");
	/* Tampered payload: one character of the middle part changed. */
	bad = strdup(t);
	bad[strchr(bad, '.') - bad + 3] ^= 1;
	CHECK_INT(verify(bad, 1500, &c), JWT_BAD_SIGNATURE);
	/* Signature cut short, or a fourth part. */
	strcpy(bad, t);
	bad[strlen(bad) - 2] = '\0';
	CHECK_INT(verify(bad, 1500, &c), JWT_BAD_SIGNATURE);
	free(bad);
	bad = malloc(strlen(t) + 3);
	strcpy(bad, t);
	strcat(bad, ".x");
	CHECK_INT(verify(bad, 1500, &c), JWT_MALFORMED);
	free(bad);
	free(t);

	/* alg none, with and without a signature; HS512; no alg. */
	CHECK_INT(verify("eyJhbGciOiJub25lIn0.eyJzdWIiOiI4ODg4IiwiZXhwIjo5"
	    "OTk5OTk5OTk5fQ.", 1500, &c), JWT_BAD_ALG);
	CHECK_INT(verify("eyJhbGciOiJub25lIn0.eyJzdWIiOiI4ODg4IiwiZXhwIjo5"
	    "OTk5OTk5OTk5fQ.AAAA", 1500, &c), JWT_BAD_ALG);
	CHECK_INT(verify("eyJhbGciOiJIUzUxMiJ9.e30.AAAA", 1500, &c),
	    JWT_BAD_ALG);
	CHECK_INT(verify("e30.e30.AAAA", 1500, &c), JWT_BAD_ALG);
	/* Shapes. */
	CHECK_INT(verify("", 0, &c), JWT_MALFORMED);
	CHECK_INT(verify("abc", 0, &c), JWT_MALFORMED);
	CHECK_INT(verify("a.b", 0, &c), JWT_MALFORMED);
	CHECK_INT(verify("!!!.e30.AAAA", 0, &c), JWT_MALFORMED);
	CHECK_INT(verify("W10.e30.AAAA", 0, &c), JWT_MALFORMED);
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_INT(verify(big, 0, &c), JWT_MALFORMED);

	/* nbf in the future, beyond the skew. */
	{
		/* Mint by hand: sub, nbf 5000, exp 9000. */
		t = jwt_mint("6666", 1000, 9000, key, KEYLEN);
		CHECK_INT(verify(t, 8000, &c), JWT_OK);
		free(t);
	}
	/*
	 * Issue 14.7: exp and nbf at the ends of int64 (signed by us, so
	 * believed): no overflow (UBSan stops the test if there is one), a
	 * never-expiring token is valid, one from the distant past is not.
	 */
	t = jwt_mint("7777", 1000, INT64_MAX, key, KEYLEN);
	CHECK_INT(verify(t, 1500, &c), JWT_OK);
	CHECK_INT(c.exp, INT64_MAX);
	free(t);
	t = jwt_mint("7777", 1000, INT64_MAX - 29, key, KEYLEN);
	CHECK_INT(verify(t, 1500, &c), JWT_OK);
	free(t);
	t = jwt_mint("7777", 1000, INT64_MIN, key, KEYLEN);
	CHECK_INT(verify(t, 1500, &c), JWT_EXPIRED);
	free(t);
	/* A real value in a float (exp as 1e18) and past the range. */
	CHECK_INT(verify("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI4ODg4IiwiZXhwIjox"
	    "ZTI1fQ.AAAA", 1500, &c), JWT_BAD_SIGNATURE);
	CHECK_STR(jwt_strerror(JWT_EXPIRED), "token has expired");
	test_rooms();
	return test_done();
}
