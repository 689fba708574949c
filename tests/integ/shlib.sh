# Copyright (c) 2026 The chat authors.
#
# shlib: what the shell tests share, sourced as
# . "$TOP/tests/integ/shlib.sh" (tests/run exports TOP).
#   ok STATUS WHAT      count a check; it failed unless STATUS is 0
#   wait_for PAT FILE   up to 10 s for a line of FILE matching PAT;
#                       the status says whether one came
# checks and failed hold the tally.

checks=0 failed=0

ok() {
	checks=$((checks + 1))
	if [ "$1" -ne 0 ]; then
		failed=$((failed + 1))
		echo "FAILED: $2"
	fi
}

wait_for() {
	_i=0
	while ! grep -q -e "$1" "$2" 2> /dev/null && [ $_i -lt 100 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	grep -q -e "$1" "$2" 2> /dev/null
}
