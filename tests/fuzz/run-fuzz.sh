#!/bin/sh
# Runs each named fuzzer ($FUZZ_B/fuzz_<name>) for FUZZ_SECONDS over its
# seed corpus. libFuzzer writes new inputs into the first corpus folder it
# is given, so a fresh one comes first and tests/fuzz/corpus/<name>/ is only
# read. Everything a run writes goes under one folder: FUZZ_OUT when set
# (kept), else a temporary one that is removed after a clean run and kept,
# with its logs and crash inputs, after a failure.
set -u
FUZZ_B=${FUZZ_B:-build-fuzz}
secs=${FUZZ_SECONDS:-60}
out=${FUZZ_OUT:-}
keep=1
if [ -z "$out" ]; then
	out=$(mktemp -d "${TMPDIR:-/tmp}/hotline-fuzz.XXXXXX") || exit 1
	keep=0
fi
fail=0

# Per fuzzer: the largest input worth trying and a dictionary of tokens.
options() {
	case "$1" in
	content) echo "-max_len=66000 -dict=tests/fuzz/dict/content.dict" ;;
	base64)  echo "-max_len=1024 -dict=tests/fuzz/dict/base64.dict" ;;
	time)    echo "-max_len=128 -dict=tests/fuzz/dict/time.dict" ;;
	session) echo "-max_len=2048" ;;
	relay_request) echo "-max_len=8192 -dict=tests/fuzz/dict/relay_request.dict" ;;
	relay_config) echo "-max_len=4096 -dict=tests/fuzz/dict/relay_config.dict" ;;
	relay_secret) echo "-max_len=256" ;;
	*)       echo "" ;;
	esac
}

for n in "$@"; do
	bin="$FUZZ_B/fuzz_$n"
	new="$out/corpus/$n"
	crashes="$out/crashes/$n/"
	log="$out/$n.log"
	mkdir -p "$new" "$crashes" "$out/tmp" || exit 1
	echo "== fuzz: $n for ${secs}s"
	# $(options) is split on purpose: it holds several arguments.
	if TMPDIR="$out/tmp" "$bin" $(options "$n") -max_total_time="$secs" \
	    -timeout=25 -print_final_stats=1 -artifact_prefix="$crashes" \
	    "$new" "tests/fuzz/corpus/$n" >"$log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
		echo "== fuzz: $n: ${runs:-?} runs, $cov, $(ls "$new" | wc -l) new inputs, no failure"
	else
		fail=1
		echo "FAILED: fuzz: $n; log $log, inputs in $crashes"
		grep -E 'property broken|ERROR: |SUMMARY: |Test unit written' "$log" | head -n 8
	fi
done

if [ $fail = 0 ] && [ $keep = 0 ]; then
	rm -rf "$out"
else
	echo "== fuzz: output kept in $out"
fi
exit $fail
