/* hotline register: enrol with a relay using the operator's one-time code. */
#include "client/api.h"
#include "client/cli.h"
#include "client/commands.h"
#include "client/out.h"
#include "client/passphrase.h"
#include "client/store.h"
#include "client/zone.h"
#include "crypto/hl_err.h"
#include "crypto/hl_session.h"
#include "crypto/hl_time.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REGISTER_PREKEYS 100

static int
set(char *dst, size_t cap, const char *v, const char *opt)
{
	if (strlen(v) >= cap)
		return hl_cli_usage_error("register", "--%s: too long", opt);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* "sha256//B64" or a bare "B64", several separated by ';', become the
 * form libcurl takes: what `openssl dgst -binary | base64` prints is
 * accepted as it is. The transport then checks each hash. */
static int
normalise_pin(char *pin, size_t cap)
{
	char out[sizeof ((struct hl_account *)0)->pin];
	size_t o = 0;
	const char *p = pin;
	if (*pin == '\0')
		return 0;
	for (;;) {
		const char *end = strchr(p, ';');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *prefix = strncmp(p, "sha256//", 8) == 0 ? "" : "sha256//";
		int n = snprintf(out + o, sizeof out - o, "%s%s%.*s", o ? ";" : "",
		    prefix, (int)len, p);
		if (n < 0 || (size_t)n >= sizeof out - o || o + (size_t)n >= cap)
			return hl_cli_usage_error("register", "--pin: too long");
		o += (size_t)n;
		if (end == NULL)
			break;
		p = end + 1;
	}
	memcpy(pin, out, o + 1);
	return 0;
}

/* The CA file is used by every later command, run from anywhere: stored
 * as an absolute path. */
static int
absolute_ca(char *ca, size_t cap)
{
	char abs[PATH_MAX];
	if (*ca == '\0')
		return 0;
	if (realpath(ca, abs) == NULL)
		return hl_cli_usage_error("register", "--ca %s: %s", ca, strerror(errno));
	if (strlen(abs) >= cap)
		return hl_cli_usage_error("register", "--ca: the path is too long");
	memcpy(ca, abs, strlen(abs) + 1);
	return 0;
}

/* The code never comes from the command line (other local users can
 * read it there, and race to redeem it): a file, standard input, or the
 * terminal. */
static int
read_code(const char *file, char *code, size_t cap)
{
	char *secret, cause[HL_CAUSE_MAX] = "";
	size_t len;
	int tty = file == NULL ? open("/dev/tty", O_RDWR | O_CLOEXEC) : -1;
	if (tty >= 0)
		close(tty);
	if (file == NULL && tty < 0)
		return hl_cli_usage_error("register", "no terminal to ask for the "
		    "enrollment code on: give --code-file FILE (or - for standard "
		    "input)");
	int rc = hl_secret_read(file, "Enrollment code: ", &secret, &len, cause);
	if (rc != 0)
		return hl_cli_fail(rc, "enrollment code", cause);
	/* Whitespace around a pasted code is not part of it. */
	char *s = secret, *e = secret + len;
	while (s < e && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	if (e == s || (size_t)(e - s) >= cap) {
		hl_passphrase_free(secret);
		return hl_cli_fail(HL_ECODE, "enrollment code", e == s ? "empty" :
		    "too long");
	}
	memcpy(code, s, (size_t)(e - s));
	code[e - s] = '\0';
	hl_passphrase_free(secret);
	return 0;
}

int
hl_cmd_register(struct hl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		HL_CLI_GLOBAL_OPTIONS,
		HL_CLI_PROFILE_OPTIONS,
		{ "relay", required_argument, NULL, 'r' },
		{ "handle", required_argument, NULL, 'n' },
		{ "code-file", required_argument, NULL, 'c' },
		/* Named, so that getopt does not take it for an abbreviation of
		 * --code-file. */
		{ "code", required_argument, NULL, 'C' },
		{ "pin", required_argument, NULL, 'p' },
		{ "ca", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct hl_account a;
	struct hl_profile p = cli->cfg.profile;
	char code[128] = "", cause[HL_CAUSE_MAX] = "";
	const char *code_file = NULL;
	int opt, rc;

	memset(&a, 0, sizeof a);
	snprintf(a.relay, sizeof a.relay, "%s", cli->cfg.relay_url);
	snprintf(a.pin, sizeof a.pin, "%s", cli->cfg.pin);
	snprintf(a.ca_file, sizeof a.ca_file, "%s", cli->cfg.ca_file);
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (hl_cli_global_option(cli, opt))
			continue;
		if (opt == 'h')
			return hl_cli_help("register");
		int r = hl_cli_profile_option(&p, opt, optarg);
		if (r < 0)
			return hl_cli_usage_error("register", "a profile field is too long");
		if (r > 0)
			continue;
		switch (opt) {
		case 'r': rc = set(a.relay, sizeof a.relay, optarg, "relay"); break;
		case 'n': rc = set(a.handle, sizeof a.handle, optarg, "handle"); break;
		case 'c': code_file = optarg; rc = 0; break;
		case 'C':
			return hl_cli_usage_error("register", "--code is not taken: "
			    "other users can read a command line. Type the code when "
			    "asked, or give --code-file FILE (- for standard input)");
		case 'p': rc = set(a.pin, sizeof a.pin, optarg, "pin"); break;
		case 'a': rc = set(a.ca_file, sizeof a.ca_file, optarg, "ca"); break;
		default:
			return hl_cli_usage_error("register", "unknown option '%s'",
			    argv[optind - 1]);
		}
		if (rc != 0)
			return rc;
	}
	if (optind < argc)
		return hl_cli_usage_error("register", "unexpected argument '%s'",
		    argv[optind]);
	if (a.relay[0] == '\0')
		return hl_cli_usage_error("register", "--relay URL is required");
	if (!hl_handle_valid(a.handle))
		return hl_cli_usage_error("register",
		    "--handle must be a handle like ee.cert ([a-z0-9][a-z0-9.-]{1,62})");
	if ((rc = normalise_pin(a.pin, sizeof a.pin)) != 0 ||
	    (rc = absolute_ca(a.ca_file, sizeof a.ca_file)) != 0)
		return rc;
	if (p.name[0] == '\0')
		snprintf(p.name, sizeof p.name, "%s", a.handle);
	if (hl_profile_validate(&p, cause) != 0)
		return hl_cli_usage_error("register", "%s", cause);
	if (hl_zone_check(p.timezone, cause) != 0)
		return hl_cli_usage_error("register", "%s", cause);

	/* The transport checks the URL and pin before anything is written. */
	struct hl_net *net = NULL;
	rc = hl_cli_net(cli, &a, &net);
	if (rc != 0)
		return rc;
	rc = hl_cli_open(cli);
	if (rc != 0)
		goto out_net;
	/* After the passphrase: both may be asked for on the terminal. */
	rc = read_code(code_file, code, sizeof code);
	if (rc != 0)
		goto out_net;
	struct hl_account old;
	rc = hl_store_account_get(cli->crypto, &old);
	if (rc == 1) {
		rc = hl_cli_fail(HL_EEXIST, "register", "this profile is registered "
		    "already; make another profile (--home) for another handle");
		goto out_net;
	}
	/* A failed attempt leaves the identity; a retry uses it again. */
	const char *mine = hl_identity_handle(cli->crypto);
	if (mine != NULL && strcmp(mine, a.handle) != 0) {
		rc = hl_cli_fail(HL_EEXIST, "register", "this profile's identity is "
		    "for another handle");
		goto out_net;
	}
	if (mine == NULL &&
	    (rc = hl_identity_create(cli->crypto, a.handle, REGISTER_PREKEYS,
	    cause)) != 0) {
		rc = hl_cli_fail(rc, "identity", cause);
		goto out_net;
	}

	struct hl_bundle me;
	struct hl_prekey_pub *pks = NULL;
	size_t npks = 0;
	rc = hl_identity_public(cli->crypto, &me);
	if (rc == 0)
		rc = hl_prekeys_public(cli->crypto, &pks, &npks);
	if (rc != 0) {
		rc = hl_cli_fail(rc, "identity", NULL);
		goto out_net;
	}
	/* Codes are typed by people: upper-case them as the relay expects. */
	for (char *s = code; *s; s++)
		*s = (char)toupper((unsigned char)*s);
	char *body = hl_api_build_register(a.handle, code, &me, pks, npks, &p);
	sodium_memzero(code, sizeof code);
	free(pks);
	if (body == NULL) {
		rc = hl_cli_fail(HL_ENOMEM, "register", NULL);
		goto out_net;
	}
	struct hl_call call;
	rc = hl_cli_call(net, "POST", "/v1/accounts", NULL, body, &call);
	sodium_memzero(body, strlen(body));
	free(body);
	if (rc != 0 || call.status != 201) {
		rc = hl_cli_call_failed(&call, "register");
		hl_call_free(&call);
		goto out_net;
	}
	rc = hl_api_parse_token(call.body, call.len, a.token, cause);
	sodium_memzero(call.body, call.len);
	hl_call_free(&call);
	if (rc != 0) {
		rc = hl_cli_fail(rc, "register", cause);
		goto out_net;
	}
	a.registered_ms = hl_now_ms();
	struct hl_contact self = { .fetched_ms = a.registered_ms };
	snprintf(self.entry.handle, sizeof self.entry.handle, "%s", a.handle);
	self.entry.profile = p;
	memcpy(self.entry.identity_key, me.identity_key, HL_KEY_LEN);
	rc = hl_crypto_begin(cli->crypto);
	if (rc == 0)
		rc = hl_store_account_put(cli->crypto, &a);
	if (rc == 0)
		rc = hl_store_contact_put(cli->crypto, &self);
	if (rc == 0)
		rc = hl_crypto_commit(cli->crypto);
	if (rc != 0) {
		hl_crypto_rollback(cli->crypto);
		rc = hl_cli_fail(rc, "register", "the relay accepted us but the "
		    "account could not be stored; ask the operator for a new code");
		goto out_net;
	}
	if (cli->json) {
		json_t *o = hl_out_json_object("registered");
		json_object_set_new(o, "handle", json_string(a.handle));
		json_object_set_new(o, "relay", json_string(a.relay));
		json_object_set_new(o, "prekeys", json_integer((json_int_t)npks));
		hl_out_json_line(o);
	} else {
		printf("registered %s at %s (%zu one-time prekeys published)\n",
		    a.handle, a.relay, npks);
	}
	rc = HL_EXIT_OK;
out_net:
	sodium_memzero(code, sizeof code);
	sodium_memzero(&a, sizeof a);
	hl_net_free(net);
	return rc;
}
