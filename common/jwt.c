/*
 * Copyright (c) 2026 The chat authors.
 *
 * jwt: HS256 tokens with OpenSSL's HMAC and jansson.  The header must
 * say {"alg":"HS256"}: an algorithm taken from the token itself is how
 * "alg: none" and key-confusion attacks work, so no other is accepted.
 * The signature is compared with CRYPTO_memcmp before the payload is
 * parsed.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "codec.h"
#include "jwt.h"

/* Decode base64url without padding; returns the length or -1. */
static int
b64url_decode(const char *in, size_t len, uint8_t *out, size_t outlen)
{
	uint32_t	acc = 0;
	size_t		i, o = 0;
	int		bits = 0, v;

	for (i = 0; i < len; i++) {
		char	ch = in[i];

		if (ch >= 'A' && ch <= 'Z')
			v = ch - 'A';
		else if (ch >= 'a' && ch <= 'z')
			v = ch - 'a' + 26;
		else if (ch >= '0' && ch <= '9')
			v = ch - '0' + 52;
		else if (ch == '-')
			v = 62;
		else if (ch == '_')
			v = 63;
		else
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outlen)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* A lone trailing character carries no whole byte. */
	if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0)
		return -1;
	return (int)o;
}

static size_t
b64url_encode(const uint8_t *in, size_t len, char *out)
{
	static const char	 t[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint32_t		 acc = 0;
	size_t			 i, o = 0;
	int			 bits = 0;

	for (i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = t[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		out[o++] = t[(acc << (6 - bits)) & 63];
	out[o] = '\0';
	return o;
}

static json_t *
decode_json(const char *p, size_t len)
{
	uint8_t	buf[JWT_MAX_TOKEN];
	int	n;

	if ((n = b64url_decode(p, len, buf, sizeof(buf))) < 0)
		return NULL;
	return json_loadb((const char *)buf, (size_t)n, 0, NULL);
}

/*
 * The optional "rooms" claim: "*" or an array of room names, copied
 * into c.  0, or -1 if it is anything else: a token meant to restrict
 * its user must not be read as allowing everything.
 */
static int
rooms_claim(const json_t *v, struct jwt_claims *c)
{
	const json_t	*e;
	size_t		 i, n;

	c->rooms = JWT_ROOMS_ANY;
	c->roomslen = 0;
	if (v == NULL)
		return 0;
	if (json_is_string(v))
		return strcmp(json_string_value(v), "*") == 0 ? 0 : -1;
	if (!json_is_array(v))
		return -1;
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || !codec_valid_room(
		    json_string_value(e), n = json_string_length(e)) ||
		    c->roomslen + n + 1 > sizeof(c->roomv))
			return -1;
		memcpy(c->roomv + c->roomslen, json_string_value(e), n + 1);
		c->roomslen += n + 1;
	}
	c->rooms = JWT_ROOMS_LIST;
	return 0;
}

int
jwt_rooms_has(const char *roomv, size_t len, const char *room)
{
	size_t	i;

	for (i = 0; i < len; i += strlen(roomv + i) + 1)
		if (strcmp(roomv + i, room) == 0)
			return 1;
	return 0;
}

int
jwt_room_allowed(const struct jwt_claims *c, const char *room)
{
	return c->rooms == JWT_ROOMS_ANY ||
	    jwt_rooms_has(c->roomv, c->roomslen, room);
}

/* A NumericDate: an integer or a real number of seconds. */
static int
numeric_date(const json_t *v, int64_t *out)
{
	if (json_is_integer(v)) {
		*out = (int64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_real(v) && json_real_value(v) > -9e18 &&
	    json_real_value(v) < 9e18) {
		*out = (int64_t)json_real_value(v);
		return 0;
	}
	return -1;
}

int
jwt_verify(const char *tok, size_t len, const uint8_t *key, size_t keylen,
    int64_t now, int64_t skew, struct jwt_claims *c)
{
	const char	*dot1, *dot2, *alg;
	uint8_t		 sig[64], mac[EVP_MAX_MD_SIZE];
	unsigned int	 maclen = 0;
	json_t		*h = NULL, *p = NULL, *v;
	int		 n, r = JWT_MALFORMED;

	memset(c, 0, sizeof(*c));
	if (tok == NULL || len == 0 || len > JWT_MAX_TOKEN)
		return JWT_MALFORMED;
	if ((dot1 = memchr(tok, '.', len)) == NULL ||
	    (dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - tok))) ==
	    NULL || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - tok)))
		return JWT_MALFORMED;
	if ((h = decode_json(tok, (size_t)(dot1 - tok))) == NULL ||
	    !json_is_object(h))
		goto out;
	alg = json_string_value(json_object_get(h, "alg"));
	if (alg == NULL || strcmp(alg, "HS256") != 0) {
		r = JWT_BAD_ALG;
		goto out;
	}
	n = b64url_decode(dot2 + 1, len - (size_t)(dot2 + 1 - tok), sig,
	    sizeof(sig));
	if (HMAC(EVP_sha256(), key, (int)keylen, (const uint8_t *)tok,
	    (size_t)(dot2 - tok), mac, &maclen) == NULL) {
		r = JWT_SYSTEM;
		goto out;
	}
	if (n != (int)maclen || CRYPTO_memcmp(sig, mac, maclen) != 0) {
		r = JWT_BAD_SIGNATURE;
		goto out;
	}
	/* Signed by us: now the claims may be read. */
	if ((p = decode_json(dot1 + 1, (size_t)(dot2 - dot1 - 1))) == NULL ||
	    !json_is_object(p))
		goto out;
	if ((v = json_object_get(p, "exp")) == NULL ||
	    numeric_date(v, &c->exp) != 0) {
		r = JWT_NO_EXP;
		goto out;
	}
	if ((v = json_object_get(p, "nbf")) != NULL &&
	    numeric_date(v, &c->nbf) != 0)
		goto out;
	v = json_object_get(p, "sub");
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > JWT_MAX_SUB) {
		r = JWT_NO_SUB;
		goto out;
	}
	memcpy(c->sub, json_string_value(v), json_string_length(v));
	if (rooms_claim(json_object_get(p, "rooms"), c) == -1) {
		r = JWT_BAD_ROOMS;
		goto out;
	}
	/*
	 * exp and nbf are the peer's (any int64); now and skew are ours and
	 * sane (see jwt.h), so subtract from now rather than add to exp:
	 * an exp near INT64_MAX must mean "never", not overflow.
	 */
	if (now - skew >= c->exp)
		r = JWT_EXPIRED;
	else if (c->nbf != 0 && now + skew < c->nbf)
		r = JWT_NOT_YET;
	else
		r = JWT_OK;
out:
	json_decref(h);
	json_decref(p);
	if (r != JWT_OK && r != JWT_EXPIRED && r != JWT_NOT_YET)
		memset(c, 0, sizeof(*c));
	return r;
}

char *
jwt_mint(const char *sub, int64_t iat, int64_t exp, const uint8_t *key,
    size_t keylen)
{
	return jwt_mint_rooms(sub, iat, exp, NULL, 0, key, keylen);
}

char *
jwt_mint_rooms(const char *sub, int64_t iat, int64_t exp,
    const char *const *rooms, size_t n, const uint8_t *key, size_t keylen)
{
	static const char	 hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	json_t			*p, *a;
	char			*payload, *tok;
	uint8_t			 mac[EVP_MAX_MD_SIZE];
	unsigned int		 maclen;
	size_t			 plen, o, i;

	p = json_pack("{s:s,s:I,s:I}", "sub", sub, "iat", (json_int_t)iat,
	    "exp", (json_int_t)exp);
	if (p == NULL)
		return NULL;
	if (rooms != NULL) {
		if (n == 1 && strcmp(rooms[0], "*") == 0)
			a = json_string("*");
		else
			a = json_array();
		for (i = 0; a != NULL && json_is_array(a) && i < n; i++)
			if (json_array_append_new(a, json_string(rooms[i])) ==
			    -1) {
				json_decref(a);
				a = NULL;
			}
		if (a == NULL || json_object_set_new(p, "rooms", a) == -1) {
			json_decref(p);
			return NULL;
		}
	}
	payload = json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(p);
	if (payload == NULL)
		return NULL;
	plen = strlen(payload);
	if ((tok = malloc((sizeof(hdr) + plen) * 4 / 3 + 128)) == NULL) {
		free(payload);
		return NULL;
	}
	o = b64url_encode((const uint8_t *)hdr, sizeof(hdr) - 1, tok);
	tok[o++] = '.';
	o += b64url_encode((const uint8_t *)payload, plen, tok + o);
	free(payload);
	if (HMAC(EVP_sha256(), key, (int)keylen, (const uint8_t *)tok, o,
	    mac, &maclen) == NULL) {
		free(tok);
		return NULL;
	}
	tok[o++] = '.';
	b64url_encode(mac, maclen, tok + o);
	return tok;
}

const char *
jwt_strerror(int code)
{
	switch (code) {
	case JWT_OK:
		return "valid";
	case JWT_MALFORMED:
		return "token is malformed";
	case JWT_BAD_ALG:
		return "token algorithm is not HS256";
	case JWT_BAD_SIGNATURE:
		return "token signature is wrong";
	case JWT_NO_EXP:
		return "token has no expiry";
	case JWT_EXPIRED:
		return "token has expired";
	case JWT_NOT_YET:
		return "token is not valid yet";
	case JWT_NO_SUB:
		return "token names no user";
	case JWT_BAD_ROOMS:
		return "token's rooms claim is not \"*\" or a list of room "
		    "names";
	}
	return "cannot check the token";
}
