/*
 * hl_scenario_parse, the language of hotline-drill, on any bytes.
 *
 * Properties:
 *   - a refusal is HL_EPARSE (or HL_ENOMEM) with a terminated cause that
 *     names the file, and nothing is returned;
 *   - an accepted scenario has at least one step; the steps' lines rise
 *     strictly and lie within the input's line count; each step's kind is
 *     one of the vocabulary, its source line is not empty and holds no
 *     newline, and its names are handles where it has them;
 *   - durations stay within the limit; a rate is within 0..1;
 *   - parsing the same bytes again gives the same steps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/scenario.h"
#include "crypto/hl_err.h"
#include "crypto/hl_handle.h"
#include "tests/fuzz/fuzz.h"

__attribute__((noreturn)) static void
broken(const char *what, int line)
{
	fprintf(stderr, "fuzz_scenario: property broken: %s (line %d)\n", what,
	    line);
	abort();
}

static void
check_step(const struct hl_step *st, int prev_line, int lines)
{
	if (st->line <= prev_line || st->line > lines)
		broken("line out of order or range", st->line);
	if ((unsigned)st->kind > HL_STEP_EXPECT_REPORT)
		broken("unknown kind", st->line);
	if (st->src == NULL || st->src[0] == '\0' || strchr(st->src, '\n'))
		broken("bad source line", st->line);
	if (st->name[0] && !hl_handle_valid(st->name))
		broken("name is not a handle", st->line);
	if (st->peer[0] && !hl_handle_valid(st->peer))
		broken("peer is not a handle", st->line);
	if (st->ack_within_ms < 0 || st->ack_within_ms > HL_SCENARIO_DUR_MAX ||
	    st->within_ms < 0 || st->within_ms > HL_SCENARIO_DUR_MAX ||
	    st->wait_ms < 0 || st->wait_ms > HL_SCENARIO_DUR_MAX)
		broken("duration out of range", st->line);
	if (st->kind == HL_STEP_EXPECT_REPORT && st->metric == HL_METRIC_RATE &&
	    !(st->value >= 0.0 && st->value <= 1.0))
		broken("rate out of range", st->line);
	if ((st->kind == HL_STEP_SEND || st->kind == HL_STEP_EXPECT_SEES) &&
	    (st->text == NULL || st->text[0] == '\0'))
		broken("text missing", st->line);
	if (st->kind == HL_STEP_DRILL_START && st->to == NULL)
		broken("drill without --to", st->line);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hl_scenario *s = NULL, *again = NULL;
	char cause[HL_CAUSE_MAX];
	memset(cause, 'x', sizeof cause);
	int rc = hl_scenario_parse((const char *)data, size, "fuzz.drill", &s,
	    cause);
	if (rc != 0) {
		if (rc != HL_EPARSE && rc != HL_ENOMEM)
			broken("unexpected error code", rc);
		if (s != NULL)
			broken("a scenario returned with an error", 0);
		if (memchr(cause, '\0', sizeof cause) == NULL ||
		    strncmp(cause, "fuzz.drill", 10) != 0)
			broken("cause missing, unterminated or without the file", 0);
		return 0;
	}
	int lines = 1;
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (s == NULL || s->n == 0)
		broken("accepted without steps", 0);
	int prev = 0;
	for (size_t i = 0; i < s->n; i++) {
		check_step(&s->steps[i], prev, lines);
		prev = s->steps[i].line;
	}
	if (hl_scenario_parse((const char *)data, size, "fuzz.drill", &again,
	    cause) != 0 || again->n != s->n)
		broken("not the same the second time", 0);
	for (size_t i = 0; i < s->n; i++)
		if (again->steps[i].kind != s->steps[i].kind ||
		    strcmp(again->steps[i].src, s->steps[i].src) != 0)
			broken("a step differs the second time", s->steps[i].line);
	hl_scenario_free(again);
	hl_scenario_free(s);
	return 0;
}
