/*
 * Known-answer tests for the libsignal crypto provider: RFC 4231
 * (HMAC-SHA256), FIPS 180-4 (SHA-512), NIST SP 800-38A (AES-CBC, AES-CTR),
 * the CBC padding checks, and the provider as libsignal itself drives it
 * (RFC 5869 HKDF, the published safety-number vector).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <curve.h>
#include <fingerprint.h>
#include <hkdf.h>

#include "crypto/hl_encode.h"
#include "crypto/hl_provider.h"

#define AES_BLOCK 16

/* Stands for "some earlier value" in output pointers, so a test sees
 * whether a failing call reset them to NULL. */
static char stale;
#define STALE ((void *)&stale)

static signal_crypto_provider
provider(void)
{
	signal_crypto_provider p;
	/* Garbage first, so a callback the fill forgot would crash a test. */
	memset(&p, 0xa5, sizeof(p));
	hl_provider_fill(&p);
	return p;
}

/* Decodes a hex literal into out (room for strlen(hex) / 2 bytes). */
static size_t
unhex(const char *hex, uint8_t *out)
{
	size_t n = strlen(hex) / 2;
	assert_int_equal(strlen(hex) % 2, 0);
	assert_int_equal(hl_hex_decode_exact(hex, out, n), 0);
	return n;
}

static void
assert_buffer_hex(signal_buffer *b, const char *hex)
{
	uint8_t want[256];
	assert_true(strlen(hex) / 2 <= sizeof(want));
	size_t n = unhex(hex, want);
	assert_non_null(b);
	assert_int_equal(signal_buffer_len(b), n);
	assert_memory_equal(signal_buffer_data(b), want, n);
}

/* ---- HMAC-SHA256 ---- */

/* HMAC of data under key, fed in pieces of at most piece bytes (with an
 * empty update first), compared with want_hex. */
static void
check_hmac(const uint8_t *key, size_t key_len, const uint8_t *data,
    size_t data_len, size_t piece, const char *want_hex)
{
	signal_crypto_provider p = provider();
	void *ctx = STALE;
	signal_buffer *mac = STALE;

	assert_int_equal(p.hmac_sha256_init_func(&ctx, key, key_len, NULL), 0);
	assert_non_null(ctx);
	assert_int_equal(p.hmac_sha256_update_func(ctx, data, 0, NULL), 0);
	for (size_t at = 0; at < data_len; at += piece) {
		size_t n = data_len - at < piece ? data_len - at : piece;
		assert_int_equal(p.hmac_sha256_update_func(ctx, data + at, n,
		    NULL), 0);
	}
	assert_int_equal(p.hmac_sha256_final_func(ctx, &mac, NULL), 0);
	assert_buffer_hex(mac, want_hex);
	signal_buffer_free(mac);
	p.hmac_sha256_cleanup_func(ctx, NULL);
}

/* Every RFC 4231 case, whole and in uneven pieces. */
static void
check_hmac_pieces(const uint8_t *key, size_t key_len, const uint8_t *data,
    size_t data_len, const char *want_hex)
{
	static const size_t pieces[] = { 1000, 1, 7, 64, 65 };
	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++)
		check_hmac(key, key_len, data, data_len, pieces[i], want_hex);
}

static void
test_hmac_rfc4231_case1(void **state)
{
	uint8_t key[20];
	(void)state;
	memset(key, 0x0b, sizeof(key));
	check_hmac_pieces(key, sizeof(key), (const uint8_t *)"Hi There", 8,
	    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

static void
test_hmac_rfc4231_case2(void **state)
{
	const char *data = "what do ya want for nothing?";
	(void)state;
	check_hmac_pieces((const uint8_t *)"Jefe", 4, (const uint8_t *)data,
	    strlen(data),
	    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void
test_hmac_rfc4231_case3(void **state)
{
	uint8_t key[20], data[50];
	(void)state;
	memset(key, 0xaa, sizeof(key));
	memset(data, 0xdd, sizeof(data));
	check_hmac_pieces(key, sizeof(key), data, sizeof(data),
	    "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
}

static void
test_hmac_rfc4231_case4(void **state)
{
	uint8_t key[25], data[50];
	(void)state;
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i + 1);
	memset(data, 0xcd, sizeof(data));
	check_hmac_pieces(key, sizeof(key), data, sizeof(data),
	    "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
}

static void
test_hmac_rfc4231_case6(void **state)
{
	const char *data = "Test Using Larger Than Block-Size Key - Hash Key First";
	uint8_t key[131];
	(void)state;
	memset(key, 0xaa, sizeof(key));
	check_hmac_pieces(key, sizeof(key), (const uint8_t *)data, strlen(data),
	    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void
test_hmac_rfc4231_case7(void **state)
{
	const char *data = "This is a test using a larger than block-size key "
	    "and a larger than block-size data. The key needs to be hashed "
	    "before being used by the HMAC algorithm.";
	uint8_t key[131];
	(void)state;
	memset(key, 0xaa, sizeof(key));
	check_hmac_pieces(key, sizeof(key), (const uint8_t *)data, strlen(data),
	    "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

/* An empty key is legal HMAC (OpenSSL would read NULL as "no key"). */
static void
test_hmac_empty_key(void **state)
{
	static const uint8_t one[1];
	(void)state;
	check_hmac(NULL, 0, NULL, 0, 1,
	    "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
	check_hmac(one, 0, NULL, 0, 1,
	    "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

/* libsignal leaves the context uninitialised and always calls cleanup. */
static void
test_hmac_failure_paths(void **state)
{
	signal_crypto_provider p = provider();
	void *ctx = STALE;
	signal_buffer *mac = STALE;
	(void)state;

	assert_int_equal(p.hmac_sha256_init_func(&ctx, NULL, 5, NULL),
	    SG_ERR_INVAL);
	assert_null(ctx);
	p.hmac_sha256_cleanup_func(ctx, NULL);
	p.hmac_sha256_cleanup_func(NULL, NULL);
	assert_int_equal(p.hmac_sha256_update_func(NULL,
	    (const uint8_t *)"x", 1, NULL), SG_ERR_INVAL);
	assert_int_equal(p.hmac_sha256_final_func(NULL, &mac, NULL),
	    SG_ERR_INVAL);
	assert_null(mac);
}

/* ---- SHA-512 ---- */

#define SHA512_ABC \
	"ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a" \
	"2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
#define SHA512_EMPTY \
	"cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce" \
	"47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
#define SHA512_896 \
	"8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018" \
	"501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909"
static const char msg_896[] =
	"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
	"hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

static void
sha512_final_is(signal_crypto_provider *p, void *ctx, const char *want_hex)
{
	signal_buffer *md = STALE;
	assert_int_equal(p->sha512_digest_final_func(ctx, &md, NULL), 0);
	assert_buffer_hex(md, want_hex);
	signal_buffer_free(md);
}

static void
test_sha512_fips180(void **state)
{
	signal_crypto_provider p = provider();
	void *ctx = STALE;
	(void)state;

	assert_int_equal(strlen(msg_896), 112);
	assert_int_equal(p.sha512_digest_init_func(&ctx, NULL), 0);
	assert_non_null(ctx);
	assert_int_equal(p.sha512_digest_update_func(ctx,
	    (const uint8_t *)"abc", 3, NULL), 0);
	sha512_final_is(&p, ctx, SHA512_ABC);

	/* The two-block message, split across the block boundary. */
	assert_int_equal(p.sha512_digest_update_func(ctx,
	    (const uint8_t *)msg_896, 100, NULL), 0);
	assert_int_equal(p.sha512_digest_update_func(ctx, NULL, 0, NULL), 0);
	assert_int_equal(p.sha512_digest_update_func(ctx,
	    (const uint8_t *)msg_896 + 100, 12, NULL), 0);
	sha512_final_is(&p, ctx, SHA512_896);
	p.sha512_digest_cleanup_func(ctx, NULL);
}

/* fingerprint.c calls final in a loop on one context. */
static void
test_sha512_final_resets(void **state)
{
	signal_crypto_provider p = provider();
	void *ctx = NULL;
	(void)state;

	assert_int_equal(p.sha512_digest_init_func(&ctx, NULL), 0);
	assert_int_equal(p.sha512_digest_update_func(ctx,
	    (const uint8_t *)"abc", 3, NULL), 0);
	sha512_final_is(&p, ctx, SHA512_ABC);
	sha512_final_is(&p, ctx, SHA512_EMPTY);
	sha512_final_is(&p, ctx, SHA512_EMPTY);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(p.sha512_digest_update_func(ctx,
		    (const uint8_t *)msg_896, 112, NULL), 0);
		sha512_final_is(&p, ctx, SHA512_896);
	}
	p.sha512_digest_cleanup_func(ctx, NULL);
}

static void
test_sha512_failure_paths(void **state)
{
	signal_crypto_provider p = provider();
	signal_buffer *md = STALE;
	(void)state;

	p.sha512_digest_cleanup_func(NULL, NULL);
	assert_int_equal(p.sha512_digest_final_func(NULL, &md, NULL),
	    SG_ERR_INVAL);
	assert_null(md);
	assert_int_equal(p.sha512_digest_update_func(NULL,
	    (const uint8_t *)"x", 1, NULL), SG_ERR_INVAL);
}

/* ---- AES: NIST SP 800-38A ---- */

#define SP_PLAIN \
	"6bc1bee22e409f96e93d7e117393172a" "ae2d8a571e03ac9c9eb76fac45af8e51" \
	"30c81c46a35ce411e5fbc1191a0a52ef" "f69f2445df4f9b17ad2b417be66c3710"
#define SP_CBC_IV "000102030405060708090a0b0c0d0e0f"
#define SP_CTR_IV "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
#define SP_KEY128 "2b7e151628aed2a6abf7158809cf4f3c"
#define SP_KEY192 "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b"
#define SP_KEY256 \
	"603deb1015ca71be2b73aef0857d7781" "1f352c073b6108d72d9810a30914dff4"
/* F.2.1, F.2.3, F.2.5 */
#define SP_CBC128 \
	"7649abac8119b246cee98e9b12e9197d" "5086cb9b507219ee95db113a917678b2" \
	"73bed6b8e3c1743b7116e69e22229516" "3ff1caa1681fac09120eca307586e1a7"
#define SP_CBC192 \
	"4f021db243bc633d7178183a9fa071e8" "b4d9ada9ad7dedf4e5e738763f69145a" \
	"571b242012fb7ae07fa9baac3df102e0" "08b0e27988598881d920a9e64f5615cd"
#define SP_CBC256 \
	"f58c4c04d6e5f1ba779eabfb5f7bfbd6" "9cfc4e967edb808d679f777bc6702c7d" \
	"39f23369a9d9bacfa530e26304231461" "b2eb05e2c39be9fcda6c19078c6a9d1b"
/* The PKCS#5 block that follows each: sixteen 0x10 bytes under CBC. */
#define PAD_CBC128 "8cb82807230e1321d3fae00d18cc2012"
#define PAD_CBC192 "612ccd79224b350935d45dd6a98f8176"
#define PAD_CBC256 "3f461796d6b0d6b2e0c2a72b4d80e644"
/* F.5.1, F.5.3, F.5.5 */
#define SP_CTR128 \
	"874d6191b620e3261bef6864990db6ce" "9806f66b7970fdff8617187bb9fffdff" \
	"5ae4df3edbd5d35e5b4f09020db03eab" "1e031dda2fbe03d1792170a0f3009cee"
#define SP_CTR192 \
	"1abc932417521ca24f2b0459fe7e6e0b" "090339ec0aa6faefd5ccc2c6f4ce8e94" \
	"1e36b26bd1ebc670d1bd1d665620abf7" "4f78a7f6d29809585a97daec58c6b050"
#define SP_CTR256 \
	"601ec313775789a5b7a7f504bbf3d228" "f443e3ca4d62b59aca84e990cacaf5c5" \
	"2b0930daa23de94ce87017ba2d84988d" "dfc9c58db67aada613c2dd08457941a6"

struct aes_vector {
	int cipher;
	const char *key;
	const char *iv;
	const char *plain;
	const char *cipher_text;   /* the 64 bytes NIST gives */
	const char *pad_block;     /* CBC only */
};

static const struct aes_vector sp800_38a[] = {
	{ SG_CIPHER_AES_CBC_PKCS5, SP_KEY128, SP_CBC_IV, SP_PLAIN, SP_CBC128,
	  PAD_CBC128 },
	{ SG_CIPHER_AES_CBC_PKCS5, SP_KEY192, SP_CBC_IV, SP_PLAIN, SP_CBC192,
	  PAD_CBC192 },
	{ SG_CIPHER_AES_CBC_PKCS5, SP_KEY256, SP_CBC_IV, SP_PLAIN, SP_CBC256,
	  PAD_CBC256 },
	{ SG_CIPHER_AES_CTR_NOPADDING, SP_KEY128, SP_CTR_IV, SP_PLAIN,
	  SP_CTR128, NULL },
	{ SG_CIPHER_AES_CTR_NOPADDING, SP_KEY192, SP_CTR_IV, SP_PLAIN,
	  SP_CTR192, NULL },
	{ SG_CIPHER_AES_CTR_NOPADDING, SP_KEY256, SP_CTR_IV, SP_PLAIN,
	  SP_CTR256, NULL },
};

/* Key and IV of one vector, decoded. */
struct aes_args {
	uint8_t key[32];
	size_t key_len;
	uint8_t iv[16];
};

static void
aes_args_of(const struct aes_vector *v, struct aes_args *a)
{
	a->key_len = unhex(v->key, a->key);
	assert_int_equal(unhex(v->iv, a->iv), sizeof(a->iv));
}

static signal_buffer *
encrypt_ok(int cipher, const struct aes_args *a, const uint8_t *in,
    size_t len)
{
	signal_crypto_provider p = provider();
	signal_buffer *out = STALE;
	assert_int_equal(p.encrypt_func(&out, cipher, a->key, a->key_len, a->iv,
	    sizeof(a->iv), in, len, NULL), 0);
	assert_non_null(out);
	return out;
}

static signal_buffer *
decrypt_ok(int cipher, const struct aes_args *a, const uint8_t *in,
    size_t len)
{
	signal_crypto_provider p = provider();
	signal_buffer *out = STALE;
	assert_int_equal(p.decrypt_func(&out, cipher, a->key, a->key_len, a->iv,
	    sizeof(a->iv), in, len, NULL), 0);
	assert_non_null(out);
	return out;
}

static void
check_encrypt_vector(const struct aes_vector *v)
{
	struct aes_args a;
	uint8_t plain[64], want[80];
	aes_args_of(v, &a);
	assert_int_equal(unhex(v->plain, plain), 64);
	assert_int_equal(unhex(v->cipher_text, want), 64);

	signal_buffer *ct = encrypt_ok(v->cipher, &a, plain, sizeof(plain));
	if (v->cipher == SG_CIPHER_AES_CBC_PKCS5) {
		/* NIST's vectors are unpadded; ours gain one full pad block. */
		assert_int_equal(unhex(v->pad_block, want + 64), 16);
		assert_int_equal(signal_buffer_len(ct), 80);
		assert_memory_equal(signal_buffer_data(ct), want, 80);
	} else {
		assert_int_equal(signal_buffer_len(ct), 64);
		assert_memory_equal(signal_buffer_data(ct), want, 64);
	}
	signal_buffer_free(ct);
}

static void
check_decrypt_vector(const struct aes_vector *v)
{
	struct aes_args a;
	uint8_t want[64], ct[80];
	size_t ct_len;
	aes_args_of(v, &a);
	assert_int_equal(unhex(v->plain, want), 64);
	ct_len = unhex(v->cipher_text, ct);
	if (v->cipher == SG_CIPHER_AES_CBC_PKCS5)
		ct_len += unhex(v->pad_block, ct + 64);

	signal_buffer *pt = decrypt_ok(v->cipher, &a, ct, ct_len);
	assert_int_equal(signal_buffer_len(pt), 64);
	assert_memory_equal(signal_buffer_data(pt), want, 64);
	signal_buffer_bzero_free(pt);
}

/* F.2.5 CBC-AES256.Encrypt and F.5.5 CTR-AES256.Encrypt. */
static void
test_aes256_encrypt_sp800_38a(void **state)
{
	(void)state;
	check_encrypt_vector(&sp800_38a[2]);
	check_encrypt_vector(&sp800_38a[5]);
}

/* F.2.6 CBC-AES256.Decrypt and F.5.6 CTR-AES256.Decrypt. */
static void
test_aes256_decrypt_sp800_38a(void **state)
{
	(void)state;
	check_decrypt_vector(&sp800_38a[2]);
	check_decrypt_vector(&sp800_38a[5]);
}

/* The key length alone picks AES-128 and AES-192 (F.2.1-F.2.4,
 * F.5.1-F.5.4). */
static void
test_aes128_aes192_by_key_length(void **state)
{
	static const size_t which[] = { 0, 1, 3, 4 };
	(void)state;
	for (size_t i = 0; i < sizeof(which) / sizeof(which[0]); i++) {
		check_encrypt_vector(&sp800_38a[which[i]]);
		check_decrypt_vector(&sp800_38a[which[i]]);
	}
}

/* Every plaintext length from 0 to 49 comes back whole; CBC always adds
 * 1..16 bytes, CTR none. */
static void
test_aes_round_trip_lengths(void **state)
{
	uint8_t plain[49];
	(void)state;
	for (size_t i = 0; i < sizeof(plain); i++)
		plain[i] = (uint8_t)(0x30 + i);
	for (size_t v = 0; v < sizeof(sp800_38a) / sizeof(sp800_38a[0]); v++) {
		struct aes_args a;
		int cipher = sp800_38a[v].cipher;
		aes_args_of(&sp800_38a[v], &a);
		for (size_t len = 0; len <= sizeof(plain); len++) {
			size_t want = cipher == SG_CIPHER_AES_CBC_PKCS5 ?
			    (len / AES_BLOCK + 1) * AES_BLOCK : len;
			signal_buffer *ct = encrypt_ok(cipher, &a, plain, len);
			assert_int_equal(signal_buffer_len(ct), want);
			signal_buffer *pt = decrypt_ok(cipher, &a,
			    signal_buffer_data(ct), signal_buffer_len(ct));
			assert_int_equal(signal_buffer_len(pt), len);
			if (len > 0)
				assert_memory_equal(signal_buffer_data(pt),
				    plain, len);
			signal_buffer_free(ct);
			signal_buffer_bzero_free(pt);
		}
	}
}

/* CTR is a stream: a prefix of the plaintext gives a prefix of the
 * ciphertext, and an empty input an empty output both ways. */
static void
test_aes_ctr_any_length(void **state)
{
	struct aes_args a;
	uint8_t plain[64], want[64];
	(void)state;
	aes_args_of(&sp800_38a[5], &a);
	unhex(SP_PLAIN, plain);
	unhex(SP_CTR256, want);

	signal_buffer *ct = encrypt_ok(SG_CIPHER_AES_CTR_NOPADDING, &a, plain,
	    37);
	assert_int_equal(signal_buffer_len(ct), 37);
	assert_memory_equal(signal_buffer_data(ct), want, 37);
	signal_buffer_free(ct);

	signal_buffer *pt = decrypt_ok(SG_CIPHER_AES_CTR_NOPADDING, &a, want,
	    37);
	assert_int_equal(signal_buffer_len(pt), 37);
	assert_memory_equal(signal_buffer_data(pt), plain, 37);
	signal_buffer_bzero_free(pt);

	ct = encrypt_ok(SG_CIPHER_AES_CTR_NOPADDING, &a, NULL, 0);
	assert_int_equal(signal_buffer_len(ct), 0);
	signal_buffer_free(ct);
	pt = decrypt_ok(SG_CIPHER_AES_CTR_NOPADDING, &a, NULL, 0);
	assert_int_equal(signal_buffer_len(pt), 0);
	signal_buffer_bzero_free(pt);
}

/* ---- AES: what must be refused ---- */

static void
expect_decrypt_fails(int cipher, const uint8_t *key, size_t key_len,
    const uint8_t *iv, size_t iv_len, const uint8_t *in, size_t len,
    int code)
{
	signal_crypto_provider p = provider();
	signal_buffer *out = STALE;
	assert_int_equal(p.decrypt_func(&out, cipher, key, key_len, iv, iv_len,
	    in, len, NULL), code);
	assert_null(out);
}

static void
expect_encrypt_fails(int cipher, const uint8_t *key, size_t key_len,
    const uint8_t *iv, size_t iv_len, const uint8_t *in, size_t len,
    int code)
{
	signal_crypto_provider p = provider();
	signal_buffer *out = STALE;
	assert_int_equal(p.encrypt_func(&out, cipher, key, key_len, iv, iv_len,
	    in, len, NULL), code);
	assert_null(out);
}

/* A CBC ciphertext (len bytes, no pad block) that decrypts to exactly
 * plain: the provider's encryption of plain without its final pad block. */
static void
cbc_raw(const struct aes_args *a, const uint8_t *plain, size_t len,
    uint8_t *ct)
{
	signal_buffer *full = encrypt_ok(SG_CIPHER_AES_CBC_PKCS5, a, plain, len);
	assert_int_equal(signal_buffer_len(full), len + AES_BLOCK);
	memcpy(ct, signal_buffer_data(full), len);
	signal_buffer_free(full);
}

static void
expect_padding_rejected(const struct aes_args *a, const uint8_t *plain,
    size_t len)
{
	uint8_t ct[64];
	assert_true(len <= sizeof(ct));
	cbc_raw(a, plain, len, ct);
	expect_decrypt_fails(SG_CIPHER_AES_CBC_PKCS5, a->key, a->key_len, a->iv,
	    sizeof(a->iv), ct, len, SG_ERR_INVALID_MESSAGE);
}

static void
expect_padding_accepted(const struct aes_args *a, const uint8_t *plain,
    size_t len, size_t want_len)
{
	uint8_t ct[64];
	cbc_raw(a, plain, len, ct);
	signal_buffer *pt = decrypt_ok(SG_CIPHER_AES_CBC_PKCS5, a, ct, len);
	assert_int_equal(signal_buffer_len(pt), want_len);
	if (want_len > 0)
		assert_memory_equal(signal_buffer_data(pt), plain, want_len);
	signal_buffer_bzero_free(pt);
}

static void
test_cbc_bad_padding(void **state)
{
	struct aes_args a;
	uint8_t block[32];
	(void)state;
	aes_args_of(&sp800_38a[2], &a);

	/* pad byte 0 */
	memset(block, 'A', 16);
	block[15] = 0x00;
	expect_padding_rejected(&a, block, 16);

	/* pad byte 17, both past the single block and inside two blocks of
	 * 0x11, where the bytes would agree */
	block[15] = 0x11;
	expect_padding_rejected(&a, block, 16);
	memset(block, 0x11, 32);
	expect_padding_rejected(&a, block, 32);

	/* pad byte 0xff */
	memset(block, 'A', 16);
	block[15] = 0xff;
	expect_padding_rejected(&a, block, 16);

	/* inconsistent pad bytes: next to the last, and at the far end of a
	 * full pad block */
	memset(block, 'A', 16);
	block[13] = 0x02;
	block[14] = 0x03;
	block[15] = 0x03;
	expect_padding_rejected(&a, block, 16);
	memset(block, 0x10, 16);
	block[0] = 0x0f;
	expect_padding_rejected(&a, block, 16);
	memset(block, 'B', 32);
	memset(block + 16, 0x10, 16);
	block[16] = 0x00;
	expect_padding_rejected(&a, block, 32);

	/* the edges that are valid: one pad byte, a whole pad block */
	memset(block, 'A', 16);
	block[15] = 0x01;
	expect_padding_accepted(&a, block, 16, 15);
	memset(block, 0x10, 16);
	expect_padding_accepted(&a, block, 16, 0);
	memset(block, 'C', 16);
	memset(block + 16, 0x10, 16);
	expect_padding_accepted(&a, block, 32, 16);
}

static void
test_cbc_bad_lengths(void **state)
{
	static const size_t lengths[] = { 0, 1, 15, 17, 31, 33, 79 };
	struct aes_args a;
	uint8_t ct[80];
	(void)state;
	aes_args_of(&sp800_38a[2], &a);
	memset(ct, 0x5a, sizeof(ct));
	for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++)
		expect_decrypt_fails(SG_CIPHER_AES_CBC_PKCS5, a.key, a.key_len,
		    a.iv, sizeof(a.iv), ct, lengths[i],
		    SG_ERR_INVALID_MESSAGE);
	expect_decrypt_fails(SG_CIPHER_AES_CBC_PKCS5, a.key, a.key_len, a.iv,
	    sizeof(a.iv), NULL, 0, SG_ERR_INVALID_MESSAGE);
}

static void
test_aes_bad_arguments(void **state)
{
	static const int ciphers[] = {
		SG_CIPHER_AES_CBC_PKCS5, SG_CIPHER_AES_CTR_NOPADDING,
	};
	static const size_t key_lens[] = { 0, 8, 15, 17, 20, 31, 33, 64 };
	static const size_t iv_lens[] = { 0, 8, 12, 15, 17, 32 };
	uint8_t key[64], iv[32], data[32];
	(void)state;
	memset(key, 0x11, sizeof(key));
	memset(iv, 0x22, sizeof(iv));
	memset(data, 0x33, sizeof(data));

	for (size_t c = 0; c < 2; c++) {
		int cipher = ciphers[c];
		for (size_t i = 0; i < sizeof(key_lens) / sizeof(key_lens[0]);
		    i++) {
			expect_encrypt_fails(cipher, key, key_lens[i], iv, 16,
			    data, 32, SG_ERR_INVAL);
			expect_decrypt_fails(cipher, key, key_lens[i], iv, 16,
			    data, 32, SG_ERR_INVAL);
		}
		for (size_t i = 0; i < sizeof(iv_lens) / sizeof(iv_lens[0]);
		    i++) {
			expect_encrypt_fails(cipher, key, 32, iv, iv_lens[i],
			    data, 32, SG_ERR_INVAL);
			expect_decrypt_fails(cipher, key, 32, iv, iv_lens[i],
			    data, 32, SG_ERR_INVAL);
		}
		expect_encrypt_fails(cipher, NULL, 32, iv, 16, data, 32,
		    SG_ERR_INVAL);
		expect_decrypt_fails(cipher, key, 32, NULL, 16, data, 32,
		    SG_ERR_INVAL);
		expect_encrypt_fails(cipher, key, 32, iv, 16, NULL, 32,
		    SG_ERR_INVAL);
		expect_decrypt_fails(cipher, key, 32, iv, 16, NULL, 32,
		    SG_ERR_INVAL);
	}

	static const int unknown[] = { 0, 3, -1, 0x7fffffff };
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		expect_encrypt_fails(unknown[i], key, 32, iv, 16, data, 32,
		    SG_ERR_INVAL);
		expect_decrypt_fails(unknown[i], key, 32, iv, 16, data, 32,
		    SG_ERR_INVAL);
	}
}

/* ---- random ---- */

static void
test_random_fills_everything(void **state)
{
	signal_crypto_provider p = provider();
	const size_t len = 1 << 20;
	uint8_t *a = calloc(1, len);
	uint8_t *b = calloc(1, len);
	size_t zeros = 0;
	(void)state;
	assert_non_null(a);
	assert_non_null(b);

	assert_int_equal(p.random_func(a, len, NULL), 0);
	assert_int_equal(p.random_func(b, len, NULL), 0);
	assert_int_equal(p.random_func(NULL, 0, NULL), 0);
	assert_true(memcmp(a, b, len) != 0);
	/* Random bytes are zero 4096 times in a MiB on average (sd 64); a
	 * buffer left even partly unfilled has far more. */
	for (size_t i = 0; i < len; i++)
		zeros += a[i] == 0;
	assert_true(zeros < 8192);
	static const uint8_t zero32[32];
	assert_true(memcmp(a + len - 32, zero32, 32) != 0);
	assert_true(memcmp(b + len - 32, zero32, 32) != 0);
	free(a);
	free(b);
}

/* ---- through libsignal ---- */

static signal_context *
context_with_provider(void)
{
	signal_crypto_provider p = provider();
	signal_context *ctx = NULL;
	assert_int_equal(signal_context_create(&ctx, NULL), 0);
	assert_int_equal(signal_context_set_crypto_provider(ctx, &p), 0);
	return ctx;
}

/* libsignal's HKDF for message version 3 is RFC 5869: test case 1. */
static void
test_libsignal_hkdf_rfc5869(void **state)
{
	uint8_t ikm[22], salt[13], info[10], want[42];
	uint8_t *okm = NULL;
	hkdf_context *kdf = NULL;
	(void)state;
	memset(ikm, 0x0b, sizeof(ikm));
	for (size_t i = 0; i < sizeof(salt); i++)
		salt[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(info); i++)
		info[i] = (uint8_t)(0xf0 + i);
	unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
	    "34007208d5b887185865", want);

	signal_context *ctx = context_with_provider();
	assert_int_equal(hkdf_create(&kdf, 3, ctx), 0);
	assert_int_equal(hkdf_derive_secrets(kdf, &okm, ikm, sizeof(ikm), salt,
	    sizeof(salt), info, sizeof(info), sizeof(want)), sizeof(want));
	assert_memory_equal(okm, want, sizeof(want));
	free(okm);
	SIGNAL_UNREF(kdf);
	signal_context_destroy(ctx);
}

/* The published safety-number vector: 5200 SHA-512 rounds per side on one
 * context, so it holds only if final resets the digest. */
static void
test_libsignal_fingerprint_vector(void **state)
{
	uint8_t alice[33], bob[33];
	ec_public_key *alice_key = NULL, *bob_key = NULL;
	fingerprint_generator *gen = NULL;
	fingerprint *fp = NULL;
	(void)state;
	unhex("0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868",
	    alice);
	unhex("05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b",
	    bob);

	signal_context *ctx = context_with_provider();
	assert_int_equal(curve_decode_point(&alice_key, alice, sizeof(alice),
	    ctx), 0);
	assert_int_equal(curve_decode_point(&bob_key, bob, sizeof(bob), ctx), 0);
	assert_int_equal(fingerprint_generator_create(&gen, 5200, 1, ctx), 0);
	assert_int_equal(fingerprint_generator_create_for(gen, "+14152222222",
	    alice_key, "+14153333333", bob_key, &fp), 0);
	assert_string_equal(
	    displayable_fingerprint_text(fingerprint_get_displayable(fp)),
	    "300354477692869396892869876765458257569162576843440918079131");
	SIGNAL_UNREF(fp);
	fingerprint_generator_free(gen);
	SIGNAL_UNREF(alice_key);
	SIGNAL_UNREF(bob_key);
	signal_context_destroy(ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmac_rfc4231_case1),
		cmocka_unit_test(test_hmac_rfc4231_case2),
		cmocka_unit_test(test_hmac_rfc4231_case3),
		cmocka_unit_test(test_hmac_rfc4231_case4),
		cmocka_unit_test(test_hmac_rfc4231_case6),
		cmocka_unit_test(test_hmac_rfc4231_case7),
		cmocka_unit_test(test_hmac_empty_key),
		cmocka_unit_test(test_hmac_failure_paths),
		cmocka_unit_test(test_sha512_fips180),
		cmocka_unit_test(test_sha512_final_resets),
		cmocka_unit_test(test_sha512_failure_paths),
		cmocka_unit_test(test_aes256_encrypt_sp800_38a),
		cmocka_unit_test(test_aes256_decrypt_sp800_38a),
		cmocka_unit_test(test_aes128_aes192_by_key_length),
		cmocka_unit_test(test_aes_round_trip_lengths),
		cmocka_unit_test(test_aes_ctr_any_length),
		cmocka_unit_test(test_cbc_bad_padding),
		cmocka_unit_test(test_cbc_bad_lengths),
		cmocka_unit_test(test_aes_bad_arguments),
		cmocka_unit_test(test_random_fills_everything),
		cmocka_unit_test(test_libsignal_hkdf_rfc5869),
		cmocka_unit_test(test_libsignal_fingerprint_vector),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
