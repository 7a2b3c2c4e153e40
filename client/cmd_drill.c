/* hotline drill: communication checks (start, status, report, list, history). */
#include "client/cli.h"
#include "client/commands.h"
#include "client/drill.h"
#include "client/engine.h"
#include "client/loop.h"
#include "client/out.h"
#include "client/store.h"
#include "crypto/hl_err.h"
#include "crypto/hl_time.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define START_WAIT_MS 120000
#define FOLLOW_WAIT_S 25

/* The ids of one drill's checks, to tell its events from others. */
struct watch {
	struct hl_cli *cli;
	struct hl_engine *e;
	struct hl_drill_report r;
	int tty;
	size_t accepted, failed, total;
	int kicked;
	int fetches_before;
	int64_t t0;
	int follow;
};

static int
row_of(const struct watch *w, const struct hl_msg *m)
{
	if (m->dir != HL_OUT || m->content.kind != HL_KIND_CHECK)
		return -1;
	for (size_t i = 0; i < w->r.n; i++)
		if (strcmp(w->r.rows[i].msg_id, m->id) == 0)
			return (int)i;
	return -1;
}

static void
progress(struct watch *w)
{
	if (!w->tty)
		return;
	fprintf(stderr, "\rsending checks: %zu of %zu accepted by the relay%s%s  "
	    "(%.1fs)", w->accepted, w->total, w->failed ? ", failed " : "",
	    w->failed ? "some" : "", (double)(hl_mono_ms() - w->t0) / 1000.0);
	fflush(stderr);
}

static void
on_event(const struct hl_event *ev, void *arg)
{
	struct watch *w = arg;
	if (ev->kind == HL_EV_STATE) {
		int i = row_of(w, ev->msg);
		if (i < 0)
			return;
		struct hl_drill_row *row = &w->r.rows[i];
		const struct hl_msg *m = ev->msg;
		if (m->state == HL_ST_SENT && row->sent_ms == 0) {
			row->sent_ms = m->at[HL_ST_SENT];
			w->accepted++;
			progress(w);
		} else if (m->state == HL_ST_FAILED &&
		    (row->state == NULL || strcmp(row->state, "failed") != 0)) {
			row->state = "failed";
			w->failed++;
			progress(w);
		}
		if (w->follow && (m->state == HL_ST_DELIVERED ||
		    m->state == HL_ST_ACKNOWLEDGED || m->state == HL_ST_OVERDUE)) {
			char t[HL_OUT_TIME];
			hl_out_time(m->at[m->state], t);
			if (w->cli->json) {
				json_t *o = hl_out_msg_json(m);
				json_object_set_new(o, "event", json_string("drill"));
				json_object_set_new(o, "drill", json_string(w->r.id));
				hl_out_json_line(o);
			} else {
				printf("%s  %-24s %s%s%s\n", t, m->peer, hl_state_name(m->state),
				    m->state == HL_ST_ACKNOWLEDGED ? ": " : "",
				    m->state == HL_ST_ACKNOWLEDGED ?
				    hl_response_name(m->ack_response) : "");
				fflush(stdout);
			}
		}
		return;
	}
	if (ev->kind == HL_EV_RECEIVED || ev->kind == HL_EV_PREKEYS ||
	    ev->kind == HL_EV_GAP_CLOSED || (ev->kind == HL_EV_RELAY && ev->n))
		return;
	/* Warnings the coordinator must see go to stderr, away from results. */
	if (ev->kind == HL_EV_RELAY)
		fprintf(stderr, "hotline: relay unreachable: %s\n", ev->text ? ev->text : "");
	else if (ev->kind == HL_EV_KEY_CHANGED)
		fprintf(stderr, "hotline: %s's identity key changed: its check is held "
		    "until 'hotline trust %s'\n", ev->peer, ev->peer);
	else if (ev->kind == HL_EV_AUTH)
		fprintf(stderr, "hotline: the relay refused this account's token\n");
}

static int
start_done(void *arg)
{
	struct watch *w = arg;
	return w->accepted + w->failed >= w->total || hl_engine_inflight(w->e) == 0;
}

static int
new_engine(struct hl_cli *cli, struct watch *w, const char *what)
{
	char cause[HL_CAUSE_MAX] = "";
	struct hl_engine_opts eo;
	hl_cli_engine_opts(cli, &eo);
	eo.on_event = on_event;
	eo.arg = w;
	int rc = hl_engine_new(&eo, &w->e, cause);
	if (rc != 0)
		return hl_cli_fail(rc, what, cause);
	rc = hl_drill_init(cli->crypto, cause);
	if (rc != 0)
		return hl_cli_fail(rc, what, cause);
	return 0;
}

static int
drill_start(struct hl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		HL_CLI_GLOBAL_OPTIONS,
		{ "to", required_argument, NULL, 't' },
		{ "group", required_argument, NULL, 'g' },
		{ "ack-within", required_argument, NULL, 'a' },
		{ "note", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	const char *to = NULL, *group = NULL, *note = NULL;
	int64_t ack_within = HL_DRILL_DEFAULT_ACK_MS;
	char cause[HL_CAUSE_MAX] = "", id[HL_DRILL_ID_HEX + 1];
	char **v = NULL;
	size_t n = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (hl_cli_global_option(cli, opt))
			continue;
		switch (opt) {
		case 'h':
			return hl_cli_help("drill");
		case 't': to = optarg; break;
		case 'g': group = optarg; break;
		case 'n': note = optarg; break;
		case 'a':
			if (hl_cli_duration("drill start", "ack-within", optarg,
			    30LL * 86400000, &ack_within) != 0)
				return HL_EXIT_USAGE;
			if (ack_within < 1000)
				return hl_cli_usage_error("drill", "--ack-within: at least 1s");
			break;
		default:
			return hl_cli_usage_error("drill", "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		return hl_cli_usage_error("drill", "unexpected argument '%s'",
		    argv[optind]);
	if ((to == NULL) == (group == NULL))
		return hl_cli_usage_error("drill", "start: give --to H1,H2,... or "
		    "--group FILE");
	int rc = to ? hl_drill_group_split(to, &v, &n, cause) :
	    hl_drill_group_read(group, &v, &n, cause);
	if (rc != 0)
		return hl_cli_usage_error("drill", "%s", cause);
	rc = hl_cli_open(cli);
	if (rc != 0) {
		hl_drill_group_free(v, n);
		return rc;
	}
	/* The coordinator's own handle (a shared group file lists every
	 * desk) is no contact: kept, it would count as no answer. */
	struct hl_account me;
	if (hl_store_account_get(cli->crypto, &me) == 1) {
		int warned = 0;
		for (size_t i = 0; i < n;) {
			if (strcmp(v[i], me.handle) != 0) {
				i++;
				continue;
			}
			if (!warned++)
				hl_cli_warn("%s is your own handle: left out of the drill",
				    me.handle);
			free(v[i]);
			memmove(&v[i], &v[i + 1], (n - i - 1) * sizeof *v);
			n--;
		}
	}
	sodium_memzero(&me, sizeof me);
	if (n == 0) {
		hl_drill_group_free(v, n);
		return hl_cli_usage_error("drill", "start: no contacts but "
		    "yourself");
	}
	struct watch w;
	memset(&w, 0, sizeof w);
	w.cli = cli;
	w.tty = isatty(STDERR_FILENO) && !cli->json;
	w.t0 = hl_mono_ms();
	rc = new_engine(cli, &w, "drill start");
	if (rc != 0) {
		hl_drill_group_free(v, n);
		hl_engine_free(w.e);
		return rc;
	}
	struct hl_drill_start s = {
		.to = (const char *const *)v, .n = n, .ack_within_ms = ack_within,
		.note = note,
	};
	rc = hl_drill_start(w.e, cli->crypto, &s, id, cause);
	hl_drill_group_free(v, n);
	if (rc != 0) {
		hl_engine_free(w.e);
		return hl_cli_fail(rc, "drill start", cause);
	}
	rc = hl_drill_load(cli->crypto, id, &w.r, cause);
	if (rc != 0) {
		hl_engine_free(w.e);
		return hl_cli_fail(rc, "drill start", cause);
	}
	for (size_t i = 0; i < w.r.n; i++)
		if (w.r.rows[i].msg_id[0])
			w.total++;
	hl_engine_kick(w.e);
	hl_loop_run(w.e, start_done, &w, hl_mono_ms() + START_WAIT_MS);
	int64_t took = hl_mono_ms() - w.t0;
	int relay_ok = hl_engine_relay_ok(w.e);
	hl_engine_free(w.e);
	if (w.tty)
		fprintf(stderr, "\n");
	char t[HL_OUT_TIME];
	hl_out_time(w.r.started_ms + w.r.ack_within_ms, t);
	if (cli->json) {
		json_t *o = hl_out_json_object("drill_started");
		json_object_set_new(o, "drill", json_string(w.r.id));
		json_object_set_new(o, "contacts", json_integer((json_int_t)w.r.n));
		json_object_set_new(o, "accepted", json_integer((json_int_t)w.accepted));
		json_object_set_new(o, "took_ms", json_integer(took));
		hl_out_json_line(o);
	} else {
		printf("drill %s: EXERCISE check to %zu contact%s, %zu accepted by the "
		    "relay in %.1fs; acknowledge by %s\n", w.r.id, w.r.n,
		    w.r.n == 1 ? "" : "s", w.accepted, (double)took / 1000.0, t);
		for (size_t i = 0; i < w.r.n; i++)
			if (w.r.rows[i].reason)
				printf("  %s: not sent: %s\n", w.r.rows[i].peer,
				    w.r.rows[i].reason);
		if (w.accepted < w.total)
			printf("  %zu check%s still queued: 'hotline sync' sends them\n",
			    w.total - w.accepted, w.total - w.accepted == 1 ? "" : "s");
	}
	hl_drill_report_clear(&w.r);
	if (w.accepted == 0 && w.total > 0 && relay_ok != 1)
		return HL_EXIT_UNREACHABLE;
	return HL_EXIT_OK;
}

/* Every check answered, or its deadline passed. */
static int
settled(const struct hl_drill_report *r)
{
	int64_t now = hl_now_ms();
	for (size_t i = 0; i < r->n; i++)
		if (hl_drill_verdict(&r->rows[i], now) == HL_DV_WAITING)
			return 0;
	return 1;
}

static int
cycle_done(void *arg)
{
	struct watch *w = arg;
	return hl_engine_fetches(w->e) > w->fetches_before &&
	    hl_engine_inflight(w->e) == 0;
}

static int
drill_status(struct hl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		HL_CLI_GLOBAL_OPTIONS,
		{ "follow", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	char cause[HL_CAUSE_MAX] = "";
	int opt, follow = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (hl_cli_global_option(cli, opt))
			continue;
		if (opt == 'h')
			return hl_cli_help("drill");
		if (opt == 'f') {
			follow = 1;
			continue;
		}
		return hl_cli_usage_error("drill", "unknown option '%s'", argv[optind - 1]);
	}
	if (optind + 1 != argc)
		return hl_cli_usage_error("drill", "status: give one drill ID (or 'last')");
	const char *which = argv[optind];
	int rc = hl_cli_open(cli);
	if (rc != 0)
		return rc;
	struct watch w;
	memset(&w, 0, sizeof w);
	w.cli = cli;
	w.follow = follow;
	rc = new_engine(cli, &w, "drill status");
	if (rc == 0 && (rc = hl_drill_load(cli->crypto, which, &w.r, cause)) != 0)
		rc = hl_cli_fail(rc, "drill status", cause);
	if (rc != 0) {
		hl_engine_free(w.e);
		return rc;
	}
	/* Receipts and acks come in through fetches: one cycle, or until the
	 * drill is settled when following. */
	hl_engine_kick(w.e);
	do {
		w.fetches_before = hl_engine_fetches(w.e);
		hl_engine_fetch(w.e, follow ? FOLLOW_WAIT_S : 0);
		rc = hl_loop_run(w.e, cycle_done, &w, hl_mono_ms() +
		    (FOLLOW_WAIT_S + 60) * 1000);
		hl_drill_report_clear(&w.r);
		if (hl_drill_load(cli->crypto, which, &w.r, cause) != 0)
			break;
		if (rc == HL_EBUSY)
			break;
		if (follow && !hl_engine_fetch_ok(w.e, NULL))
			hl_loop_run(w.e, cycle_done, &w, hl_mono_ms() + 2000);
	} while (follow && !settled(&w.r) && !hl_cli_interrupted());
	int relay_ok = hl_engine_relay_ok(w.e);
	hl_engine_free(w.e);
	if (w.r.n == 0 && w.r.id[0] == '\0')
		return hl_cli_fail(HL_ENOTFOUND, "drill status", cause);
	rc = hl_drill_report_write(stdout, &w.r, cli->json ? HL_DRILL_JSON :
	    HL_DRILL_TEXT);
	hl_drill_report_clear(&w.r);
	if (rc != 0)
		return hl_cli_fail(rc, "drill status", NULL);
	if (relay_ok != 1)
		fprintf(stderr, "hotline: the relay could not be reached: this is "
		    "what the profile knew already\n");
	return HL_EXIT_OK;
}

/* Reports may hold other people's notes: only the owner reads the file.
 * An existing file is kept unless force: a report is not written over
 * something else by a slip of -o. */
static FILE *
open_out(const char *path, int force)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC |
	    (force ? O_TRUNC : O_EXCL), 0600);
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, "w");
	if (f == NULL)
		close(fd);
	return f;
}

static int
parse_format_opts(struct hl_cli *cli, int argc, char **argv, const char *sub,
    enum hl_drill_format *fmt, const char **out, int *force)
{
	static const struct option opts[] = {
		HL_CLI_GLOBAL_OPTIONS,
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		if (hl_cli_global_option(cli, opt))
			continue;
		if (opt == 'h')
			return hl_cli_help("drill");
		if (opt == 'f') {
			if (hl_drill_format_parse(optarg, fmt) != 0)
				return hl_cli_usage_error("drill", "%s --format: text, csv, "
				    "json or html", sub);
			continue;
		}
		if (opt == 'o') {
			*out = optarg;
			continue;
		}
		if (opt == 'F') {
			*force = 1;
			continue;
		}
		return hl_cli_usage_error("drill", "unknown option '%s'", argv[optind - 1]);
	}
	if (*force && *out == NULL)
		return hl_cli_usage_error("drill", "%s: --force goes with -o FILE", sub);
	return -1;
}

static int
write_to(const char *out, int force, const char *what,
    int (*fn)(FILE *f, void *arg), void *arg)
{
	FILE *f = out ? open_out(out, force) : stdout;
	if (f == NULL) {
		char why[HL_CAUSE_MAX];
		int exists = errno == EEXIST;
		if (exists)
			snprintf(why, sizeof why, "%s exists already: nothing was "
			    "written (give --force to replace it)", out);
		else
			snprintf(why, sizeof why, "%s: %s", out, strerror(errno));
		return hl_cli_fail(exists ? HL_EEXIST : HL_EIO, what, why);
	}
	int rc = fn(f, arg);
	if (out != NULL && fclose(f) != 0 && rc == 0)
		rc = HL_EIO;
	if (rc != 0)
		return hl_cli_fail(rc, what, out);
	return HL_EXIT_OK;
}

struct report_arg {
	struct hl_drill_report *r;
	enum hl_drill_format fmt;
	struct hl_drill_hist *h;
	size_t n;
};

static int
report_fn(FILE *f, void *arg)
{
	struct report_arg *a = arg;
	return hl_drill_report_write(f, a->r, a->fmt);
}

static int
history_fn(FILE *f, void *arg)
{
	struct report_arg *a = arg;
	return hl_drill_history_write(f, a->h, a->n, a->fmt);
}

static int
drill_report(struct hl_cli *cli, int argc, char **argv)
{
	enum hl_drill_format fmt = HL_DRILL_TEXT;
	const char *out = NULL;
	int force = 0;
	char cause[HL_CAUSE_MAX] = "";
	int rc = parse_format_opts(cli, argc, argv, "report", &fmt, &out, &force);
	if (rc >= 0)
		return rc;
	if (cli->json && fmt == HL_DRILL_TEXT)
		fmt = HL_DRILL_JSON;
	if (optind + 1 != argc)
		return hl_cli_usage_error("drill", "report: give one drill ID (or 'last')");
	rc = hl_cli_open(cli);
	if (rc != 0)
		return rc;
	struct hl_drill_report r;
	rc = hl_drill_load(cli->crypto, argv[optind], &r, cause);
	if (rc != 0)
		return hl_cli_fail(rc, "drill report", cause);
	struct report_arg a = { &r, fmt, NULL, 0 };
	rc = write_to(out, force, "drill report", report_fn, &a);
	/* The drill's own id: "last" would not say which drill it was. */
	char id[sizeof r.id];
	memcpy(id, r.id, sizeof id);
	hl_drill_report_clear(&r);
	if (rc == 0 && out != NULL && !cli->json)
		printf("report of drill %s written to %s\n", id, out);
	return rc;
}

static int
drill_history(struct hl_cli *cli, int argc, char **argv, int list)
{
	enum hl_drill_format fmt = HL_DRILL_TEXT;
	const char *out = NULL;
	int force = 0;
	int rc = parse_format_opts(cli, argc, argv, list ? "list" : "history",
	    &fmt, &out, &force);
	if (rc >= 0)
		return rc;
	if (fmt != HL_DRILL_TEXT && fmt != HL_DRILL_HTML)
		return hl_cli_usage_error("drill", "history --format: text or html");
	if (list && (fmt != HL_DRILL_TEXT || out != NULL))
		return hl_cli_usage_error("drill", "list takes no --format or -o");
	if (optind != argc)
		return hl_cli_usage_error("drill", "unexpected argument '%s'",
		    argv[optind]);
	rc = hl_cli_open(cli);
	if (rc != 0)
		return rc;
	struct hl_drill_hist *h = NULL;
	size_t n = 0;
	rc = hl_drill_history(cli->crypto, &h, &n);
	if (rc != 0)
		return hl_cli_fail(rc, "drill", NULL);
	if (cli->json) {
		for (size_t i = 0; i < n; i++) {
			json_t *o = hl_out_json_object("drill");
			char t[HL_TIME_STR];
			hl_time_rfc3339(h[i].started_ms, t);
			json_object_set_new(o, "drill", json_string(h[i].id));
			json_object_set_new(o, "started", json_string(t));
			json_object_set_new(o, "contacts", json_integer((json_int_t)h[i].s.contacts));
			json_object_set_new(o, "in_time", json_integer((json_int_t)h[i].s.in_time));
			json_object_set_new(o, "rate", json_real(h[i].s.rate));
			if (h[i].s.n_times)
				json_object_set_new(o, "median_ms", json_integer(h[i].s.median_ms));
			hl_out_json_line(o);
		}
		free(h);
		return HL_EXIT_OK;
	}
	if (list && n == 0) {
		printf("no drills yet: 'hotline drill start --to H1,H2'\n");
		free(h);
		return HL_EXIT_OK;
	}
	struct report_arg a = { NULL, fmt, h, n };
	rc = write_to(out, force, "drill history", history_fn, &a);
	free(h);
	return rc;
}

int
hl_cmd_drill(struct hl_cli *cli, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		if (argc < 2)
			return hl_cli_usage_error("drill", "start, status, report, list or "
			    "history?");
		return hl_cli_help("drill");
	}
	const char *sub = argv[1];
	/* The subcommand parses what follows it. */
	argc--;
	argv++;
	if (strcmp(sub, "start") == 0)
		return drill_start(cli, argc, argv);
	if (strcmp(sub, "status") == 0)
		return drill_status(cli, argc, argv);
	if (strcmp(sub, "report") == 0)
		return drill_report(cli, argc, argv);
	if (strcmp(sub, "list") == 0)
		return drill_history(cli, argc, argv, 1);
	if (strcmp(sub, "history") == 0)
		return drill_history(cli, argc, argv, 0);
	return hl_cli_usage_error("drill", "unknown subcommand '%s': start, status, "
	    "report, list or history", sub);
}
