/* The relay's request parsers: good bodies fill the structs exactly; every
 * kind of bad body is refused with the documented code and a message that
 * names the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hl_err.h"
#include "relay/secret.h"
#include "relay/request.h"

/* 0x05 then 32 bytes of 0x11; 0x06 then the same; 32 bytes only; a
 * 64-byte signature of 0x22. */
#define KEY "BRERERERERERERERERERERERERERERERERERERERERER"
#define KEY6 "BhERERERERERERERERERERERERERERERERERERERERER"
#define KEY32 "BRERERERERERERERERERERERERERERERERERERERERE="
#define SIG "IiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIi" \
	"IiIiIiIiIiIiIiIiIiIiIg=="
#define CODE "K7QD-M2XW-9FHT-R4PV-ZC6N-8JYB"
#define SPK "{\"id\":1,\"key\":\"" KEY "\",\"signature\":\"" SIG "\"}"
#define PK(n) "{\"id\":" #n ",\"key\":\"" KEY "\"}"
#define PROFILE "{\"name\":\"CERT-EE duty officer\",\"organisation\":\"RIA\"," \
	"\"country\":\"EE\",\"role\":\"national CSIRT\",\"languages\":[\"en\"," \
	"\"et\"],\"timezone\":\"Europe/Tallinn\",\"alternate\":\"ee.ria\"}"
#define REG(extra) "{\"handle\":\"ee.cert\",\"code\":\"" CODE "\"," \
	"\"identity_key\":\"" KEY "\",\"registration_id\":4711," \
	"\"device_id\":1,\"signed_prekey\":" SPK ",\"prekeys\":[" PK(1) "," \
	PK(2) "],\"profile\":" PROFILE extra "}"
#define ID "0123456789abcdef0123456789abcdef"

static const struct hl_request_limits lim = { 3, 16, 4 };

static int
init(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

static void
test_registration_good(void **state)
{
	(void)state;
	struct hl_store_registration reg;
	char cause[HL_CAUSE_MAX];
	const char *body = REG("");
	assert_int_equal(hl_request_parse_registration(body, strlen(body), &lim, &reg,
	    cause), 0);
	assert_string_equal(reg.handle, "ee.cert");
	uint8_t want[HL_SECRET_HASH];
	assert_int_equal(hl_secret_code_hash("k7qd m2xw 9fht r4pv zc6n 8jyb", want, NULL),
	    0);
	assert_memory_equal(reg.code_hash, want, sizeof want);
	assert_int_equal(reg.identity_key[0], 0x05);
	assert_int_equal(reg.identity_key[32], 0x11);
	assert_int_equal(reg.registration_id, 4711);
	assert_int_equal(reg.device_id, 1);
	assert_int_equal(reg.signed_prekey.id, 1);
	assert_int_equal(reg.signed_prekey.signature[63], 0x22);
	assert_int_equal(reg.nprekeys, 2);
	assert_int_equal(reg.prekeys[1].id, 2);
	assert_string_equal(reg.profile.name, "CERT-EE duty officer");
	assert_string_equal(reg.profile.country, "EE");
	assert_string_equal(reg.profile.languages, "en,et");
	assert_string_equal(reg.profile.timezone, "Europe/Tallinn");
	assert_string_equal(reg.profile.alternate, "ee.ria");
	hl_request_registration_clear(&reg);
	assert_null(reg.prekeys);
}

struct bad {
	const char *body;
	int rc;
	const char *needle;     /* in the message */
};

static void
test_registration_bad(void **state)
{
	(void)state;
	static const struct bad cases[] = {
		{ "", HL_EPARSE, "invalid JSON" },
		{ "[]", HL_EPARSE, "expected a JSON object" },
		{ "{\"handle\":", HL_EPARSE, "invalid JSON" },
		{ REG(",\"extra\":1"), HL_EPARSE, "unknown field 'extra'" },
		{ "{\"handle\":\"a\",\"handle\":\"b\"}", HL_EPARSE, "invalid JSON" },
		{ "{\"code\":\"" CODE "\"}", HL_EPARSE, "missing field 'handle'" },
		{ "{\"handle\":\"EE.CERT\"}", HL_EPARSE, "handle: not a handle" },
		{ "{\"handle\":7}", HL_EPARSE, "handle: expected a string" },
		{ "{\"handle\":\"ee.cert\",\"code\":\"K7QD\"}", HL_EPARSE,
		    "expected 24 symbols" },
		{ "{\"handle\":\"ee.cert\",\"code\":\"K7QD-M2XW-9FHT-R4PV-ZC6N-8JYU\"}",
		    HL_EPARSE, "not a code symbol" },
		{ "{\"handle\":\"ee.cert\",\"code\":\"" CODE "\",\"identity_key\":\""
		    KEY6 "\"}", HL_EPARSE, "first byte must be 0x05" },
		{ "{\"handle\":\"ee.cert\",\"code\":\"" CODE "\",\"identity_key\":\""
		    KEY32 "\"}", HL_EPARSE, "identity_key: expected 33 bytes" },
		{ "{\"handle\":\"ee.cert\",\"code\":\"" CODE "\",\"identity_key\":\""
		    "not base64!\"}", HL_EPARSE, "identity_key: expected 33 bytes" },
		{ "{\"handle\":\"ee.cert\",\"code\":\"" CODE "\",\"identity_key\":\""
		    KEY "\",\"registration_id\":0}", HL_EPARSE,
		    "registration_id: expected 1 to 16380" },
		{ "{\"handle\":\"ee.cert\",\"code\":\"" CODE "\",\"identity_key\":\""
		    KEY "\",\"registration_id\":\"1\"}", HL_EPARSE,
		    "registration_id: expected an integer" },
		{ "{\"handle\":\"ee.cert\",\"code\":\"" CODE "\",\"identity_key\":\""
		    KEY "\",\"registration_id\":1.5}", HL_EPARSE,
		    "registration_id: expected an integer" },
		{ "{\"handle\":\"ee.cert\",\"code\":\"" CODE "\",\"identity_key\":\""
		    KEY "\",\"registration_id\":1,\"device_id\":2}", HL_EPARSE,
		    "device_id: expected 1 to 1" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct hl_store_registration reg;
		char cause[HL_CAUSE_MAX] = "";
		int rc = hl_request_parse_registration(cases[i].body, strlen(cases[i].body),
		    &lim, &reg, cause);
		if (rc != cases[i].rc || strstr(cause, cases[i].needle) == NULL)
			fail_msg("case %zu: rc %d, cause '%s'", i, rc, cause);
		assert_null(reg.prekeys);
	}
}

/* A registration with one part replaced. */
static void
reg_with(const char *spk, const char *prekeys, const char *profile, char *out,
    size_t n)
{
	snprintf(out, n, "{\"handle\":\"ee.cert\",\"code\":\"" CODE "\","
	    "\"identity_key\":\"" KEY "\",\"registration_id\":4711,"
	    "\"device_id\":1,\"signed_prekey\":%s,\"prekeys\":%s,\"profile\":%s}",
	    spk, prekeys, profile);
}

static void
test_registration_parts(void **state)
{
	(void)state;
	static const struct {
		const char *spk, *prekeys, *profile;
		const char *needle;
	} cases[] = {
		{ "[]", "[" PK(1) "]", PROFILE, "signed_prekey: expected an object" },
		{ "{\"id\":1,\"key\":\"" KEY "\"}", "[" PK(1) "]", PROFILE,
		    "missing field 'signed_prekey.signature'" },
		{ "{\"id\":1,\"key\":\"" KEY "\",\"signature\":\"" KEY "\"}",
		    "[" PK(1) "]", PROFILE, "signed_prekey.signature: expected 64" },
		{ "{\"id\":-1,\"key\":\"" KEY "\",\"signature\":\"" SIG "\"}",
		    "[" PK(1) "]", PROFILE, "signed_prekey.id: expected 0 to" },
		{ SPK, "[]", PROFILE, "prekeys: expected 1 to 3 entries" },
		{ SPK, "[" PK(1) "," PK(2) "," PK(3) "," PK(4) "]", PROFILE,
		    "prekeys: expected 1 to 3 entries" },
		{ SPK, "{}", PROFILE, "prekeys: expected an array" },
		{ SPK, "[" PK(1) "," PK(1) "]", PROFILE, "id 1 appears twice" },
		{ SPK, "[" PK(0) "]", PROFILE, "prekeys[0].id: expected 1 to" },
		{ SPK, "[" PK(16777215) "]", PROFILE, "prekeys[0].id: expected 1 to" },
		{ SPK, "[" PK(1) ",7]", PROFILE, "prekeys[1]: expected an object" },
		{ SPK, "[{\"id\":1,\"key\":\"" KEY "\",\"x\":0}]", PROFILE,
		    "unknown field 'prekeys[0].x'" },
		{ SPK, "[" PK(1) "]", "{}", "missing field 'profile.name'" },
		{ SPK, "[" PK(1) "]", "{\"name\":\"\"}", "profile.name: expected 1 to" },
		{ SPK, "[" PK(1) "]", "{\"name\":\"a\\u001b[2Jb\"}",
		    "profile.name: control" },
		{ SPK, "[" PK(1) "]", "{\"name\":\"a\\u202eb\"}",
		    "profile.name: control or bidirectional" },
		{ SPK, "[" PK(1) "]", "{\"name\":\"a\\u0085b\"}",
		    "profile.name: control" },
		{ SPK, "[" PK(1) "]", "{\"name\":\"a\",\"country\":\"ee\"}",
		    "profile.country: expected two capital letters" },
		{ SPK, "[" PK(1) "]", "{\"name\":\"a\",\"country\":\"\"}",
		    "profile.country" },
		{ SPK, "[" PK(1) "]", "{\"name\":\"a\",\"languages\":\"en\"}",
		    "profile.languages: expected an array" },
		{ SPK, "[" PK(1) "]", "{\"name\":\"a\",\"languages\":[\"e\"]}",
		    "profile.languages[0]" },
		{ SPK, "[" PK(1) "]", "{\"name\":\"a\",\"languages\":[\"en\",\"fr\","
		    "\"de\",\"et\",\"fi\",\"lv\",\"lt\",\"sv\",\"no\"]}",
		    "profile.languages: expected an array of at most 8" },
		{ SPK, "[" PK(1) "]", "{\"name\":\"a\",\"timezone\":\"Europe Tallinn\"}",
		    "profile.timezone" },
		{ SPK, "[" PK(1) "]", "{\"name\":\"a\",\"timezone\":\"Europe//Tallinn\"}",
		    "profile.timezone" },
		{ SPK, "[" PK(1) "]", "{\"name\":\"a\",\"timezone\":\"/Europe/Tallinn\"}",
		    "profile.timezone" },
		{ SPK, "[" PK(1) "]", "{\"name\":\"a\",\"timezone\":\"Europe/\"}",
		    "profile.timezone" },
		{ SPK, "[" PK(1) "]", "{\"name\":\"a\",\"timezone\":\"-Europe\"}",
		    "profile.timezone" },
		{ SPK, "[" PK(1) "]", "{\"name\":\"a\",\"timezone\":\"Europe/1x\"}",
		    "profile.timezone" },
		{ SPK, "[" PK(1) "]", "{\"name\":\"a\",\"alternate\":\"X\"}",
		    "profile.alternate: not a handle" },
		{ SPK, "[" PK(1) "]", "{\"name\":\"a\",\"motto\":\"x\"}",
		    "unknown field 'profile.motto'" },
	};
	char body[2048];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct hl_store_registration reg;
		char cause[HL_CAUSE_MAX] = "";
		reg_with(cases[i].spk, cases[i].prekeys, cases[i].profile, body,
		    sizeof body);
		int rc = hl_request_parse_registration(body, strlen(body), &lim, &reg, cause);
		if (rc != HL_EPARSE || strstr(cause, cases[i].needle) == NULL)
			fail_msg("case %zu: rc %d, cause '%s'", i, rc, cause);
	}
	/* 128 bytes of UTF-8 is the most a name holds. */
	char name[140];
	memset(name, 'x', 128);
	name[128] = '\0';
	char profile[256];
	snprintf(profile, sizeof profile, "{\"name\":\"%s\"}", name);
	reg_with(SPK, "[" PK(1) "]", profile, body, sizeof body);
	struct hl_store_registration reg;
	assert_int_equal(hl_request_parse_registration(body, strlen(body), &lim, &reg,
	    NULL), 0);
	assert_string_equal(reg.profile.country, "");
	hl_request_registration_clear(&reg);
	snprintf(profile, sizeof profile, "{\"name\":\"%sy\"}", name);
	reg_with(SPK, "[" PK(1) "]", profile, body, sizeof body);
	assert_int_equal(hl_request_parse_registration(body, strlen(body), &lim, &reg,
	    NULL), HL_EPARSE);
}

static void
test_message(void **state)
{
	(void)state;
	struct hl_request_message m;
	char cause[HL_CAUSE_MAX];
	/* 16 bytes is the limit in these tests. */
	const char *good = "{\"to\":\"fi.ncsc\",\"id\":\"" ID "\",\"type\":3,"
	    "\"body\":\"MDEyMzQ1Njc4OWFiY2RlZg==\"}";
	assert_int_equal(hl_request_parse_message(good, strlen(good), &lim, &m, cause), 0);
	assert_string_equal(m.to, "fi.ncsc");
	assert_string_equal(m.id, ID);
	assert_int_equal(m.type, 3);
	assert_int_equal(m.body_len, 16);
	assert_memory_equal(m.body, "0123456789abcdef", 16);
	hl_request_message_clear(&m);
	assert_null(m.body);

	static const struct bad cases[] = {
		{ "{\"to\":\"fi.ncsc\",\"id\":\"" ID "\",\"type\":3,\"body\":"
		    "\"MDEyMzQ1Njc4OWFiY2RlZmc=\"}", HL_ETOOBIG, "more than 16" },
		{ "{\"to\":\"fi.ncsc\",\"id\":\"" ID "\",\"type\":3,\"body\":"
		    "\"MDEyMzQ1Njc4OWFiY2RlZmdoaWprbG1u\"}", HL_ETOOBIG,
		    "more than 16" },
		{ "{\"to\":\"fi.ncsc\",\"id\":\"" ID "\",\"type\":3,\"body\":\"\"}",
		    HL_EPARSE, "body: empty" },
		{ "{\"to\":\"fi.ncsc\",\"id\":\"" ID "\",\"type\":3,\"body\":\"MDE\"}",
		    HL_EPARSE, "body: base64" },
		{ "{\"to\":\"fi.ncsc\",\"id\":\"" ID "\",\"type\":3,\"body\":"
		    "\"MD E=\"}", HL_EPARSE, "body: base64" },
		{ "{\"to\":\"fi.ncsc\",\"id\":\"" ID "\",\"type\":1,\"body\":\"MDE=\"}",
		    HL_EPARSE, "type: expected 2 to 3" },
		{ "{\"to\":\"fi.ncsc\",\"id\":\"" ID "\",\"type\":\"3\",\"body\":"
		    "\"MDE=\"}", HL_EPARSE, "type: expected an integer" },
		{ "{\"to\":\"fi.ncsc\",\"id\":\"0123\",\"type\":3,\"body\":\"MDE=\"}",
		    HL_EPARSE, "id: expected 32 lower-case hex" },
		{ "{\"to\":\"fi.ncsc\",\"id\":\"0123456789ABCDEF0123456789abcdef\","
		    "\"type\":3,\"body\":\"MDE=\"}", HL_EPARSE, "id: expected 32" },
		{ "{\"to\":\"-bad\",\"id\":\"" ID "\",\"type\":3,\"body\":\"MDE=\"}",
		    HL_EPARSE, "to: not a handle" },
		{ "{\"id\":\"" ID "\",\"type\":3,\"body\":\"MDE=\"}", HL_EPARSE,
		    "missing field 'to'" },
		{ "{\"to\":\"fi.ncsc\",\"id\":\"" ID "\",\"type\":3,\"body\":\"MDE=\","
		    "\"prio\":1}", HL_EPARSE, "unknown field 'prio'" },
		{ "{\"to\":\"fi.ncsc\",\"id\":\"" ID "\",\"type\":3,\"body\":null}",
		    HL_EPARSE, "body: expected a string" },
		{ "{\"to\":\"fi.ncsc\",\"id\":\"" ID "\",\"type\":99999999999999999999,"
		    "\"body\":\"MDE=\"}", HL_EPARSE, "invalid JSON" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char c[HL_CAUSE_MAX] = "";
		int rc = hl_request_parse_message(cases[i].body, strlen(cases[i].body), &lim,
		    &m, c);
		if (rc != cases[i].rc || strstr(c, cases[i].needle) == NULL)
			fail_msg("case %zu: rc %d, cause '%s'", i, rc, c);
		assert_null(m.body);
	}
}

static void
test_keys_profile_ack(void **state)
{
	(void)state;
	struct hl_store_keys up;
	char cause[HL_CAUSE_MAX];
	const char *both = "{\"prekeys\":[" PK(5) "],\"signed_prekey\":" SPK "}";
	assert_int_equal(hl_request_parse_keys(both, strlen(both), &lim, &up, cause),
	    0);
	assert_int_equal(up.nprekeys, 1);
	assert_int_equal(up.prekeys[0].id, 5);
	assert_true(up.has_signed_prekey);
	hl_request_keys_clear(&up);
	const char *spk_only = "{\"signed_prekey\":" SPK "}";
	assert_int_equal(hl_request_parse_keys(spk_only, strlen(spk_only), &lim, &up,
	    cause), 0);
	assert_int_equal(up.nprekeys, 0);
	hl_request_keys_clear(&up);
	assert_int_equal(hl_request_parse_keys("{}", 2, &lim, &up, cause), HL_EPARSE);
	assert_non_null(strstr(cause, "either or both"));

	struct hl_store_profile p;
	assert_int_equal(hl_request_parse_profile(PROFILE, strlen(PROFILE), &p, cause), 0);
	assert_string_equal(p.role, "national CSIRT");
	assert_int_equal(hl_request_parse_profile("{\"profile\":{}}", 14, &p, cause),
	    HL_EPARSE);
	assert_non_null(strstr(cause, "unknown field 'profile'"));

	int64_t *qids = NULL;
	size_t n = 0;
	const char *ack = "{\"qids\":[\"1842\",\"7\"]}";
	assert_int_equal(hl_request_parse_ack(ack, strlen(ack), &lim, &qids, &n, cause), 0);
	assert_int_equal(n, 2);
	assert_int_equal(qids[0], 1842);
	assert_int_equal(qids[1], 7);
	free(qids);
	static const char *const bad_acks[] = {
		"{\"qids\":[]}", "{\"qids\":[\"1\",\"2\",\"3\",\"4\",\"5\"]}",
		"{\"qids\":[1842]}", "{\"qids\":[\"01\"]}", "{\"qids\":[\"-1\"]}",
		"{\"qids\":[\"1234567890123456789\"]}", "{\"qids\":\"1\"}",
		"{\"ids\":[\"1\"]}", "{}",
	};
	for (size_t i = 0; i < sizeof bad_acks / sizeof bad_acks[0]; i++) {
		qids = NULL;
		if (hl_request_parse_ack(bad_acks[i], strlen(bad_acks[i]), &lim, &qids, &n,
		    cause) != HL_EPARSE)
			fail_msg("ack case %zu accepted", i);
		assert_null(qids);
	}
}

static void
test_query_and_text(void **state)
{
	(void)state;
	int64_t v = -1;
	char cause[HL_CAUSE_MAX];
	assert_int_equal(hl_request_parse_int("wait", "30", 0, 60, &v, cause), 0);
	assert_int_equal(v, 30);
	assert_int_equal(hl_request_parse_int("wait", "0", 0, 60, &v, cause), 0);
	assert_int_equal(v, 0);
	static const char *const bad[] = { "", "-1", "61", "1.5", "+3", " 3", "3 ",
	    "abc", "99999999999999999999", "0x10" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (hl_request_parse_int("wait", bad[i], 0, 60, &v, cause) != HL_EPARSE)
			fail_msg("wait '%s' accepted", bad[i]);
		assert_non_null(strstr(cause, "wait: expected an integer from 0 to 60"));
	}
	assert_int_equal(hl_request_parse_search("cert", cause), 0);
	assert_int_equal(hl_request_parse_search("", cause), 0);
	char long_q[200];
	memset(long_q, 'a', 129);
	long_q[129] = '\0';
	assert_int_equal(hl_request_parse_search(long_q, cause), HL_EPARSE);
	assert_int_equal(hl_request_parse_search("a\tb", cause), HL_EPARSE);
	assert_int_equal(hl_request_parse_search("\xc3\x28", cause), HL_EPARSE);
	assert_true(hl_request_text_ok("Tallinn \xc3\xa4", 10));
	assert_false(hl_request_text_ok("\xed\xa0\x80", 3));          /* a surrogate */
	assert_false(hl_request_text_ok("\xc0\xaf", 2));              /* overlong */
	assert_false(hl_request_text_ok("\xe2\x81\xa6", 3));          /* U+2066 */
	assert_false(hl_request_text_ok("ee\xe2\x80\xa8x", 6));        /* U+2028 */
	assert_false(hl_request_text_ok("\xe2\x80\xa9", 3));          /* U+2029 */
	assert_false(hl_request_text_ok("\xe2\x80\x8e", 3));          /* U+200E */
	assert_false(hl_request_text_ok("\xe2\x80\x8f", 3));          /* U+200F */
	assert_false(hl_request_text_ok("a\xd8\x9c", 3));              /* U+061C */
	assert_true(hl_request_text_ok("\xd8\x9b\xe2\x80\x8d", 5));  /* U+061B, U+200D */
	assert_false(hl_request_text_ok("a\x7f", 2));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registration_good),
		cmocka_unit_test(test_registration_bad),
		cmocka_unit_test(test_registration_parts),
		cmocka_unit_test(test_message),
		cmocka_unit_test(test_keys_profile_ack),
		cmocka_unit_test(test_query_and_text),
	};
	return cmocka_run_group_tests(tests, init, NULL);
}
