# Copyright (c) 2026 The chat authors.
#
# Replay every fuzz corpus file (seeds and past crashes) through its
# target, built without libFuzzer, so they are regression tests in
# every build (and under ASan in the sanitizer build).
set -u
rc=0 n=0
for bin in "$BUILD"/tests/replay_fuzz_*; do
	name=${bin##*/replay_}
	corpus="$TOP/tests/fuzz/corpus/$name"
	if [ ! -d "$corpus" ] || [ -z "$(ls "$corpus")" ]; then
		echo "no corpus for $name"
		rc=1
		continue
	fi
	if "$bin" "$corpus"/*; then
		n=$((n + 1))
	else
		echo "$name: replay failed"
		rc=1
	fi
done
[ $n -ge 3 ] || { echo "expected 3 targets, replayed $n"; rc=1; }
exit $rc
