/*
 * Many messages with real processes: 200 each way between two profiles,
 * the two sides taking turns at random (a fixed seed) and syncing now and
 * then, so that messages, receipts and fetches interleave. Every message
 * must arrive exactly once, in the order its sender wrote it, with no
 * sequence gap reported. Prints how long it took.
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

#include "tests/lib/hl_testassert.h"
#include "tests/lib/hl_testclient.h"

#define PER_SIDE 200
#define SEED 0x9e3779b97f4a7c15ULL
#define FINAL_ROUNDS 20

/* xorshift64*: the same sequence on every machine. */
static uint64_t
next_random(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

struct side {
	struct hl_test_client *c;
	const char *me, *peer;
	int sent;
};

static void
run_ok(struct hl_test_client *c, int *processes, const char *what, ...)
	__attribute__((sentinel));

/* Runs `hotline WHAT ARGS...`, which must exit 0. */
static void
run_ok(struct hl_test_client *c, int *processes, const char *what, ...)
{
	const char *args[8];
	size_t n = 0;
	va_list ap;
	args[n++] = what;
	va_start(ap, what);
	const char *a;
	while (n < 7 && (a = va_arg(ap, const char *)) != NULL)
		args[n++] = a;
	va_end(ap);
	args[n] = NULL;
	struct hl_test_run r;
	hl_test_client_runv(c, &r, args);
	(*processes)++;
	assert_true(hl_test_run_expect(&r, 0));
	hl_test_run_free(&r);
}

/* The summary line of `--json sync`, which must exit 0 (caller
 * json_decref()s). */
static json_t *
sync_summary(struct hl_test_client *c, int *processes)
{
	struct hl_test_run r;
	hl_test_client_run(c, &r, "--json", "sync", NULL);
	(*processes)++;
	assert_true(hl_test_run_expect(&r, 0));
	json_t *lines = hl_test_run_json(&r);
	hl_test_run_free(&r);
	assert_non_null(lines);
	json_t *s = json_incref(hl_test_json_find(lines, "event", "summary"));
	json_decref(lines);
	assert_non_null(s);
	return s;
}

static json_int_t
member(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* The side's inbox holds the peer's PER_SIDE messages, each once, in the
 * order written, with rising sequence numbers, and nothing reported
 * missing or held. */
static void
check_inbox(struct side *s)
{
	json_t *inbox = hl_test_client_inbox(s->c);
	assert_non_null(inbox);
	assert_int_equal(json_array_size(inbox), PER_SIDE);
	json_int_t last_seq = 0;
	for (size_t i = 0; i < json_array_size(inbox); i++) {
		json_t *m = json_array_get(inbox, i);
		char want[64];
		snprintf(want, sizeof want, "%s to %s #%03zu", s->peer, s->me, i);
		const char *body = hl_test_json_str(m, "body");
		const char *peer = hl_test_json_str(m, "peer");
		const char *id = hl_test_json_str(m, "id");
		assert_non_null(body);
		assert_non_null(peer);
		assert_non_null(id);
		if (strcmp(body, want) != 0)
			fprintf(stderr, "%s: message %zu is '%s', want '%s'\n", s->me, i,
			    body, want);
		assert_string_equal(body, want);
		assert_string_equal(peer, s->peer);
		assert_int_equal(hl_test_json_count(inbox, "id", id), 1);
		json_int_t seq = member(m, "seq");
		assert_true(seq > last_seq);
		last_seq = seq;
	}
	json_decref(inbox);
	json_t *o = hl_test_client_overview(s->c);
	assert_non_null(o);
	assert_int_equal(json_array_size(json_object_get(o, "missing")), 0);
	assert_int_equal(json_array_size(json_object_get(o, "held")), 0);
	json_t *out = json_object_get(o, "outbound");
	assert_int_equal(member(out, "queued"), 0);
	assert_int_equal(member(out, "failed"), 0);
	json_decref(o);
}

static void
test_200_each_way_interleaved(void **state)
{
	struct hl_test_world *w = *state;
	struct side sides[2] = {
		{ hl_test_world_client(w, "load.a", NULL), "load.a", "load.b", 0 },
		{ hl_test_world_client(w, "load.b", NULL), "load.b", "load.a", 0 },
	};
	assert_non_null(sides[0].c);
	assert_non_null(sides[1].c);
	uint64_t rnd = SEED;
	int processes = 0, steps = 0, syncs = 0;
	long long started = hl_test_now_ms();

	/* Every step sends at least one message: 2 * PER_SIDE bounds it. */
	while ((sides[0].sent < PER_SIDE || sides[1].sent < PER_SIDE) &&
	    steps < 2 * PER_SIDE) {
		steps++;
		struct side *s = &sides[next_random(&rnd) % 2];
		if (s->sent == PER_SIDE)
			s = s == &sides[0] ? &sides[1] : &sides[0];
		int burst = 1 + (int)(next_random(&rnd) % 5);
		for (int i = 0; i < burst && s->sent < PER_SIDE; i++, s->sent++) {
			char body[64];
			snprintf(body, sizeof body, "%s to %s #%03d", s->me, s->peer,
			    s->sent);
			run_ok(s->c, &processes, "send", s->peer, body, NULL);
		}
		if (next_random(&rnd) % 3 == 0) {
			struct side *t = &sides[next_random(&rnd) % 2];
			run_ok(t->c, &processes, "sync", NULL);
			syncs++;
		}
	}
	assert_int_equal(sides[0].sent, PER_SIDE);
	assert_int_equal(sides[1].sent, PER_SIDE);

	/* Both sync until a round brings nothing and leaves nothing queued:
	 * every message and every receipt has gone. */
	int quiet = 0;
	for (int round = 0; round < FINAL_ROUNDS && !quiet; round++) {
		quiet = 1;
		for (int i = 0; i < 2; i++) {
			json_t *sum = sync_summary(sides[i].c, &processes);
			if (member(sum, "received") != 0 || member(sum, "queued") != 0)
				quiet = 0;
			json_decref(sum);
		}
	}
	assert_true(quiet);
	/* And every receipt came back: all delivered, on both sides. */
	int delivered = 0;
	for (int round = 0; round < FINAL_ROUNDS && !delivered; round++) {
		delivered = 1;
		for (int i = 0; i < 2; i++) {
			json_t *o = hl_test_client_overview(sides[i].c);
			processes++;
			assert_non_null(o);
			if (member(json_object_get(o, "outbound"), "delivered") !=
			    PER_SIDE)
				delivered = 0;
			json_decref(o);
		}
		for (int i = 0; i < 2 && !delivered; i++)
			run_ok(sides[i].c, &processes, "sync", NULL);
	}
	assert_true(delivered);
	long long ms = hl_test_now_ms() - started;
	check_inbox(&sides[0]);
	check_inbox(&sides[1]);
	fprintf(stderr, "load: %d messages each way in %d steps (%d syncs "
	    "between), %d processes, %lld ms\n", PER_SIDE, steps, syncs,
	    processes, ms);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_200_each_way_interleaved, hl_test_setup_world,
		    hl_test_teardown_world),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
