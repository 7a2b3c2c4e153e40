#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/hl_db.h"
#include "crypto/hl_err.h"
#include "crypto/hl_vault.h"

#define PASS "duty desk 24/7"

struct fixture {
	char dir[64];
	char path[128];
	sqlite3 *db;
	struct hl_vault *v;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct hl_kdf_params kdf;
	char cause[HL_CAUSE_MAX];
	snprintf(f->dir, sizeof f->dir, "/tmp/hl-vault.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/v.db", f->dir);
	assert_int_equal(hl_db_open(f->path, 1, &f->db, cause), 0);
	hl_kdf_params_minimum(&kdf);
	assert_int_equal(hl_vault_create(f->db, PASS, strlen(PASS), &kdf, &f->v,
	    cause), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char p[160];
	hl_vault_free(f->v);
	hl_db_close(f->db);
	unlink(f->path);
	snprintf(p, sizeof p, "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", f->path);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void
test_seal_open(void **state)
{
	struct fixture *f = *state;
	static const uint8_t row[] = { 1, 2, 3 };
	static const char text[] = "session record";
	uint8_t *ct, *pt;
	size_t ctlen, ptlen;

	assert_int_equal(hl_vault_seal(f->v, "sessions", row, sizeof row,
	    (const uint8_t *)text, sizeof text, &ct, &ctlen), 0);
	assert_int_equal(ctlen, sizeof text + HL_VAULT_OVERHEAD);
	for (size_t i = 0; i + 7 <= ctlen; i++)
		assert_memory_not_equal(ct + i, text, 7);
	assert_int_equal(hl_vault_open(f->v, "sessions", row, sizeof row, ct,
	    ctlen, &pt, &ptlen), 0);
	assert_int_equal(ptlen, sizeof text);
	assert_memory_equal(pt, text, sizeof text);
	hl_vault_free_plain(pt, ptlen);

	/* Bound to its row: another table, another row key, no row key. */
	static const uint8_t other[] = { 1, 2, 4 };
	assert_int_equal(hl_vault_open(f->v, "prekeys", row, sizeof row, ct, ctlen,
	    &pt, &ptlen), HL_EVAULT);
	assert_null(pt);
	assert_int_equal(hl_vault_open(f->v, "sessions", other, sizeof other, ct,
	    ctlen, &pt, &ptlen), HL_EVAULT);
	assert_int_equal(hl_vault_open(f->v, "sessions", NULL, 0, ct, ctlen, &pt,
	    &ptlen), HL_EVAULT);
	/* Any flipped bit, a short value, another version. */
	for (size_t i = 0; i < ctlen; i++) {
		ct[i] ^= 0x80;
		assert_int_equal(hl_vault_open(f->v, "sessions", row, sizeof row, ct,
		    ctlen, &pt, &ptlen), HL_EVAULT);
		ct[i] ^= 0x80;
	}
	assert_int_equal(hl_vault_open(f->v, "sessions", row, sizeof row, ct,
	    HL_VAULT_OVERHEAD - 1, &pt, &ptlen), HL_EVAULT);
	assert_int_equal(hl_vault_open(f->v, "sessions", row, sizeof row, NULL, 0,
	    &pt, &ptlen), HL_EVAULT);

	/* Two seals of one value differ (fresh nonces). */
	uint8_t *ct2;
	size_t ct2len;
	assert_int_equal(hl_vault_seal(f->v, "sessions", row, sizeof row,
	    (const uint8_t *)text, sizeof text, &ct2, &ct2len), 0);
	assert_memory_not_equal(ct, ct2, ctlen);
	free(ct);
	free(ct2);

	/* An empty value seals and opens. */
	assert_int_equal(hl_vault_seal(f->v, "t", row, 1, NULL, 0, &ct, &ctlen), 0);
	assert_int_equal(hl_vault_open(f->v, "t", row, 1, ct, ctlen, &pt, &ptlen), 0);
	assert_int_equal(ptlen, 0);
	hl_vault_free_plain(pt, ptlen);
	free(ct);
}

static void
test_unlock(void **state)
{
	struct fixture *f = *state;
	struct hl_vault *v2 = NULL;
	char cause[HL_CAUSE_MAX] = "";
	static const uint8_t row[] = { 9 };
	uint8_t *ct, *pt;
	size_t ctlen, ptlen;

	assert_int_equal(hl_vault_seal(f->v, "x", row, 1, (const uint8_t *)"abc", 3,
	    &ct, &ctlen), 0);
	assert_int_equal(hl_vault_unlock(f->db, "duty desk 24/8", 14, &v2, cause),
	    HL_EPASSPHRASE);
	assert_null(v2);
	assert_string_equal(cause, "wrong passphrase");
	assert_int_equal(hl_vault_unlock(f->db, "", 0, &v2, cause), HL_EPASSPHRASE);

	/* The right passphrase gives the same keys: values open, indexes match. */
	assert_int_equal(hl_vault_unlock(f->db, PASS, strlen(PASS), &v2, cause), 0);
	assert_int_equal(hl_vault_open(v2, "x", row, 1, ct, ctlen, &pt, &ptlen), 0);
	assert_memory_equal(pt, "abc", 3);
	hl_vault_free_plain(pt, ptlen);
	uint8_t i1[HL_VAULT_INDEX_LEN], i2[HL_VAULT_INDEX_LEN], i3[HL_VAULT_INDEX_LEN];
	hl_vault_index(f->v, "contact", "ee.cert", 7, i1);
	hl_vault_index(v2, "contact", "ee.cert", 7, i2);
	hl_vault_index(v2, "contact", "fi.ncsc", 7, i3);
	assert_memory_equal(i1, i2, sizeof i1);
	assert_memory_not_equal(i1, i3, sizeof i1);
	hl_vault_index(v2, "other", "ee.cert", 7, i3);
	assert_memory_not_equal(i1, i3, sizeof i1);
	hl_vault_free(v2);

	/* A second vault in the same database is refused. */
	struct hl_kdf_params kdf;
	hl_kdf_params_minimum(&kdf);
	assert_int_equal(hl_vault_create(f->db, PASS, strlen(PASS), &kdf, &v2,
	    cause), HL_EEXIST);
	free(ct);
}

static void
test_rewrap_and_params(void **state)
{
	struct fixture *f = *state;
	struct hl_kdf_params kdf, got;
	struct hl_vault *v2 = NULL;
	char cause[HL_CAUSE_MAX];
	static const uint8_t row[] = { 7 };
	uint8_t *ct, *pt;
	size_t ctlen, ptlen;

	assert_int_equal(hl_vault_params(f->db, &got), 0);
	assert_int_equal(got.opslimit, crypto_pwhash_OPSLIMIT_MIN);
	assert_int_equal(got.memlimit, crypto_pwhash_MEMLIMIT_MIN);

	assert_int_equal(hl_vault_seal(f->v, "x", row, 1, (const uint8_t *)"kept",
	    4, &ct, &ctlen), 0);
	kdf.opslimit = 2;
	kdf.memlimit = 1 << 20;
	assert_int_equal(hl_vault_rewrap(f->db, "not it", 6, "new pass", 8, &kdf,
	    cause), HL_EPASSPHRASE);
	assert_int_equal(hl_vault_rewrap(f->db, PASS, strlen(PASS), "new pass", 8,
	    &kdf, cause), 0);
	assert_int_equal(hl_vault_params(f->db, &got), 0);
	assert_int_equal(got.opslimit, 2);
	assert_int_equal(got.memlimit, 1 << 20);
	assert_int_equal(hl_vault_unlock(f->db, PASS, strlen(PASS), &v2, cause),
	    HL_EPASSPHRASE);
	assert_int_equal(hl_vault_unlock(f->db, "new pass", 8, &v2, cause), 0);
	assert_int_equal(hl_vault_open(v2, "x", row, 1, ct, ctlen, &pt, &ptlen), 0);
	assert_memory_equal(pt, "kept", 4);
	hl_vault_free_plain(pt, ptlen);
	hl_vault_free(v2);
	free(ct);

	/* Out-of-range parameters are refused before any work. */
	kdf.opslimit = 0;
	assert_int_equal(hl_vault_rewrap(f->db, "new pass", 8, "x", 1, &kdf, cause),
	    HL_EINVAL);
}

static void
test_damaged_record(void **state)
{
	struct fixture *f = *state;
	struct hl_vault *v2 = NULL;
	char cause[HL_CAUSE_MAX];

	/* Lowering the recorded parameters (an attacker wanting a cheaper
	 * guess) does not open the vault: they are bound to the wrapped key. */
	assert_int_equal(hl_db_exec(f->db, "UPDATE vault SET opslimit = 2", cause), 0);
	assert_int_equal(hl_vault_unlock(f->db, PASS, strlen(PASS), &v2, cause),
	    HL_EPASSPHRASE);
	assert_int_equal(hl_db_exec(f->db, "UPDATE vault SET opslimit = 1;"
	    "UPDATE vault SET memlimit = 99999999999999", cause), 0);
	assert_int_equal(hl_vault_unlock(f->db, PASS, strlen(PASS), &v2, cause),
	    HL_EVAULT);
	assert_int_equal(hl_db_exec(f->db, "DELETE FROM vault", cause), 0);
	assert_int_equal(hl_vault_unlock(f->db, PASS, strlen(PASS), &v2, cause),
	    HL_ENOVAULT);
	assert_int_equal(hl_db_exec(f->db, "DROP TABLE vault", cause), 0);
	assert_int_equal(hl_vault_unlock(f->db, PASS, strlen(PASS), &v2, cause),
	    HL_ENOVAULT);
	assert_null(v2);
}

static void
test_db_permissions(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_seal_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewrap_and_params, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_db_permissions, setup, teardown),
	};
	return cmocka_run_group_tests_name("vault", tests, NULL, NULL);
}
