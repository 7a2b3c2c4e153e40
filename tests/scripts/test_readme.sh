#!/bin/sh
# README.md runs as printed: every ```sh block after a
# "<!-- readme-test -->" line, in order, as one script, from a copy of the
# checkout's top (config/ and build/ linked) in a temp dir with its own
# HOME. The only change: the ports 8443 and 8444 become free ones, as a
# shared machine may have those taken. Relays the script starts are
# stopped on every exit (their pid files).
set -u
. "$(dirname "$0")/lib.sh"
t_tempdir
top=$(pwd)
awk '
	/^<!-- readme-test -->$/ { armed = 1; next }
	armed && /^```sh$/ { inside = 1; armed = 0; next }
	inside && /^```$/ { inside = 0; print ""; next }
	inside { print }
' README.md > "$T_DIR/readme.sh"
[ -s "$T_DIR/readme.sh" ] || fail "no block marked readme-test in README.md"

# An excerpt headed "# tests/drills/NAME.drill (abridged)" shows lines of
# that file as they are, in their order: a drill changed and its excerpt
# not is caught here.
awk -v dir="$T_DIR" '
	/^```/ { if (out != "") close(out); out = ""; next }
	/^# tests\/drills\/[a-z0-9-]+\.drill/ {
		n++; out = dir "/excerpt." n; print $2 > (dir "/excerpt." n ".file")
		close(dir "/excerpt." n ".file"); printf "" > out; next
	}
	out != "" { print > out }
' README.md
for e in "$T_DIR"/excerpt.[0-9]*; do
	case $e in *.file) continue ;; esac
	[ -f "$e" ] || continue
	drill=$(cat "$e.file")
	[ -f "$drill" ] || fail "README.md quotes $drill, which is not there"
	awk 'NR == FNR { a[++n] = $0; next }
	    { ok = 0; while (i < n) if (a[++i] == $0) { ok = 1; break }
	      if (!ok) { print "not in the file (or out of order): " $0; bad = 1; exit } }
	    END { exit bad }' "$drill" "$e" ||
	    fail "README.md's excerpt of $drill does not match the file"
done

p1=$(t_free_port) p2=$(t_free_port)
[ -n "$p1" ] && [ -n "$p2" ] && [ "$p1" != "$p2" ] || fail "no free ports"
sed -i -e "s/127\.0\.0\.1:8443/127.0.0.1:$p1/g" \
    -e "s/127\.0\.0\.1:8444/127.0.0.1:$p2/g" "$T_DIR/readme.sh"

mkdir "$T_DIR/top" "$T_DIR/home"
ln -s "$top/config" "$T_DIR/top/config"
ln -s "$B" "$T_DIR/top/build"
stop_relays() {
	for f in "$T_DIR"/top/try/*.pid; do
		[ -f "$f" ] || continue
		p=$(cat "$f")
		kill "$p" 2>/dev/null
	done
	t_cleanup
}
trap stop_relays EXIT

(cd "$T_DIR/top" && HOME="$T_DIR/home" XDG_CONFIG_HOME= XDG_DATA_HOME= \
    HOTLINE_HOME= HOTLINE_PASSPHRASE_FILE= HOTLINE_RELAY_CONFIG= \
    timeout 300 sh -ex "$T_DIR/readme.sh") >"$T_DIR/out" 2>&1
rc=$?
if [ $rc != 0 ]; then
	cat "$T_DIR/out"
	for l in "$T_DIR"/top/try/*.log; do
		[ -f "$l" ] && { echo "--- $l"; tail -5 "$l"; }
	done
	fail "the README's blocks failed (exit $rc)"
fi
grep -q 'Phishing wave against ministries' "$T_DIR/out" ||
    fail "NCSC-FI's inbox did not show CERT-EE's message"
grep -q 'Over TLS now' "$T_DIR/out" ||
    fail "the message over TLS did not arrive"
echo "ok: README.md's first conversation runs as printed"
