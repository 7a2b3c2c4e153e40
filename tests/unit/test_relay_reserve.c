/* The disk reserve on a real file system: made at open, given up at
 * release (the file goes), made again at restore when there is room,
 * found again by the next open. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/hl_err.h"
#include "relay/reserve.h"

#define BYTES (1 << 20)

static int
file_size_ok(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && st.st_size == BYTES &&
	    (long long)st.st_blocks * 512 >= BYTES && (st.st_mode & 077) == 0;
}

static void
test_reserve(void **state)
{
	(void)state;
	char dir[] = "/tmp/hl-unit-reserve.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof path, "%s/relay.db.reserve", dir);
	struct hl_reserve *rv = NULL;
	char cause[HL_CAUSE_MAX];
	assert_int_equal(hl_reserve_open(path, 0, &rv, cause), HL_EINVAL);
	assert_null(rv);
	assert_int_equal(hl_reserve_open(path, BYTES, &rv, cause), 0);
	assert_true(hl_reserve_held(rv));
	assert_true(file_size_ok(path));
	assert_int_equal(hl_reserve_release(rv), 1);
	assert_false(hl_reserve_held(rv));
	assert_int_not_equal(access(path, F_OK), 0);
	assert_int_equal(hl_reserve_release(rv), 0);
	assert_int_equal(hl_reserve_restore(rv, cause), 0);
	assert_true(hl_reserve_held(rv));
	assert_true(file_size_ok(path));
	assert_int_equal(hl_reserve_restore(rv, cause), 0);
	hl_reserve_free(rv);
	/* The file stays for the next start, which finds it. */
	assert_true(file_size_ok(path));
	assert_int_equal(hl_reserve_open(path, BYTES, &rv, cause), 0);
	assert_true(hl_reserve_held(rv));
	hl_reserve_release(rv);
	hl_reserve_free(rv);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reserve),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
