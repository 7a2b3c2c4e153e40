/* hotline send: queue a message, try to send it, optionally wait for a state. */
#include "client/api.h"
#include "client/cli.h"
#include "client/commands.h"
#include "client/engine.h"
#include "client/loop.h"
#include "client/out.h"
#include "client/store.h"
#include "client/sanitize.h"
#include "crypto/hl_err.h"
#include "crypto/hl_time.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_WAIT_MS 60000
#define CHECK_DEFAULT_ACK_MS (15 * 60000)
#define LONG_POLL_S 25

enum wait_for { WAIT_NONE, WAIT_RELAY, WAIT_DELIVERED, WAIT_ACK };

struct waiter {
	struct hl_cli *cli;
	struct hl_engine *e;
	const char *peer;
	const char *id;
	enum wait_for target;
	int64_t deadline;
	int64_t next_fetch;       /* no fetch before this (monotonic ms) */
	int paced;                /* a fetch is due before next_fetch */
	int reached;
	int settled;              /* failed or expired: no point waiting */
	int attempted;            /* WAIT_NONE: one attempt made */
};

static int
reached(const struct hl_msg *m, enum wait_for target)
{
	switch (target) {
	case WAIT_RELAY:
		return m->at[HL_ST_SENT] > 0;
	case WAIT_DELIVERED:
		return m->at[HL_ST_DELIVERED] > 0;
	case WAIT_ACK:
		return m->at[HL_ST_ACKNOWLEDGED] > 0;
	default:
		return 0;
	}
}

static int
wait_done(void *arg)
{
	struct waiter *w = arg;
	struct hl_msg m;
	if (hl_store_msg_get(w->cli->crypto, HL_OUT, w->peer, w->id, &m) != 1)
		return 1;
	w->reached = reached(&m, w->target);
	w->settled = m.state == HL_ST_FAILED || m.state == HL_ST_EXPIRED;
	int still_queued = m.state == HL_ST_QUEUED;
	hl_msg_clear(&m);
	if (w->reached || w->settled)
		return 1;
	if (w->target == WAIT_NONE)
		/* One attempt: done once nothing is in flight any more. */
		return hl_engine_inflight(w->e) == 0;
	/* Receipts and acks come through fetches: keep a long-poll going, at
	 * most one started a second whatever the relay answers. Less than a
	 * second left is no long-poll at all: the loop sleeps to the deadline
	 * instead of asking with wait=0 again and again. */
	int64_t now = hl_mono_ms(), left = (w->deadline - now) / 1000;
	if (!still_queued && w->target != WAIT_RELAY && left >= 1) {
		if (now < w->next_fetch) {
			w->paced = 1;    /* the caller sleeps to next_fetch */
			return 1;
		}
		hl_engine_fetch(w->e, (int)(left > LONG_POLL_S ? LONG_POLL_S : left));
		w->next_fetch = now + 1000;
	}
	return 0;
}

static int
never_done(void *arg)
{
	(void)arg;
	return 0;
}

static int
exit_for_state(const struct hl_msg *m)
{
	if (m->state == HL_ST_FAILED)
		return HL_EXIT_FAILED;
	if (m->state == HL_ST_EXPIRED)
		return HL_EXIT_EXPIRED;
	if (m->at[HL_ST_DELIVERED] > 0)
		return HL_EXIT_DELIVERED;
	if (m->at[HL_ST_SENT] > 0)
		return HL_EXIT_SENT;
	return HL_EXIT_QUEUED;
}

static void
on_event(const struct hl_event *ev, void *arg)
{
	struct waiter *w = arg;
	/* This command reports its own message at the end; warnings about the
	 * relay and keys go to stderr so they never mix with the result. */
	if (ev->kind == HL_EV_STATE || ev->kind == HL_EV_RECEIVED ||
	    ev->kind == HL_EV_PREKEYS || ev->kind == HL_EV_GAP_CLOSED ||
	    (ev->kind == HL_EV_RELAY && ev->n))
		return;
	(void)w;
	char d[32];
	struct hl_san_pool sp = { 0 };
	const char *peer = hl_san(&sp, ev->peer, HL_SANITIZE_ONELINE);
	const char *text = hl_san(&sp, ev->text, HL_SANITIZE_ONELINE);
	switch (ev->kind) {
	case HL_EV_SKEW:
		hl_duration_format(ev->n < 0 ? -ev->n : ev->n, d, sizeof d);
		hl_cli_warn("warning: this computer's clock is %s %s the "
		    "relay's", d, ev->n > 0 ? "ahead of" : "behind");
		break;
	case HL_EV_RELAY:
		hl_cli_warn("relay unreachable: %s", text);
		break;
	case HL_EV_KEY_CHANGED:
		hl_cli_warn("%s's identity key changed: the message is "
		    "held until 'hotline trust %s'", peer, peer);
		break;
	case HL_EV_AUTH:
		hl_cli_warn("the relay refused this account's token: %s",
		    text);
		break;
	case HL_EV_FETCH_FAILED: {
		int64_t in = ev->at_ms - hl_now_ms();
		hl_duration_format(in > 1000 ? in : 1000, d, sizeof d);
		hl_cli_warn("fetching messages failed: %s; next try in "
		    "%s", text, d);
		break;
	}
	default:
		break;
	}
	hl_san_free(&sp);
}

struct head {
	const char *peer;
	char id[HL_ID_HEX + 1];
};

static int
find_head(const char *peer, const char *id, int64_t next_try, void *arg)
{
	struct head *h = arg;
	(void)next_try;
	if (strcmp(peer, h->peer) != 0)
		return 0;
	snprintf(h->id, sizeof h->id, "%s", id);
	return 1;
}

/* Why a message with no failed attempt of its own is still queued. */
static void
explain_queued(struct hl_cli *cli, const struct hl_msg *m)
{
	struct head h = { m->peer, "" };
	hl_store_outbox_heads(cli->crypto, find_head, &h);
	if (h.id[0] && strcmp(h.id, m->id) != 0)
		printf(": waits behind %.8s, an earlier message to %s that is "
		    "being retried ('hotline status')", h.id, m->peer);
	else
		printf(": not sent yet; 'hotline sync' sends it");
}

/* Standard input to its end, into buf (cap bytes, NUL-terminated). Only
 * the end of input ends a body: an interrupt (Ctrl-C) or a read error
 * gives no body at all, so a half-typed message is never queued. 0, or
 * the exit code (the error printed). */
static int
read_stdin(char *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	for (;;) {
		if (hl_cli_interrupted())
			break;
		if (n == cap - 1)
			break;    /* too long: the caller says so */
		ssize_t r = read(STDIN_FILENO, buf + n, cap - 1 - n);
		if (hl_cli_interrupted())
			break;    /* whatever the read brought: Ctrl-C came first */
		if (r > 0) {
			n += (size_t)r;
			continue;
		}
		if (r == 0) {
			buf[n] = '\0';
			*len = n;
			return 0;
		}
		if (errno == EINTR)
			continue;
		int err = errno;
		sodium_memzero(buf, n);
		return hl_cli_error(HL_EXIT_ERROR, "read", "send: reading the text "
		    "from standard input: %s; nothing was queued", strerror(err));
	}
	if (n == cap - 1 && !hl_cli_interrupted()) {
		buf[n] = '\0';
		*len = n;
		return 0;
	}
	sodium_memzero(buf, n);
	return hl_cli_error(HL_EXIT_INTERRUPTED, "interrupted",
	    "send: interrupted: nothing was queued");
}

/* TEXT is the remaining arguments joined by spaces, or standard input for
 * "-". 0 with *out (caller frees with free()), or the exit code (the
 * error printed). */
static int
read_body(int argc, char **argv, char **out, int *too_long)
{
	*too_long = 0;
	*out = NULL;
	if (argc == 1 && strcmp(argv[0], "-") == 0) {
		size_t cap = HL_CONTENT_BODY_MAX + 2, n = 0;
		char *buf = malloc(cap);
		if (buf == NULL)
			return hl_cli_fail(HL_ENOMEM, "send", NULL);
		int rc = read_stdin(buf, cap, &n);
		if (rc != 0) {
			free(buf);
			return rc;
		}
		if (n > HL_CONTENT_BODY_MAX)
			*too_long = 1;
		/* One trailing newline is the shell's, not the officer's. */
		if (n > 0 && buf[n - 1] == '\n')
			buf[--n] = '\0';
		*out = buf;
		return 0;
	}
	size_t len = 1;
	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	char *buf = calloc(1, len);
	if (buf == NULL)
		return hl_cli_fail(HL_ENOMEM, "send", NULL);
	for (int i = 0; i < argc; i++) {
		if (i > 0)
			strcat(buf, " ");
		strcat(buf, argv[i]);
	}
	if (strlen(buf) > HL_CONTENT_BODY_MAX)
		*too_long = 1;
	*out = buf;
	return 0;
}

/* Edit distance between two handles (short strings: a row of cells). */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[HL_HANDLE_MAX + 2];
	if (la > HL_HANDLE_MAX || lb > HL_HANDLE_MAX)
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* A typo caught before anything is queued: when the relay answers, a
 * handle without a directory entry is refused, naming the closest ones.
 * When the relay cannot be reached the message is queued as ever (store
 * and forward). 0 to go on, else the exit code (the error printed). */
static int
check_recipient(struct hl_cli *cli, const char *to)
{
	struct hl_account a;
	struct hl_net *net = NULL;
	struct hl_call call;
	struct hl_dir_entry *entries = NULL;
	size_t n = 0;
	if (hl_store_account_get(cli->crypto, &a) != 1)
		return 0;    /* the engine says what is wrong */
	if (hl_cli_net(cli, &a, &net) != 0)
		return HL_EXIT_ERROR;
	/* The handle's own entry first (a whole directory may be cut at the
	 * relay's limit), then all of them for the nearest. */
	char path[HL_HANDLE_MAX + 32];
	snprintf(path, sizeof path, "/v1/directory?q=%s", to);
	int rc = hl_cli_call(net, "GET", path, a.token, NULL, &call);
	int known = 1;
	char near[3][HL_HANDLE_MAX + 1];
	size_t dist[3], nnear = 0;
	if (rc == 0 && call.status == 200 &&
	    hl_api_parse_directory(call.body, call.len, &entries, &n, NULL) == 0) {
		known = 0;
		for (size_t i = 0; i < n && !known; i++)
			known = strcmp(entries[i].handle, to) == 0;
		free(entries);
		entries = NULL;
		n = 0;
		hl_call_free(&call);
		if (!known && (hl_cli_call(net, "GET", "/v1/directory?q=", a.token,
		    NULL, &call) != 0 || call.status != 200 ||
		    hl_api_parse_directory(call.body, call.len, &entries, &n,
		    NULL) != 0))
			n = 0;
		/* The three closest, nearest first, within a third of the length. */
		size_t limit = strlen(to) / 3 + 1;
		for (size_t i = 0; i < n && !known; i++) {
			size_t d = distance(to, entries[i].handle);
			if (d > limit)
				continue;
			size_t at = nnear < 3 ? nnear++ : 3;
			while (at > 0 && dist[at - 1] > d) {
				if (at < 3) {
					dist[at] = dist[at - 1];
					memcpy(near[at], near[at - 1], sizeof near[0]);
				}
				at--;
			}
			if (at < 3) {
				dist[at] = d;
				snprintf(near[at], sizeof near[0], "%s", entries[i].handle);
			}
		}
	}
	free(entries);
	hl_call_free(&call);
	hl_net_free(net);
	if (known)
		return 0;
	char hint[3 * (HL_HANDLE_MAX + 4) + 32] = "";
	for (size_t i = 0; i < nnear; i++)
		snprintf(hint + strlen(hint), sizeof hint - strlen(hint), "%s%s",
		    i == 0 ? "; did you mean " : i + 1 == nnear ? " or " : ", ",
		    near[i]);
	if (nnear > 0)
		snprintf(hint + strlen(hint), sizeof hint - strlen(hint), "?");
	return hl_cli_error(HL_EXIT_NOTFOUND, "unknown_recipient", "send: %s has "
	    "no entry in the relay's directory; nothing was queued%s", to, hint);
}

struct incident_opts {
	int on;
	struct hl_incident in;
	char *indicators[HL_INCIDENT_LIST_MAX + 1];
	char *actions[HL_INCIDENT_LIST_MAX + 1];
};

int
hl_cmd_send(struct hl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		HL_CLI_GLOBAL_OPTIONS,
		{ "urgent", no_argument, NULL, 'u' },
		{ "flash", no_argument, NULL, 'f' },
		{ "check", no_argument, NULL, 'k' },
		{ "ack-within", required_argument, NULL, 'a' },
		{ "thread", required_argument, NULL, 't' },
		{ "wait-for", required_argument, NULL, 'w' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "incident", no_argument, NULL, 'i' },
		{ "title", required_argument, NULL, 1 },
		{ "severity", required_argument, NULL, 2 },
		{ "tlp", required_argument, NULL, 3 },
		{ "status", required_argument, NULL, 4 },
		{ "indicator", required_argument, NULL, 5 },
		{ "action", required_argument, NULL, 6 },
		{ NULL, 0, NULL, 0 },
	};
	struct hl_send_req req;
	struct incident_opts inc;
	struct waiter w;
	int64_t ack_within = -1, timeout = DEFAULT_WAIT_MS;
	int opt, timeout_given = 0;
	char cause[HL_CAUSE_MAX] = "", id[HL_ID_HEX + 1];

	memset(&req, 0, sizeof req);
	memset(&inc, 0, sizeof inc);
	memset(&w, 0, sizeof w);
	req.kind = HL_KIND_TEXT;
	req.prio = HL_PRIO_ROUTINE;
	inc.in.indicators = inc.indicators;
	inc.in.actions = inc.actions;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (hl_cli_global_option(cli, opt))
			continue;
		switch (opt) {
		case 'h':
			return hl_cli_help("send");
		case 'u':
			req.prio = HL_PRIO_URGENT;
			break;
		case 'f':
			req.prio = HL_PRIO_FLASH;
			break;
		case 'k':
			req.kind = HL_KIND_CHECK;
			break;
		case 'a':
			if (hl_cli_duration("send", "ack-within", optarg,
			    30LL * 86400000, &ack_within) != 0)
				return HL_EXIT_USAGE;
			if (ack_within < 1000)
				return hl_cli_usage_error("send", "--ack-within: at least 1s");
			break;
		case 't':
			req.thread = optarg;
			break;
		case 'w':
			w.target = strcmp(optarg, "relay") == 0 ? WAIT_RELAY :
			    strcmp(optarg, "delivered") == 0 ? WAIT_DELIVERED :
			    strcmp(optarg, "ack") == 0 ? WAIT_ACK : WAIT_NONE;
			if (w.target == WAIT_NONE)
				return hl_cli_usage_error("send",
				    "--wait-for: expected relay, delivered or ack");
			break;
		case 'T':
			if (hl_cli_duration("send", "timeout", optarg, 7LL * 86400000,
			    &timeout) != 0)
				return HL_EXIT_USAGE;
			timeout_given = 1;
			break;
		case 'i':
			inc.on = 1;
			break;
		case 1:
			inc.in.title = optarg;
			break;
		case 2:
			if (hl_severity_parse(optarg, &inc.in.severity) != 0)
				return hl_cli_usage_error("send",
				    "--severity: expected low, medium, high or critical");
			break;
		case 3:
			if (hl_tlp_parse(optarg, &inc.in.tlp) != 0)
				return hl_cli_usage_error("send", "--tlp: expected CLEAR, "
				    "GREEN, AMBER, AMBER+STRICT or RED");
			break;
		case 4:
			inc.in.status = optarg;
			break;
		case 5:
		case 6: {
			size_t *n = opt == 5 ? &inc.in.n_indicators : &inc.in.n_actions;
			if (*n == HL_INCIDENT_LIST_MAX)
				return hl_cli_usage_error("send", "at most %d --%s",
				    HL_INCIDENT_LIST_MAX, opt == 5 ? "indicator" : "action");
			(opt == 5 ? inc.indicators : inc.actions)[(*n)++] = optarg;
			break;
		}
		default:
			return hl_cli_usage_error("send", "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (timeout_given && w.target == WAIT_NONE)
		return hl_cli_usage_error("send", "--timeout goes with --wait-for");
	if (optind >= argc)
		return hl_cli_usage_error("send", "whom to? give a HANDLE");
	req.to = argv[optind++];
	if (!hl_handle_valid(req.to))
		return hl_cli_usage_error("send", "'%s' is not a handle", req.to);
	int has_incident_fields = inc.in.title || inc.in.status ||
	    inc.in.severity != HL_SEV_NONE || inc.in.tlp != HL_TLP_NONE ||
	    inc.in.n_indicators || inc.in.n_actions;
	if (inc.on) {
		if (req.kind == HL_KIND_CHECK)
			return hl_cli_usage_error("send", "--incident and --check exclude "
			    "each other");
		if (!inc.in.title || !inc.in.status || inc.in.severity == HL_SEV_NONE ||
		    inc.in.tlp == HL_TLP_NONE)
			return hl_cli_usage_error("send", "--incident needs --title, "
			    "--severity, --tlp and --status");
		req.kind = HL_KIND_INCIDENT;
		req.incident = &inc.in;
	} else if (has_incident_fields) {
		return hl_cli_usage_error("send", "--title, --severity, --tlp, "
		    "--status, --indicator and --action go with --incident");
	}
	if (req.thread != NULL) {
		size_t n = strlen(req.thread);
		if (n == 0 || n > HL_THREAD_MAX ||
		    strspn(req.thread, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
		    "vwxyz0123456789._-") != n)
			return hl_cli_usage_error("send", "--thread: 1 to %d of "
			    "[A-Za-z0-9._-]", HL_THREAD_MAX);
	}
	/* A check is an urgent message with a deadline, by definition. */
	if (req.kind == HL_KIND_CHECK) {
		if (req.prio == HL_PRIO_ROUTINE)
			req.prio = HL_PRIO_URGENT;
		if (ack_within < 0)
			ack_within = CHECK_DEFAULT_ACK_MS;
	}
	if (ack_within < 0 && req.prio != HL_PRIO_ROUTINE)
		ack_within = cli->cfg.default_ack_within_ms;
	req.ack_within_ms = ack_within > 0 ? ack_within : 0;
	int too_long;
	char *body;
	int brc = read_body(argc - optind, argv + optind, &body, &too_long);
	if (brc != 0)
		return brc;
	if (too_long) {
		free(body);
		return hl_cli_usage_error("send", "the text is longer than %d bytes",
		    HL_CONTENT_BODY_MAX);
	}
	if (body[0] == '\0' && req.kind == HL_KIND_TEXT) {
		free(body);
		return hl_cli_usage_error("send", "nothing to send: give TEXT or -");
	}
	req.body = body;

	int rc = hl_cli_open(cli);
	if (rc == 0)
		rc = check_recipient(cli, req.to);
	if (rc != 0) {
		sodium_memzero(body, strlen(body));
		free(body);
		return rc;
	}
	w.cli = cli;
	w.peer = req.to;
	w.id = id;
	struct hl_engine_opts eo;
	hl_cli_engine_opts(cli, &eo);
	eo.on_event = on_event;
	eo.arg = &w;
	rc = hl_engine_new(&eo, &w.e, cause);
	if (rc != 0) {
		free(body);
		return hl_cli_fail(rc, "send", cause);
	}
	rc = hl_engine_queue(w.e, &req, id, cause);
	sodium_memzero(body, strlen(body));
	free(body);
	if (rc != 0) {
		hl_engine_free(w.e);
		return hl_cli_fail(rc, "send", cause);
	}
	/* The message is stored: whatever happens next, it is not lost. */
	hl_engine_kick(w.e);
	w.deadline = hl_mono_ms() + (w.target == WAIT_NONE ? 120000 : timeout);
	int lr;
	for (;;) {
		w.paced = 0;
		lr = hl_loop_run(w.e, wait_done, &w, w.deadline);
		if (lr != 0 || !w.paced)
			break;
		/* The next fetch may start in under a second: until then only
		 * the network's answers are taken. */
		int64_t until = w.next_fetch < w.deadline ? w.next_fetch : w.deadline;
		lr = hl_loop_run(w.e, never_done, NULL, until);
		if (lr != HL_ETIMEOUT || hl_mono_ms() >= w.deadline)
			break;
	}

	struct hl_msg m;
	int exitc = HL_EXIT_ERROR;
	if (hl_store_msg_get(cli->crypto, HL_OUT, req.to, id, &m) == 1) {
		if (w.target == WAIT_NONE)
			exitc = m.state == HL_ST_FAILED ? HL_EXIT_FAILED : HL_EXIT_OK;
		else
			exitc = reached(&m, w.target) ? HL_EXIT_OK : exit_for_state(&m);
		if (cli->json) {
			hl_out_json_line(hl_out_msg_json(&m));
		} else {
			printf("%s %s to %s", hl_state_name(m.state), m.id, m.peer);
			if (m.reason[0]) {
				struct hl_san_pool sp = { 0 };
				printf(": %s", hl_san(&sp, m.reason, HL_SANITIZE_ONELINE));
				hl_san_free(&sp);
			}
			else if (m.state == HL_ST_QUEUED)
				explain_queued(cli, &m);
			printf("\n");
			if (w.target != WAIT_NONE && exitc != HL_EXIT_OK)
				printf("did not reach '%s' %s\n", w.target == WAIT_RELAY ?
				    "relay" : w.target == WAIT_DELIVERED ? "delivered" : "ack",
				    lr == HL_EBUSY ? "(interrupted)" : "in time");
		}
		hl_msg_clear(&m);
	}
	hl_engine_free(w.e);
	return exitc;
}
