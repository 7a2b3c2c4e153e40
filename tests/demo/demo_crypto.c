/*
 * The crypto core on its own: two contacts, each with a sealed database,
 * set up a session from a bundle, exchange a few padded contents, and
 * compare their safety numbers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/hl_content.h"
#include "crypto/hl_err.h"
#include "crypto/hl_session.h"
#include "crypto/hl_time.h"

struct side {
	const char *handle;
	char path[128];
	struct hl_crypto *c;
	int64_t seq;
};

static int
die(const char *what, int rc, const char *cause)
{
	fprintf(stderr, "demo: %s: %s (%s)\n", what, hl_strerror(rc),
	    cause ? cause : "");
	exit(1);
}

static void
create(struct side *s, const char *dir, const char *pass)
{
	char cause[HL_CAUSE_MAX] = "";
	struct hl_kdf_params kdf;
	struct hl_bundle b;
	/* Interactive-strength Argon2id keeps the demo quick; real profiles
	 * use the stronger default. */
	kdf.opslimit = 2;
	kdf.memlimit = 64u << 20;
	snprintf(s->path, sizeof s->path, "%s/%s.db", dir, s->handle);
	int rc = hl_crypto_create(s->path, pass, strlen(pass), &kdf, &s->c, cause);
	if (rc == 0)
		rc = hl_identity_create(s->c, s->handle, 10, cause);
	if (rc == 0)
		rc = hl_identity_public(s->c, &b);
	if (rc != 0)
		die("create", rc, cause);
	printf("  %-8s identity created: registration id %u, signed prekey %u, "
	    "10 one-time prekeys, sealed in %s\n", s->handle, b.registration_id,
	    b.signed_prekey.id, s->path);
}

/* Encodes, encrypts, decrypts and decodes one content; its id goes to
 * id_out when not NULL. */
static void
send_text(struct side *from, struct side *to, enum hl_kind kind,
    enum hl_prio prio, const char *body, const char *ref, char *id_out)
{
	struct hl_content c, got;
	struct hl_ciphertext ct;
	char cause[HL_CAUSE_MAX] = "";
	uint8_t *padded, *pt;
	size_t plen, ptlen;

	memset(&c, 0, sizeof c);
	c.v = HL_CONTENT_VERSION;
	if (hl_content_new_id(c.id) != 0)
		die("id", HL_ECRYPTO, NULL);
	c.kind = kind;
	snprintf(c.from, sizeof c.from, "%s", from->handle);
	c.sent = hl_now_ms();
	c.prio = prio;
	c.seq = ++from->seq;
	if (kind == HL_KIND_ACK) {
		snprintf(c.ref, sizeof c.ref, "%s", ref);
		c.response = HL_RESP_WILL_COMPLY;
	}
	c.body = (char *)body;
	if (id_out != NULL)
		memcpy(id_out, c.id, sizeof c.id);
	int rc = hl_content_encode(&c, &padded, &plen, cause);
	if (rc != 0)
		die("encode", rc, cause);
	rc = hl_session_encrypt(from->c, to->handle, padded, plen, &ct, cause);
	hl_content_free_bytes(padded, plen);
	if (rc != 0)
		die("encrypt", rc, cause);
	rc = hl_session_decrypt(to->c, from->handle, ct.type, ct.data, ct.len, &pt,
	    &ptlen, cause);
	if (rc != 0)
		die("decrypt", rc, cause);
	rc = hl_content_decode(pt, ptlen, &got, cause);
	if (rc != 0)
		die("decode", rc, cause);
	printf("  %-8s -> %-8s %-6s %-7s seq %lld, %4zu-byte padded content, "
	    "%4zu-byte %s message: \"%s\"%s%s\n", from->handle, to->handle,
	    hl_kind_name(got.kind), hl_prio_name(got.prio), (long long)got.seq,
	    ptlen, ct.len, ct.type == HL_MSG_PREKEY ? "PreKey" : "Signal",
	    got.body, got.kind == HL_KIND_ACK ? " response " : "",
	    got.kind == HL_KIND_ACK ? hl_response_name(got.response) : "");
	hl_plaintext_free(pt, ptlen);
	hl_content_clear(&got);
	hl_ciphertext_free(&ct);
}

static void
print_grouped(const char *digits)
{
	for (int i = 0; i < HL_SAFETY_LEN; i += 5)
		printf("%s%.5s%s", i % 30 == 0 ? "    " : "", digits + i,
		    (i + 5) % 30 == 0 ? "\n" : " ");
}

int
main(void)
{
	char dir[] = "/tmp/hotline-demo.XXXXXX";
	char cause[HL_CAUSE_MAX] = "";
	struct side ee = { .handle = "ee.cert" }, fi = { .handle = "fi.ncsc" };
	struct hl_bundle b;
	struct hl_prekey_pub *pks;
	size_t n;

	if (mkdtemp(dir) == NULL) {
		perror("demo: mkdtemp");
		return 1;
	}
	printf("hotline crypto demo\n\n");
	create(&ee, dir, "ee passphrase");
	create(&fi, dir, "fi passphrase");

	/* What the relay would hand out: fi.ncsc's bundle with one prekey. */
	int rc = hl_identity_public(fi.c, &b);
	if (rc == 0)
		rc = hl_prekeys_public(fi.c, &pks, &n);
	if (rc != 0)
		die("bundle", rc, NULL);
	b.has_prekey = 1;
	b.prekey = pks[0];
	free(pks);
	rc = hl_session_start(ee.c, fi.handle, &b, cause);
	if (rc != 0)
		die("session", rc, cause);
	printf("  %-8s started a session from %s's bundle (signed prekey %u, "
	    "one-time prekey %u)\n\n", ee.handle, fi.handle, b.signed_prekey.id,
	    b.prekey.id);

	char first[HL_ID_HEX + 1];
	send_text(&ee, &fi, HL_KIND_TEXT, HL_PRIO_URGENT,
	    "Phishing wave against ministries since 06:00 UTC; IOCs follow.",
	    NULL, first);
	send_text(&fi, &ee, HL_KIND_TEXT, HL_PRIO_ROUTINE,
	    "Seen here too. Sharing our indicators within the hour.", NULL, NULL);
	send_text(&ee, &fi, HL_KIND_TEXT, HL_PRIO_ROUTINE,
	    "Thanks. Blocking at the national level now.", NULL, NULL);
	send_text(&fi, &ee, HL_KIND_ACK, HL_PRIO_ROUTINE, "blocking too", first,
	    NULL);

	char sn_ee[HL_SAFETY_LEN + 1], sn_fi[HL_SAFETY_LEN + 1];
	rc = hl_safety_number(ee.c, fi.handle, 0, sn_ee);
	if (rc == 0)
		rc = hl_safety_number(fi.c, ee.handle, 0, sn_fi);
	if (rc != 0)
		die("safety number", rc, NULL);
	printf("\n  safety number, as %s sees it:\n", ee.handle);
	print_grouped(sn_ee);
	printf("  safety number, as %s sees it:\n", fi.handle);
	print_grouped(sn_fi);
	int same = strcmp(sn_ee, sn_fi) == 0;
	printf("  the two sides %s\n", same ? "match: read them to each other "
	    "over another channel" : "DIFFER");

	hl_crypto_close(ee.c);
	hl_crypto_close(fi.c);
	for (int i = 0; i < 2; i++) {
		struct side *s = i ? &fi : &ee;
		char p[160];
		unlink(s->path);
		snprintf(p, sizeof p, "%s-wal", s->path);
		unlink(p);
		snprintf(p, sizeof p, "%s-shm", s->path);
		unlink(p);
	}
	rmdir(dir);
	return same ? 0 : 1;
}
