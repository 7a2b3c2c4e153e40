#!/bin/sh
# make demo: the crypto core on its own, then hotline end to end: a relay on
# loopback, three contact officers' clients, an urgent message acknowledged
# with a response, an incident report, a communication check nobody answers
# in time and its escalation to the alternate, and every state with its time;
# then a scenario run by hotline-drill: five national contacts, an urgent
# exchange and a communication check with its report as text and HTML.
set -eu
B=${B:-build}
B=$(cd "$B" && pwd)
HOTLINE="$B/hotline"
RELAY="$B/hotline-relay"

"$B/tests/demo/demo_crypto"

dir=$(mktemp -d "${TMPDIR:-/tmp}/hotline-demo.XXXXXX")
relay_pid=
# Runs on every exit. A signal would end the shell without the EXIT trap,
# so each is turned into an exit: SIGPIPE too, for `make demo | head`,
# when every later write fails. Nothing here writes to standard output.
cleanup() {
	trap '' PIPE
	if [ -n "$relay_pid" ]; then
		kill "$relay_pid" 2>/dev/null || true
		wait "$relay_pid" 2>/dev/null || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 141' PIPE
trap 'exit 143' TERM

say() { printf '\n== %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

# A port that is free now: the relay refuses to start on a taken one, and
# then the next is tried.
start_relay() {
	tries=0
	while [ $tries -lt 20 ]; do
		port=$(( 20000 + ($$ * 7 + tries * 131) % 40000 ))
		cat > "$dir/relay.ini" <<EOF
[server]
listen = 127.0.0.1:$port
allow_plain_http = true
[store]
url = sqlite:$dir/relay.db
EOF
		"$RELAY" init -c "$dir/relay.ini" >/dev/null
		"$RELAY" serve -c "$dir/relay.ini" </dev/null >/dev/null \
		    2>"$dir/relay.log" &
		relay_pid=$!
		n=0
		while [ $n -lt 50 ]; do
			if grep -q 'event=start' "$dir/relay.log" 2>/dev/null; then
				return 0
			fi
			kill -0 "$relay_pid" 2>/dev/null || break
			sleep 0.1
			n=$((n + 1))
		done
		kill "$relay_pid" 2>/dev/null || true
		wait "$relay_pid" 2>/dev/null || true
		relay_pid=
		tries=$((tries + 1))
	done
	echo "demo: the relay did not start; its log:" >&2
	cat "$dir/relay.log" >&2
	return 1
}

# officer NAME HANDLE TZ [ALTERNATE]: a profile, registered.
officer() {
	name=$1 handle=$2 tz=$3 alt=${4:-}
	mkdir -p "$dir/$name"
	printf '%s passphrase for the demo\n' "$name" > "$dir/$name.pass"
	chmod 600 "$dir/$name.pass"
	code=$("$RELAY" invite "$handle" --expires 1h -c "$dir/relay.ini" 2>/dev/null)
	h init --kdf interactive >/dev/null
	# The code goes on standard input, never on a command line.
	if [ -n "$alt" ]; then
		printf '%s\n' "$code" | h register --relay "http://127.0.0.1:$port" \
		    --handle "$handle" --code-file - --name "$name" --timezone "$tz" \
		    --alternate "$alt"
	else
		printf '%s\n' "$code" | h register --relay "http://127.0.0.1:$port" \
		    --handle "$handle" --code-file - --name "$name" --timezone "$tz"
	fi
}

# h ARGS: run hotline as the current officer ($name).
h() {
	HOTLINE_HOME="$dir/$name" HOTLINE_PASSPHRASE_FILE="$dir/$name.pass" \
	    XDG_CONFIG_HOME="$dir/$name" "$HOTLINE" "$@"
}
as() { name=$1; shift; printf '[%s] $ hotline %s\n' "$name" "$*"; h "$@"; }

say "hotline end to end: a relay on 127.0.0.1 and three contact officers"
start_relay
echo "relay listening on 127.0.0.1:$port (plain HTTP: loopback only)"
officer "CERT-EE duty officer" ee.cert Europe/Tallinn
officer "NCSC-FI duty officer" fi.ncsc Europe/Helsinki fi.ncsc-backup
officer "NCSC-FI backup desk" fi.ncsc-backup Europe/Helsinki

# Where CERT-EE's overdue messages to fi.ncsc go is the officer's own
# choice, written in client.ini: the directory comes from the relay.
mkdir -p "$dir/CERT-EE duty officer/hotline"
printf '[alternates]\nfi.ncsc = fi.ncsc-backup\n' \
    > "$dir/CERT-EE duty officer/hotline/client.ini"

say "the directory, with each contact's local time"
as "CERT-EE duty officer" directory

say "an urgent message, acknowledged with a response"
as "CERT-EE duty officer" send fi.ncsc --urgent --ack-within 30m --thread INC-2026-0042 \
    "Phishing wave against ministries since 06:00 UTC. IOCs follow in the thread."
as "NCSC-FI duty officer" sync
as "NCSC-FI duty officer" ack last --response will-comply "Blocking the sender domains now."
as "CERT-EE duty officer" sync

say "an incident report (TLP:AMBER) in the same thread"
as "CERT-EE duty officer" send fi.ncsc --incident --thread INC-2026-0042 \
    --title "Credential phishing against government mail" --severity high \
    --tlp AMBER --status open --indicator "login-gov-ee.example (domain)" \
    --indicator "185.0.2.10 (sender IP)" --action "block the domain" \
    --action "report clicks to CERT-EE" "Campaign details as seen at the national level."
as "NCSC-FI duty officer" sync

say "a communication check nobody answers in time: overdue, then escalated"
as "CERT-EE duty officer" send fi.ncsc --check --ack-within 2s "EXERCISE: communication check, please acknowledge"
as "NCSC-FI duty officer" sync
sleep 3
as "CERT-EE duty officer" sync --auto-escalate
as "NCSC-FI backup desk" sync
as "NCSC-FI backup desk" ack last --response received "Backup desk here, acknowledged."
as "CERT-EE duty officer" sync

say "where every message stands, with the time of each state"
as "CERT-EE duty officer" export --format text

say "safety numbers: compare them over the phone"
as "CERT-EE duty officer" verify fi.ncsc

say "a communication check among five national contacts (tests/drills/demo.drill)"
"$B/hotline-drill" tests/drills/demo.drill
echo "the check's HTML report: build/demo/drill-report.html"
echo
echo "demo complete"
d="$B/demo/tui"; rm -rf "$d" && mkdir -p "$d" && cp -r "$dir/CERT-EE duty officer/." "$d/" && cp "$dir/CERT-EE duty officer.pass" "$d.pass" && printf '\nthe terminal interface on a copy of CERT-EE'"'"'s profile (the relay is stopped; the history stays):\n  HOTLINE_HOME=%s XDG_CONFIG_HOME=%s HOTLINE_PASSPHRASE_FILE=%s.pass %s/hotline\n' "$d" "$d" "$d" "$B"
