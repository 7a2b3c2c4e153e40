/*
 * hl_session_decrypt on hostile bytes: libsignal's protobuf parsing, then
 * our sealed stores, then its ratchet, all fed by an attacker who can put
 * any bytes in a relay envelope.
 *
 * Two identities are made once, on the first input, in a fresh directory
 * under $TMPDIR (removed at exit): ee.cert starts a session with fi.ncsc
 * and they exchange a message each way. Two more messages from ee.cert are
 * kept back, never delivered: a PreKey message and a Signal message. Each
 * input is then tried four times at fi.ncsc, as from ee.cert:
 *   - as a ciphertext of type 2, and of type 3, as it is;
 *   - XORed over each kept-back message (the input's bytes past the
 *     message's end appended), so that small inputs make small changes to
 *     a real message and reach the MAC, counter and duplicate checks.
 *
 * Properties: the result is 0 or one of HL_ETAMPERED, HL_EDUPLICATE,
 * HL_ENOSESSION, HL_EUNTRUSTED, with the output cleared and a terminated
 * cause on failure. A success yields the text of a kept-back message, never
 * anything else: altered bytes may still decrypt (a PreKey message's outer
 * fields, such as the registration id, are not authenticated), but they
 * must not change what is read.
 *
 * With HL_FUZZ_SESSION_SEEDS=DIR in the environment, the first call also
 * writes this run's real messages into DIR, as seed inputs
 * (tests/fuzz/gen-corpus.sh uses it).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/hl_err.h"
#include "crypto/hl_session.h"
#include "tests/fuzz/fuzz.h"

#define PASS "fuzz passphrase"
#define ME "fi.ncsc"
#define PEER "ee.cert"
#define PREKEYS 4
#define KEPT_PREKEY_TEXT "kept back: a PreKey message"
#define KEPT_SIGNAL_TEXT "kept back: a Signal message"

struct party {
	char path[512];
	struct hl_crypto *c;
};

static struct {
	int ready;
	char dir[256];
	struct party me, peer;
	struct hl_ciphertext kept_prekey, kept_signal;
} world;

__attribute__((format(printf, 1, 2), noreturn)) static void
broken(const char *fmt, ...)
{
	va_list ap;
	fputs("fuzz_session: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static void
remove_db(const char *path)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	char p[600];
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		snprintf(p, sizeof p, "%s%s", path, suffixes[i]);
		unlink(p);
	}
}

static void
world_free(void)
{
	hl_crypto_close(world.me.c);
	hl_crypto_close(world.peer.c);
	world.me.c = world.peer.c = NULL;
	if (world.me.path[0] != '\0')
		remove_db(world.me.path);
	if (world.peer.path[0] != '\0')
		remove_db(world.peer.path);
	hl_ciphertext_free(&world.kept_prekey);
	hl_ciphertext_free(&world.kept_signal);
	if (world.dir[0] != '\0')
		rmdir(world.dir);
	world.ready = 0;
}

static void
party_create(struct party *p, const char *handle)
{
	struct hl_kdf_params kdf;
	char cause[HL_CAUSE_MAX] = "";
	hl_kdf_params_minimum(&kdf);
	snprintf(p->path, sizeof p->path, "%s/%s.db", world.dir, handle);
	int rc = hl_crypto_create(p->path, PASS, strlen(PASS), &kdf, &p->c,
	    cause);
	if (rc == 0)
		rc = hl_identity_create(p->c, handle, PREKEYS, cause);
	if (rc != 0)
		broken("setup: %s: %s", handle, cause);
}

static void
encrypt_to(struct party *from, const char *to, const char *text,
    struct hl_ciphertext *out)
{
	char cause[HL_CAUSE_MAX] = "";
	if (hl_session_encrypt(from->c, to, (const uint8_t *)text, strlen(text),
	    out, cause) != 0)
		broken("setup: encrypt to %s: %s", to, cause);
}

static void
decrypt_from(struct party *at, const char *from, const struct hl_ciphertext *ct)
{
	char cause[HL_CAUSE_MAX] = "";
	uint8_t *pt;
	size_t n;
	if (hl_session_decrypt(at->c, from, ct->type, ct->data, ct->len, &pt,
	    &n, cause) != 0)
		broken("setup: decrypt from %s: %s", from, cause);
	hl_plaintext_free(pt, n);
}

static void
write_seed(const char *dir, const char *name, const struct hl_ciphertext *ct)
{
	char path[600];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(ct->data, 1, ct->len, f) != ct->len ||
	    fclose(f) != 0)
		broken("seeds: cannot write %s", path);
}

static void
world_setup(void)
{
	struct hl_bundle b;
	struct hl_prekey_pub *pks = NULL;
	struct hl_ciphertext first, reply;
	size_t n = 0;
	char cause[HL_CAUSE_MAX] = "";
	const char *tmp = getenv("TMPDIR");

	snprintf(world.dir, sizeof world.dir, "%s/hl-fuzz-session.XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(world.dir) == NULL)
		broken("setup: mkdtemp %s failed", world.dir);
	atexit(world_free);
	party_create(&world.me, ME);
	party_create(&world.peer, PEER);

	if (hl_identity_public(world.me.c, &b) != 0 ||
	    hl_prekeys_public(world.me.c, &pks, &n) != 0 || n == 0)
		broken("setup: no bundle for %s", ME);
	b.has_prekey = 1;
	b.prekey = pks[0];
	free(pks);
	if (hl_session_start(world.peer.c, ME, &b, cause) != 0)
		broken("setup: session_start: %s", cause);

	encrypt_to(&world.peer, ME, "first: starts the session", &first);
	encrypt_to(&world.peer, ME, KEPT_PREKEY_TEXT, &world.kept_prekey);
	decrypt_from(&world.me, PEER, &first);
	encrypt_to(&world.me, PEER, "a reply: completes the session", &reply);
	decrypt_from(&world.peer, ME, &reply);
	encrypt_to(&world.peer, ME, KEPT_SIGNAL_TEXT, &world.kept_signal);
	if (first.type != HL_MSG_PREKEY ||
	    world.kept_prekey.type != HL_MSG_PREKEY ||
	    reply.type != HL_MSG_SIGNAL ||
	    world.kept_signal.type != HL_MSG_SIGNAL)
		broken("setup: unexpected message types");

	const char *seeds = getenv("HL_FUZZ_SESSION_SEEDS");
	if (seeds != NULL && seeds[0] != '\0') {
		write_seed(seeds, "real-prekey-first", &first);
		write_seed(seeds, "real-prekey-second", &world.kept_prekey);
		write_seed(seeds, "real-signal-reply", &reply);
		write_seed(seeds, "real-signal-third", &world.kept_signal);
	}
	hl_ciphertext_free(&first);
	hl_ciphertext_free(&reply);
	world.ready = 1;
}

static int
is_kept_text(const uint8_t *pt, size_t len)
{
	return (len == strlen(KEPT_PREKEY_TEXT) &&
	    memcmp(pt, KEPT_PREKEY_TEXT, len) == 0) ||
	    (len == strlen(KEPT_SIGNAL_TEXT) &&
	    memcmp(pt, KEPT_SIGNAL_TEXT, len) == 0);
}

static void
try_decrypt(int type, const uint8_t *ct, size_t len)
{
	char cause[HL_CAUSE_MAX];
	uint8_t *pt = (uint8_t *)cause;
	size_t ptlen = 1;
	memset(cause, 0xa5, sizeof cause);
	int rc = hl_session_decrypt(world.me.c, PEER, type, ct, len, &pt,
	    &ptlen, cause);
	if (rc == 0) {
		if (pt == NULL || !is_kept_text(pt, ptlen))
			broken("type %d: %zu bytes decrypt to a text never sent",
			    type, len);
		hl_plaintext_free(pt, ptlen);
		return;
	}
	if (rc != HL_ETAMPERED && rc != HL_EDUPLICATE && rc != HL_ENOSESSION &&
	    rc != HL_EUNTRUSTED)
		broken("type %d: unexpected %d (%s)", type, rc,
		    hl_strerror(rc));
	if (pt != NULL || ptlen != 0)
		broken("type %d: output left set after %s", type,
		    hl_strerror(rc));
	if (memchr(cause, '\0', sizeof cause) == NULL || cause[0] == '\0')
		broken("type %d: cause missing after %s", type,
		    hl_strerror(rc));
}

/* The kept-back message with data XORed over it and the input's bytes
 * past its end appended. */
static void
try_xored(const struct hl_ciphertext *kept, const uint8_t *data, size_t size)
{
	size_t len = size > kept->len ? size : kept->len;
	uint8_t *buf = malloc(len);
	if (buf == NULL)
		return;
	memcpy(buf, kept->data, kept->len);
	for (size_t i = 0; i < size; i++)
		buf[i] = i < kept->len ? buf[i] ^ data[i] : data[i];
	try_decrypt(kept->type, buf, len);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!world.ready)
		world_setup();
	try_decrypt(HL_MSG_SIGNAL, data, size);
	try_decrypt(HL_MSG_PREKEY, data, size);
	try_xored(&world.kept_prekey, data, size);
	try_xored(&world.kept_signal, data, size);
	return 0;
}
