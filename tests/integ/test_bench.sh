#!/bin/sh
# Copyright (c) 2026 The chat authors.
#
# test_bench: chat-bench against a fresh server for one second (chat,
# echo, and a room of five members, two sending): it must
# print one JSON line with lost 0 and dup 0 and exit 0; bad usage exits
# 2; a non-loopback target is refused.  No timing is asserted: the
# benchmark is run by hand (bench/run).

. "${TOP:-$(pwd)}/tests/integ/shlib.sh"

SERVER=${CHAT_SERVER_BIN:-${BUILD:-build}/chat-server}
BENCH=${BUILD:-build}/chat-bench
PID=

cleanup() {
	[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
}
trap cleanup EXIT

if [ ! -x "$BENCH" ]; then
	echo "no $BENCH"
	exit 77
fi

"$SERVER" --port 0 > server.log 2>&1 < /dev/null &
PID=$!
PORT=
i=0
while [ $i -lt 100 ] && [ -z "$PORT" ]; do
	PORT=$(sed -n 's/.*listening on ws:\/\/.*:\([0-9][0-9]*\) .*/\1/p' \
	    server.log | head -n 1)
	[ -n "$PORT" ] && break
	sleep 0.1
	i=$((i + 1))
done
if [ -z "$PORT" ]; then
	echo "server did not start"
	cat server.log
	exit 1
fi

"$BENCH" chat -u "ws://127.0.0.1:$PORT" -p 2 -d 1 --warmup 0 --drain 2 \
    --pid "$PID" > out 2> err
ok $? "chat run exits 0: $(cat err)"
[ "$(wc -l < out)" -eq 1 ]
ok $? "chat prints one line: $(cat out)"
grep -q '"lost":0,' out && grep -q '"dup":0,' out && \
    grep -q '"misrouted":0,' out && grep -q '"conns_ok":4,' out
ok $? "chat delivered everything once: $(cat out)"
grep -q '"delivered":[1-9]' out
ok $? "chat delivered something: $(cat out)"

"$BENCH" echo -u "ws://127.0.0.1:$PORT" -c 2 -d 1 --warmup 0 > out 2> err
ok $? "echo run exits 0: $(cat err)"
grep -q '"lost":0,' out && grep -q '"dup":0,' out
ok $? "echo delivered everything once: $(cat out)"

"$BENCH" room -u "ws://127.0.0.1:$PORT" -c 5 --senders 2 -d 1 --warmup 0 \
    --drain 2 > out 2> err
ok $? "room run exits 0: $(cat err)"
grep -q '"lost":0,' out && grep -q '"dup":0,' out && \
    grep -q '"misrouted":0,' out && grep -q '"out_of_order":0,' out && \
    grep -q '"delivered":[1-9]' out
ok $? "room: every member got every message once: $(cat out)"
"$BENCH" room -u "ws://127.0.0.1:$PORT" -c 3 --senders 4 > out 2> err
ok $((! ($? == 2))) "room with more senders than members exits 2"

"$BENCH" chat -u "ws://10.1.2.3:$PORT" -p 1 > out 2> err
ok $((! ($? == 2))) "non-loopback target exits 2"
grep -q 'only 127.0.0.0/8' err
ok $? "non-loopback target refused: $(cat err)"

"$BENCH" chat -u "ws://127.0.0.1:$PORT" -p 0 > out 2> err
ok $((! ($? == 2))) "-p 0 exits 2"
grep -q -- '--pairs' err
ok $? "-p 0 names the option: $(head -n 1 err)"

"$BENCH" --help > out 2> err
ok $? "--help exits 0"
grep -q '^usage: chat-bench' out
ok $? "--help prints usage on stdout"

echo "$checks checks, $failed failed"
[ $failed -eq 0 ]
