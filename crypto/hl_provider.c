#include "crypto/hl_provider.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdlib.h>

#define AES_BLOCK 16
#define AES_IV_LEN 16
#define HMAC_SHA256_LEN 32
#define SHA512_LEN 64

/* OpenSSL counts some lengths in int: larger inputs go in pieces of this
 * size, a whole number of AES blocks so CBC never splits a block. */
#define PIECE_MAX ((size_t)1 << 30)

static int
provider_random(uint8_t *data, size_t len, void *user_data)
{
	(void)user_data;
	if (data == NULL && len > 0)
		return SG_ERR_INVAL;
	while (len > 0) {
		size_t n = len < PIECE_MAX ? len : PIECE_MAX;
		if (RAND_bytes(data, (int)n) != 1)
			return SG_ERR_UNKNOWN;
		data += n;
		len -= n;
	}
	return 0;
}

/* libsignal declares the context uninitialised and always calls cleanup, so
 * *hmac_context is set on every path, NULL on failure. */
static int
hmac_init(void **hmac_context, const uint8_t *key, size_t key_len,
    void *user_data)
{
	/* OpenSSL reads a NULL key as "keep the previous key", which a fresh
	 * context has not got: an empty key must still be a real pointer. */
	static const uint8_t empty_key[1];
	char digest[] = "SHA256";
	(void)user_data;

	if (hmac_context == NULL)
		return SG_ERR_INVAL;
	*hmac_context = NULL;
	if (key == NULL && key_len > 0)
		return SG_ERR_INVAL;

	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (mac == NULL)
		return SG_ERR_UNKNOWN;
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);
	if (ctx == NULL)
		return SG_ERR_NOMEM;

	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};
	if (EVP_MAC_init(ctx, key != NULL ? key : empty_key, key_len,
	    params) != 1) {
		EVP_MAC_CTX_free(ctx);
		return SG_ERR_UNKNOWN;
	}
	*hmac_context = ctx;
	return 0;
}

static int
hmac_update(void *hmac_context, const uint8_t *data, size_t data_len,
    void *user_data)
{
	(void)user_data;
	if (hmac_context == NULL || (data == NULL && data_len > 0))
		return SG_ERR_INVAL;
	if (data_len == 0)
		return 0;
	if (EVP_MAC_update(hmac_context, data, data_len) != 1)
		return SG_ERR_UNKNOWN;
	return 0;
}

/* *output: caller frees with signal_buffer_free; NULL on failure. */
static int
hmac_final(void *hmac_context, signal_buffer **output, void *user_data)
{
	uint8_t mac[HMAC_SHA256_LEN];
	size_t mac_len = 0;
	(void)user_data;

	if (output == NULL)
		return SG_ERR_INVAL;
	*output = NULL;
	if (hmac_context == NULL)
		return SG_ERR_INVAL;
	if (EVP_MAC_final(hmac_context, mac, &mac_len, sizeof(mac)) != 1 ||
	    mac_len != sizeof(mac)) {
		OPENSSL_cleanse(mac, sizeof(mac));
		return SG_ERR_UNKNOWN;
	}
	*output = signal_buffer_create(mac, sizeof(mac));
	OPENSSL_cleanse(mac, sizeof(mac));
	return *output != NULL ? 0 : SG_ERR_NOMEM;
}

static void
hmac_cleanup(void *hmac_context, void *user_data)
{
	(void)user_data;
	EVP_MAC_CTX_free(hmac_context);
}

static int
sha512_init(void **digest_context, void *user_data)
{
	(void)user_data;
	if (digest_context == NULL)
		return SG_ERR_INVAL;
	*digest_context = NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return SG_ERR_NOMEM;
	if (EVP_DigestInit_ex(ctx, EVP_sha512(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return SG_ERR_UNKNOWN;
	}
	*digest_context = ctx;
	return 0;
}

static int
sha512_update(void *digest_context, const uint8_t *data, size_t data_len,
    void *user_data)
{
	(void)user_data;
	if (digest_context == NULL || (data == NULL && data_len > 0))
		return SG_ERR_INVAL;
	if (data_len == 0)
		return 0;
	if (EVP_DigestUpdate(digest_context, data, data_len) != 1)
		return SG_ERR_UNKNOWN;
	return 0;
}

/* The fingerprint code calls final in a loop on one context, so final
 * starts a fresh digest before it returns. *output: caller frees with
 * signal_buffer_free; NULL on failure. */
static int
sha512_final(void *digest_context, signal_buffer **output, void *user_data)
{
	uint8_t md[SHA512_LEN];
	unsigned int md_len = 0;
	(void)user_data;

	if (output == NULL)
		return SG_ERR_INVAL;
	*output = NULL;
	if (digest_context == NULL)
		return SG_ERR_INVAL;
	if (EVP_DigestFinal_ex(digest_context, md, &md_len) != 1 ||
	    md_len != sizeof(md) ||
	    EVP_DigestInit_ex(digest_context, EVP_sha512(), NULL) != 1) {
		OPENSSL_cleanse(md, sizeof(md));
		return SG_ERR_UNKNOWN;
	}
	*output = signal_buffer_create(md, sizeof(md));
	OPENSSL_cleanse(md, sizeof(md));
	return *output != NULL ? 0 : SG_ERR_NOMEM;
}

static void
sha512_cleanup(void *digest_context, void *user_data)
{
	(void)user_data;
	EVP_MD_CTX_free(digest_context);
}

/* The AES variant for cipher and key length, or NULL when libsignal asks
 * for something we do not offer. */
static const EVP_CIPHER *
aes_for(int cipher, size_t key_len)
{
	if (cipher == SG_CIPHER_AES_CBC_PKCS5) {
		switch (key_len) {
		case 16: return EVP_aes_128_cbc();
		case 24: return EVP_aes_192_cbc();
		case 32: return EVP_aes_256_cbc();
		default: return NULL;
		}
	}
	if (cipher == SG_CIPHER_AES_CTR_NOPADDING) {
		switch (key_len) {
		case 16: return EVP_aes_128_ctr();
		case 24: return EVP_aes_192_ctr();
		case 32: return EVP_aes_256_ctr();
		default: return NULL;
		}
	}
	return NULL;
}

/* Runs one whole encryption or decryption of in into out, which must hold
 * every byte the cipher produces (the caller sizes it from in_len). */
static int
aes_run(const EVP_CIPHER *aes, int encrypt, int padding, const uint8_t *key,
    const uint8_t *iv, const uint8_t *in, size_t in_len, uint8_t *out,
    size_t *out_len)
{
	int rc = SG_ERR_UNKNOWN;
	size_t done = 0;
	int n;

	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL)
		return SG_ERR_NOMEM;
	if (EVP_CipherInit_ex(ctx, aes, NULL, key, iv, encrypt) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, padding) != 1)
		goto out;
	while (in_len > 0) {
		size_t piece = in_len < PIECE_MAX ? in_len : PIECE_MAX;
		if (EVP_CipherUpdate(ctx, out + done, &n, in, (int)piece) != 1)
			goto out;
		done += (size_t)n;
		in += piece;
		in_len -= piece;
	}
	if (EVP_CipherFinal_ex(ctx, out + done, &n) != 1)
		goto out;
	done += (size_t)n;
	*out_len = done;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/* The length of the plaintext in a decrypted CBC message, after checking
 * its PKCS#5 padding within the len bytes we have; negative if the padding
 * is wrong. len is a positive multiple of the block size. */
static int
pkcs5_unpad(const uint8_t *plain, size_t len, size_t *plain_len)
{
	uint8_t pad = plain[len - 1];
	uint8_t diff = 0;

	if (pad == 0 || pad > AES_BLOCK || pad > len)
		return SG_ERR_INVALID_MESSAGE;
	for (size_t i = len - pad; i < len; i++)
		diff |= plain[i] ^ pad;
	if (diff != 0)
		return SG_ERR_INVALID_MESSAGE;
	*plain_len = len - pad;
	return 0;
}

static int
aes_check(signal_buffer **output, int cipher, const uint8_t *key,
    size_t key_len, const uint8_t *iv, size_t iv_len, const uint8_t *in,
    size_t in_len, const EVP_CIPHER **aes)
{
	if (output == NULL)
		return SG_ERR_INVAL;
	*output = NULL;
	*aes = aes_for(cipher, key_len);
	if (*aes == NULL || key == NULL || iv == NULL || iv_len != AES_IV_LEN ||
	    (in == NULL && in_len > 0))
		return SG_ERR_INVAL;
	return 0;
}

/* CBC always adds one to sixteen bytes of padding; CTR keeps the length,
 * so an empty plaintext gives an empty ciphertext. *output: caller frees
 * with signal_buffer_free; NULL on failure. */
static int
provider_encrypt(signal_buffer **output, int cipher, const uint8_t *key,
    size_t key_len, const uint8_t *iv, size_t iv_len,
    const uint8_t *plaintext, size_t plaintext_len, void *user_data)
{
	const EVP_CIPHER *aes;
	int cbc = cipher == SG_CIPHER_AES_CBC_PKCS5;
	size_t want = plaintext_len;
	size_t got = 0;
	(void)user_data;

	int rc = aes_check(output, cipher, key, key_len, iv, iv_len, plaintext,
	    plaintext_len, &aes);
	if (rc < 0)
		return rc;
	if (cbc) {
		if (plaintext_len > SIZE_MAX - AES_BLOCK)
			return SG_ERR_INVAL;
		want = plaintext_len - plaintext_len % AES_BLOCK + AES_BLOCK;
	}
	signal_buffer *ct = signal_buffer_alloc(want);
	if (ct == NULL)
		return SG_ERR_NOMEM;
	rc = aes_run(aes, 1, cbc, key, iv, plaintext, plaintext_len,
	    signal_buffer_data(ct), &got);
	if (rc == 0 && got != want)
		rc = SG_ERR_UNKNOWN;
	if (rc < 0) {
		signal_buffer_bzero_free(ct);
		return rc;
	}
	*output = ct;
	return 0;
}

/* CBC needs a positive multiple of the block size and valid padding, which
 * is checked here rather than by OpenSSL so that every read stays inside
 * the ciphertext's length. CTR takes any length, empty included.
 * *output: caller frees with signal_buffer_free (or
 * signal_buffer_bzero_free, as it is plaintext); NULL on failure. */
static int
provider_decrypt(signal_buffer **output, int cipher, const uint8_t *key,
    size_t key_len, const uint8_t *iv, size_t iv_len,
    const uint8_t *ciphertext, size_t ciphertext_len, void *user_data)
{
	const EVP_CIPHER *aes;
	int cbc = cipher == SG_CIPHER_AES_CBC_PKCS5;
	size_t got = 0;
	(void)user_data;

	int rc = aes_check(output, cipher, key, key_len, iv, iv_len, ciphertext,
	    ciphertext_len, &aes);
	if (rc < 0)
		return rc;
	if (cbc && (ciphertext_len == 0 || ciphertext_len % AES_BLOCK != 0))
		return SG_ERR_INVALID_MESSAGE;

	/* The empty CTR case still gets a real buffer, not malloc(0). */
	size_t cap = ciphertext_len > 0 ? ciphertext_len : 1;
	uint8_t *plain = malloc(cap);
	if (plain == NULL)
		return SG_ERR_NOMEM;
	rc = aes_run(aes, 0, 0, key, iv, ciphertext, ciphertext_len, plain,
	    &got);
	if (rc == 0 && got != ciphertext_len)
		rc = SG_ERR_UNKNOWN;
	if (rc == 0 && cbc)
		rc = pkcs5_unpad(plain, got, &got);
	if (rc == 0) {
		*output = signal_buffer_create(plain, got);
		if (*output == NULL)
			rc = SG_ERR_NOMEM;
	}
	OPENSSL_cleanse(plain, cap);
	free(plain);
	return rc;
}

void
hl_provider_fill(signal_crypto_provider *p)
{
	*p = (signal_crypto_provider){
		.random_func = provider_random,
		.hmac_sha256_init_func = hmac_init,
		.hmac_sha256_update_func = hmac_update,
		.hmac_sha256_final_func = hmac_final,
		.hmac_sha256_cleanup_func = hmac_cleanup,
		.sha512_digest_init_func = sha512_init,
		.sha512_digest_update_func = sha512_update,
		.sha512_digest_final_func = sha512_final,
		.sha512_digest_cleanup_func = sha512_cleanup,
		.encrypt_func = provider_encrypt,
		.decrypt_func = provider_decrypt,
		.user_data = NULL,
	};
}
