/* hotline inbox, hotline ack: what came in, and acknowledging it. */
#include "client/cli.h"
#include "client/commands.h"
#include "client/engine.h"
#include "client/loop.h"
#include "client/out.h"
#include "client/sanitize.h"
#include "crypto/hl_err.h"
#include "crypto/hl_time.h"

#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct listing {
	struct hl_cli *cli;
	int count;
	int mark_read;
	char (*to_mark)[HL_HANDLE_MAX + 1 + HL_ID_HEX + 1];
	size_t nmark, capmark;
};

static int
show(struct hl_msg *m, void *arg)
{
	struct listing *l = arg;
	struct hl_contact ct;
	int known = hl_store_contact_get(l->cli->crypto, m->peer, &ct) == 1;
	/* While the contact's new key waits for trust, every message from it
	 * carries the warning, whatever session it came in. */
	if (hl_engine_key_pending(l->cli->crypto, m->peer) == 1)
		m->key_changed = 1;
	if (l->cli->json)
		hl_out_json_line(hl_out_msg_json(m));
	else
		hl_out_msg(stdout, m, known ? &ct : NULL, 0);
	l->count++;
	if (l->mark_read && m->state == HL_ST_NEW) {
		if (l->nmark == l->capmark) {
			size_t ncap = l->capmark ? l->capmark * 2 : 32;
			void *n = realloc(l->to_mark, ncap * sizeof l->to_mark[0]);
			if (n == NULL)
				return 0;
			l->to_mark = n;
			l->capmark = ncap;
		}
		snprintf(l->to_mark[l->nmark++], sizeof l->to_mark[0], "%s %s",
		    m->peer, m->id);
	}
	return 0;
}

/* Shown means read: marked after the listing, in one transaction. */
static void
mark_read(struct listing *l)
{
	struct hl_crypto *c = l->cli->crypto;
	if (l->nmark == 0 || hl_crypto_begin(c) != 0)
		return;
	for (size_t i = 0; i < l->nmark; i++) {
		struct hl_msg m;
		char *sp = strchr(l->to_mark[i], ' ');
		*sp = '\0';
		if (hl_store_msg_get(c, HL_IN, l->to_mark[i], sp + 1, &m) == 1) {
			if (m.state == HL_ST_NEW)
				hl_store_msg_transition(c, &m, HL_ST_READ, hl_now_ms());
			hl_msg_clear(&m);
		}
	}
	hl_crypto_commit(c);
}

static void
warnings(struct hl_cli *cli)
{
	struct hl_gap *gaps = NULL;
	struct hl_held *held = NULL;
	size_t ngaps = 0, nheld = 0;
	if (cli->json)
		return;
	hl_store_gaps(cli->crypto, &gaps, &ngaps);
	hl_store_held_list(cli->crypto, NULL, &held, &nheld);
	hl_out_gaps_held(stdout, gaps, ngaps, held, nheld);
	free(gaps);
	hl_held_free(held, nheld);
}

/* The held items, and the text of those that decrypted but could not be
 * taken (their key is spent: this is the only way to read them). */
static int
show_held(struct hl_cli *cli, const char *from)
{
	struct hl_held *h = NULL;
	size_t n = 0;
	int rc = hl_store_held_list(cli->crypto, from, &h, &n);
	if (rc != 0)
		return hl_cli_fail(rc, "inbox", NULL);
	for (size_t i = 0; i < n; i++) {
		/* The content as it was padded: its JSON text ends at the
		 * padding mark. */
		size_t len = h[i].pt_len;
		while (len > 0 && h[i].pt[len - 1] == 0)
			len--;
		if (len > 0 && h[i].pt[len - 1] == 0x80)
			len--;
		char t[HL_OUT_TIME];
		if (cli->json) {
			json_t *o = json_object();
			char rt[HL_TIME_STR];
			hl_time_rfc3339(h[i].received_ms, rt);
			json_object_set_new(o, "type", json_string("held"));
			json_object_set_new(o, "qid", json_string(h[i].qid));
			json_object_set_new(o, "from", json_string(h[i].from));
			json_object_set_new(o, "id", json_string(h[i].id));
			json_object_set_new(o, "received", json_string(rt));
			json_object_set_new(o, "reason", json_string(h[i].reason));
			json_object_set_new(o, "decrypted", json_boolean(h[i].pt != NULL));
			if (h[i].pt != NULL) {
				json_t *c = json_stringn((const char *)h[i].pt, len);
				json_object_set_new(o, "content", c != NULL ? c :
				    json_string("(not UTF-8)"));
			}
			hl_out_json_line(o);
			continue;
		}
		struct hl_san_pool sp = { 0 };
		hl_out_time(h[i].received_ms, t);
		printf("!! held from %s, received %s: %s\n", hl_san(&sp, h[i].from,
		    HL_SANITIZE_ONELINE), t, hl_san(&sp, h[i].reason,
		    HL_SANITIZE_ONELINE));
		if (h[i].pt != NULL) {
			char *text = hl_sanitize((const char *)h[i].pt, len, 0);
			printf("   the decrypted content, as sent:\n");
			for (char *p = text, *nl; p != NULL && *p; p = nl ? nl + 1 : NULL) {
				nl = strchr(p, '\n');
				printf("   | %.*s\n", (int)(nl ? nl - p : (ptrdiff_t)strlen(p)), p);
			}
			if (text != NULL) {
				sodium_memzero(text, strlen(text));
				free(text);
			}
		} else {
			printf("   not decrypted (yet)\n");
		}
		hl_san_free(&sp);
	}
	if (!cli->json)
		printf("%zu held item%s\n", n, n == 1 ? "" : "s");
	hl_held_free(h, n);
	return HL_EXIT_OK;
}

int
hl_cmd_inbox(struct hl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		HL_CLI_GLOBAL_OPTIONS,
		{ "awaiting-ack", no_argument, NULL, 'a' },
		{ "all", no_argument, NULL, 'A' },
		{ "from", required_argument, NULL, 'f' },
		{ "held", no_argument, NULL, 1100 },
		{ NULL, 0, NULL, 0 },
	};
	int held = 0;
	struct hl_msg_query q = {
		.dir = HL_IN, .state = HL_ST_NEW, .exclude_receipts = 1,
	};
	struct listing l;
	int opt;
	memset(&l, 0, sizeof l);
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (hl_cli_global_option(cli, opt))
			continue;
		switch (opt) {
		case 'h':
			return hl_cli_help("inbox");
		case 'a':
			q.awaiting_ack = 1;
			q.state = -1;
			break;
		case 'A':
			q.state = -1;
			break;
		case 'f':
			if (!hl_handle_valid(optarg))
				return hl_cli_usage_error("inbox", "--from: '%s' is not a "
				    "handle", optarg);
			q.peer = optarg;
			break;
		case 1100:
			held = 1;
			break;
		default:
			return hl_cli_usage_error("inbox", "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		return hl_cli_usage_error("inbox", "unexpected argument '%s'",
		    argv[optind]);
	int rc = hl_cli_open(cli);
	if (rc != 0)
		return rc;
	if (held)
		return show_held(cli, q.peer);
	l.cli = cli;
	l.mark_read = 1;
	rc = hl_store_msg_each(cli->crypto, &q, show, &l);
	if (rc != 0) {
		free(l.to_mark);
		return hl_cli_fail(rc, "inbox", NULL);
	}
	mark_read(&l);
	free(l.to_mark);
	if (!cli->json)
		printf("%d message%s%s\n", l.count, l.count == 1 ? "" : "s",
		    q.awaiting_ack ? " awaiting your ack" :
		    q.state == HL_ST_NEW ? " new" : "");
	warnings(cli);
	return HL_EXIT_OK;
}

static int
inflight_done(void *arg)
{
	return hl_engine_inflight(arg) == 0;
}

int
hl_cmd_ack(struct hl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		HL_CLI_GLOBAL_OPTIONS,
		{ "response", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	enum hl_response resp = HL_RESP_RECEIVED;
	char cause[HL_CAUSE_MAX] = "";
	int opt;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (hl_cli_global_option(cli, opt))
			continue;
		if (opt == 'h')
			return hl_cli_help("ack");
		if (opt == 'r') {
			if (hl_response_parse(optarg, &resp) != 0 || resp == HL_RESP_NONE)
				return hl_cli_usage_error("ack", "--response: expected "
				    "received, will-comply, unable or need-info");
			continue;
		}
		return hl_cli_usage_error("ack", "unknown option '%s'", argv[optind - 1]);
	}
	if (optind >= argc)
		return hl_cli_usage_error("ack", "which message? give an ID (or a "
		    "unique prefix) or 'last'");
	const char *which = argv[optind++];
	size_t len = 1;
	for (int i = optind; i < argc; i++)
		len += strlen(argv[i]) + 1;
	if (len > HL_CONTENT_BODY_MAX)
		return hl_cli_usage_error("ack", "the note is too long");
	char *note = calloc(1, len);
	if (note == NULL)
		return hl_cli_fail(HL_ENOMEM, "ack", NULL);
	for (int i = optind; i < argc; i++) {
		if (i > optind)
			strcat(note, " ");
		strcat(note, argv[i]);
	}
	int rc = hl_cli_open(cli);
	if (rc != 0) {
		free(note);
		return rc;
	}
	struct hl_msg m;
	rc = hl_store_msg_find(cli->crypto, which, &m, cause);
	if (rc != 0) {
		free(note);
		return hl_cli_fail(rc, "ack", cause);
	}
	struct hl_engine *e = NULL;
	struct hl_engine_opts eo;
	hl_cli_engine_opts(cli, &eo);
	rc = hl_engine_new(&eo, &e, cause);
	if (rc == 0)
		rc = hl_engine_ack(e, &m, resp, note, cause);
	free(note);
	if (rc != 0) {
		hl_msg_clear(&m);
		hl_engine_free(e);
		return hl_cli_fail(rc, "ack", cause);
	}
	/* Try to send the ack now; if the relay is away, sync sends it. */
	hl_engine_kick(e);
	hl_loop_run(e, inflight_done, e, hl_mono_ms() + 60000);
	int relay_ok = hl_engine_relay_ok(e);
	hl_engine_free(e);
	struct hl_msg now;
	if (hl_store_msg_get(cli->crypto, HL_IN, m.peer, m.id, &now) == 1) {
		if (cli->json) {
			json_t *o = hl_out_msg_json(&now);
			json_object_set_new(o, "ack_sent", json_boolean(relay_ok == 1));
			hl_out_json_line(o);
		} else {
			printf("acknowledged %s from %s: %s%s\n", now.id, now.peer,
			    hl_response_name(resp), relay_ok == 1 ? "" :
			    " (the ack is queued: the relay is unreachable)");
		}
		hl_msg_clear(&now);
	}
	hl_msg_clear(&m);
	return HL_EXIT_OK;
}
