/*
 * hl_provider: libsignal-protocol-c's crypto provider, on OpenSSL 3's EVP
 * APIs: CSPRNG, HMAC-SHA256, SHA-512, AES-CBC (PKCS#5) and AES-CTR, with
 * AES-128/192/256 chosen by key length. Internal to crypto/.
 *
 * Every callback returns 0 or a negative SG_ERR_* code, as libsignal
 * expects: SG_ERR_INVAL for arguments it does not accept (cipher, key or IV
 * length), SG_ERR_INVALID_MESSAGE for a CBC ciphertext of the wrong length
 * or with bad padding, SG_ERR_NOMEM, SG_ERR_UNKNOWN when OpenSSL fails.
 * Output buffers are signal_buffers the caller frees; on failure the
 * output pointer is NULL.
 */
#ifndef HL_PROVIDER_H
#define HL_PROVIDER_H

#include <signal_protocol.h>

/* Fills *p with hotline's provider. user_data is NULL; no state is kept
 * between calls, so one provider serves every context and thread. */
void hl_provider_fill(signal_crypto_provider *p);

#endif
