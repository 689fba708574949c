#!/bin/sh
# Copyright (c) 2026 The chat authors.
#
# test_systemd: the Debian package's unit and configuration, without
# installing anything.  systemd-analyze verify finds nothing in the unit
# (its ExecStart pointed at this build), the unit has what the package
# promises (Type=notify, the reload, the user, StateDirectory=, the
# sandbox), its user and state directory agree with sysusers.d,
# tmpfiles.d and the configuration, and the server starts on the
# packaged configuration.  scripts/deb-check does the same on installed
# packages.  Exit 77 (skip) only without systemd-analyze.

. "${TOP:-$(pwd)}/tests/integ/shlib.sh"

SERVER=${CHAT_SERVER_BIN:-${BUILD:-build}/chat-server}
TOP=${TOP:-$(pwd)}
UNIT=$TOP/debian/chat-server.service
CONF=$TOP/etc/chat-server.conf
pid=

cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
}
trap cleanup EXIT

if ! command -v systemd-analyze > /dev/null; then
	echo "SKIP: systemd-analyze missing (scripts/install-deps --deb)"
	exit 77
fi

# ---- the unit: clean for systemd-analyze, with this build's server ----
sed "s|^ExecStart=/usr/bin/chat-server|ExecStart=$SERVER|" "$UNIT" \
    > chat-server.service
grep -q "^ExecStart=$SERVER --config /etc/chat/chat-server.conf$" \
    chat-server.service
ok $? "ExecStart rewritten for the test"
systemd-analyze verify --man=no ./chat-server.service > verify.out 2>&1
rc=$?
ok $((rc != 0 || $(wc -c < verify.out) != 0)) \
    "systemd-analyze verify is clean (exit $rc): $(cat verify.out)"

for line in Type=notify NotifyAccess=main \
    'ExecReload=/bin/kill -HUP $MAINPID' User=chat Group=chat \
    StateDirectory=chat WatchdogSec=30s RestartPreventExitStatus=2 \
    NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes \
    PrivateTmp=yes PrivateDevices=yes CapabilityBoundingSet= \
    SystemCallFilter=@system-service WantedBy=multi-user.target; do
	grep -qxF "$line" "$UNIT"
	ok $? "the unit has $line"
done

# ---- user, state directory, configuration agree ----
grep -q '^u chat - ".*" /var/lib/chat$' "$TOP/debian/chat-server.sysusers"
ok $? "sysusers.d makes the unit's user chat"
grep -qx 'd /var/lib/chat 0750 chat chat -' "$TOP/debian/chat-server.tmpfiles"
ok $? "tmpfiles.d makes /var/lib/chat for chat"
grep -qx 'store /var/lib/chat/chat.db' "$CONF"
ok $? "the store is in the StateDirectory"
grep -qx 'stats-token-file /etc/chat/stats-token' "$CONF"
ok $? "the configuration names the token postinst makes"
grep -q 'etc/chat/stats-token' "$TOP/debian/chat-server.postinst"
ok $? "postinst makes /etc/chat/stats-token"

# ---- the packaged configuration loads and runs ----
# The command line wins: a free port, a store and token of our own.
printf 'test-token\n' > token
"$SERVER" --config "$CONF" --port 0 --store "$(pwd)/chat.db" \
    --stats-token-file "$(pwd)/token" > server.log 2>&1 < /dev/null &
pid=$!
wait_for "listening on ws://127.0.0.1:" server.log
ok $? "the server runs on the packaged configuration: $(cat server.log)"
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
ok "$rc" "exit 0 on SIGTERM (got $rc)"

echo "$checks checks, $failed failed"
[ $failed -eq 0 ]
