/* hotline status, hotline export: the state of every message, with times. */
#include "client/cli.h"
#include "client/commands.h"
#include "client/engine.h"
#include "client/out.h"
#include "client/store.h"
#include "crypto/hl_err.h"
#include "crypto/hl_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct listing {
	struct hl_cli *cli;
	int count;
	int details;
};

static int
show(struct hl_msg *m, void *arg)
{
	struct listing *l = arg;
	struct hl_contact ct;
	/* As in the inbox: a message from a contact whose new key waits for
	 * trust carries the warning. */
	if (m->dir == HL_IN && hl_engine_key_pending(l->cli->crypto, m->peer) == 1)
		m->key_changed = 1;
	if (l->cli->json) {
		hl_out_json_line(hl_out_msg_json(m));
	} else {
		int known = hl_store_contact_get(l->cli->crypto, m->peer, &ct) == 1;
		hl_out_msg(stdout, m, known ? &ct : NULL, l->details);
		if (l->details)
			printf("\n");
	}
	l->count++;
	return 0;
}

static int
show_pending(struct hl_msg *m, void *arg)
{
	/* Still moving: everything not acknowledged, failed or expired. */
	if (m->state == HL_ST_ACKNOWLEDGED || m->state == HL_ST_FAILED ||
	    m->state == HL_ST_EXPIRED)
		return 0;
	return show(m, arg);
}

static int
count_one(struct hl_msg *m, void *arg)
{
	(void)m;
	(*(int *)arg)++;
	return 0;
}

static void
overview(struct hl_cli *cli, const struct hl_account *a)
{
	int64_t out[HL_ST_COUNT], in[HL_ST_COUNT], skew = 0;
	struct hl_gap *gaps = NULL;
	struct hl_held *held = NULL;
	size_t ngaps = 0, nheld = 0;
	struct hl_msg_query q = { .dir = HL_IN, .state = -1, .awaiting_ack = 1 };
	struct listing l = { cli, 0, 0 };
	int awaiting = 0;

	hl_store_msg_counts(cli->crypto, HL_OUT, out);
	hl_store_msg_counts(cli->crypto, HL_IN, in);
	hl_store_gaps(cli->crypto, &gaps, &ngaps);
	hl_store_held_list(cli->crypto, NULL, &held, &nheld);
	hl_store_msg_each(cli->crypto, &q, count_one, &awaiting);
	int has_skew = hl_store_meta_get(cli->crypto, "clock_skew_ms", &skew) == 1;
	if (cli->json) {
		json_t *o = hl_out_json_object("status");
		json_object_set_new(o, "handle", json_string(a->handle));
		json_object_set_new(o, "relay", json_string(a->relay));
		json_t *jo = json_object(), *ji = json_object();
		for (int s = 0; s < HL_ST_COUNT; s++) {
			if (s <= HL_ST_EXPIRED)
				json_object_set_new(jo, hl_state_name((enum hl_state)s),
				    json_integer(out[s]));
			if (s == HL_ST_NEW || s == HL_ST_READ || s == HL_ST_ACKNOWLEDGED)
				json_object_set_new(ji, hl_state_name((enum hl_state)s),
				    json_integer(in[s]));
		}
		json_object_set_new(o, "outbound", jo);
		json_object_set_new(o, "inbound", ji);
		json_object_set_new(o, "awaiting_your_ack", json_integer(awaiting));
		json_t *jg = json_array();
		for (size_t i = 0; i < ngaps; i++) {
			json_t *g = json_object();
			json_object_set_new(g, "peer", json_string(gaps[i].peer));
			json_object_set_new(g, "seq", json_integer(gaps[i].seq));
			json_array_append_new(jg, g);
		}
		json_object_set_new(o, "missing", jg);
		json_t *jh = json_array();
		for (size_t i = 0; i < nheld; i++) {
			json_t *h = json_object();
			json_object_set_new(h, "from", json_string(held[i].from));
			json_object_set_new(h, "reason", json_string(held[i].reason));
			json_array_append_new(jh, h);
		}
		json_object_set_new(o, "held", jh);
		if (has_skew)
			json_object_set_new(o, "clock_skew_ms", json_integer(skew));
		hl_out_json_line(o);
	} else {
		printf("%s at %s\n", a->handle, a->relay);
		printf("sent by you:  %lld queued, %lld sent, %lld delivered, %lld "
		    "acknowledged, %lld overdue, %lld failed, %lld expired\n",
		    (long long)out[HL_ST_QUEUED], (long long)out[HL_ST_SENT],
		    (long long)out[HL_ST_DELIVERED], (long long)out[HL_ST_ACKNOWLEDGED],
		    (long long)out[HL_ST_OVERDUE], (long long)out[HL_ST_FAILED],
		    (long long)out[HL_ST_EXPIRED]);
		printf("received:     %lld new, %lld read, %lld acknowledged; %d "
		    "awaiting your ack\n", (long long)in[HL_ST_NEW],
		    (long long)in[HL_ST_READ], (long long)in[HL_ST_ACKNOWLEDGED],
		    awaiting);
		hl_out_gaps_held(stdout, gaps, ngaps, held, nheld);
		if (has_skew && (skew > 121000 || skew < -120000)) {
			char d[32];
			hl_duration_format(skew < 0 ? -skew : skew, d, sizeof d);
			printf("!! clock skew: %s %s the relay at the last contact\n", d,
			    skew > 0 ? "ahead of" : "behind");
		}
		printf("\n");
	}
	/* Outbound messages still on their way, oldest first. */
	struct hl_msg_query pq = { .dir = HL_OUT, .state = -1, .exclude_receipts = 1 };
	hl_store_msg_each(cli->crypto, &pq, show_pending, &l);
	free(gaps);
	hl_held_free(held, nheld);
}

int
hl_cmd_status(struct hl_cli *cli, int argc, char **argv)
{
	char cause[HL_CAUSE_MAX] = "";
	int rc = hl_cli_global_options_only(cli, "status", argc, argv);
	if (rc >= 0)
		return rc;
	if (argc - optind > 1)
		return hl_cli_usage_error("status", "give at most one message ID");
	rc = hl_cli_open(cli);
	if (rc != 0)
		return rc;
	if (optind < argc) {
		struct hl_msg m;
		rc = hl_store_msg_find(cli->crypto, argv[optind], &m, cause);
		if (rc != 0)
			return hl_cli_fail(rc, "status", cause);
		struct listing l = { cli, 0, 1 };
		show(&m, &l);
		hl_msg_clear(&m);
		return HL_EXIT_OK;
	}
	struct hl_account a;
	rc = hl_store_account_get(cli->crypto, &a);
	if (rc != 1)
		return hl_cli_fail(rc < 0 ? rc : HL_ENOTFOUND, "status",
		    rc < 0 ? NULL : "not registered: run 'hotline register' first");
	overview(cli, &a);
	return HL_EXIT_OK;
}

int
hl_cmd_export(struct hl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		HL_CLI_GLOBAL_OPTIONS,
		{ "format", required_argument, NULL, 'f' },
		{ "since", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct hl_msg_query q = { .dir = -1, .state = -1, .exclude_receipts = 1 };
	char cause[HL_CAUSE_MAX] = "";
	int opt, json = -1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (hl_cli_global_option(cli, opt))
			continue;
		switch (opt) {
		case 'h':
			return hl_cli_help("export");
		case 'f':
			if (strcmp(optarg, "json") == 0)
				json = 1;
			else if (strcmp(optarg, "text") == 0)
				json = 0;
			else
				return hl_cli_usage_error("export", "--format: json or text");
			break;
		case 's':
			if (hl_time_parse(optarg, hl_now_ms(), &q.since_ms, cause) != 0)
				return hl_cli_usage_error("export", "--since: %s", cause);
			break;
		default:
			return hl_cli_usage_error("export", "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		return hl_cli_usage_error("export", "unexpected argument '%s'",
		    argv[optind]);
	if (cli->json && json == 0)
		return hl_cli_usage_error("export", "--json and --format text "
		    "exclude each other");
	if (json >= 0)
		cli->json = json;
	int rc = hl_cli_open(cli);
	if (rc != 0)
		return rc;
	struct listing l = { cli, 0, 1 };
	rc = hl_store_msg_each(cli->crypto, &q, show, &l);
	if (rc != 0)
		return hl_cli_fail(rc, "export", NULL);
	if (!cli->json)
		printf("%d message%s\n", l.count, l.count == 1 ? "" : "s");
	return HL_EXIT_OK;
}
