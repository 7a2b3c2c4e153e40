#!/bin/sh
# bash completion, driven in bash as readline would: hotline's commands,
# global and per-command options, option values, and handles (from
# client.ini's [alternates] without a passphrase; the peers of the
# profile's messages only when a passphrase file is configured);
# hotline-relay's commands, options and, for revoke, its active accounts.
set -u
. "$(dirname "$0")/lib.sh"
command -v bash >/dev/null || skip "bash is not installed"
t_tempdir
top=$(pwd)
d=$T_DIR
export HOME="$d/home" XDG_CONFIG_HOME="$d/home/.config"
unset HOTLINE_HOME HOTLINE_PASSPHRASE_FILE XDG_DATA_HOME
mkdir -p "$XDG_CONFIG_HOME/hotline"
printf '[alternates]\nfi.ncsc = fi.ncsc-backup ; the backup desk\n' \
    > "$XDG_CONFIG_HOME/hotline/client.ini"

# A relay with two officers who have exchanged a message (peer: lv.cert).
port=$(t_free_port)
cat > "$d/relay.ini" <<EOT
[server]
listen = 127.0.0.1:$port
allow_plain_http = true
[store]
url = sqlite:relay.db
EOT
hotline-relay init -c "$d/relay.ini" >/dev/null || fail "relay init"
hotline-relay serve -c "$d/relay.ini" 2>"$d/relay.log" &
T_PIDS="$!"
n=0
until grep -q event=start "$d/relay.log"; do
	n=$((n + 1)); [ $n -lt 100 ] || fail "the relay did not start"
	sleep 0.1
done
(umask 077; echo 'a passphrase for the completion test' > "$d/pass")
for h in ee.cert lv.cert; do
	(umask 077; hotline-relay invite "$h" -c "$d/relay.ini" \
	    > "$d/$h.code" 2>/dev/null)
	hotline --home "$d/$h" --passphrase-file "$d/pass" init \
	    --kdf interactive >/dev/null || fail "init $h"
	hotline --home "$d/$h" --passphrase-file "$d/pass" register \
	    --relay "http://127.0.0.1:$port" --handle "$h" \
	    --code-file "$d/$h.code" >/dev/null || fail "register $h"
done
hotline --home "$d/ee.cert" --passphrase-file "$d/pass" send lv.cert \
    "for the completion test" >/dev/null || fail "send"
hotline-relay revoke lv.cert -c "$d/relay.ini" >/dev/null || fail "revoke"
hotline-relay invite xx.gone -c "$d/relay.ini" >/dev/null 2>&1

cat > "$d/drive.bash" <<'EOT'
# complete LINE: COMPREPLY for the last word of LINE (a trailing space
# starts an empty word), sorted, on one line.
source "$TOP/config/bash-completion/hotline"
source "$TOP/config/bash-completion/hotline-relay"
complete_line() {
	read -r -a COMP_WORDS <<< "$1"
	[[ $1 == *" " ]] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE=$1 COMP_POINT=${#1}
	COMPREPLY=()
	local fn
	fn=$(complete -p "${COMP_WORDS[0]}" | sed 's/.*-F \([^ ]*\) .*/\1/')
	"$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" \
	    "${COMP_WORDS[COMP_CWORD - 1]}"
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '
	echo
}
complete_line "$1"
EOT
got() { TOP="$top" bash "$d/drive.bash" "$1" </dev/null; }
expect() {
	out=$(got "$1")
	for w in $2; do
		case " $out" in *" $w "*) ;; *) fail "'$1': no '$w' in: $out" ;; esac
	done
	for w in ${3:-}; do
		case " $out" in *" $w "*) fail "'$1': '$w' in: $out" ;; esac
	done
	echo "ok: '$1' -> $out"
}

expect "hotline " "init register send sync inbox ack status verify export"
expect "hotline s" "send status sync" "init"
expect "hotline --" "--json --home --config --passphrase-file --version"
expect "hotline send fi.ncsc --" "--urgent --ack-within --thread --wait-for"
expect "hotline register --" "--relay --handle --code-file --ca --pin"
expect "hotline ack x --response " "received will-comply unable need-info"
expect "hotline init --kdf " "moderate sensitive interactive"
expect "hotline --home $d/ee.cert send " "fi.ncsc fi.ncsc-backup" "lv.cert"
expect "hotline --home $d/ee.cert --passphrase-file $d/pass send " \
    "fi.ncsc fi.ncsc-backup lv.cert"
HOTLINE_PASSPHRASE_FILE="$d/pass"
export HOTLINE_PASSPHRASE_FILE
expect "hotline --home $d/ee.cert verify l" "lv.cert" "fi.ncsc"
unset HOTLINE_PASSPHRASE_FILE
expect "hotline --home $d/ee.cert send fi.ncsc " "" "fi.ncsc lv.cert"

expect "hotline-relay " "init serve invite revoke accounts stats backup check-config"
expect "hotline-relay serve --" "--listen --init --config --help"
expect "hotline-relay stats -" "-c --json"
hotline-relay invite zz.cert -c "$d/relay.ini" >/dev/null 2>&1
expect "hotline-relay revoke -c $d/relay.ini " "ee.cert" "lv.cert xx.gone zz.cert"
