/*
 * hl_provider: libsignal-protocol-c's crypto provider, on OpenSSL 3's EVP
 * APIs: CSPRNG, HMAC-SHA256, SHA-512, AES-CBC (PKCS#5) and AES-CTR.
 * Internal to crypto/.
 */
#ifndef HL_PROVIDER_H
#define HL_PROVIDER_H

#include <signal_protocol.h>

/* Fills *p with hotline's provider. user_data is NULL; no state is kept
 * between calls, so one provider serves every context and thread. */
void hl_provider_fill(signal_crypto_provider *p);

#endif
