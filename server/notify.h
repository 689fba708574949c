/*
 * Copyright (c) 2026 The chat authors.
 *
 * notify: what the service manager is told and given, through
 * libsystemd: state changes for Type=notify units (sd_notify(3): READY,
 * RELOADING, STOPPING, STATUS, the watchdog) and the listening sockets
 * of socket activation (sd_listen_fds(3)).  Outside systemd (no
 * NOTIFY_SOCKET, no LISTEN_FDS) every call does nothing.
 */
#ifndef NOTIFY_H
#define NOTIFY_H

#include <stddef.h>
#include <stdint.h>

/* Listening, or back from a reload: READY=1 and a STATUS= line. */
void	notify_ready(const char *status);
/* SIGHUP: RELOADING=1 (with MONOTONIC_USEC=, as systemd 253 wants). */
void	notify_reloading(void);
/* SIGINT or SIGTERM: STOPPING=1. */
void	notify_stopping(void);

/*
 * With WatchdogSec= in the unit: how often (ms) notify_watchdog() must
 * be called, half the manager's timeout; 0 without a watchdog.
 */
uint64_t notify_watchdog_ms(void);
void	notify_watchdog(void);

/*
 * Sockets passed by socket activation: at most max descriptors into
 * fds, each checked to be a listening stream socket and made
 * non-blocking.  Returns how many (0: none were passed), or -1 with
 * err[errlen] saying why they cannot be used.
 */
int	notify_listen_fds(int *fds, int max, char *err, size_t errlen);

#endif /* NOTIFY_H */
