#!/bin/sh
# Copyright (c) 2026 The chat authors.
#
# test_options: chat-server's command line.  --help and --version, every
# bad option or value exits 2 naming the option, good values start a
# server, a taken port fails, signals exit 0, a --config file and its
# errors, SIGHUP re-reading it, and --listen ::1 works
# where IPv6 loopback exists (exit 77 only if ::1 cannot be bound).

. "${TOP:-$(pwd)}/tests/integ/shlib.sh"

SERVER=${CHAT_SERVER_BIN:-${BUILD:-build}/chat-server}
WSC=${BUILD:-build}/tests/wsc
PY=/usr/bin/python3
pids=""

cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
}
trap cleanup EXIT

# expect_usage_error WORD ARGS...: exit 2, WORD on stderr, stdout empty.
expect_usage_error() {
	word=$1; shift
	"$SERVER" "$@" > out 2> err < /dev/null
	rc=$?
	ok $((rc != 2)) "'$*': exit 2 (got $rc)"
	grep -q -e "$word" err
	ok $? "'$*': stderr names $word: $(head -c 200 err)"
	[ ! -s out ]
	ok $? "'$*': nothing on stdout"
}

# start NAME ARGS...: run a server on a free port; sets PID and PORT.
start() {
	name=$1; shift
	"$SERVER" --port 0 "$@" > "$name.log" 2>&1 < /dev/null &
	PID=$!
	pids="$pids $PID"
	PORT=
	i=0
	while [ $i -lt 100 ]; do
		PORT=$(sed -n 's/.*listening on ws:\/\/.*:\([0-9][0-9]*\) .*/\1/p' \
		    "$name.log" | head -n 1)
		[ -n "$PORT" ] && return 0
		kill -0 "$PID" 2>/dev/null || return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# listening PID: true once the process has a listening TCP socket.
listening() {
	for ino in $(ls -l "/proc/$1/fd" 2>/dev/null |
	    sed -n 's/.*socket:\[\([0-9]*\)\]$/\1/p'); do
		awk -v i="$ino" '$4 == "0A" && $10 == i { f = 1 }
		    END { exit !f }' /proc/net/tcp /proc/net/tcp6 && return 0
	done
	return 1
}

# stop SIG: signal $PID, wait; sets RC.
stop() {
	kill -"$1" "$PID"
	i=0
	while kill -0 "$PID" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	wait "$PID"
	RC=$?
}

# ---- help and version ----
"$SERVER" --help > out 2> err
ok $? "--help exits 0"
grep -q '^usage: chat-server' out
ok $? "--help prints usage on stdout"
grep -q -- '--max-per-user' out && grep -q -- '--queue-bytes' out
ok $? "--help lists the long options"
[ ! -s err ]
ok $? "--help writes nothing on stderr"
"$SERVER" -h > out2 2>&1
ok $? "-h exits 0"
cmp -s out out2
ok $? "-h prints the same as --help"

"$SERVER" --version > out 2> err
ok $? "--version exits 0"
[ "$(cat out)" = "chat-server 0.1.0" ]
ok $? "--version prints 'chat-server 0.1.0' (got '$(cat out)')"
"$SERVER" -V > out 2> err
[ "$(cat out)" = "chat-server 0.1.0" ]
ok $? "-V prints the version"

# ---- bad options and values: exit 2 naming the option ----
expect_usage_error -- '--port' --port 70000
expect_usage_error -- '--port' --port 80x
expect_usage_error -- '--port' --port -1
expect_usage_error -- '--port' --port ''
expect_usage_error -- '--port' -p 99999
expect_usage_error -- '--max-message' --max-message 0
expect_usage_error -- '--max-message' --max-message 12q
expect_usage_error -- '--max-message' --max-message 17m
expect_usage_error -- '--max-output' --max-output 1k
expect_usage_error -- '--max-output' --max-message 1k --max-output 8k
expect_usage_error -- '--max-output' --max-message 64k --max-output 64k
expect_usage_error -- '--max-clients' --max-clients 0
expect_usage_error -- '--max-clients' --max-clients many
expect_usage_error -- '--max-per-user' --max-per-user 0
expect_usage_error -- '--queue-limit' --queue-limit -1
expect_usage_error -- '--queue-bytes' --queue-bytes 1z
expect_usage_error -- '--handshake-timeout' --handshake-timeout 10ms
expect_usage_error -- '--handshake-timeout' --handshake-timeout 2x
expect_usage_error -- '--idle-timeout' --idle-timeout abc
expect_usage_error -- '--ping-interval' --ping-interval 25h
expect_usage_error -- '--idle-timeout' --ping-interval 2s --idle-timeout 1s
expect_usage_error -- 'bogus' --bogus
expect_usage_error -- 'port' --port
expect_usage_error -- "unexpected argument 'extra'" extra
expect_usage_error -- 'usage:' -Z

# Messages start with the program's name, not the path it was run by.
for prog in "$SERVER" "${CHAT_CLIENT:-$(dirname "$SERVER")/chat-client}"; do
	for args in --bogus -Z --port; do
		"$prog" $args > out 2> err < /dev/null
		case $(head -n 1 err) in
		"$(basename "$prog"): "*) ok 0 "" ;;
		*) ok 1 "'$prog $args': prefixed with the name: $(head -n 1 err)" ;;
		esac
	done
done

# An address that does not resolve: exit 2 too.
"$SERVER" --listen 999.1.1.1 --port 0 > out 2> err
rc=$?
ok $((rc != 2)) "--listen 999.1.1.1: exit 2 (got $rc)"
grep -q "999.1.1.1" err
ok $? "--listen 999.1.1.1: names the address: $(cat err)"

# ---- good values start a server; signals exit 0 ----
start dur --listen 127.0.0.1 --handshake-timeout 500ms --ping-interval 2s \
    --idle-timeout 1m --max-message 1k --max-output 40k --queue-bytes 1m \
    --queue-limit 0 --max-per-user 1 --max-clients 5
ok $? "DUR and SIZE forms accepted: $(tail -n 3 dur.log)"
stop TERM
ok "$RC" "SIGTERM: exit 0 (got $RC)"

# -q: warnings only, so not even the listening line.
"$SERVER" --listen 127.0.0.1 --port 0 -q > quiet.log 2>&1 < /dev/null &
PID=$!
pids="$pids $PID"
# No listening line to wait for: wait for the socket (after it, the
# signal handlers are in place).
i=0
while ! listening "$PID" && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
listening "$PID"
ok $? "-q: server runs and listens"
stop TERM
ok "$RC" "-q: exit 0 on SIGTERM (got $RC)"
[ ! -s quiet.log ]
ok $? "-q: no info lines: $(head -n 3 quiet.log)"

start short -l 127.0.0.1 -t 2s -i 0 -I 0 -m 16 -o 33k -c 1 -u 100000 -Q 1 -v -v
ok $? "short options accepted: $(tail -n 3 short.log)"
grep -q "1 clients, 16-byte messages" short.log
ok $? "log shows the limits"
stop INT
ok "$RC" "SIGINT: exit 0 (got $RC)"
grep -q "signal 2" short.log
ok $? "log: signal 2"

# A taken port: the second server fails with a message.
start first --listen 127.0.0.1
ok $? "first server starts"
"$SERVER" --listen 127.0.0.1 --port "$PORT" > out 2> err
rc=$?
ok $((rc == 0)) "a taken port fails (exit $rc)"
grep -q "cannot listen" err
ok $? "taken port: says so: $(cat err)"
stop TERM
ok "$RC" "first server exits 0"

# ---- -m alone raises the default of -o ----
start big -m 16m
ok $? "-m 16m alone starts: $(tail -n 3 big.log)"
stop TERM
ok "$RC" "-m 16m: exit 0 (got $RC)"

# ---- the configuration file ----
cat > chat.conf <<'EOF2'
# a comment, then a blank line

listen 127.0.0.1
rate 5
max-clients 7
EOF2
"$SERVER" --config chat.conf --port 0 --bogus-after > out 2> err
ok $((1 - ($? == 2))) "--config with a bad option: exit 2"
printf 'rate 5\nmax-clientz 7\n' > bad.conf
expect_usage_error -- "bad.conf:2: unknown option 'max-clientz'" \
    --config bad.conf
printf 'rate fast\n' > bad.conf
expect_usage_error -- "bad.conf:1: invalid value 'fast' for 'rate'" \
    --config bad.conf
expect_usage_error -- "nothing.conf" --config nothing.conf
start conf --config chat.conf
ok $? "--config chat.conf starts: $(tail -n 3 conf.log)"
grep -q "max 7 clients" conf.log
ok $? "the file's max-clients applies: $(grep listening conf.log)"
# SIGHUP: what may change is applied, the rest named.
printf 'listen 127.0.0.2\nrate 9\nmax-clients 7\n' > chat.conf
kill -HUP "$PID"
wait_for "reload: 'listen' changed" conf.log
grep -q "reload: 'rate' changed" conf.log
ok $? "SIGHUP applies rate: $(grep reload conf.log)"
grep -q "reload: 'listen' changed: restart to apply it" conf.log
ok $? "SIGHUP names what needs a restart"
printf 'rate fast\n' > chat.conf
kill -HUP "$PID"
wait_for "reload: chat.conf:1: invalid value 'fast' for 'rate'.*nothing changed" \
    conf.log
ok $? "SIGHUP with a bad file changes nothing: $(tail -n 2 conf.log)"
kill -0 "$PID"
ok $? "the server still runs"
stop TERM
ok "$RC" "--config server exits 0 (got $RC)"

# ---- IPv6 loopback ----
v6=0
$PY -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' \
    2> /dev/null || v6=1
if [ $v6 -eq 0 ]; then
	# An IPv6 peer's address is kept apart from an IPv4 one's: it
	# is logged whole, and --max-per-ip counts it and lets it go.
	start v6 --listen ::1 --max-per-ip 1
	ok $? "--listen ::1 starts: $(cat v6.log)"
	grep -q "listening on ws://\[::1\]:$PORT" v6.log
	ok $? "log shows ws://[::1]:PORT"
	if [ -x "$WSC" ]; then
		echo '{"type":"who"}' | timeout 20 "$WSC" \
		    "ws://[::1]:$PORT/demo/ws/six" > out 2> err
		ok $? "wsc over ::1 exits 0: $(cat err)"
		grep -q '"users":\["six"\]' out
		ok $? "who over ::1: $(cat out)"
		wait_for '\[::1\]:[0-9]* #1 user six disconnected' v6.log
		ok $? "log names the IPv6 peer: $(tail -n 2 v6.log)"
		echo '{"type":"who"}' | timeout 20 "$WSC" \
		    "ws://[::1]:$PORT/demo/ws/seven" > out 2> err
		ok $? "--max-per-ip 1: a second ::1 peer after the first: \
$(cat err)"
		grep -q '"users":\["seven"\]' out
		ok $? "who over ::1 again: $(cat out)"
	else
		ok 1 "$WSC missing (make test-bins)"
	fi
	stop TERM
	ok "$RC" "::1 server exits 0"
fi

echo "$checks checks, $failed failed"
[ $failed -eq 0 ] || exit 1
if [ $v6 -ne 0 ]; then
	echo "SKIP: ::1 cannot be bound here (no IPv6 loopback)"
	exit 77
fi
exit 0
