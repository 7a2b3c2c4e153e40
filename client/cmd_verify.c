/* hotline verify, hotline trust: safety numbers and changed keys. */
#include "client/api.h"
#include "client/cli.h"
#include "client/commands.h"
#include "client/engine.h"
#include "client/out.h"
#include "client/store.h"
#include "crypto/hl_encode.h"
#include "crypto/hl_err.h"
#include "crypto/hl_session.h"
#include "crypto/hl_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct log_ctx {
	int json;
	json_t *list;
};

static void
print_log(const struct hl_key_log_entry *e, void *arg)
{
	struct log_ctx *x = arg;
	char t[HL_OUT_TIME], oldfp[96] = "", newfp[96];
	if (e->has_old)
		hl_out_key_fingerprint(e->old_key, HL_KEY_LEN, oldfp);
	hl_out_key_fingerprint(e->new_key, HL_KEY_LEN, newfp);
	if (x->json) {
		char rt[HL_TIME_STR];
		json_t *o = json_object();
		hl_time_rfc3339(e->at_ms, rt);
		json_object_set_new(o, "at", json_string(rt));
		json_object_set_new(o, "event", json_string(hl_key_event_name(e->event)));
		if (e->has_old)
			json_object_set_new(o, "old", json_string(oldfp));
		json_object_set_new(o, "new", json_string(newfp));
		json_array_append_new(x->list, o);
		return;
	}
	hl_out_time(e->at_ms, t);
	printf("  %s  %s\n", t, hl_key_event_name(e->event));
	if (e->has_old)
		printf("      old %s\n", oldfp);
	printf("      new %s\n", newfp);
}

static int
parse_handle_arg(const char *cmd, int argc, char **argv, struct hl_cli *cli,
    int *confirm)
{
	static const struct option opts[] = {
		HL_CLI_GLOBAL_OPTIONS,
		{ "confirm", no_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (hl_cli_global_option(cli, opt))
			continue;
		if (opt == 'h')
			return hl_cli_help(cmd) == 0 ? -1 : HL_EXIT_USAGE;
		if (opt == 'c' && confirm != NULL) {
			*confirm = 1;
			continue;
		}
		return hl_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
	}
	if (argc - optind != 1)
		return hl_cli_usage_error(cmd, "give one HANDLE");
	if (!hl_handle_valid(argv[optind]))
		return hl_cli_usage_error(cmd, "'%s' is not a handle", argv[optind]);
	return 0;
}

/* Before any conversation: the identity key from the relay's directory,
 * recorded as first seen, so that its safety number can be compared now. */
static int
fetch_identity(struct hl_cli *cli, const char *handle)
{
	struct hl_account a;
	struct hl_net *net = NULL;
	struct hl_call call;
	struct hl_dir_entry *entries = NULL;
	size_t n = 0;
	char path[HL_HANDLE_MAX + 32], cause[HL_CAUSE_MAX] = "";
	int rc = hl_store_account_get(cli->crypto, &a);
	if (rc != 1)
		return hl_cli_fail(rc < 0 ? rc : HL_ENOTFOUND, "verify", rc < 0 ?
		    NULL : "not registered: run 'hotline register' first");
	rc = hl_cli_net(cli, &a, &net);
	if (rc != 0)
		return rc;
	snprintf(path, sizeof path, "/v1/directory?q=%s", handle);
	rc = hl_cli_call(net, "GET", path, a.token, NULL, &call);
	if (rc != 0 || call.status != 200) {
		rc = hl_cli_call_failed(&call, "verify: the contact's key");
		goto out;
	}
	rc = hl_api_parse_directory(call.body, call.len, &entries, &n, cause);
	if (rc != 0) {
		rc = hl_cli_fail(rc, "verify", cause);
		goto out;
	}
	size_t i;
	for (i = 0; i < n && strcmp(entries[i].handle, handle) != 0; i++)
		;
	if (i == n) {
		rc = hl_cli_fail(HL_ENOTFOUND, "verify", "no such handle in the "
		    "relay's directory");
		goto out;
	}
	struct hl_contact ct = { .entry = entries[i], .fetched_ms = hl_now_ms() };
	rc = hl_crypto_begin(cli->crypto);
	if (rc == 0)
		rc = hl_identity_note_first(cli->crypto, handle,
		    entries[i].identity_key);
	if (rc == 0)
		rc = hl_store_contact_put(cli->crypto, &ct);
	if (rc == 0)
		rc = hl_crypto_commit(cli->crypto);
	else
		hl_crypto_rollback(cli->crypto);
	if (rc != 0)
		rc = hl_cli_fail(rc, "verify", NULL);
out:
	free(entries);
	hl_call_free(&call);
	hl_net_free(net);
	return rc;
}

int
hl_cmd_verify(struct hl_cli *cli, int argc, char **argv)
{
	struct hl_identity_info info;
	char sn[HL_SAFETY_LEN + 1], psn[HL_SAFETY_LEN + 1] = "";
	int confirm = 0;
	int rc = parse_handle_arg("verify", argc, argv, cli, &confirm);
	if (rc != 0)
		return rc < 0 ? HL_EXIT_OK : rc;
	const char *handle = argv[optind];
	rc = hl_cli_open(cli);
	if (rc != 0)
		return rc;
	rc = hl_identity_info(cli->crypto, handle, &info);
	if (rc != 0)
		return hl_cli_fail(rc, "verify", NULL);
	if (!info.has_key && !info.has_pending) {
		rc = fetch_identity(cli, handle);
		if (rc != 0)
			return rc;
		rc = hl_identity_info(cli->crypto, handle, &info);
		if (rc != 0)
			return hl_cli_fail(rc, "verify", NULL);
	}
	if (confirm) {
		if (info.trust == HL_TRUST_CHANGED)
			return hl_cli_fail(HL_EUNTRUSTED, "verify", "the key changed: "
			    "compare the new safety number, then 'hotline trust'");
		rc = hl_identity_trust(cli->crypto, handle, info.key, 1);
		if (rc != 0)
			return hl_cli_fail(rc, "verify", NULL);
		hl_identity_info(cli->crypto, handle, &info);
	}
	if (info.has_key && hl_safety_number(cli->crypto, handle, 0, sn) != 0)
		sn[0] = '\0';
	if (info.has_pending && hl_safety_number(cli->crypto, handle, 1, psn) != 0)
		psn[0] = '\0';
	struct log_ctx x = { cli->json, cli->json ? json_array() : NULL };
	if (cli->json) {
		json_t *o = hl_out_json_object("identity");
		json_object_set_new(o, "handle", json_string(handle));
		json_object_set_new(o, "trust", json_string(hl_trust_name(info.trust)));
		if (sn[0])
			json_object_set_new(o, "safety_number", json_string(sn));
		if (psn[0])
			json_object_set_new(o, "new_safety_number", json_string(psn));
		hl_identity_log(cli->crypto, handle, print_log, &x);
		json_object_set_new(o, "key_log", x.list);
		hl_out_json_line(o);
		return HL_EXIT_OK;
	}
	printf("%s: %s\n", handle, hl_trust_name(info.trust));
	if (sn[0]) {
		printf("safety number%s:\n", info.has_pending ? " of the key accepted "
		    "before" : "");
		hl_out_safety(stdout, sn, "    ");
	}
	if (psn[0]) {
		printf("!! THE KEY CHANGED. Safety number of the new key:\n");
		hl_out_safety(stdout, psn, "    ");
		printf("Compare it with %s over another channel (phone, in person). "
		    "Only if it matches: hotline trust %s\n", handle, handle);
	} else if (info.trust == HL_TRUST_UNVERIFIED) {
		printf("Compare it with %s over another channel; when it matches: "
		    "hotline verify --confirm %s\n", handle, handle);
	}
	printf("key history:\n");
	hl_identity_log(cli->crypto, handle, print_log, &x);
	return HL_EXIT_OK;
}

/* Digits of a safety number as typed (spaces allowed), or "" for none. */
static int
typed_number(int argc, char **argv, char out[HL_SAFETY_LEN + 1])
{
	size_t n = 0;
	out[0] = '\0';
	for (int i = 0; i < argc; i++)
		for (const char *p = argv[i]; *p; p++) {
			if (*p == ' ')
				continue;
			if (*p < '0' || *p > '9' || n == HL_SAFETY_LEN)
				return -1;
			out[n++] = *p;
		}
	out[n] = '\0';
	return n == 0 || n == HL_SAFETY_LEN ? 0 : -1;
}

/* Held messages from handle that a key now trusted can open. */
static int
release(struct hl_cli *cli, const char *handle, int *released)
{
	struct hl_engine *e = NULL;
	struct hl_engine_opts eo;
	char cause[HL_CAUSE_MAX] = "";
	hl_cli_engine_opts(cli, &eo);
	int rc = hl_engine_new(&eo, &e, cause);
	if (rc == 0)
		rc = hl_engine_release_held(e, handle, released, cause);
	hl_engine_free(e);
	return rc == 0 ? 0 : hl_cli_fail(rc, "releasing held messages", cause);
}

int
hl_cmd_trust(struct hl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		HL_CLI_GLOBAL_OPTIONS,
		{ "reject", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct hl_identity_info info;
	char typed[HL_SAFETY_LEN + 1], pending_sn[HL_SAFETY_LEN + 1];
	int opt, reject = 0, released = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (hl_cli_global_option(cli, opt))
			continue;
		if (opt == 'h')
			return hl_cli_help("trust");
		if (opt == 'r') {
			reject = 1;
			continue;
		}
		return hl_cli_usage_error("trust", "unknown option '%s'",
		    argv[optind - 1]);
	}
	if (optind >= argc)
		return hl_cli_usage_error("trust", "give a HANDLE");
	const char *handle = argv[optind++];
	if (!hl_handle_valid(handle))
		return hl_cli_usage_error("trust", "'%s' is not a handle", handle);
	if (typed_number(argc - optind, argv + optind, typed) != 0)
		return hl_cli_usage_error("trust", "the safety number is %d digits "
		    "(spaces allowed)", HL_SAFETY_LEN);
	if (reject && typed[0])
		return hl_cli_usage_error("trust", "--reject takes no safety number");
	int rc = hl_cli_open(cli);
	if (rc != 0)
		return rc;
	rc = hl_identity_info(cli->crypto, handle, &info);
	if (rc != 0)
		return hl_cli_fail(rc, "trust", NULL);

	if (!info.has_pending) {
		/* Nothing waits; held messages may still (after an interrupted
		 * trust, say): try them again. */
		struct hl_held *held = NULL;
		size_t n = 0;
		if (!reject && hl_store_held_list(cli->crypto, handle, &held, &n) == 0 &&
		    n > 0) {
			hl_held_free(held, n);
			rc = release(cli, handle, &released);
			if (rc != 0)
				return rc;
			printf("no key was waiting; %d held message%s now readable\n",
			    released, released == 1 ? "" : "s");
			return HL_EXIT_OK;
		}
		hl_held_free(held, n);
		return hl_cli_fail(HL_ESTATE, "trust", "no changed key is waiting "
		    "for this contact ('hotline verify' shows its keys)");
	}
	if (hl_safety_number(cli->crypto, handle, 1, pending_sn) != 0)
		return hl_cli_fail(HL_ECRYPTO, "trust", "no safety number");
	if (typed[0] && strcmp(typed, pending_sn) != 0)
		return hl_cli_fail(HL_EUNTRUSTED, "trust", "that is not the safety "
		    "number of the waiting key: nothing accepted ('hotline verify' "
		    "shows it; 'hotline trust --reject' dismisses it)");

	/* The decision and what it unblocks, in one transaction. */
	rc = hl_crypto_begin(cli->crypto);
	if (rc == 0)
		rc = reject ? hl_identity_reject(cli->crypto, handle, info.pending) :
		    hl_identity_trust(cli->crypto, handle, info.pending, typed[0] != 0);
	if (rc == 0)
		rc = reject ? hl_store_requeue_peer(cli->crypto, handle) :
		    hl_store_reencrypt_queued(cli->crypto, handle);
	if (rc == 0)
		rc = hl_crypto_commit(cli->crypto);
	if (rc != 0) {
		hl_crypto_rollback(cli->crypto);
		return hl_cli_fail(rc, "trust", NULL);
	}
	if (!reject) {
		rc = release(cli, handle, &released);
		if (rc != 0)
			return rc;
	}
	if (cli->json) {
		json_t *o = hl_out_json_object("trust");
		json_object_set_new(o, "handle", json_string(handle));
		json_object_set_new(o, "trust", json_string(reject ? "rejected" :
		    typed[0] ? "verified" : "unverified"));
		json_object_set_new(o, "released", json_integer(released));
		hl_out_json_line(o);
	} else if (reject) {
		printf("dismissed the waiting key of %s; the accepted key stays and "
		    "queued messages go at the next sync; messages under the "
		    "dismissed key stay held\n", handle);
	} else {
		printf("accepted %s's new identity key%s; %d held message%s now "
		    "readable ('hotline inbox'); queued messages go at the next sync\n",
		    handle, typed[0] ? " (safety number matched: verified)" :
		    " without a safety number: it stays unverified until "
		    "'hotline verify --confirm'", released, released == 1 ? "" : "s");
	}
	return HL_EXIT_OK;
}
