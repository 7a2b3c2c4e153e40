/* The long-poll table: wake by account, by deadline, by stop; the
 * sequence check that closes the gap between looking and parking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "crypto/hl_err.h"
#include "crypto/hl_time.h"
#include "relay/waiters.h"

struct probe {
	struct hl_waiter w;
	atomic_int woken;
};

static void
on_wake(struct hl_waiter *w)
{
	struct probe *p = (struct probe *)w;
	atomic_fetch_add(&p->woken, 1);
}

static void
probe_init(struct probe *p, int64_t account, int64_t deadline)
{
	memset(p, 0, sizeof *p);
	p->w.account = account;
	p->w.deadline_ms = deadline;
	p->w.wake = on_wake;
	atomic_init(&p->woken, 0);
}

/* Waits (bounded) until p has been woken. */
static int
woken_within(struct probe *p, int ms)
{
	int64_t end = hl_mono_ms() + ms;
	while (atomic_load(&p->woken) == 0 && hl_mono_ms() < end) {
		struct timespec ts = { 0, 5000000 };
		nanosleep(&ts, NULL);
	}
	return atomic_load(&p->woken);
}

static void
test_notify_wakes_only_its_account(void **state)
{
	(void)state;
	struct hl_waiters *ws;
	assert_int_equal(hl_waiters_start(&ws, NULL), 0);
	int64_t far = hl_mono_ms() + 600000;
	struct probe a1, a2, b;
	probe_init(&a1, 7, far);
	probe_init(&a2, 7, far);
	probe_init(&b, 8, far);
	assert_int_equal(hl_waiters_add(ws, &a1.w, hl_waiters_seq(ws, 7)), 0);
	assert_int_equal(hl_waiters_add(ws, &a2.w, hl_waiters_seq(ws, 7)), 0);
	assert_int_equal(hl_waiters_add(ws, &b.w, hl_waiters_seq(ws, 8)), 0);
	assert_int_equal(hl_waiters_count(ws), 3);
	hl_waiters_notify(ws, 7);
	assert_int_equal(atomic_load(&a1.woken), 1);
	assert_int_equal(atomic_load(&a2.woken), 1);
	assert_int_equal(atomic_load(&b.woken), 0);
	assert_int_equal(hl_waiters_count(ws), 1);
	/* Cancel takes it out without waking it; twice is harmless. */
	assert_int_equal(hl_waiters_cancel(ws, &b.w), 1);
	assert_int_equal(hl_waiters_cancel(ws, &b.w), 0);
	assert_int_equal(atomic_load(&b.woken), 0);
	hl_waiters_stop(ws);
	hl_waiters_free(ws);
}

static void
test_seq_closes_the_gap(void **state)
{
	(void)state;
	struct hl_waiters *ws;
	assert_int_equal(hl_waiters_start(&ws, NULL), 0);
	struct probe p;
	probe_init(&p, 5, hl_mono_ms() + 600000);
	uint64_t seq = hl_waiters_seq(ws, 5);
	hl_waiters_notify(ws, 5);          /* a commit between look and park */
	assert_int_equal(hl_waiters_add(ws, &p.w, seq), HL_ESTATE);
	assert_int_equal(hl_waiters_count(ws), 0);
	assert_int_equal(atomic_load(&p.woken), 0);
	hl_waiters_stop(ws);
	hl_waiters_free(ws);
}

static void
test_deadlines(void **state)
{
	(void)state;
	struct hl_waiters *ws;
	assert_int_equal(hl_waiters_start(&ws, NULL), 0);
	int64_t now = hl_mono_ms();
	struct probe late, soon, mid;
	probe_init(&late, 1, now + 600000);
	probe_init(&soon, 2, now + 20);
	probe_init(&mid, 3, now + 60);
	assert_int_equal(hl_waiters_add(ws, &late.w, hl_waiters_seq(ws, 1)), 0);
	assert_int_equal(hl_waiters_add(ws, &mid.w, hl_waiters_seq(ws, 3)), 0);
	assert_int_equal(hl_waiters_add(ws, &soon.w, hl_waiters_seq(ws, 2)), 0);
	assert_int_equal(woken_within(&soon, 10000), 1);
	assert_int_equal(woken_within(&mid, 10000), 1);
	assert_int_equal(atomic_load(&late.woken), 0);
	/* Stopping wakes the rest and refuses newcomers. */
	hl_waiters_stop(ws);
	assert_int_equal(atomic_load(&late.woken), 1);
	struct probe after;
	probe_init(&after, 1, now + 1000);
	assert_int_equal(hl_waiters_add(ws, &after.w, hl_waiters_seq(ws, 1)),
	    HL_ESTOPPING);
	hl_waiters_free(ws);
}

static void
test_many(void **state)
{
	(void)state;
	struct hl_waiters *ws;
	assert_int_equal(hl_waiters_start(&ws, NULL), 0);
	static struct probe ps[300];
	int64_t now = hl_mono_ms();
	for (int i = 0; i < 300; i++) {
		probe_init(&ps[i], i % 10, now + 600000 - i);
		assert_int_equal(hl_waiters_add(ws, &ps[i].w,
		    hl_waiters_seq(ws, i % 10)), 0);
	}
	for (int a = 0; a < 10; a += 2)
		hl_waiters_notify(ws, a);
	assert_int_equal(hl_waiters_count(ws), 150);
	for (int i = 0; i < 300; i++)
		assert_int_equal(atomic_load(&ps[i].woken), (i % 10) % 2 == 0);
	for (int i = 1; i < 300; i += 20)
		assert_int_equal(hl_waiters_cancel(ws, &ps[i].w), 1);
	hl_waiters_stop(ws);
	int total = 0;
	for (int i = 0; i < 300; i++)
		total += atomic_load(&ps[i].woken);
	assert_int_equal(total, 300 - 15);
	hl_waiters_free(ws);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_notify_wakes_only_its_account),
		cmocka_unit_test(test_seq_closes_the_gap),
		cmocka_unit_test(test_deadlines),
		cmocka_unit_test(test_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
