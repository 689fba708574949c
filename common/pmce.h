/*
 * Copyright (c) 2026 The chat authors.
 *
 * pmce: the negotiation of permessage-deflate (RFC 7692) in the
 * Sec-WebSocket-Extensions header, for both sides, as pure functions
 * over strings: the server picks an offer and writes its answer, the
 * client writes its offer and checks the answer.  No compression here
 * (ws.c does that with zlib) and no I/O.
 *
 * Policy, the same on both sides: our compressor never takes over its
 * LZ77 window from one message to the next, whatever was agreed (the
 * RFC allows that always), so compression holds no state between
 * messages.  The server also asks the client not to
 * (client_no_context_takeover), so its decompressor holds none either.
 */
#ifndef PMCE_H
#define PMCE_H

#include <stddef.h>
#include <stdint.h>

/* Room for any header line pmce writes, CRLF and NUL included. */
#define PMCE_LINE_MAX	160

/* What one connection agreed on; all zero: no compression. */
struct pmce_params {
	uint8_t	on;		/* permessage-deflate is in use */
	uint8_t	send_bits;	/* our compressor's window: 8..15 */
	uint8_t	peer_takeover;	/* the peer may reuse its window: our
				   decompressor keeps its state */
};

enum pmce_status {
	PMCE_NONE = 0,		/* no acceptable permessage-deflate offer */
	PMCE_OK = 1,		/* agreed: *params filled */
	PMCE_INVALID = -1	/* syntax error, or an answer a client must
				   refuse (RFC 7692 section 5) */
};

/*
 * Server: read the offers in the Sec-WebSocket-Extensions value
 * v[0..len) (several header lines joined with ", "), take the first
 * permessage-deflate offer whose parameters are valid, fill *params and
 * write the answer's header line ("Sec-WebSocket-Extensions: ...\r\n")
 * into line[PMCE_LINE_MAX].  Returns PMCE_OK, PMCE_NONE (nothing
 * usable offered: answer without the extension; line is "") or
 * PMCE_INVALID (the value is not an extension list; line is "").
 */
int	pmce_accept(const char *v, size_t len, struct pmce_params *params,
	    char *line);

/*
 * Client: the offer's header line ("Sec-WebSocket-Extensions:
 * permessage-deflate; client_max_window_bits\r\n").
 */
const char *pmce_offer(void);

/*
 * Client: check the server's answer v[0..len) to pmce_offer() and fill
 * *params.  Returns PMCE_OK, or PMCE_INVALID if it names another
 * extension, more than one, an unknown or repeated parameter or a bad
 * window size: the client must then fail the connection.
 */
int	pmce_check_answer(const char *v, size_t len,
	    struct pmce_params *params);

#endif /* PMCE_H */
