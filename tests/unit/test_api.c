/* The relay API's JSON, client side: builders checked field by field,
 * parsers fed the documented answers and a table of malformed ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/api.h"
#include "crypto/hl_encode.h"
#include "crypto/hl_err.h"

#define ID_A "0123456789abcdef0123456789abcdef"
#define ID_B "fedcba9876543210fedcba9876543210"
#define TOKEN "00112233445566778899aabbccddeeff" \
	"00112233445566778899aabbccddeeff"
/* 0x05 then 32 bytes of 0x11; the same with a wrong type byte; one byte
 * short; a 64-byte signature of 0x22; 0x05 then 32 bytes of 0x33. */
#define KEY "BRERERERERERERERERERERERERERERERERERERERERER"
#define KEY6 "BhERERERERERERERERERERERERERERERERERERERERER"
#define KEY32 "BRERERERERERERERERERERERERERERERERERERERERE="
#define SIG "IiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIi" \
	"IiIiIiIiIiIiIiIiIiIiIg=="
#define KEY33 "BTMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMz"
#define CT "MwABY2lwaGVydGV4dA=="   /* 33 00 01 "ciphertext" */

#define SPK "{\"id\":3,\"key\":\"" KEY "\",\"signature\":\"" SIG "\"}"
#define BUNDLE_HEAD "{\"handle\":\"fi.ncsc\",\"device_id\":1," \
	"\"registration_id\":812,"
#define BUNDLE_OK BUNDLE_HEAD "\"identity_key\":\"" KEY33 "\"," \
	"\"signed_prekey\":" SPK ",\"prekey\":{\"id\":57,\"key\":\"" KEY "\"}}"

#define MSG_ITEM(qid, rest) "{\"qid\":\"" qid "\",\"kind\":\"message\"," \
	"\"from\":\"ee.cert\",\"from_device\":1,\"id\":\"" ID_A "\"," \
	"\"type\":3,\"body\":\"" CT "\",\"accepted\":1795000000000" rest "}"
#define FETCH(items) "{\"messages\":[" items "],\"prekeys_remaining\":73," \
	"\"more\":false}"
#define ENTRY(rest) "{\"handle\":\"ee.cert\",\"name\":\"CERT-EE\"," \
	"\"identity_key\":\"" KEY "\",\"updated\":1795000000000" rest "}"
#define DIR(entries) "{\"entries\":[" entries "]}"

static uint8_t key_a[HL_KEY_LEN];
static uint8_t key_b[HL_KEY_LEN];
static uint8_t sig_a[HL_SIG_LEN];

static void
fill_keys(void)
{
	memset(key_a, 0x11, sizeof key_a);
	key_a[0] = 0x05;
	memset(key_b, 0x33, sizeof key_b);
	key_b[0] = 0x05;
	memset(sig_a, 0x22, sizeof sig_a);
}

static json_t *
load_obj(const char *s)
{
	json_error_t err;
	json_t *root = json_loads(s, JSON_REJECT_DUPLICATES, &err);
	assert_non_null(root);
	assert_true(json_is_object(root));
	return root;
}

static const char *
str_of(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	assert_non_null(v);
	assert_true(json_is_string(v));
	return json_string_value(v);
}

static json_int_t
int_of(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	assert_non_null(v);
	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

/* Decodes a base64 member and compares it with want. */
static void
assert_b64(json_t *obj, const char *key, const uint8_t *want, size_t len)
{
	uint8_t *bin;
	size_t n;
	const char *s = str_of(obj, key);
	assert_int_equal(hl_b64_decode(s, strlen(s), 1 << 20, &bin, &n, NULL), 0);
	assert_int_equal(n, len);
	assert_memory_equal(bin, want, len);
	free(bin);
}

static void
sample_profile(struct hl_profile *p)
{
	memset(p, 0, sizeof *p);
	strcpy(p->name, "CERT-EE duty officer");
	strcpy(p->organisation, "RIA / CERT-EE");
	strcpy(p->country, "EE");
	strcpy(p->role, "national CSIRT");
	strcpy(p->languages[0], "en");
	strcpy(p->languages[1], "et");
	p->n_languages = 2;
	strcpy(p->timezone, "Europe/Tallinn");
	strcpy(p->alternate, "ee.ria");
}

static void
test_build_message(void **state)
{
	(void)state;
	static const uint8_t ct[] = { 0x33, 0x00, 0x01, 'c', 'i', 'p', 'h', 'e',
	    'r', 't', 'e', 'x', 't' };
	char *s = hl_api_build_message("fi.ncsc", ID_A, HL_MSG_PREKEY, ct,
	    sizeof ct);
	assert_non_null(s);
	assert_string_equal(s, "{\"to\":\"fi.ncsc\",\"id\":\"" ID_A "\","
	    "\"type\":3,\"body\":\"" CT "\"}");
	free(s);
	s = hl_api_build_message("fi.ncsc", ID_B, HL_MSG_SIGNAL, ct, 1);
	json_t *o = load_obj(s);
	assert_string_equal(str_of(o, "to"), "fi.ncsc");
	assert_string_equal(str_of(o, "id"), ID_B);
	assert_int_equal(int_of(o, "type"), 2);
	assert_b64(o, "body", ct, 1);
	assert_int_equal(json_object_size(o), 4);
	json_decref(o);
	free(s);
}

static void
test_build_register(void **state)
{
	(void)state;
	struct hl_bundle id;
	struct hl_prekey_pub pks[3];
	struct hl_profile p;
	memset(&id, 0, sizeof id);
	id.registration_id = 4711;
	id.device_id = 1;
	memcpy(id.identity_key, key_b, HL_KEY_LEN);
	id.signed_prekey.id = 9;
	memcpy(id.signed_prekey.key, key_a, HL_KEY_LEN);
	memcpy(id.signed_prekey.signature, sig_a, HL_SIG_LEN);
	for (size_t i = 0; i < 3; i++) {
		pks[i].id = (uint32_t)(100 + i);
		memset(pks[i].key, (int)(0x40 + i), HL_KEY_LEN);
		pks[i].key[0] = 0x05;
	}
	sample_profile(&p);
	char *s = hl_api_build_register("ee.cert", "K7QD-M2XW-9FHT-R4PV-ZC6N",
	    &id, pks, 3, &p);
	assert_non_null(s);
	assert_null(strstr(s, ", "));
	assert_null(strstr(s, "\": "));
	json_t *o = load_obj(s);
	assert_int_equal(json_object_size(o), 8);
	assert_string_equal(str_of(o, "handle"), "ee.cert");
	assert_string_equal(str_of(o, "code"), "K7QD-M2XW-9FHT-R4PV-ZC6N");
	assert_b64(o, "identity_key", key_b, HL_KEY_LEN);
	assert_int_equal(int_of(o, "registration_id"), 4711);
	assert_int_equal(int_of(o, "device_id"), 1);
	json_t *spk = json_object_get(o, "signed_prekey");
	assert_int_equal(json_object_size(spk), 3);
	assert_int_equal(int_of(spk, "id"), 9);
	assert_b64(spk, "key", key_a, HL_KEY_LEN);
	assert_b64(spk, "signature", sig_a, HL_SIG_LEN);
	json_t *arr = json_object_get(o, "prekeys");
	assert_int_equal(json_array_size(arr), 3);
	for (size_t i = 0; i < 3; i++) {
		json_t *pk = json_array_get(arr, i);
		assert_int_equal(json_object_size(pk), 2);
		assert_int_equal(int_of(pk, "id"), 100 + (json_int_t)i);
		assert_b64(pk, "key", pks[i].key, HL_KEY_LEN);
	}
	json_t *prof = json_object_get(o, "profile");
	assert_int_equal(json_object_size(prof), 7);
	assert_string_equal(str_of(prof, "name"), "CERT-EE duty officer");
	assert_string_equal(str_of(prof, "organisation"), "RIA / CERT-EE");
	assert_string_equal(str_of(prof, "country"), "EE");
	assert_string_equal(str_of(prof, "role"), "national CSIRT");
	json_t *langs = json_object_get(prof, "languages");
	assert_int_equal(json_array_size(langs), 2);
	assert_string_equal(json_string_value(json_array_get(langs, 0)), "en");
	assert_string_equal(json_string_value(json_array_get(langs, 1)), "et");
	assert_string_equal(str_of(prof, "timezone"), "Europe/Tallinn");
	assert_string_equal(str_of(prof, "alternate"), "ee.ria");
	json_decref(o);
	free(s);
}

static void
test_build_profile(void **state)
{
	(void)state;
	struct hl_profile p;
	memset(&p, 0, sizeof p);
	strcpy(p.name, "Duty \"desk\" \xc3\xa9");
	char *s = hl_api_build_profile(&p);
	assert_non_null(s);
	/* Empty country and alternate are left out, the rest is written. */
	assert_string_equal(s, "{\"name\":\"Duty \\\"desk\\\" \xc3\xa9\","
	    "\"organisation\":\"\",\"role\":\"\",\"languages\":[],"
	    "\"timezone\":\"\"}");
	free(s);
	sample_profile(&p);
	s = hl_api_build_profile(&p);
	assert_string_equal(s, "{\"name\":\"CERT-EE duty officer\","
	    "\"organisation\":\"RIA / CERT-EE\",\"country\":\"EE\","
	    "\"role\":\"national CSIRT\",\"languages\":[\"en\",\"et\"],"
	    "\"timezone\":\"Europe/Tallinn\",\"alternate\":\"ee.ria\"}");
	free(s);
	/* Not UTF-8: nothing is built. */
	strcpy(p.name, "bad \xff");
	assert_null(hl_api_build_profile(&p));
}

static void
test_build_keys_and_ack(void **state)
{
	(void)state;
	struct hl_prekey_pub pk = { .id = 7 };
	struct hl_signed_prekey_pub spk = { .id = 2, .created_ms = 99 };
	memcpy(pk.key, key_a, HL_KEY_LEN);
	memcpy(spk.key, key_b, HL_KEY_LEN);
	memcpy(spk.signature, sig_a, HL_SIG_LEN);

	char *s = hl_api_build_keys(&pk, 1, NULL);
	assert_string_equal(s, "{\"prekeys\":[{\"id\":7,\"key\":\"" KEY "\"}]}");
	free(s);
	s = hl_api_build_keys(NULL, 0, &spk);
	json_t *o = load_obj(s);
	assert_int_equal(json_object_size(o), 1);
	json_t *j = json_object_get(o, "signed_prekey");
	assert_int_equal(json_object_size(j), 3);
	assert_int_equal(int_of(j, "id"), 2);
	assert_b64(j, "key", key_b, HL_KEY_LEN);
	assert_b64(j, "signature", sig_a, HL_SIG_LEN);
	json_decref(o);
	free(s);
	s = hl_api_build_keys(&pk, 1, &spk);
	o = load_obj(s);
	assert_int_equal(json_object_size(o), 2);
	assert_int_equal(json_array_size(json_object_get(o, "prekeys")), 1);
	json_decref(o);
	free(s);

	const char *qids[] = { "1842", "1843" };
	s = hl_api_build_ack(qids, 2);
	assert_string_equal(s, "{\"qids\":[\"1842\",\"1843\"]}");
	free(s);
}

static void
test_parse_token(void **state)
{
	(void)state;
	char token[HL_TOKEN_HEX + 1];
	char cause[HL_CAUSE_MAX];
	const char *ok = "{\"handle\":\"ee.cert\",\"token\":\"" TOKEN "\"}";
	assert_int_equal(hl_api_parse_token(ok, strlen(ok), token, cause), 0);
	assert_string_equal(token, TOKEN);
	/* A relay that says more is still understood. */
	const char *more = "{\"handle\":\"ee.cert\",\"token\":\"" TOKEN "\","
	    "\"expires\":null,\"note\":{\"x\":[1]}}";
	memset(token, 0, sizeof token);
	assert_int_equal(hl_api_parse_token(more, strlen(more), token, cause), 0);
	assert_string_equal(token, TOKEN);
}

static void
test_parse_bundle(void **state)
{
	(void)state;
	struct hl_bundle b;
	char cause[HL_CAUSE_MAX];
	assert_int_equal(hl_api_parse_bundle(BUNDLE_OK, strlen(BUNDLE_OK),
	    "fi.ncsc", &b, cause), 0);
	assert_int_equal(b.device_id, 1);
	assert_int_equal(b.registration_id, 812);
	assert_memory_equal(b.identity_key, key_b, HL_KEY_LEN);
	assert_int_equal(b.signed_prekey.id, 3);
	assert_memory_equal(b.signed_prekey.key, key_a, HL_KEY_LEN);
	assert_memory_equal(b.signed_prekey.signature, sig_a, HL_SIG_LEN);
	assert_int_equal(b.has_prekey, 1);
	assert_int_equal(b.prekey.id, 57);
	assert_memory_equal(b.prekey.key, key_a, HL_KEY_LEN);

	/* No one-time prekey left: absent, or null. */
	const char *none = BUNDLE_HEAD "\"identity_key\":\"" KEY33 "\","
	    "\"signed_prekey\":" SPK "}";
	assert_int_equal(hl_api_parse_bundle(none, strlen(none), "fi.ncsc", &b,
	    cause), 0);
	assert_int_equal(b.has_prekey, 0);
	assert_int_equal(b.signed_prekey.id, 3);
	const char *null = BUNDLE_HEAD "\"identity_key\":\"" KEY33 "\","
	    "\"signed_prekey\":" SPK ",\"prekey\":null}";
	assert_int_equal(hl_api_parse_bundle(null, strlen(null), "fi.ncsc", &b,
	    cause), 0);
	assert_int_equal(b.has_prekey, 0);
}

static void
test_parse_counts(void **state)
{
	(void)state;
	char cause[HL_CAUSE_MAX];
	int n = -5;
	const char *k = "{\"prekeys_remaining\":73,\"signed_prekey_id\":4}";
	assert_int_equal(hl_api_parse_key_count(k, strlen(k), &n, cause), 0);
	assert_int_equal(n, 73);
	k = "{\"prekeys_remaining\":0}";
	assert_int_equal(hl_api_parse_key_count(k, strlen(k), &n, cause), 0);
	assert_int_equal(n, 0);

	int64_t ms = 0;
	const char *a = "{\"id\":\"" ID_A "\",\"accepted\":1795000000123}";
	assert_int_equal(hl_api_parse_accepted(a, strlen(a), ID_A, &ms, cause), 0);
	assert_int_equal(ms, 1795000000123LL);
}

static void
test_parse_fetch(void **state)
{
	(void)state;
	char cause[HL_CAUSE_MAX];
	struct hl_fetch f;
	const char *json = "{\"messages\":["
	    MSG_ITEM("1842", ",\"hint\":\"new field\"") ","
	    "{\"qid\":\"1843\",\"kind\":\"expired\",\"id\":\"" ID_B "\","
	    "\"to\":\"lv.cert\",\"accepted\":1792400000000,"
	    "\"at\":1795000000000},"
	    "{\"qid\":\"1844\",\"kind\":\"dropped\",\"id\":\"" ID_A "\","
	    "\"to\":\"xx.cert\",\"accepted\":1794900000000,"
	    "\"at\":1795000000001,\"reason\":\"revoked\"}"
	    "],\"prekeys_remaining\":73,\"more\":true}";
	assert_int_equal(hl_api_parse_fetch(json, strlen(json), &f, cause), 0);
	assert_int_equal(f.n, 3);
	assert_int_equal(f.prekeys_remaining, 73);
	assert_int_equal(f.more, 1);

	struct hl_item *m = &f.items[0];
	static const uint8_t ct[] = { 0x33, 0x00, 0x01, 'c', 'i', 'p', 'h', 'e',
	    'r', 't', 'e', 'x', 't' };
	assert_string_equal(m->qid, "1842");
	assert_int_equal(m->kind, HL_ITEM_MESSAGE);
	assert_string_equal(m->id, ID_A);
	assert_string_equal(m->from, "ee.cert");
	assert_int_equal(m->type, HL_MSG_PREKEY);
	assert_int_equal(m->body_len, sizeof ct);
	assert_memory_equal(m->body, ct, sizeof ct);
	assert_int_equal(m->accepted_ms, 1795000000000LL);

	struct hl_item *e = &f.items[1];
	assert_string_equal(e->qid, "1843");
	assert_int_equal(e->kind, HL_ITEM_EXPIRED);
	assert_string_equal(e->id, ID_B);
	assert_string_equal(e->to, "lv.cert");
	assert_int_equal(e->accepted_ms, 1792400000000LL);
	assert_int_equal(e->at_ms, 1795000000000LL);
	assert_null(e->body);

	struct hl_item *d = &f.items[2];
	assert_int_equal(d->kind, HL_ITEM_DROPPED);
	assert_string_equal(d->to, "xx.cert");
	assert_string_equal(d->reason, "revoked");
	assert_int_equal(d->at_ms, 1795000000001LL);
	hl_api_fetch_free(&f);
	assert_null(f.items);
	assert_int_equal(f.n, 0);

	/* Empty, with no prekey count. */
	const char *empty = "{\"messages\":[],\"more\":false}";
	assert_int_equal(hl_api_parse_fetch(empty, strlen(empty), &f, cause), 0);
	assert_int_equal(f.n, 0);
	assert_int_equal(f.prekeys_remaining, -1);
	assert_int_equal(f.more, 0);
	hl_api_fetch_free(&f);
}

static void
test_parse_directory(void **state)
{
	(void)state;
	char cause[HL_CAUSE_MAX];
	struct hl_dir_entry *e;
	size_t n;
	const char *json = DIR(ENTRY(",\"organisation\":\"RIA\",\"country\":\"EE\","
	    "\"role\":\"CSIRT\",\"languages\":[\"en\",\"et\"],"
	    "\"timezone\":\"Europe/Tallinn\",\"alternate\":\"ee.ria\","
	    "\"since\":5") ","
	    "{\"handle\":\"fi.ncsc\",\"name\":\"NCSC-FI\",\"organisation\":\"\","
	    "\"country\":null,\"role\":\"\",\"languages\":[],\"timezone\":\"\","
	    "\"alternate\":\"\",\"identity_key\":\"" KEY33 "\",\"updated\":7}"
	    "," ENTRY(""));
	assert_int_equal(hl_api_parse_directory(json, strlen(json), &e, &n,
	    cause), 0);
	assert_int_equal(n, 3);
	assert_string_equal(e[0].handle, "ee.cert");
	assert_string_equal(e[0].profile.name, "CERT-EE");
	assert_string_equal(e[0].profile.organisation, "RIA");
	assert_string_equal(e[0].profile.country, "EE");
	assert_string_equal(e[0].profile.role, "CSIRT");
	assert_int_equal(e[0].profile.n_languages, 2);
	assert_string_equal(e[0].profile.languages[0], "en");
	assert_string_equal(e[0].profile.languages[1], "et");
	assert_string_equal(e[0].profile.timezone, "Europe/Tallinn");
	assert_string_equal(e[0].profile.alternate, "ee.ria");
	assert_memory_equal(e[0].identity_key, key_a, HL_KEY_LEN);
	assert_int_equal(e[0].updated_ms, 1795000000000LL);
	assert_string_equal(e[1].handle, "fi.ncsc");
	assert_string_equal(e[1].profile.country, "");
	assert_string_equal(e[1].profile.alternate, "");
	assert_int_equal(e[1].profile.n_languages, 0);
	assert_memory_equal(e[1].identity_key, key_b, HL_KEY_LEN);
	assert_int_equal(e[1].updated_ms, 7);
	assert_string_equal(e[2].profile.organisation, "");
	free(e);

	const char *none = DIR("");
	assert_int_equal(hl_api_parse_directory(none, strlen(none), &e, &n,
	    cause), 0);
	assert_int_equal(n, 0);
	free(e);
}

static void
test_parse_error(void **state)
{
	(void)state;
	char code[32], msg[64];
	const char *j = "{\"error\":{\"code\":\"unknown_recipient\","
	    "\"message\":\"no account 'xx.cert'\"}}";
	hl_api_parse_error(j, strlen(j), code, sizeof code, msg, sizeof msg);
	assert_string_equal(code, "unknown_recipient");
	assert_string_equal(msg, "no account 'xx.cert'");

	hl_api_parse_error("<html>", 6, code, sizeof code, msg, sizeof msg);
	assert_string_equal(code, "");
	assert_string_equal(msg, "");
	j = "{\"error\":\"flat\"}";
	hl_api_parse_error(j, strlen(j), code, sizeof code, msg, sizeof msg);
	assert_string_equal(code, "");
	assert_string_equal(msg, "");
	hl_api_parse_error(NULL, 0, code, sizeof code, msg, sizeof msg);
	assert_string_equal(code, "");

	/* Escapes that would drive a terminal are shown as \x1b-style
	 * escapes, as hotline(1) OUTPUT says; long text is cut. */
	j = "{\"error\":{\"code\":\"bad_request\",\"message\":"
	    "\"a\\u001b[2Jb\\nc\\u0007\\u001b]0;t\\u0007 \\u00e9\"}}";
	hl_api_parse_error(j, strlen(j), code, sizeof code, msg, sizeof msg);
	assert_string_equal(msg, "a\\x1b[2Jb\\x0ac\\x07\\x1b]0;t\\x07 \xc3\xa9");
	char small[5];
	hl_api_parse_error(j, strlen(j), small, sizeof small, NULL, 0);
	assert_string_equal(small, "bad_");
	/* Never cut inside an escape or a character. */
	char cut[4], cut2[3];
	j = "{\"error\":{\"code\":\"x\",\"message\":\"ab\\u001b\"}}";
	hl_api_parse_error(j, strlen(j), NULL, 0, cut, sizeof cut);
	assert_string_equal(cut, "ab");
	j = "{\"error\":{\"code\":\"x\",\"message\":\"a\\u00e9\"}}";
	hl_api_parse_error(j, strlen(j), NULL, 0, cut2, sizeof cut2);
	assert_string_equal(cut2, "a");
}

static void
test_profile_validate(void **state)
{
	(void)state;
	char cause[HL_CAUSE_MAX];
	struct hl_profile p;
	sample_profile(&p);
	assert_int_equal(hl_profile_validate(&p, cause), 0);
	memset(&p, 0, sizeof p);
	strcpy(p.name, "x");
	assert_int_equal(hl_profile_validate(&p, cause), 0);

	static const struct {
		const char *field;   /* changed from the sample */
		const char *value;
		const char *want;    /* in the cause */
	} bad[] = {
		{ "name", "", "profile: name must be 1..128 bytes" },
		{ "name", "\xc3(", "name is not valid UTF-8" },
		{ "country", "ee", "country must be two capital letters" },
		{ "country", "E", "country" },
		{ "country", "E1", "country" },
		{ "timezone", "Europe/\x01", "timezone must be printable" },
		{ "alternate", "X.cert", "alternate must be a handle" },
		{ "alternate", "a", "alternate" },
		{ "lang0", "e", "languages entry 0" },
		{ "lang1", "en_GB", "languages entry 1" },
		{ "lang1", "abcdefghi", "languages entry 1" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		sample_profile(&p);
		const char *f = bad[i].field;
		if (strcmp(f, "name") == 0)
			strcpy(p.name, bad[i].value);
		else if (strcmp(f, "country") == 0)
			strcpy(p.country, bad[i].value);
		else if (strcmp(f, "timezone") == 0)
			strcpy(p.timezone, bad[i].value);
		else if (strcmp(f, "alternate") == 0)
			strcpy(p.alternate, bad[i].value);
		else if (strcmp(f, "lang0") == 0)
			strcpy(p.languages[0], bad[i].value);
		else
			memcpy(p.languages[1], bad[i].value,
			    strlen(bad[i].value) < 9 ? strlen(bad[i].value) + 1 : 9);
		cause[0] = '\0';
		assert_int_equal(hl_profile_validate(&p, cause), HL_EPARSE);
		if (strstr(cause, bad[i].want) == NULL)
			fail_msg("case %zu: cause '%s' lacks '%s'", i, cause,
			    bad[i].want);
	}
	/* Lengths at and over their limits. */
	sample_profile(&p);
	memset(p.organisation, 'o', HL_PROFILE_FIELD_MAX);
	p.organisation[HL_PROFILE_FIELD_MAX] = '\0';
	assert_int_equal(hl_profile_validate(&p, cause), 0);
	p.organisation[HL_PROFILE_FIELD_MAX] = 'o';  /* unterminated */
	assert_int_equal(hl_profile_validate(&p, cause), HL_EPARSE);
	assert_non_null(strstr(cause, "organisation"));
	sample_profile(&p);
	memset(p.timezone, 'T', 64);
	p.timezone[64] = '\0';
	assert_int_equal(hl_profile_validate(&p, cause), 0);
	sample_profile(&p);
	p.n_languages = HL_LANGUAGES_MAX + 1;
	assert_int_equal(hl_profile_validate(&p, cause), HL_EPARSE);
	assert_non_null(strstr(cause, "languages"));
}

enum parser { P_TOKEN, P_BUNDLE, P_KEYS, P_ACCEPTED, P_FETCH, P_DIR };

struct bad_case {
	enum parser parser;
	const char *json;
	int code;
	const char *want;   /* in the cause */
};

static const struct bad_case bad_cases[] = {
	/* not JSON, or not an object */
	{ P_TOKEN, "", HL_EPARSE, "register: not JSON" },
	{ P_TOKEN, "{\"handle\":\"ee.cert\"", HL_EPARSE, "not JSON" },
	{ P_FETCH, "[]", HL_EPARSE, "fetch: the answer is not a JSON object" },
	{ P_FETCH, FETCH("") " trailing", HL_EPARSE, "fetch: not JSON" },
	{ P_KEYS, "{\"prekeys_remaining\":1,\"prekeys_remaining\":2}",
	    HL_EPARSE, "duplicate" },
	/* token */
	{ P_TOKEN, "{\"handle\":\"ee.cert\"}", HL_EPARSE,
	    "register: token: missing" },
	{ P_TOKEN, "{\"handle\":\"ee.cert\",\"token\":\"" ID_A "\"}", HL_EPARSE,
	    "register: token: must be 64 lower-case hex digits" },
	{ P_TOKEN, "{\"handle\":\"ee.cert\",\"token\":42}", HL_EPARSE,
	    "token: must be 64" },
	{ P_TOKEN, "{\"handle\":\"EE\",\"token\":\"" TOKEN "\"}", HL_EPARSE,
	    "register: handle: 'EE' is not a handle" },
	/* bundle */
	{ P_BUNDLE, "{\"handle\":\"ee.cert\",\"device_id\":1}", HL_EPARSE,
	    "bundle: handle: 'ee.cert' is not the handle asked for" },
	{ P_BUNDLE, BUNDLE_HEAD "\"identity_key\":\"" KEY32 "\"}", HL_EPARSE,
	    "bundle: identity_key: base64: expected 33 bytes, got 32" },
	{ P_BUNDLE, BUNDLE_HEAD "\"identity_key\":\"" KEY6 "\"}", HL_EPARSE,
	    "bundle: identity_key: key type 0x06, not 0x05" },
	{ P_BUNDLE, BUNDLE_HEAD "\"identity_key\":\"B*ER\"}", HL_EPARSE,
	    "bundle: identity_key: base64: invalid character or padding at "
	    "offset 1" },
	{ P_BUNDLE, BUNDLE_HEAD "\"identity_key\":\"" KEY "\"}", HL_EPARSE,
	    "bundle: signed_prekey: missing" },
	{ P_BUNDLE, BUNDLE_HEAD "\"identity_key\":\"" KEY "\","
	    "\"signed_prekey\":{\"id\":3,\"key\":\"" KEY "\",\"signature\":\""
	    KEY "\"}}", HL_EPARSE,
	    "bundle: signed_prekey.signature: base64: expected 64 bytes" },
	{ P_BUNDLE, BUNDLE_HEAD "\"identity_key\":\"" KEY "\","
	    "\"signed_prekey\":" SPK ",\"prekey\":{\"id\":0,\"key\":\"" KEY
	    "\"}}", HL_EPARSE, "bundle: prekey.id: 0 is out of range" },
	{ P_BUNDLE, BUNDLE_HEAD "\"identity_key\":\"" KEY "\","
	    "\"signed_prekey\":" SPK ",\"prekey\":[1]}", HL_EPARSE,
	    "bundle: prekey: must be an object" },
	{ P_BUNDLE, "{\"handle\":\"fi.ncsc\",\"device_id\":1,"
	    "\"registration_id\":16381}", HL_EPARSE,
	    "bundle: registration_id: 16381 is out of range 1..16380" },
	{ P_BUNDLE, "{\"handle\":\"fi.ncsc\",\"device_id\":\"1\"}", HL_EPARSE,
	    "bundle: device_id: must be an integer" },
	{ P_BUNDLE, "{\"handle\":\"fi.ncsc\",\"device_id\":1.0}", HL_EPARSE,
	    "bundle: device_id: must be an integer" },
	/* counts and acceptance */
	{ P_KEYS, "{\"prekeys_remaining\":-1}", HL_EPARSE,
	    "keys: prekeys_remaining: -1 is out of range" },
	{ P_KEYS, "{\"prekeys_remaining\":true}", HL_EPARSE,
	    "keys: prekeys_remaining: must be an integer" },
	{ P_KEYS, "{}", HL_EPARSE, "keys: prekeys_remaining: missing" },
	{ P_ACCEPTED, "{\"id\":\"" ID_B "\",\"accepted\":1}", HL_EPARSE,
	    "send: id: " ID_B " is not the id of the message sent" },
	{ P_ACCEPTED, "{\"id\":\"" ID_A "\",\"accepted\":0}", HL_EPARSE,
	    "send: accepted: 0 is out of range" },
	{ P_ACCEPTED, "{\"id\":\"0123456789ABCDEF0123456789abcdef\","
	    "\"accepted\":1}", HL_EPARSE,
	    "send: id: must be 32 lower-case hex digits" },
	/* fetch */
	{ P_FETCH, "{\"more\":false}", HL_EPARSE, "fetch: messages: missing" },
	{ P_FETCH, "{\"messages\":{},\"more\":false}", HL_EPARSE,
	    "fetch: messages: must be an array" },
	{ P_FETCH, "{\"messages\":[]}", HL_EPARSE, "fetch: more: missing" },
	{ P_FETCH, "{\"messages\":[],\"more\":0}", HL_EPARSE,
	    "fetch: more: must be true or false" },
	{ P_FETCH, "{\"messages\":[],\"more\":false,\"prekeys_remaining\":-3}",
	    HL_EPARSE, "fetch: prekeys_remaining: -3 is out of range" },
	{ P_FETCH, FETCH("7"), HL_EPARSE, "fetch: messages[0]: must be an "
	    "object" },
	{ P_FETCH, FETCH(MSG_ITEM("1", "") "," MSG_ITEM("", "")), HL_EPARSE,
	    "fetch: messages[1].qid: must be a string of 1..24 decimal digits" },
	{ P_FETCH, FETCH(MSG_ITEM("12a", "")), HL_EPARSE,
	    "fetch: messages[0].qid" },
	{ P_FETCH, FETCH(MSG_ITEM("1234567890123456789012345", "")), HL_EPARSE,
	    "fetch: messages[0].qid" },
	{ P_FETCH, FETCH("{\"qid\":\"5\",\"kind\":\"letter\"}"), HL_EPARSE,
	    "fetch: messages[0].kind: unknown kind 'letter'" },
	{ P_FETCH, FETCH("{\"qid\":\"5\",\"kind\":\"message\",\"from\":"
	    "\"ee.cert\",\"from_device\":1,\"id\":\"" ID_A "\",\"type\":4,"
	    "\"body\":\"" CT "\",\"accepted\":1}"), HL_EPARSE,
	    "fetch: messages[0].type: 4 is out of range 2..3" },
	{ P_FETCH, FETCH(MSG_ITEM("1", "") "," MSG_ITEM("2", "") ","
	    MSG_ITEM("3", "") ",{\"qid\":\"5\",\"kind\":\"message\",\"from\":"
	    "\"ee.cert\",\"from_device\":1,\"id\":\"" ID_A "\",\"type\":2,"
	    "\"body\":\"MwABY*lw\",\"accepted\":1}"), HL_EPARSE,
	    "fetch: messages[3].body: base64: invalid character or padding at "
	    "offset 5" },
	{ P_FETCH, FETCH("{\"qid\":\"5\",\"kind\":\"message\",\"from\":"
	    "\"Ee.cert\",\"from_device\":1,\"id\":\"" ID_A "\",\"type\":2,"
	    "\"body\":\"" CT "\",\"accepted\":1}"), HL_EPARSE,
	    "fetch: messages[0].from: 'Ee.cert' is not a handle" },
	{ P_FETCH, FETCH("{\"qid\":\"5\",\"kind\":\"message\",\"from\":"
	    "\"ee.cert\",\"from_device\":1,\"id\":\"" ID_A "\",\"type\":2,"
	    "\"body\":\"\",\"accepted\":1}"), HL_EPARSE,
	    "fetch: messages[0].body: empty ciphertext" },
	{ P_FETCH, FETCH("{\"qid\":\"5\",\"kind\":\"expired\",\"id\":\"" ID_A
	    "\",\"accepted\":1,\"at\":2}"), HL_EPARSE,
	    "fetch: messages[0].to: missing" },
	{ P_FETCH, FETCH("{\"qid\":\"5\",\"kind\":\"dropped\",\"id\":\"" ID_A
	    "\",\"to\":\"xx.cert\",\"accepted\":1,\"at\":2}"), HL_EPARSE,
	    "fetch: messages[0].reason: missing" },
	{ P_FETCH, FETCH("{\"qid\":\"5\",\"kind\":\"dropped\",\"id\":\"" ID_A
	    "\",\"to\":\"xx.cert\",\"accepted\":1,\"at\":2,\"reason\":"
	    "\"\\u0007\"}"), HL_EPARSE,
	    "fetch: messages[0].reason: must be printable ASCII" },
	{ P_FETCH, FETCH("{\"qid\":\"5\",\"kind\":\"message\",\"id\":\"" ID_A
	    "\",\"accepted\":-1}"), HL_EPARSE,
	    "fetch: messages[0].accepted: -1 is out of range" },
	/* directory */
	{ P_DIR, "{\"entries\":null}", HL_EPARSE, "directory: entries: missing" },
	{ P_DIR, DIR("{\"handle\":\"ee.cert\"}"), HL_EPARSE,
	    "directory: entries[0].name: missing" },
	{ P_DIR, DIR(ENTRY(",\"country\":\"ee\"")), HL_EPARSE,
	    "directory: entries[0].country: must be two capital letters" },
	{ P_DIR, DIR(ENTRY(",\"languages\":[\"en\",7]")), HL_EPARSE,
	    "directory: entries[0].languages: entry 1 must be a string" },
	{ P_DIR, DIR(ENTRY(",\"languages\":[\"a\",\"b\",\"c\",\"d\",\"e\","
	    "\"f\",\"g\",\"h\",\"i\"]")), HL_EPARSE,
	    "directory: entries[0].languages: more than 8 entries" },
	{ P_DIR, DIR(ENTRY(",\"alternate\":\"-x\"")), HL_EPARSE,
	    "directory: entries[0].alternate: must be a handle or absent" },
	{ P_DIR, DIR(ENTRY("") ",{\"handle\":\"fi.ncsc\",\"name\":\"N\","
	    "\"identity_key\":\"" KEY6 "\",\"updated\":1}"), HL_EPARSE,
	    "directory: entries[1].identity_key: key type 0x06" },
	{ P_DIR, DIR("{\"handle\":\"fi.ncsc\",\"name\":\"N\","
	    "\"identity_key\":\"" KEY "\",\"updated\":\"now\"}"), HL_EPARSE,
	    "directory: entries[0].updated: must be an integer" },
};

static int
run_parser(const struct bad_case *c, char *cause)
{
	size_t len = strlen(c->json);
	switch (c->parser) {
	case P_TOKEN: {
		char token[HL_TOKEN_HEX + 1] = "untouched";
		int rc = hl_api_parse_token(c->json, len, token, cause);
		assert_string_equal(token, "untouched");
		return rc;
	}
	case P_BUNDLE: {
		struct hl_bundle b;
		int rc = hl_api_parse_bundle(c->json, len, "fi.ncsc", &b, cause);
		assert_int_equal(b.has_prekey, 0);
		assert_int_equal(b.registration_id, 0);
		return rc;
	}
	case P_KEYS: {
		int n = -7;
		int rc = hl_api_parse_key_count(c->json, len, &n, cause);
		assert_int_equal(n, -7);
		return rc;
	}
	case P_ACCEPTED: {
		int64_t ms = -7;
		int rc = hl_api_parse_accepted(c->json, len, ID_A, &ms, cause);
		assert_int_equal(ms, -7);
		return rc;
	}
	case P_FETCH: {
		struct hl_fetch f;
		int rc = hl_api_parse_fetch(c->json, len, &f, cause);
		if (rc != 0) {
			assert_null(f.items);
			assert_int_equal(f.n, 0);
			return rc;
		}
		/* An item the relay can be told about is kept as invalid, with
		 * why, rather than failing the whole answer. */
		int err = 0;
		for (size_t i = 0; i < f.n && err == 0; i++)
			if (f.items[i].kind == HL_ITEM_INVALID) {
				assert_null(f.items[i].body);
				err = f.items[i].err;
				snprintf(cause, HL_CAUSE_MAX, "%s", f.items[i].error);
			}
		hl_api_fetch_free(&f);
		return err;
	}
	case P_DIR: {
		struct hl_dir_entry *e = (struct hl_dir_entry *)&e;
		size_t n = 9;
		int rc = hl_api_parse_directory(c->json, len, &e, &n, cause);
		assert_null(e);
		assert_int_equal(n, 0);
		return rc;
	}
	}
	fail();
	return 0;
}

static void
test_malformed(void **state)
{
	(void)state;
	size_t count = sizeof bad_cases / sizeof bad_cases[0];
	assert_true(count >= 25);
	for (size_t i = 0; i < count; i++) {
		char cause[HL_CAUSE_MAX] = "";
		int rc = run_parser(&bad_cases[i], cause);
		if (rc != bad_cases[i].code || strstr(cause,
		    bad_cases[i].want) == NULL)
			fail_msg("case %zu: got %d '%s', want %d '%s'", i, rc,
			    cause, bad_cases[i].code, bad_cases[i].want);
	}
}

/* Appends n copies of item, comma-separated, between head and tail. */
static char *
repeat(const char *head, const char *item, size_t n, const char *tail)
{
	size_t len = strlen(head) + n * (strlen(item) + 1) + strlen(tail) + 1;
	char *s = malloc(len);
	assert_non_null(s);
	strcpy(s, head);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strcat(s, ",");
		strcat(s, item);
	}
	strcat(s, tail);
	return s;
}

static void
test_limits(void **state)
{
	(void)state;
	char cause[HL_CAUSE_MAX];
	struct hl_fetch f;
	char *s = repeat("{\"messages\":[", MSG_ITEM("9", ""), HL_API_FETCH_MAX,
	    "],\"more\":true}");
	assert_int_equal(hl_api_parse_fetch(s, strlen(s), &f, cause), 0);
	assert_int_equal(f.n, HL_API_FETCH_MAX);
	assert_string_equal(f.items[HL_API_FETCH_MAX - 1].qid, "9");
	hl_api_fetch_free(&f);
	free(s);
	s = repeat("{\"messages\":[", "{}", HL_API_FETCH_MAX + 1,
	    "],\"more\":true}");
	assert_int_equal(hl_api_parse_fetch(s, strlen(s), &f, cause), HL_ETOOBIG);
	assert_non_null(strstr(cause, "fetch: messages: 1001 entries, at most "
	    "1000"));
	free(s);

	struct hl_dir_entry *e;
	size_t n;
	s = repeat("{\"entries\":[", ENTRY(""), HL_API_DIR_MAX, "]}");
	assert_int_equal(hl_api_parse_directory(s, strlen(s), &e, &n, cause), 0);
	assert_int_equal(n, HL_API_DIR_MAX);
	free(e);
	free(s);
	s = repeat("{\"entries\":[", "{}", HL_API_DIR_MAX + 1, "]}");
	assert_int_equal(hl_api_parse_directory(s, strlen(s), &e, &n, cause),
	    HL_ETOOBIG);
	assert_non_null(strstr(cause, "directory: entries: 1001 entries"));
	free(s);

	/* A ciphertext of exactly 128 KiB passes, one byte more does not. */
	size_t max = 128 * 1024;
	uint8_t *ct = malloc(max + 1);
	assert_non_null(ct);
	memset(ct, 0xa5, max + 1);
	for (size_t extra = 0; extra < 2; extra++) {
		char *b64 = hl_b64_encode(ct, max + extra);
		size_t len = strlen(b64) + 512;
		char *json = malloc(len);
		assert_non_null(json);
		snprintf(json, len, "{\"messages\":[{\"qid\":\"1\",\"kind\":"
		    "\"message\",\"from\":\"ee.cert\",\"from_device\":1,"
		    "\"id\":\"" ID_A "\",\"type\":2,\"body\":\"%s\","
		    "\"accepted\":1}],\"more\":false}", b64);
		int rc = hl_api_parse_fetch(json, strlen(json), &f, cause);
		if (extra == 0) {
			assert_int_equal(rc, 0);
			assert_int_equal(f.items[0].body_len, max);
			assert_memory_equal(f.items[0].body, ct, max);
			hl_api_fetch_free(&f);
		} else {
			/* Too big for this client: a record of it, not a stall. */
			assert_int_equal(rc, 0);
			assert_int_equal(f.n, 1);
			assert_int_equal(f.items[0].kind, HL_ITEM_INVALID);
			assert_int_equal(f.items[0].err, HL_ETOOBIG);
			assert_string_equal(f.items[0].qid, "1");
			assert_string_equal(f.items[0].from, "ee.cert");
			assert_non_null(strstr(f.items[0].error,
			    "fetch: messages[0].body: base64: more than 131072"));
			hl_api_fetch_free(&f);
		}
		free(json);
		free(b64);
	}
	free(ct);
}

/* Whatever a builder writes, the relay side of the contract reads back:
 * the builder's message parsed as the relay would, then a fetch answer
 * holding that body parsed by the client. */
static void
test_message_round_trip(void **state)
{
	(void)state;
	char cause[HL_CAUSE_MAX];
	uint8_t ct[300];
	for (size_t i = 0; i < sizeof ct; i++)
		ct[i] = (uint8_t)(i * 7);
	char *s = hl_api_build_message("lv.cert", ID_B, HL_MSG_SIGNAL, ct,
	    sizeof ct);
	json_t *o = load_obj(s);
	char *answer = malloc(strlen(s) + 512);
	assert_non_null(answer);
	sprintf(answer, "{\"messages\":[{\"qid\":\"77\",\"kind\":\"message\","
	    "\"from\":\"ee.cert\",\"from_device\":1,\"id\":\"%s\",\"type\":%d,"
	    "\"body\":\"%s\",\"accepted\":5}],\"more\":false,"
	    "\"prekeys_remaining\":0}", str_of(o, "id"), (int)int_of(o, "type"),
	    str_of(o, "body"));
	struct hl_fetch f;
	assert_int_equal(hl_api_parse_fetch(answer, strlen(answer), &f, cause), 0);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.items[0].id, ID_B);
	assert_int_equal(f.items[0].type, HL_MSG_SIGNAL);
	assert_int_equal(f.items[0].body_len, sizeof ct);
	assert_memory_equal(f.items[0].body, ct, sizeof ct);
	assert_int_equal(f.prekeys_remaining, 0);
	hl_api_fetch_free(&f);
	free(answer);
	json_decref(o);
	free(s);
}

int
main(void)
{
	fill_keys();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_message),
		cmocka_unit_test(test_build_register),
		cmocka_unit_test(test_build_profile),
		cmocka_unit_test(test_build_keys_and_ack),
		cmocka_unit_test(test_parse_token),
		cmocka_unit_test(test_parse_bundle),
		cmocka_unit_test(test_parse_counts),
		cmocka_unit_test(test_parse_fetch),
		cmocka_unit_test(test_parse_directory),
		cmocka_unit_test(test_parse_error),
		cmocka_unit_test(test_profile_validate),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_message_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
