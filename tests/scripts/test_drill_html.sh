#!/bin/sh
# The HTML report of a drill in headless Chromium: it renders (a
# screenshot, kept as $B/drill-report.png for a person to look at; the DOM
# holds the chart and the table), with no console error, and a contact's
# note full of markup stays text. A page that does log an error is caught,
# so the check can fail.
set -u
. "$(dirname "$0")/lib.sh"
t_tempdir
[ -x "$B/hotline-drill" ] || fail "build hotline-drill first"
command -v chromium >/dev/null 2>&1 || fail "chromium is missing: make deps installs it"

cat > "$T_DIR/html.drill" <<DRILL
client coord.test register
client ee.cert register
client fi.ncsc register
client lv.cert register
coord.test drill start --to ee.cert,fi.ncsc,lv.cert --ack-within 12s --note Q4 <check> & "print"
expect ee.cert sees EXERCISE within 20s
ee.cert ack last will-comply "<script>console.error('note ran')</script><img src=x onerror=console.error(1)>"
expect fi.ncsc sees EXERCISE within 20s
wait 13s
fi.ncsc ack last received late
expect report last late == 1
coord.test drill report last --format html -o $T_DIR/report.html
DRILL
"$B/hotline-drill" "$T_DIR/html.drill" >"$T_DIR/drill.out" 2>&1 ||
    { cat "$T_DIR/drill.out"; fail "the scenario failed"; }
[ -s "$T_DIR/report.html" ] || fail "no report written"

# render PAGE NAME: a screenshot and the DOM of PAGE; Chromium's log
# (console messages included) in $T_DIR/NAME.log.
render() {
	timeout 120 chromium --headless --no-sandbox --disable-gpu \
	    --no-first-run --user-data-dir="$T_DIR/chromium" \
	    --window-size=1000,1000 --enable-logging=stderr --v=0 \
	    --screenshot="$T_DIR/$2.png" "file://$1" >/dev/null 2>"$T_DIR/$2.log" ||
	    fail "chromium failed on $1: $(tail -5 "$T_DIR/$2.log")"
	timeout 120 chromium --headless --no-sandbox --disable-gpu \
	    --no-first-run --user-data-dir="$T_DIR/chromium" \
	    --enable-logging=stderr --v=0 --dump-dom "file://$1" \
	    >"$T_DIR/$2.dom" 2>>"$T_DIR/$2.log" ||
	    fail "chromium --dump-dom failed on $1"
}
console_errors() { grep -E 'CONSOLE|Uncaught|Failed to load resource' "$T_DIR/$1.log"; }

# The control: a page that logs an error must be caught.
printf '<!DOCTYPE html><title>x</title><script>console.error("control")</script>\n' \
    > "$T_DIR/control.html"
render "$T_DIR/control.html" control
console_errors control >/dev/null ||
    fail "a console error was not seen: the check cannot fail"

render "$T_DIR/report.html" report
if console_errors report; then
	fail "the report logged to the console"
fi
[ "$(wc -c < "$T_DIR/report.png")" -gt 10000 ] || fail "the screenshot is blank"
for want in '<svg' 'EXERCISE' 'deadline 12s' 'ee.cert' 'late' 'no answer' \
    '&lt;script&gt;console.error' 'Q4 &lt;check&gt; &amp; "print"'; do
	grep -qF -- "$want" "$T_DIR/report.dom" || fail "the page lacks $want"
done
grep -q '<script' "$T_DIR/report.dom" && fail "a note became a script"
grep -q '<img' "$T_DIR/report.dom" && fail "a note became an image"
grep -qE '(src|href)="(https?:)?//' "$T_DIR/report.html" &&
    fail "the report loads something from elsewhere"
cp "$T_DIR/report.png" "$B/drill-report.png"
echo "ok: the drill report renders in Chromium with no console error ($B/drill-report.png)"
