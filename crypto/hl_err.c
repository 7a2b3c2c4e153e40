#include "crypto/hl_err.h"

#include <stdarg.h>
#include <stdio.h>

struct hl_err_entry {
	int code;
	const char *text;
};

/* libsignal's codes are spelled out by value: the relay links this file and
 * must not depend on libsignal's headers. */
static const struct hl_err_entry hl_err_table[] = {
	{ HL_OK, "success" },
	{ HL_ENOMEM, "out of memory" },
	{ HL_EINVAL, "invalid argument" },
	{ HL_EIO, "input/output error" },
	{ HL_EDB, "database error" },
	{ HL_ECRYPTO, "cryptographic operation failed" },
	{ HL_ENOTFOUND, "not found" },
	{ HL_EEXIST, "already exists" },
	{ HL_ETOOBIG, "too large" },
	{ HL_EPARSE, "malformed input" },
	{ HL_EUSAGE, "bad command line" },
	{ HL_ECONFIG, "bad configuration" },
	{ HL_ETIMEOUT, "timed out" },
	{ HL_EBUSY, "busy" },
	{ HL_ESTATE, "not allowed in the current state" },
	{ HL_EINTR, "interrupted" },

	{ HL_EPASSPHRASE, "wrong passphrase" },
	{ HL_EVAULT, "sealed value does not open (tampered or moved)" },
	{ HL_ENOVAULT, "no vault in this database" },

	{ HL_ENOSESSION, "no session with this contact" },
	{ HL_EUNTRUSTED, "the contact's identity key has changed" },
	{ HL_EDUPLICATE, "duplicate message" },
	{ HL_ETAMPERED, "invalid or tampered message" },
	{ HL_ENOIDENTITY, "no local identity" },
	{ HL_EBUNDLE, "invalid prekey bundle" },

	{ HL_ECONTENT_PADDING, "content: bad padding" },
	{ HL_ECONTENT_JSON, "content: not a JSON object" },
	{ HL_ECONTENT_VERSION, "content: unsupported version" },
	{ HL_ECONTENT_MISSING, "content: missing field" },
	{ HL_ECONTENT_TYPE, "content: field has the wrong type" },
	{ HL_ECONTENT_VALUE, "content: field has a bad value" },
	{ HL_ECONTENT_KIND, "content: unknown kind" },
	{ HL_ECONTENT_ID, "content: missing or malformed id" },
	{ HL_ECONTENT_SIZE, "content: too large" },
	{ HL_ECONTENT_UNKNOWN, "content: unknown field" },

	{ HL_ENET, "relay unreachable" },
	{ HL_ETLS, "TLS failure" },
	{ HL_EPIN, "relay public key does not match the pin" },
	{ HL_EHTTP, "unexpected answer from the relay" },
	{ HL_EAUTH, "relay refused the credentials" },
	{ HL_ERATE, "rate limited by the relay" },
	{ HL_EREFUSED, "relay refused the request" },
	{ HL_ERECIPIENT, "unknown recipient" },
	{ HL_ECODE, "enrollment code invalid, used or expired" },

	{ HL_ETAKEN, "handle already has an account" },
	{ HL_ECONFLICT, "message id already used with other content" },
	{ HL_EQUEUEFULL, "recipient's queue is full" },
	{ HL_ESTOPPING, "relay is shutting down" },
	{ HL_EDISKFULL, "relay's disk is full" },

	/* libsignal-protocol-c (signal_protocol.h) */
	{ -12, "libsignal: out of memory" },
	{ -22, "libsignal: invalid argument" },
	{ -1000, "libsignal: unknown error" },
	{ -1001, "libsignal: duplicate message" },
	{ -1002, "libsignal: invalid key" },
	{ -1003, "libsignal: invalid key id" },
	{ -1004, "libsignal: invalid MAC" },
	{ -1005, "libsignal: invalid message" },
	{ -1006, "libsignal: invalid version" },
	{ -1007, "libsignal: legacy message" },
	{ -1008, "libsignal: no session" },
	{ -1009, "libsignal: stale key exchange" },
	{ -1010, "libsignal: untrusted identity" },
	{ -1011, "libsignal: signature verification failed" },
	{ -1100, "libsignal: invalid protobuf" },
	{ -1200, "libsignal: fingerprint version mismatch" },
	{ -1201, "libsignal: fingerprint identity mismatch" },
};

const char *
hl_strerror(int code)
{
	for (size_t i = 0; i < sizeof hl_err_table / sizeof hl_err_table[0]; i++)
		if (hl_err_table[i].code == code)
			return hl_err_table[i].text;
	return "unknown error";
}

int
hl_fail(char *cause, int code, const char *fmt, ...)
{
	if (cause != NULL) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(cause, HL_CAUSE_MAX, fmt, ap);
		va_end(ap);
	}
	return code;
}
