#!/bin/sh
# make bench: every benchmark under tests/bench/, each printing its table
# beside the ceiling it is compared with, measured in the same run.
# Writes $B/bench/results.md (the tables as printed) and
# $B/bench/results.json (the figures the benchmarks handed over through
# HL_BENCH_KEYS: numbers only, one key each).
set -eu
B=${B:-build}
PATH="$(pwd)/$B:$PATH"
OUT="$B/bench"
mkdir -p "$OUT"
KEYS="$(pwd)/$OUT/keys.txt"
: > "$KEYS"
: > "$OUT/tables.txt"
export PATH HOTLINE_BUILD="$(pwd)/$B" HL_BENCH_KEYS="$KEYS"
failed=0
for b in "$B"/tests/bench/bench_*; do
	[ -x "$b" ] || continue
	echo "== ${b##*/}" | tee -a "$OUT/tables.txt"
	# A benchmark that fails leaves its keys out; the others still run.
	{ rc=0; "$b" 2>&1 || rc=$?; echo $rc > "$OUT/rc"; } | tee -a "$OUT/tables.txt"
	if [ "$(cat "$OUT/rc")" != 0 ]; then
		echo "(${b##*/} failed)" | tee -a "$OUT/tables.txt"
		failed=1
	fi
	echo | tee -a "$OUT/tables.txt"
done

# Figures of two benchmarks compared: hotline at C=32 against the broker
# with 32 PUBLISHes in flight.
awk '{ v[$1] = $2 } END {
	if (("relay_msgs_per_s" in v) && v["mosquitto_qos1_msgs_per_s"] > 0)
		printf "relay_vs_mosquitto %.6g\n", v["relay_msgs_per_s"] / v["mosquitto_qos1_msgs_per_s"]
}' "$KEYS" >> "$KEYS"

# The last value handed for a key wins; the keys are sorted.
awk '{ v[$1] = $2 } END {
	n = 0; for (k in v) keys[++n] = k
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
		if (keys[j] < keys[i]) { t = keys[i]; keys[i] = keys[j]; keys[j] = t }
	printf "{"
	for (i = 1; i <= n; i++)
		printf "%s\n  \"%s\": %s", (i > 1 ? "," : ""), keys[i], v[keys[i]]
	printf "\n}\n"
}' "$KEYS" > "$OUT/results.json"

{
	echo "# hotline benchmarks"
	echo
	echo "Run on $(uname -n) ($(nproc) CPUs) at $(date -u '+%Y-%m-%d %H:%M UTC'),"
	echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)."
	echo
	echo "The machine may be shared: absolute figures are noisy. Every figure"
	echo "stands beside its ceiling measured in the same run, in alternating"
	echo "slices where the benchmark allows; the ratios are what count."
	echo
	echo "mosquitto answers a QoS 1 PUBLISH (PUBACK) before anything is on"
	echo "disk (its persistence is a periodic snapshot); hotline answers 202"
	echo "only after the message's commit is fsync'd."
	echo
	echo "## Figures (results.json)"
	echo
	echo "| key | value |"
	echo "| --- | --- |"
	awk '{ v[$1] = $2 } END { for (k in v) print k, v[k] }' "$KEYS" | sort |
	    awk '{ printf "| %s | %s |\n", $1, $2 }'
	echo
	echo "## Tables as printed"
	echo
	echo '```'
	cat "$OUT/tables.txt"
	echo '```'
} > "$OUT/results.md"
echo "wrote $OUT/results.json and $OUT/results.md"
exit $failed
