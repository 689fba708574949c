/*
 * Copyright (c) 2026 The chat authors.
 *
 * notify: libsystemd's sd_notify(3) and sd_listen_fds(3) for the loop in
 * main.c.  libsystemd speaks the protocol (a datagram to $NOTIFY_SOCKET,
 * descriptors from 3 up with $LISTEN_PID and $LISTEN_FDS); this file
 * only decides what to say and checks what it is given.  A failure to
 * notify is logged once, never fatal: the server serves either way.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <systemd/sd-daemon.h>

#include "log.h"
#include "notify.h"
#include "util.h"

static int	notify_failed;

/* Send state (one or more "KEY=value" lines). */
static void
notify_send(const char *state)
{
	int	r;

	if ((r = sd_notify(0, state)) < 0 && !notify_failed) {
		notify_failed = 1;
		log_warn("cannot notify the service manager: %s",
		    strerror(-r));
	}
}

void
notify_ready(const char *status)
{
	char	buf[512];

	snprintf(buf, sizeof(buf), "READY=1\nSTATUS=%s", status);
	notify_send(buf);
}

void
notify_reloading(void)
{
	char	buf[64];

	snprintf(buf, sizeof(buf), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)util_mono_us());
	notify_send(buf);
}

void
notify_stopping(void)
{
	notify_send("STOPPING=1\nSTATUS=closing connections");
}

uint64_t
notify_watchdog_ms(void)
{
	uint64_t	usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return usec / 2000 > 0 ? usec / 2000 : 1;
}

void
notify_watchdog(void)
{
	notify_send("WATCHDOG=1");
}

int
notify_listen_fds(int *fds, int max, char *err, size_t errlen)
{
	int	n, i, fd;

	if ((n = sd_listen_fds(1)) < 0) {
		snprintf(err, errlen, "socket activation: %s", strerror(-n));
		return -1;
	}
	if (n > max) {
		snprintf(err, errlen, "socket activation: %d sockets passed, "
		    "at most %d used (--port, then --tls-port)", n, max);
		return -1;
	}
	for (i = 0; i < n; i++) {
		fd = SD_LISTEN_FDS_START + i;
		if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
			snprintf(err, errlen, "socket activation: descriptor "
			    "%d is not a listening stream socket", fd);
			return -1;
		}
		if (util_set_nonblock(fd) == -1) {
			snprintf(err, errlen, "socket activation: descriptor "
			    "%d: %s", fd, strerror(errno));
			return -1;
		}
		fds[i] = fd;
	}
	return n;
}
