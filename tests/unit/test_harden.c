/* The client's process hardening: no core dumps, not dumpable, and
 * jansson's blocks wiped on free. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "client/harden.h"

static void
test_harden(void **state)
{
	(void)state;
	struct rlimit rl;
	json_malloc_t m;
	json_free_t f;
	json_get_alloc_funcs(&m, &f);
	assert_ptr_equal(f, free);    /* jansson's default before */

	assert_int_equal(hl_harden_process(), 0);
	assert_int_equal(getrlimit(RLIMIT_CORE, &rl), 0);
	assert_int_equal(rl.rlim_cur, 0);
	assert_int_equal(rl.rlim_max, 0);
	assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
	json_get_alloc_funcs(&m, &f);
	assert_ptr_not_equal(f, free);

	/* Values and dumps still work through it, and a dump may still be
	 * released with free(). */
	json_t *o = json_pack("{s:s, s:i}", "body", "TLP:RED secret", "n", 7);
	assert_non_null(o);
	char *s = json_dumps(o, JSON_COMPACT);
	assert_string_equal(s, "{\"body\":\"TLP:RED secret\",\"n\":7}");
	free(s);
	json_decref(o);
	void *p = m(100);
	assert_non_null(p);
	memset(p, 0xaa, 100);
	f(p);
	f(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_harden),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
