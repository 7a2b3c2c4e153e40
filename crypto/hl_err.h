/*
 * hl_err: hotline's error codes and the one table that turns them into words.
 *
 * Functions return 0 (HL_OK) or a negative code. Our codes sit at -10000
 * and below, so they never collide with libsignal's (which stop at -9999);
 * hl_strerror() names libsignal's codes too. Detail for a person goes into
 * an optional cause buffer of HL_CAUSE_MAX bytes supplied by the caller.
 */
#ifndef HL_ERR_H
#define HL_ERR_H

#include <stddef.h>

#define HL_OK 0
#define HL_CAUSE_MAX 256

enum hl_err {
	/* general */
	HL_ENOMEM = -10000,   /* out of memory */
	HL_EINVAL = -10001,   /* a caller passed an invalid argument */
	HL_EIO = -10002,      /* file or system I/O failed */
	HL_EDB = -10003,      /* the database failed */
	HL_ECRYPTO = -10004,  /* a cryptographic primitive failed */
	HL_ENOTFOUND = -10005,
	HL_EEXIST = -10006,
	HL_ETOOBIG = -10007,  /* input over a size limit */
	HL_EPARSE = -10008,   /* malformed input: JSON, base64, numbers, ... */
	HL_EUSAGE = -10009,   /* bad command line */
	HL_ECONFIG = -10010,  /* bad configuration file */
	HL_ETIMEOUT = -10011,
	HL_EBUSY = -10012,
	HL_ESTATE = -10013,   /* not allowed in the current state */
	HL_EINTR = -10014,    /* interrupted by the user (Ctrl-C, a signal) */

	/* vault */
	HL_EPASSPHRASE = -10100, /* wrong passphrase */
	HL_EVAULT = -10101,      /* a sealed value fails to open: tampered or moved */
	HL_ENOVAULT = -10102,    /* no vault in this database yet */

	/* sessions */
	HL_ENOSESSION = -10200,  /* no session with that contact */
	HL_EUNTRUSTED = -10201,  /* the contact's identity key changed */
	HL_EDUPLICATE = -10202,  /* a message already decrypted */
	HL_ETAMPERED = -10203,   /* invalid or tampered ciphertext */
	HL_ENOIDENTITY = -10204, /* no local identity yet */
	HL_EBUNDLE = -10205,     /* an invalid prekey bundle */

	/* content codec */
	HL_ECONTENT_PADDING = -10300,
	HL_ECONTENT_JSON = -10301,
	HL_ECONTENT_VERSION = -10302,
	HL_ECONTENT_MISSING = -10303,  /* a required field is absent */
	HL_ECONTENT_TYPE = -10304,     /* a field has the wrong JSON type */
	HL_ECONTENT_VALUE = -10305,    /* a field's value is out of range or malformed */
	HL_ECONTENT_KIND = -10306,     /* unknown kind */
	HL_ECONTENT_ID = -10307,       /* missing or malformed message id */
	HL_ECONTENT_SIZE = -10308,     /* body or content over its limit */
	HL_ECONTENT_UNKNOWN = -10309,  /* a field version 1 does not know */

	/* network and relay */
	HL_ENET = -10400,      /* the relay cannot be reached */
	HL_ETLS = -10401,      /* TLS handshake or certificate failure */
	HL_EPIN = -10402,      /* the relay's public key does not match the pin */
	HL_EHTTP = -10403,     /* an unexpected HTTP answer */
	HL_EAUTH = -10404,     /* the relay refused our credentials */
	HL_ERATE = -10405,     /* rate limited; try later */
	HL_EREFUSED = -10406,  /* the relay refused the request for good */
	HL_ERECIPIENT = -10407,/* unknown recipient */
	HL_ECODE = -10408,     /* enrollment code invalid, used or expired */

	/* relay server */
	HL_ETAKEN = -10500,     /* the handle already has an active account */
	HL_ECONFLICT = -10501,  /* a message id reused with another content */
	HL_EQUEUEFULL = -10502, /* the recipient's queue is at its limit */
	HL_ESTOPPING = -10503,  /* the relay is shutting down */
	HL_EDISKFULL = -10504,  /* the relay's disk is full */
};

/* A short, static description of code (ours or libsignal's). Never NULL. */
const char *hl_strerror(int code);

/* Writes a formatted cause into cause (HL_CAUSE_MAX bytes) when cause is
 * not NULL. Returns code, so a failing path can `return hl_fail(...)`. */
int hl_fail(char *cause, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
