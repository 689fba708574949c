/*
 * Copyright (c) 2026 The chat authors.
 *
 * jwt: JSON Web Tokens (RFC 7519) signed with HS256 (RFC 7518 3.2), the
 * one algorithm the server accepts: verify a token against a secret and
 * mint one.  Pure: no clock, no files, no logging; the caller passes the
 * time.  A token is never copied anywhere but where the caller asks.
 */
#ifndef JWT_H
#define JWT_H

#include <stddef.h>
#include <stdint.h>

#define JWT_MAX_TOKEN	4096	/* longer tokens are refused unread */
#define JWT_MAX_SUB	64

enum jwt_status {
	JWT_OK = 0,
	JWT_MALFORMED = -1,	/* not three base64url parts of JSON */
	JWT_BAD_ALG = -2,	/* "alg" is not HS256 ("none" included) */
	JWT_BAD_SIGNATURE = -3,
	JWT_NO_EXP = -4,	/* "exp" missing or not a number */
	JWT_EXPIRED = -5,
	JWT_NOT_YET = -6,	/* "nbf" in the future */
	JWT_NO_SUB = -7,	/* "sub" missing, not a string, too long */
	JWT_SYSTEM = -8,
	JWT_BAD_ROOMS = -9	/* "rooms" not "*" or a list of room names */
};

/* What the optional "rooms" claim allows. */
enum jwt_rooms {
	JWT_ROOMS_ANY = 0,	/* no claim, or "*": every room */
	JWT_ROOMS_LIST		/* only those in rooms[] */
};

struct jwt_claims {
	char	sub[JWT_MAX_SUB + 1];
	int64_t	exp;		/* seconds since the epoch */
	int64_t	nbf;		/* 0 if absent */
	enum jwt_rooms rooms;
	/*
	 * JWT_ROOMS_LIST: the names, each ending in a NUL, roomslen bytes
	 * in all (0: no room).  Bounded by the token's size.
	 */
	size_t	roomslen;
	char	roomv[JWT_MAX_TOKEN];
};

/*
 * Verify tok[0..len) with key at time now (seconds, 0 to 2^62), allowing
 * skew seconds (0 to 2^32) of clock difference for exp and nbf, which
 * may be any 64-bit value (an exp near INT64_MAX never expires).  The signature is checked
 * (in constant time) before anything in the payload is trusted.
 * Returns JWT_OK with *c filled, or a jwt_status.
 */
int	jwt_verify(const char *tok, size_t len, const uint8_t *key,
	    size_t keylen, int64_t now, int64_t skew, struct jwt_claims *c);

/*
 * Mint {"sub":sub,"iat":iat,"exp":exp} signed with key, and with
 * "rooms":[rooms[0..n)] when rooms is not NULL ("*" alone: "rooms":"*").
 * Returns a malloc'd NUL-terminated token, or NULL.
 */
char	*jwt_mint(const char *sub, int64_t iat, int64_t exp,
	    const uint8_t *key, size_t keylen);
char	*jwt_mint_rooms(const char *sub, int64_t iat, int64_t exp,
	    const char *const *rooms, size_t n, const uint8_t *key,
	    size_t keylen);

/*
 * Whether claims c (as jwt_verify() filled them) let their user join
 * room (a valid room name).
 */
int	jwt_room_allowed(const struct jwt_claims *c, const char *room);
/*
 * The same over a copy of the names (roomv[0..len), each NUL-ended) kept
 * after the claims are gone.
 */
int	jwt_rooms_has(const char *roomv, size_t len, const char *room);

/* A sentence for a jwt_status ("token has expired"). */
const char *jwt_strerror(int);

#endif /* JWT_H */
