/* The scenario language of hotline-drill: what it accepts, and file:line
 * with the reason for what it refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/scenario.h"
#include "crypto/hl_err.h"

static struct hl_scenario *
ok(const char *text)
{
	struct hl_scenario *s = NULL;
	char cause[HL_CAUSE_MAX] = "";
	int rc = hl_scenario_parse(text, strlen(text), "t.drill", &s, cause);
	if (rc != 0)
		fail_msg("refused: %s", cause);
	return s;
}

/* Refused, with cause starting with want. */
static void
refused(const char *text, const char *want)
{
	struct hl_scenario *s = NULL;
	char cause[HL_CAUSE_MAX] = "";
	assert_int_equal(hl_scenario_parse(text, strlen(text), "t.drill", &s,
	    cause), HL_EPARSE);
	assert_null(s);
	if (strncmp(cause, want, strlen(want)) != 0)
		fail_msg("cause '%s' does not start with '%s'", cause, want);
}

#define HEAD "client a.x register\nclient b.x register --alternate c.x\n" \
	"client c.x register\n"

static void
test_vocabulary(void **state)
{
	(void)state;
	struct hl_scenario *s = ok(
	    "# a comment\n"
	    "relay start\n"
	    HEAD
	    "a.x send b.x --urgent --ack-within 30s Incident #42 in progress  # c\n"
	    "a.x send b.x --flash \"quoted # not a comment\"\n"
	    "a.x send b.x --check 'check text'\n"
	    "b.x sync\n"
	    "b.x ack last will-comply Blocking now\n"
	    "b.x ack last\n"
	    "b.x ack last \"just a note\"\n"
	    "a.x drill start --to b.x,c.x --ack-within 2m --note Quarterly check\n"
	    "wait 1500ms\n"
	    "expect b.x sees Incident #42 in progress within 10s\n"
	    "expect b.x sees \"ends with within 5s\"\n"
	    "expect a.x state last escalated within 1m\n"
	    "expect a.x overdue 2\n"
	    "expect report last rate >= 80%\n"
	    "expect report last no-answer == 1\n"
	    "a.x drill report last --format html -o build/x.html\n"
	    "client b.x reenrol\n"
	    "a.x trust b.x\n"
	    "relay kill\nrelay restart\nrelay stop\n");
	assert_int_equal(s->n, 25);
	const struct hl_step *st = s->steps;
	assert_int_equal(st[0].kind, HL_STEP_RELAY);
	assert_int_equal(st[0].line, 2);
	assert_int_equal(st[2].kind, HL_STEP_REGISTER);
	assert_string_equal(st[2].peer, "c.x");
	assert_int_equal(st[4].kind, HL_STEP_SEND);
	assert_string_equal(st[4].name, "a.x");
	assert_string_equal(st[4].peer, "b.x");
	assert_int_equal(st[4].prio, 1);
	assert_int_equal(st[4].ack_within_ms, 30000);
	assert_string_equal(st[4].text, "Incident #42 in progress");
	assert_int_equal(st[5].prio, 2);
	assert_string_equal(st[5].text, "quoted # not a comment");
	assert_true(st[6].check);
	assert_string_equal(st[6].text, "check text");
	assert_int_equal(st[7].kind, HL_STEP_SYNC);
	assert_string_equal(st[8].code, "will-comply");
	assert_string_equal(st[8].text, "Blocking now");
	assert_string_equal(st[9].code, "");
	assert_null(st[9].text);
	assert_string_equal(st[10].code, "");
	assert_string_equal(st[10].text, "just a note");
	assert_int_equal(st[11].kind, HL_STEP_DRILL_START);
	assert_string_equal(st[11].to, "b.x,c.x");
	assert_int_equal(st[11].ack_within_ms, 120000);
	assert_string_equal(st[11].text, "Quarterly check");
	assert_int_equal(st[12].wait_ms, 1500);
	assert_int_equal(st[13].kind, HL_STEP_EXPECT_SEES);
	assert_string_equal(st[13].text, "Incident #42 in progress");
	assert_int_equal(st[13].within_ms, 10000);
	assert_string_equal(st[14].text, "ends with within 5s");
	assert_int_equal(st[14].within_ms, 0);
	assert_string_equal(st[15].state, "escalated");
	assert_int_equal(st[15].within_ms, 60000);
	assert_int_equal(st[16].kind, HL_STEP_EXPECT_OVERDUE);
	assert_int_equal(st[16].n, 2);
	assert_int_equal(st[17].metric, HL_METRIC_RATE);
	assert_int_equal(st[17].cmp, HL_CMP_GE);
	assert_true(st[17].value > 0.799 && st[17].value < 0.801);
	assert_int_equal(st[18].metric, HL_METRIC_NO_ANSWER);
	assert_int_equal(st[18].cmp, HL_CMP_EQ);
	assert_int_equal(st[19].kind, HL_STEP_DRILL_REPORT);
	assert_string_equal(st[19].format, "html");
	assert_string_equal(st[19].output, "build/x.html");
	assert_int_equal(st[20].kind, HL_STEP_REENROL);
	assert_int_equal(st[21].kind, HL_STEP_TRUST);
	assert_int_equal(st[22].relay, HL_RELAY_KILL);
	assert_int_equal(st[23].relay, HL_RELAY_RESTART);
	assert_int_equal(st[24].relay, HL_RELAY_STOP);
	assert_string_equal(st[24].src, "relay stop");
	hl_scenario_free(s);
}

static void
test_refused(void **state)
{
	(void)state;
	refused("", "t.drill: no steps");
	refused("# only a comment\n\n  #indented\n", "t.drill: no steps");
	refused("relay launch\n", "t.drill:1: relay: expected start");
	refused(HEAD "\n\nx.y send a.x hi\n", "t.drill:6: no client 'x.y' yet");
	refused(HEAD "client a.x register\n", "t.drill:4: client a.x is registered");
	refused("client A register\n", "t.drill:1: 'A' is not a client name");
	refused(HEAD "a.x send b.x --loud hi\n", "t.drill:4: send: unknown option");
	refused(HEAD "a.x send b.x --urgent\n", "t.drill:4: send: the TEXT is missing");
	refused(HEAD "a.x send b.x --ack-within soon hi\n", "t.drill:4: --ack-within:");
	refused(HEAD "a.x send b.x --ack-within 500ms hi\n", "t.drill:4: --ack-within: at least");
	refused(HEAD "a.x send a.x hi\n", "t.drill:4: send: a.x cannot send");
	refused(HEAD "a.x ack first\n", "t.drill:4: ack: expected 'last'");
	refused(HEAD "a.x dance\n", "t.drill:4: a.x: unknown action");
	refused(HEAD "a.x drill start\n", "t.drill:4: drill start: --to");
	refused(HEAD "a.x drill start --to b.x,,c.x\n", "t.drill:4: --to: an empty");
	refused(HEAD "a.x drill start --to a.x\n", "t.drill:4: --to: a.x cannot");
	refused(HEAD "expect report last rate >= 1\n", "t.drill:4: expect report: no drill");
	refused(HEAD "a.x drill start --to b.x\nexpect report last rate >= 2\n",
	    "t.drill:5: expect report rate: between");
	refused(HEAD "a.x drill start --to b.x\nexpect report last speed >= 1\n",
	    "t.drill:5: expect report: expected rate");
	refused(HEAD "a.x drill start --to b.x\nexpect report last rate ~ 1\n",
	    "t.drill:5: expect report: '~' is not an OP");
	refused(HEAD "expect a.x sees\n", "t.drill:4: expect sees: the TEXT");
	refused(HEAD "expect a.x state last gone\n", "t.drill:4: expect state: expected");
	refused(HEAD "expect a.x overdue 1.5\n", "t.drill:4: expect overdue: a whole");
	refused(HEAD "expect a.x sees x within forever\n", "t.drill:4: within:");
	refused(HEAD "expect a.x sees x within 2h\n", "t.drill:4: within:");
	/* A misspelt CODE is an error, not the start of the note. */
	refused(HEAD "b.x ack last will-comlpy Typo code\n",
	    "t.drill:4: ack: 'will-comlpy' is not a code (received, will-comply, "
	    "unable or need-info); quote a note given without a code");
	refused(HEAD "b.x ack last just a note\n", "t.drill:4: ack: 'just' is not a code");
	refused(HEAD "b.x ack last will-comply \"open\n",
	    "t.drill:4: ack: the quote \" opened here is not closed");
	refused(HEAD "a.x drill start --to b.x\nexpect report last late = 1\n",
	    "t.drill:5: expect report: '=' is not an OP: expected >=, <=, ==, > or <");
	refused(HEAD "a.x drill start --to b.x\nexpect report last late\n",
	    "t.drill:5: expect report: the OP is missing");
	refused(HEAD "a.x send b.x \"unterminated\n",
	    "t.drill:4: send: the quote \" opened here is not closed at the end "
	    "of the line");
	refused(HEAD "a.x send b.x 'half' open\n", "t.drill:4: send: the quote '");
	refused(HEAD "expect a.x sees \"x\n", "t.drill:4: expect sees: the quote");
	refused(HEAD "a.x drill start --to b.x --note \"x\n", "t.drill:4: --note: the quote");
	refused(HEAD "expect a.x state last sent within 2\n",
	    "t.drill:4: within: '2' has no unit (like 30s, 2m or 500ms)");
	refused("wait 5\n", "t.drill:1: wait: '5' has no unit");
	refused(HEAD "a.x send b.x --ack-within 60 hi\n", "t.drill:4: --ack-within: '60' has no unit");
	refused(HEAD "b.x send\n", "t.drill:4: send: the PEER is missing");
	refused("wait\n", "t.drill:1: wait: a duration is missing");
	refused("wait 1s 2s\n", "t.drill:1: unexpected '2s'");
	refused("relay start\x1b\n", "t.drill:1: a control character");
	refused("BOGUS step\n", "t.drill:1: unknown step 'BOGUS'");
	refused("client a.x register --alternate a.x\n", "t.drill:1: a client cannot");
	refused("client a.x reenrol\n", "t.drill:1: no client 'a.x' to enrol");
	char line[HL_SCENARIO_LINE_MAX + 10];
	memset(line, 'a', sizeof line - 1);
	line[sizeof line - 1] = '\0';
	refused(line, "t.drill:1: line longer");
	/* A NUL inside the text is refused, not cut. */
	struct hl_scenario *s = NULL;
	char cause[HL_CAUSE_MAX];
	assert_int_equal(hl_scenario_parse("wait 1s\0x\n", 10, "t.drill", &s, cause),
	    HL_EPARSE);
	assert_string_equal(cause, "t.drill:1: a NUL byte in the line");
}

static void
test_compare(void **state)
{
	(void)state;
	assert_true(hl_cmp_holds(HL_CMP_GE, 0.8, 0.8));
	assert_false(hl_cmp_holds(HL_CMP_GT, 0.8, 0.8));
	assert_true(hl_cmp_holds(HL_CMP_EQ, 2.0 / 3.0 * 3.0, 2.0));
	assert_true(hl_cmp_holds(HL_CMP_LT, 1, 2));
	assert_false(hl_cmp_holds(HL_CMP_LE, 3, 2));
	assert_string_equal(hl_metric_name(HL_METRIC_IN_TIME), "in-time");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vocabulary),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_compare),
	};
	return cmocka_run_group_tests_name("scenario", tests, NULL, NULL);
}
