/*
 * admin: the operator's subcommands besides serve. Each opens the store
 * named by relay.ini, does one thing in its own transaction (safe while
 * serve runs on the same file) and prints a short result.
 */
#include "relay/cli.h"

#include "crypto/hl_err.h"
#include "crypto/hl_handle.h"
#include "crypto/hl_time.h"
#include "relay/config.h"
#include "relay/secret.h"
#include "relay/store.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_EXPIRY_MS (7LL * 86400000)
#define MAX_EXPIRY_MS (365LL * 86400000)

static void
say_error(const struct hl_relay_cli *cli, const char *msg)
{
	fprintf(stderr, "hotline-relay %s: %s\n", cli->command, msg);
}

/* Loads the configuration and opens the store (create for init). */
static int
open_store(const struct hl_relay_cli *cli, int create,
    struct hl_relay_config *cfg, struct hl_store **st)
{
	int ex = hl_relay_cli_config(cli, cfg);
	if (ex != HL_RELAY_EXIT_OK)
		return ex;
	char cause[HL_CAUSE_MAX];
	int rc = hl_store_open(cfg->store_url, create, 0, st, cause);
	if (rc != 0) {
		say_error(cli, cause);
		return rc == HL_ECONFIG ? HL_RELAY_EXIT_CONFIG :
		    HL_RELAY_EXIT_FAIL;
	}
	return HL_RELAY_EXIT_OK;
}

/* Prints obj (consumed) as one line; NULL is out of memory. */
static int
print_json(const struct hl_relay_cli *cli, json_t *obj)
{
	char *text = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;
	json_decref(obj);
	if (text == NULL) {
		say_error(cli, "out of memory");
		return HL_RELAY_EXIT_FAIL;
	}
	printf("%s\n", text);
	free(text);
	return HL_RELAY_EXIT_OK;
}

int
hl_relay_cmd_init(const struct hl_relay_cli *cli)
{
	struct hl_relay_config cfg;
	struct hl_store *st = NULL;
	int ex = open_store(cli, 1, &cfg, &st);
	if (ex != HL_RELAY_EXIT_OK)
		return ex;
	hl_store_close(st);
	char shown[sizeof cfg.store_url];
	hl_store_url_shown(cfg.store_url, shown, sizeof shown);
	printf("initialised %s\n", shown);
	return HL_RELAY_EXIT_OK;
}

/* The HANDLE argument of invite and revoke: says what is wrong when it is
 * not a handle. */
static int
handle_arg_ok(const struct hl_relay_cli *cli, const char *handle)
{
	char cause[HL_CAUSE_MAX];
	if (hl_handle_valid(handle))
		return 1;
	snprintf(cause, sizeof cause, "'%.64s' is not a handle "
	    "([a-z0-9][a-z0-9.-]{1,62})", handle);
	say_error(cli, cause);
	return 0;
}

int
hl_relay_cmd_invite(const struct hl_relay_cli *cli)
{
	const char *handle = cli->args[0];
	char cause[HL_CAUSE_MAX];
	if (!handle_arg_ok(cli, handle))
		return HL_RELAY_EXIT_USAGE;
	int64_t expiry = DEFAULT_EXPIRY_MS;
	if (cli->expires != NULL) {
		char msg[HL_CAUSE_MAX + 16];
		int bad = hl_duration_parse(cli->expires, MAX_EXPIRY_MS,
		    &expiry, cause) != 0;
		if (!bad && expiry < 1000) {
			snprintf(cause, sizeof cause, "at least 1s");
			bad = 1;
		}
		if (bad) {
			snprintf(msg, sizeof msg, "--expires: %s", cause);
			say_error(cli, msg);
			return HL_RELAY_EXIT_USAGE;
		}
	}
	struct hl_relay_config cfg;
	struct hl_store *st = NULL;
	int ex = open_store(cli, 0, &cfg, &st);
	if (ex != HL_RELAY_EXIT_OK)
		return ex;
	char code[HL_SECRET_CODE_STR + 1];
	uint8_t hash[HL_SECRET_HASH];
	hl_secret_code_new(code, hash);
	int64_t now = hl_now_ms();
	int rc = st->ops->invite(st, handle, hash, now, now + expiry, cause);
	hl_store_close(st);
	sodium_memzero(hash, sizeof hash);
	if (rc != 0) {
		sodium_memzero(code, sizeof code);
		say_error(cli, cause);
		return HL_RELAY_EXIT_FAIL;
	}
	char until[HL_TIME_STR];
	hl_time_utc(now + expiry, until);
	printf("%s\n", code);
	fflush(stdout);
	fprintf(stderr,
	    "hotline-relay invite: one-time code for %s, valid until "
	    "%s\n", handle, until);
	sodium_memzero(code, sizeof code);
	return HL_RELAY_EXIT_OK;
}

int
hl_relay_cmd_revoke(const struct hl_relay_cli *cli)
{
	const char *handle = cli->args[0];
	char cause[HL_CAUSE_MAX];
	if (!handle_arg_ok(cli, handle))
		return HL_RELAY_EXIT_USAGE;
	struct hl_relay_config cfg;
	struct hl_store *st = NULL;
	int ex = open_store(cli, 0, &cfg, &st);
	if (ex != HL_RELAY_EXIT_OK)
		return ex;
	struct hl_store_revoke out;
	int rc = st->ops->revoke(st, handle, hl_now_ms(), &out, cause);
	hl_store_close(st);
	if (rc != 0) {
		say_error(cli, cause);
		return HL_RELAY_EXIT_FAIL;
	}
	printf("revoked %s: %lld queued message(s) dropped, "
	    "%lld sender notice(s) "
	    "queued\n", handle, (long long)out.dropped, (long long)out.notices);
	return HL_RELAY_EXIT_OK;
}

int
hl_relay_cmd_accounts(const struct hl_relay_cli *cli)
{
	struct hl_relay_config cfg;
	struct hl_store *st = NULL;
	int ex = open_store(cli, 0, &cfg, &st);
	if (ex != HL_RELAY_EXIT_OK)
		return ex;
	struct hl_store_account_info *list = NULL;
	size_t n = 0;
	char cause[HL_CAUSE_MAX];
	int rc = st->ops->accounts(st, &list, &n, cause);
	hl_store_close(st);
	if (rc != 0) {
		say_error(cli, cause);
		return HL_RELAY_EXIT_FAIL;
	}
	if (cli->json) {
		json_t *arr = json_array();
		for (size_t i = 0; arr != NULL && i < n; i++) {
			const struct hl_store_account_info *a = &list[i];
			char created[HL_TIME_STR], revoked[HL_TIME_STR];
			hl_time_rfc3339(a->created, created);
			hl_time_rfc3339(a->revoked_at, revoked);
			json_array_append_new(arr, json_pack(
			    "{s:s, s:s, s:s, s:I, s:I, s:s, s:s*}",
			    "handle", a->handle, "name", a->name, "status",
			    a->revoked ? "revoked" : "active", "prekeys",
			    (json_int_t)a->prekeys, "queued",
			    (json_int_t)a->queued, "created", created,
			    "revoked_at", a->revoked ? revoked : NULL));
		}
		free(list);
		return print_json(cli, json_pack("{s:s, s:o}", "type",
		    "accounts", "accounts", arr));
	}
	printf("%-24s %-8s %7s %7s  %-20s  %s\n", "HANDLE", "STATUS", "PREKEYS",
	    "QUEUED", "CREATED (UTC)", "NAME");
	for (size_t i = 0; i < n; i++) {
		char created[HL_TIME_STR];
		hl_time_utc(list[i].created, created);
		const struct hl_store_account_info *a = &list[i];
		printf("%-24s %-8s %7lld %7lld  %-20s  %s\n", a->handle,
		    a->revoked ? "revoked" : "active", (long long)a->prekeys,
		    (long long)a->queued, created, a->name);
	}
	free(list);
	return HL_RELAY_EXIT_OK;
}

int
hl_relay_cmd_stats(const struct hl_relay_cli *cli)
{
	struct hl_relay_config cfg;
	struct hl_store *st = NULL;
	int ex = open_store(cli, 0, &cfg, &st);
	if (ex != HL_RELAY_EXIT_OK)
		return ex;
	struct hl_store_stats s;
	char cause[HL_CAUSE_MAX];
	int rc = st->ops->stats(st, &s, cause);
	hl_store_close(st);
	if (rc != 0) {
		say_error(cli, cause);
		return HL_RELAY_EXIT_FAIL;
	}
	char oldest[HL_TIME_STR] = "-";
	if (cli->json) {
		if (s.oldest_queued > 0)
			hl_time_rfc3339(s.oldest_queued, oldest);
		return print_json(cli, json_pack("{s:s, s:I, s:I, s:I, s:I, "
		    "s:s*, s:I, s:I, s:I}", "type", "stats",
		    "accounts_active", (json_int_t)s.accounts_active,
		    "accounts_revoked", (json_int_t)s.accounts_revoked,
		    "queued_messages", (json_int_t)s.queued_messages,
		    "queued_notices", (json_int_t)s.queued_notices,
		    "oldest_queued", s.oldest_queued > 0 ? oldest : NULL,
		    "prekeys", (json_int_t)s.prekeys,
		    "codes_pending", (json_int_t)s.codes_pending,
		    "database_bytes", (json_int_t)s.database_bytes));
	}
	if (s.oldest_queued > 0)
		hl_time_utc(s.oldest_queued, oldest);
	printf("accounts_active: %lld\n", (long long)s.accounts_active);
	printf("accounts_revoked: %lld\n", (long long)s.accounts_revoked);
	printf("queued_messages: %lld\n", (long long)s.queued_messages);
	printf("queued_notices: %lld\n", (long long)s.queued_notices);
	printf("oldest_queued: %s\n", oldest);
	printf("prekeys: %lld\n", (long long)s.prekeys);
	printf("codes_pending: %lld\n", (long long)s.codes_pending);
	printf("database_bytes: %lld\n", (long long)s.database_bytes);
	return HL_RELAY_EXIT_OK;
}

int
hl_relay_cmd_backup(const struct hl_relay_cli *cli)
{
	struct hl_relay_config cfg;
	struct hl_store *st = NULL;
	int ex = open_store(cli, 0, &cfg, &st);
	if (ex != HL_RELAY_EXIT_OK)
		return ex;
	char cause[HL_CAUSE_MAX];
	int rc = st->ops->backup(st, cli->args[0], cause);
	hl_store_close(st);
	if (rc != 0) {
		say_error(cli, cause);
		return HL_RELAY_EXIT_FAIL;
	}
	printf("backup written to %s\n", cli->args[0]);
	return HL_RELAY_EXIT_OK;
}
