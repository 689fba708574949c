#!/bin/sh
# Copyright (c) 2026 The chat authors.
#
# test_compare: bench/compare, the side-by-side driver, runs one short
# round: our server always, the seed when python3-fastapi is installed
# (else it must be skipped with its reason), and a uWebSockets peer that
# was never built must be skipped saying how to build it.  It prints one
# table with a row per peer that ran, nothing lost or duplicated, exit
# 0.  No timing is asserted; the Node peer is left out (its first run
# fetches ws from the npm registry).

. "${TOP:-$(pwd)}/tests/integ/shlib.sh"

TOP=${TOP:-$(pwd)}

# A copy of bench/ without a uWS build, whatever this tree holds.
mkdir -p tree
cp -r "$TOP/bench" tree/
rm -rf tree/bench/peers/uws/out tree/bench/peers/node/node_modules
BUILD=$BUILD timeout 120 /usr/bin/python3 tree/bench/compare \
    --peers ours,seed,uws --rounds 1 --secs 1 --scenarios echo100 \
    > out 2> err
rc=$?
ok $rc "bench/compare exits 0 (got $rc): $(tail -n 5 err)"
grep -q '^| ours | [0-9,]* |' out
ok $? "a row for ours: $(cat out)"
grep -q "skipping uws: uws: not built: run bench/peers/uws/build" err
ok $? "uws is skipped with how to build it: $(grep skipping err)"
if /usr/bin/python3 -c 'import fastapi, uvicorn, uvloop, httptools' \
    2> /dev/null; then
	grep -q '^| seed | [0-9,]* | 1.00x |' out
	ok $? "a row for the seed, the reference: $(cat out)"
else
	grep -q "skipping seed: seed: needs python3-fastapi" err
	ok $? "the seed is skipped with what it needs: $(grep skipping err)"
fi
! grep -q '| [1-9][0-9,]*/[0-9,]* |$\|| [0-9,]*/[1-9][0-9,]* |$' out
ok $? "nothing lost or duplicated: $(cat out)"

echo "$checks checks, $failed failed"
[ $failed -eq 0 ]
