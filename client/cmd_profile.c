/* hotline directory, hotline profile: the relay's directory of contacts. */
#include "client/api.h"
#include "client/cli.h"
#include "client/commands.h"
#include "client/engine.h"
#include "client/out.h"
#include "client/sanitize.h"
#include "client/store.h"
#include "client/zone.h"
#include "crypto/hl_encode.h"
#include "crypto/hl_err.h"
#include "crypto/hl_time.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int
copy_field(char *dst, size_t cap, const char *v)
{
	if (strlen(v) >= cap)
		return -1;
	memcpy(dst, v, strlen(v) + 1);
	return 1;
}

int
hl_cli_profile_option(struct hl_profile *p, int opt, const char *arg)
{
	switch (opt) {
	case 1001:
		return copy_field(p->name, sizeof p->name, arg);
	case 1002:
		return copy_field(p->organisation, sizeof p->organisation, arg);
	case 1003:
		return copy_field(p->country, sizeof p->country, arg);
	case 1004:
		return copy_field(p->role, sizeof p->role, arg);
	case 1005: {
		char buf[256];
		if (copy_field(buf, sizeof buf, arg) < 0)
			return -1;
		p->n_languages = 0;
		for (char *s = buf, *tok; (tok = strsep(&s, ",")) != NULL;) {
			if (*tok == '\0')
				continue;
			if (p->n_languages == HL_LANGUAGES_MAX ||
			    copy_field(p->languages[p->n_languages],
			    sizeof p->languages[0], tok) < 0)
				return -1;
			p->n_languages++;
		}
		return 1;
	}
	case 1006:
		return copy_field(p->timezone, sizeof p->timezone, arg);
	case 1007:
		return copy_field(p->alternate, sizeof p->alternate, arg);
	default:
		return 0;
	}
}

/* A directory entry as a JSON line's object (new reference). */
static json_t *
entry_json(const struct hl_dir_entry *e)
{
	const struct hl_profile *p = &e->profile;
	{
		char t[HL_TIME_STR];
		char *ik = hl_b64_encode(e->identity_key, HL_KEY_LEN);
		json_t *o = hl_out_json_object("contact");
		json_object_set_new(o, "handle", json_string(e->handle));
		json_object_set_new(o, "name", json_string(p->name));
		json_object_set_new(o, "organisation", json_string(p->organisation));
		json_object_set_new(o, "country", json_string(p->country));
		json_object_set_new(o, "role", json_string(p->role));
		json_t *l = json_array();
		for (size_t i = 0; i < p->n_languages; i++)
			json_array_append_new(l, json_string(p->languages[i]));
		json_object_set_new(o, "languages", l);
		json_object_set_new(o, "timezone", json_string(p->timezone));
		json_object_set_new(o, "alternate", json_string(p->alternate));
		if (ik != NULL)
			json_object_set_new(o, "identity_key", json_string(ik));
		free(ik);
		if (e->updated_ms > 0) {
			hl_time_rfc3339(e->updated_ms, t);
			json_object_set_new(o, "updated", json_string(t));
		}
		return o;
	}
}

/* An entry from the local copy: says so, and when it was fetched. */
static void
print_entry_cached(const struct hl_contact *ct)
{
	char t[HL_TIME_STR];
	json_t *o = entry_json(&ct->entry);
	json_object_set_new(o, "cached", json_true());
	if (ct->fetched_ms > 0) {
		hl_time_rfc3339(ct->fetched_ms, t);
		json_object_set_new(o, "fetched", json_string(t));
	}
	hl_out_json_line(o);
}

void
hl_cli_print_entry(const struct hl_dir_entry *e, int json)
{
	const struct hl_profile *p = &e->profile;
	char langs[HL_LANGUAGES_MAX * 9 + 1] = "";
	for (size_t i = 0; i < p->n_languages; i++) {
		if (i > 0)
			strcat(langs, ",");
		strcat(langs, p->languages[i]);
	}
	if (json) {
		hl_out_json_line(entry_json(e));
		return;
	}
	char now[96];
	hl_out_time_in(hl_now_ms(), p->timezone, now, sizeof now);
	/* Every field was written by the entry's owner: shown sanitized. */
	struct hl_san_pool sp = { 0 };
	const int one = HL_SANITIZE_ONELINE;
	printf("%-20s %s%s%s\n", hl_san(&sp, e->handle, one),
	    hl_san(&sp, p->name, one), p->organisation[0] ? ", " : "",
	    hl_san(&sp, p->organisation, one));
	printf("%-20s %s%s%s%s%s%s%s\n", "", p->country[0] ?
	    hl_san(&sp, p->country, one) : "--", p->role[0] ? "  " : "",
	    hl_san(&sp, p->role, one), langs[0] ? "  languages " : "",
	    hl_san(&sp, langs, one), now[0] ? "  now " : "", now);
	if (p->alternate[0])
		printf("%-20s alternate: %s\n", "", hl_san(&sp, p->alternate, one));
	hl_san_free(&sp);
}

static int
open_account(struct hl_cli *cli, struct hl_account *a)
{
	int rc = hl_cli_open(cli);
	if (rc != 0)
		return rc;
	rc = hl_store_account_get(cli->crypto, a);
	if (rc < 0)
		return hl_cli_fail(rc, "account", NULL);
	if (rc == 0)
		return hl_cli_fail(HL_ENOTFOUND, "account",
		    "not registered: run 'hotline register' first");
	return 0;
}

struct offline {
	struct hl_cli *cli;
	const char *q;
	struct hl_contact *list;
	size_t n, cap;
};

static int
contains(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (const char *p = hay; *p; p++)
		if (strncasecmp(p, needle, n) == 0)
			return 1;
	return n == 0;
}

static int
offline_one(const struct hl_contact *ct, void *arg)
{
	struct offline *o = arg;
	const struct hl_profile *p = &ct->entry.profile;
	if (!contains(ct->entry.handle, o->q) && !contains(p->name, o->q) &&
	    !contains(p->organisation, o->q) && !contains(p->country, o->q) &&
	    !contains(p->role, o->q))
		return 0;
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 16;
		struct hl_contact *l = realloc(o->list, cap * sizeof *l);
		if (l == NULL)
			return HL_ENOMEM;
		o->list = l;
		o->cap = cap;
	}
	o->list[o->n++] = *ct;
	return 0;
}

static int
by_handle(const void *x, const void *y)
{
	const struct hl_contact *a = x, *b = y;
	return strcmp(a->entry.handle, b->entry.handle);
}

/* The directory as last fetched, for when the relay cannot be reached:
 * the entries matching q, and how old the oldest of them is. */
static int
offline_directory(struct hl_cli *cli, const char *q, const char *why)
{
	struct offline o = { cli, q, NULL, 0, 0 };
	char age[32], t[HL_OUT_TIME];
	int rc = hl_store_contact_each(cli->crypto, offline_one, &o);
	if (rc != 0) {
		free(o.list);
		return hl_cli_fail(rc, "directory", NULL);
	}
	int64_t oldest = 0, now = hl_now_ms();
	for (size_t i = 0; i < o.n; i++)
		if (o.list[i].fetched_ms > 0 && (oldest == 0 ||
		    o.list[i].fetched_ms < oldest))
			oldest = o.list[i].fetched_ms;
	if (o.n > 1)
		qsort(o.list, o.n, sizeof *o.list, by_handle);
	hl_duration_format(oldest > 0 && now > oldest ? now - oldest : 0, age,
	    sizeof age);
	hl_out_time(oldest, t);
	hl_cli_warn("relay unreachable (%s): the directory as last fetched, "
	    "%s ago (%s)", why && *why ? why : "no answer", age, t);
	for (size_t i = 0; i < o.n; i++) {
		if (cli->json)
			print_entry_cached(&o.list[i]);
		else
			hl_cli_print_entry(&o.list[i].entry, 0);
	}
	if (!cli->json)
		printf("%zu contact%s, as fetched %s ago\n", o.n, o.n == 1 ? "" : "s",
		    age);
	free(o.list);
	return HL_EXIT_OK;
}

int
hl_cmd_directory(struct hl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		HL_CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct hl_account a;
	struct hl_net *net = NULL;
	struct hl_call call;
	struct hl_dir_entry *entries = NULL;
	size_t n = 0;
	char cause[HL_CAUSE_MAX] = "", path[512];
	int opt;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (hl_cli_global_option(cli, opt))
			continue;
		if (opt == 'h')
			return hl_cli_help("directory");
		return hl_cli_usage_error("directory", "unknown option '%s'",
		    argv[optind - 1]);
	}
	if (argc - optind > 1)
		return hl_cli_usage_error("directory", "give at most one query");
	const char *q = optind < argc ? argv[optind] : "";
	if (strlen(q) > 128)
		return hl_cli_usage_error("directory", "query longer than 128 bytes");
	int rc = open_account(cli, &a);
	if (rc != 0)
		return rc;
	rc = hl_cli_net(cli, &a, &net);
	if (rc != 0)
		return rc;
	char *esc = curl_easy_escape(NULL, q, 0);
	snprintf(path, sizeof path, "/v1/directory?q=%s", esc ? esc : "");
	curl_free(esc);
	rc = hl_cli_call(net, "GET", path, a.token, NULL, &call);
	if (rc == HL_ENET || rc == HL_ETIMEOUT) {
		/* The relay is away: the last copy fetched, saying how old. A
		 * TLS or pin failure is no outage and is reported as such. */
		rc = offline_directory(cli, q, call.cause);
		goto out;
	}
	if (rc != 0 || call.status != 200) {
		rc = hl_cli_call_failed(&call, "directory");
		goto out;
	}
	rc = hl_api_parse_directory(call.body, call.len, &entries, &n, cause);
	if (rc != 0) {
		rc = hl_cli_fail(rc, "directory", cause);
		goto out;
	}
	/* Remembered for names, time zones and alternates; a key that differs
	 * from the one accepted for a contact waits for 'trust'. */
	if (hl_crypto_begin(cli->crypto) == 0) {
		for (size_t i = 0; i < n; i++) {
			struct hl_contact ct = { .entry = entries[i],
			    .fetched_ms = hl_now_ms() };
			hl_store_contact_put(cli->crypto, &ct);
			if (strcmp(entries[i].handle, a.handle) != 0 &&
			    hl_engine_note_directory_key(cli->crypto, &entries[i]) == 1)
				hl_cli_warn("!! %s's identity key in the "
				    "directory is not the one you accepted: sending to it "
				    "waits until you compare the safety number ('hotline "
				    "verify %s') and 'hotline trust %s'",
				    entries[i].handle, entries[i].handle, entries[i].handle);
		}
		hl_crypto_commit(cli->crypto);
	}
	for (size_t i = 0; i < n; i++)
		hl_cli_print_entry(&entries[i], cli->json);
	if (!cli->json)
		printf("%zu contact%s\n", n, n == 1 ? "" : "s");
	rc = HL_EXIT_OK;
out:
	free(entries);
	hl_call_free(&call);
	hl_net_free(net);
	return rc;
}

int
hl_cmd_profile(struct hl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		HL_CLI_GLOBAL_OPTIONS,
		HL_CLI_PROFILE_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct hl_account a;
	struct hl_contact me;
	struct hl_profile p;
	struct hl_net *net = NULL;
	struct hl_call call;
	char cause[HL_CAUSE_MAX] = "";
	int opt, changed = 0;
	memset(&p, 0, sizeof p);
	memset(&call, 0, sizeof call);
	/* Options are applied on top of the stored entry, after it is read. */
	const char *vals[8] = { 0 };
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (hl_cli_global_option(cli, opt))
			continue;
		if (opt == 'h')
			return hl_cli_help("profile");
		if (opt >= 1001 && opt <= 1007) {
			vals[opt - 1001] = optarg;
			changed = 1;
			continue;
		}
		return hl_cli_usage_error("profile", "unknown option '%s'",
		    argv[optind - 1]);
	}
	if (optind < argc)
		return hl_cli_usage_error("profile", "unexpected argument '%s'",
		    argv[optind]);
	int rc = open_account(cli, &a);
	if (rc != 0)
		return rc;
	rc = hl_store_contact_get(cli->crypto, a.handle, &me);
	if (rc < 0)
		return hl_cli_fail(rc, "profile", NULL);
	if (rc == 0) {
		memset(&me, 0, sizeof me);
		snprintf(me.entry.handle, sizeof me.entry.handle, "%s", a.handle);
	}
	if (!changed) {
		hl_cli_print_entry(&me.entry, cli->json);
		return HL_EXIT_OK;
	}
	p = me.entry.profile;
	for (int i = 0; i < 7; i++)
		if (vals[i] != NULL && hl_cli_profile_option(&p, 1001 + i, vals[i]) < 0)
			return hl_cli_usage_error("profile", "--%s: too long",
			    opts[5 + i].name);
	rc = hl_profile_validate(&p, cause);
	if (rc != 0)
		return hl_cli_usage_error("profile", "%s", cause);
	if (hl_zone_check(p.timezone, cause) != 0)
		return hl_cli_usage_error("profile", "%s", cause);
	rc = hl_cli_net(cli, &a, &net);
	if (rc != 0)
		return rc;
	char *body = hl_api_build_profile(&p);
	if (body == NULL) {
		hl_net_free(net);
		return hl_cli_fail(HL_ENOMEM, "profile", NULL);
	}
	rc = hl_cli_call(net, "PUT", "/v1/profile", a.token, body, &call);
	free(body);
	struct hl_dir_entry back;
	if (rc != 0 || call.status != 200) {
		rc = hl_cli_call_failed(&call, "profile");
	} else if (hl_api_parse_entry(call.body, call.len, a.handle, &back,
	    cause) != 0) {
		/* A 200 that is not the new entry: the update cannot be
		 * taken as done. */
		rc = hl_cli_fail(HL_EPARSE, "profile", cause);
	} else {
		me.entry.profile = p;
		me.fetched_ms = hl_now_ms();
		hl_store_contact_put(cli->crypto, &me);
		hl_cli_print_entry(&me.entry, cli->json);
		rc = HL_EXIT_OK;
	}
	hl_call_free(&call);
	hl_net_free(net);
	return rc;
}
