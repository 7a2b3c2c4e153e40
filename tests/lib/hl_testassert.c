#include "tests/lib/hl_testassert.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
setup(void **state, int tls)
{
	struct hl_test_world *w = calloc(1, sizeof *w);
	if (w == NULL)
		return -1;
	*state = w;
	return hl_test_world_new(w, tls);
}

int
hl_test_setup_world(void **state)
{
	return setup(state, 0);
}

int
hl_test_setup_world_tls(void **state)
{
	return setup(state, 1);
}

int
hl_test_teardown_world(void **state)
{
	struct hl_test_world *w = *state;
	if (w != NULL)
		hl_test_world_free(w);
	free(w);
	return 0;
}

struct hl_test_client *
hl_test_client_of(struct hl_test_world *w, const char *handle)
{
	struct hl_test_client *c = hl_test_world_client(w, handle, NULL);
	assert_non_null(c);
	return c;
}

void
hl_test_expect(struct hl_test_run *r, int code)
{
	assert_true(hl_test_run_expect(r, code));
}

void
hl_test_assert_str(json_t *o, const char *path, const char *want)
{
	const char *got = hl_test_json_str(o, path);
	if (got == NULL || strcmp(got, want) != 0) {
		char *dump = json_dumps(o, JSON_COMPACT);
		fprintf(stderr, "%s: want '%s', got '%s' in %s\n", path, want,
		    got ? got : "(none)", dump ? dump : "?");
		free(dump);
	}
	assert_non_null(got);
	assert_string_equal(got, want);
}

json_t *
hl_test_only_line(struct hl_test_run *r)
{
	json_t *lines = hl_test_run_json(r);
	if (lines == NULL || json_array_size(lines) != 1)
		hl_test_run_print(r);
	assert_non_null(lines);
	assert_int_equal(json_array_size(lines), 1);
	json_t *o = json_incref(json_array_get(lines, 0));
	json_decref(lines);
	return o;
}

void
hl_test_assert_four_times(json_t *m)
{
	long long q = hl_test_json_time(m, "times.queued");
	long long s = hl_test_json_time(m, "times.sent");
	long long d = hl_test_json_time(m, "times.delivered");
	long long a = hl_test_json_time(m, "times.acknowledged");
	assert_true(q > 0);
	assert_true(s >= q);
	assert_true(d >= s);
	assert_true(a >= d);
}
