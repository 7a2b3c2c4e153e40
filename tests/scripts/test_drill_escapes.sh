#!/bin/sh
# hotline-drill echoes scenario lines and quotes them in errors: C1
# controls, bidi overrides and bytes that are not UTF-8 in a scenario
# reach the terminal escaped, never raw.
. tests/scripts/lib.sh
t_tempdir
# No raw C1 (UTF-8 C2 80..9F), U+202E or invalid byte in a file's bytes.
raw_free() {
	od -An -tx1 -v "$1" | tr -s ' \n' '  ' > "$1.hex"
	if grep -Eq ' c2 (8|9)[0-9a-f]| e2 80 ae| ff ' "$1.hex"; then
		fail "$2: raw control bytes reached the output"
	fi
}
printf 'x\302\2332J\342\200\256 step\n' > "$T_DIR/bad.drill"
"$B/hotline-drill" --check "$T_DIR/bad.drill" > "$T_DIR/bad.out" 2>&1
[ $? = 2 ] || fail "a malformed scenario is not exit 2"
grep -q 'x\\x9b2J<U+202E>' "$T_DIR/bad.out" || fail "the error does not show the escapes: $(cat "$T_DIR/bad.out")"
raw_free "$T_DIR/bad.out" "--check"

# Echoed steps and a failed expectation quoting the step.
printf 'client a.test register\nclient b.test register\na.test send b.test "hi \302\233 \342\200\256 \377 there"\nexpect b.test sees hi within 20s\nexpect b.test sees nowhere\302\233 within 1s\n' \
    > "$T_DIR/echo.drill"
"$B/hotline-drill" "$T_DIR/echo.drill" > "$T_DIR/echo.out" 2>&1
[ $? = 1 ] || fail "the failed expectation is not exit 1: $(tail -5 "$T_DIR/echo.out")"
grep -q 'hi \\x9b <U+202E> \\xff there' "$T_DIR/echo.out" || fail "the echoed step does not show the escapes"
grep -q 'FAILED' "$T_DIR/echo.out" || fail "no FAILED line"
raw_free "$T_DIR/echo.out" "a run"
exit 0
