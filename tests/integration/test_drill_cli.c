/*
 * hotline drill, end to end with the real relay and three real clients: a
 * group file, the checks seen as EXERCISE, status --follow ending once
 * every contact answered, the report in its formats, list and history,
 * and the refusals (a bad group file by its line, an unknown drill); your
 * own handle left out with a warning; on a terminal, the progress line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/lib/hl_testassert.h"
#include "tests/lib/hl_testclient.h"
#include "tests/lib/hl_testrelay.h"

static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *buf = calloc(1, 1 << 20);
	assert_non_null(buf);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* The contact receives the check as EXERCISE with a deadline, and acks. */
static void
answer(struct hl_test_client *c, const char *code, const char *note)
{
	struct hl_test_run r;
	hl_test_client_run(c, &r, "sync", NULL);
	hl_test_expect(&r, 0);
	hl_test_run_free(&r);
	hl_test_client_run(c, &r, "inbox", NULL);
	hl_test_expect(&r, 0);
	assert_non_null(strstr(r.out, "EXERCISE"));
	assert_non_null(strstr(r.out, "ack by"));
	assert_non_null(strstr(r.out, "not a real incident"));
	hl_test_run_free(&r);
	hl_test_client_run(c, &r, "ack", "last", "--response", code, note, NULL);
	hl_test_expect(&r, 0);
	hl_test_run_free(&r);
}

static void
test_drill_cli(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *coord = hl_test_client_of(w, "coord.test");
	struct hl_test_client *a = hl_test_client_of(w, "a.test");
	struct hl_test_client *b = hl_test_client_of(w, "b.test");
	struct hl_test_run r;
	char group[600], bad[600], html[600], id[16];

	snprintf(bad, sizeof bad, "%s/bad.txt", coord->dir);
	write_text(bad, "a.test\nNot A Handle\n");
	hl_test_client_run(coord, &r, "drill", "start", "--group", bad, NULL);
	hl_test_expect(&r, 2);
	assert_non_null(strstr(r.err, "bad.txt:2: not a handle"));
	hl_test_run_free(&r);

	snprintf(group, sizeof group, "%s/group.txt", coord->dir);
	write_text(group, "# the desks\na.test\n\n  b.test   # trailing comment\n"
	    "a.test\n");
	hl_test_client_run(coord, &r, "--json", "drill", "start", "--group", group,
	    "--ack-within", "1h", "--note", "Q4 check", NULL);
	hl_test_expect(&r, 0);
	json_t *o = hl_test_only_line(&r);
	hl_test_run_free(&r);
	hl_test_assert_str(o, "type", "drill_started");
	snprintf(id, sizeof id, "%s", json_string_value(json_object_get(o, "drill")));
	assert_int_equal(strlen(id), 12);
	/* The duplicate is dropped; both checks were accepted at once. */
	assert_int_equal(json_integer_value(json_object_get(o, "contacts")), 2);
	assert_int_equal(json_integer_value(json_object_get(o, "accepted")), 2);
	json_decref(o);

	answer(a, "will-comply", "A desk <b>here</b>");
	answer(b, "received", "");

	/* --follow ends by itself once every contact has answered. */
	hl_test_client_run(coord, &r, "--json", "drill", "status", id, "--follow",
	    NULL);
	hl_test_expect(&r, 0);
	json_t *lines = hl_test_run_json(&r);
	hl_test_run_free(&r);
	assert_non_null(lines);
	json_t *rep = json_array_get(lines, json_array_size(lines) - 1);
	hl_test_assert_str(rep, "type", "drill_report");
	json_t *sum = json_object_get(rep, "summary");
	assert_int_equal(json_integer_value(json_object_get(sum, "contacts")), 2);
	assert_int_equal(json_integer_value(json_object_get(sum, "in_time")), 2);
	assert_true(json_real_value(json_object_get(sum, "rate")) == 1.0);
	assert_non_null(json_object_get(sum, "median_ms"));
	json_t *rows = json_object_get(rep, "contacts");
	hl_test_assert_str(json_array_get(rows, 0), "contact", "a.test");
	hl_test_assert_str(json_array_get(rows, 0), "verdict", "pass");
	hl_test_assert_str(json_array_get(rows, 0), "response", "will-comply");
	hl_test_assert_str(json_array_get(rows, 0), "note", "A desk <b>here</b>");
	json_decref(lines);

	hl_test_client_run(coord, &r, "drill", "report", id, "--format", "csv", NULL);
	hl_test_expect(&r, 0);
	assert_non_null(strstr(r.out, "drill,contact,verdict"));
	assert_non_null(strstr(r.out, ",b.test,pass,acknowledged,"));
	hl_test_run_free(&r);

	/* -o names the drill by its id, not "last", and keeps a file that
	 * is there already unless --force. */
	char csv[600], want[700];
	snprintf(csv, sizeof csv, "%s/rep.csv", coord->dir);
	hl_test_client_run(coord, &r, "drill", "report", "last", "--format", "csv",
	    "-o", csv, NULL);
	hl_test_expect(&r, 0);
	snprintf(want, sizeof want, "report of drill %s written to %s\n", id, csv);
	assert_string_equal(r.out, want);
	hl_test_run_free(&r);
	write_text(csv, "keep me\n");
	hl_test_client_run(coord, &r, "drill", "report", "last", "-o", csv, NULL);
	hl_test_expect(&r, 1);
	assert_non_null(strstr(r.err, "rep.csv exists already: nothing was written "
	    "(give --force to replace it)"));
	assert_string_equal(r.out, "");
	hl_test_run_free(&r);
	char *kept = slurp(csv);
	assert_string_equal(kept, "keep me\n");
	free(kept);
	hl_test_client_run(coord, &r, "drill", "report", "last", "--format", "csv",
	    "-o", csv, "--force", NULL);
	hl_test_expect(&r, 0);
	hl_test_run_free(&r);
	kept = slurp(csv);
	assert_non_null(strstr(kept, "drill,contact,verdict"));
	free(kept);
	hl_test_client_run(coord, &r, "drill", "report", "last", "--force", NULL);
	hl_test_expect(&r, 2);
	hl_test_run_free(&r);

	hl_test_client_run(coord, &r, "drill", "report", "last", NULL);
	hl_test_expect(&r, 0);
	assert_non_null(strstr(r.out, "response rate 100% (2 of 2 in time)"));
	assert_non_null(strstr(r.out, "note: Q4 check"));
	hl_test_run_free(&r);

	/* A second drill: your own handle is left out with a warning, and
	 * is no contact that could lower the rate. */
	hl_test_client_run(coord, &r, "drill", "start", "--to", "coord.test,a.test",
	    NULL);
	hl_test_expect(&r, 0);
	assert_non_null(strstr(r.err,
	    "hotline: coord.test is your own handle: left out of the drill\n"));
	assert_null(strstr(r.out, "coord.test"));
	assert_non_null(strstr(r.out, "EXERCISE check to 1 contact, "));
	hl_test_run_free(&r);
	hl_test_client_run(coord, &r, "drill", "report", "last", "--format", "csv",
	    NULL);
	hl_test_expect(&r, 0);
	assert_null(strstr(r.out, ",coord.test,"));
	hl_test_run_free(&r);
	/* Under --json the warning is a JSON line too. */
	hl_test_client_run(coord, &r, "--json", "drill", "start", "--to",
	    "a.test,coord.test", NULL);
	hl_test_expect(&r, 0);
	o = hl_test_only_line(&r);
	assert_int_equal(json_integer_value(json_object_get(o, "contacts")), 1);
	json_decref(o);
	json_error_t je;
	json_t *warn = json_loads(r.err, JSON_DISABLE_EOF_CHECK, &je);
	if (warn == NULL)
		fail_msg("stderr is not JSON: %s", r.err);
	hl_test_assert_str(warn, "type", "warning");
	hl_test_assert_str(warn, "message",
	    "coord.test is your own handle: left out of the drill");
	json_decref(warn);
	hl_test_run_free(&r);
	/* Nobody left: nothing to start. */
	hl_test_client_run(coord, &r, "drill", "start", "--to", "coord.test", NULL);
	hl_test_expect(&r, 2);
	assert_non_null(strstr(r.err, "no contacts but yourself"));
	hl_test_run_free(&r);

	hl_test_client_run(coord, &r, "drill", "list", NULL);
	hl_test_expect(&r, 0);
	assert_non_null(strstr(r.out, id));
	assert_non_null(strstr(r.out, "100%"));
	assert_non_null(strstr(r.out, "  0%"));
	hl_test_run_free(&r);

	snprintf(html, sizeof html, "%s/history.html", coord->dir);
	hl_test_client_run(coord, &r, "drill", "history", "--format", "html", "-o",
	    html, NULL);
	hl_test_expect(&r, 0);
	hl_test_run_free(&r);
	char *page = slurp(html);
	assert_non_null(strstr(page, "<svg"));
	assert_non_null(strstr(page, id));
	free(page);

	hl_test_client_run(coord, &r, "drill", "report", "abcdabcd", NULL);
	hl_test_expect(&r, 7);
	hl_test_run_free(&r);
	hl_test_client_run(coord, &r, "drill", "report", id, "--format", "pdf", NULL);
	hl_test_expect(&r, 2);
	hl_test_run_free(&r);
	hl_test_client_run(coord, &r, "drill", "start", NULL);
	hl_test_expect(&r, 2);
	hl_test_run_free(&r);
}


/* On a terminal (script(1) gives it one), start shows how many checks the
 * relay accepted, n of N, and the time taken. */
static void
test_progress_on_terminal(void **state)
{
	struct hl_test_world *w = *state;
	struct hl_test_client *coord = hl_test_client_of(w, "pc.test");
	hl_test_client_of(w, "pa.test");
	hl_test_client_of(w, "pb.test");
	char prog[600], cmd[1400], out[700], buf[8192];
	pid_t pid;
	int status;
	snprintf(cmd, sizeof cmd, "%s drill start --to pa.test,pb.test",
	    hl_test_program("hotline", prog, sizeof prog));
	snprintf(out, sizeof out, "%s/tty.out", coord->dir);
	const char *argv[] = { "script", "-qec", cmd, "/dev/null", NULL };
	assert_int_equal(hl_test_spawn_env(argv, (const char *const *)coord->env,
	    out, NULL, &pid), 0);
	assert_int_equal(hl_test_wait(pid, 120000, &status), 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(hl_test_read_file(out, buf, sizeof buf), 0);
	assert_non_null(strstr(buf, "sending checks: 2 of 2 accepted by the relay"));
	assert_non_null(strstr(buf, "2 accepted by the relay in "));
	/* Without a terminal, no progress line: scripts read clean output. */
	struct hl_test_run r;
	hl_test_client_run(coord, &r, "drill", "start", "--to", "pa.test", NULL);
	hl_test_expect(&r, 0);
	assert_null(strstr(r.err, "sending checks"));
	hl_test_run_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_drill_cli, hl_test_setup_world,
		    hl_test_teardown_world),
		cmocka_unit_test_setup_teardown(test_progress_on_terminal,
		    hl_test_setup_world, hl_test_teardown_world),
	};
	return cmocka_run_group_tests_name("drill_cli", tests, NULL, NULL);
}
