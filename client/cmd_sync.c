/* hotline sync: send the outbox, receive, send receipts, update states. */
#include "client/cli.h"
#include "client/commands.h"
#include "client/engine.h"
#include "client/loop.h"
#include "client/notify.h"
#include "client/out.h"
#include "crypto/hl_err.h"
#include "crypto/hl_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FOLLOW_WAIT_S 30
#define WAIT_MAX_S 300

struct sync {
	struct hl_cli *cli;
	struct hl_engine *e;
	int fetches_before;
	int received, sent, failed, warnings;
	int auth_failed;
	int follow;
};

/* Following, the officer may be elsewhere: the hook, and the bell for
 * what cannot wait. */
static void
follow_notify(struct sync *s, const struct hl_event *ev)
{
	char cause[HL_CAUSE_MAX] = "";
	enum hl_notify_kind k = hl_notify_event(&s->cli->cfg, ev, cause);
	if (cause[0])
		fprintf(stderr, "hotline: %s\n", cause);
	if ((k == HL_NOTIFY_FLASH || k == HL_NOTIFY_URGENT) && !s->cli->json &&
	    isatty(STDOUT_FILENO)) {
		fputc('\a', stdout);
		fflush(stdout);
	}
}

static void
on_event(const struct hl_event *ev, void *arg)
{
	struct sync *s = arg;
	switch (ev->kind) {
	case HL_EV_RECEIVED:
		s->received++;
		break;
	case HL_EV_STATE:
		if (ev->msg->state == HL_ST_SENT)
			s->sent++;
		if (ev->msg->state == HL_ST_FAILED)
			s->failed++;
		/* Receipts and acks going out are bookkeeping, not news. */
		if (ev->msg->dir == HL_OUT &&
		    (ev->msg->content.kind == HL_KIND_RECEIPT ||
		    ev->msg->content.kind == HL_KIND_ACK) &&
		    ev->msg->state == HL_ST_SENT)
			return;
		break;
	case HL_EV_AUTH:
		s->auth_failed = 1;
		s->warnings++;
		break;
	case HL_EV_RELAY:
		if (ev->n)
			return;    /* reachable: only news after an outage */
		s->warnings++;
		break;
	case HL_EV_PREKEYS:
	case HL_EV_GAP_CLOSED:
		break;
	default:
		s->warnings++;
		break;
	}
	hl_out_event(ev, s->cli->json);
	if (s->follow)
		follow_notify(s, ev);
}

static int
cycle_done(void *arg)
{
	struct sync *s = arg;
	return hl_engine_fetches(s->e) > s->fetches_before &&
	    hl_engine_inflight(s->e) == 0;
}

static int
never(void *arg)
{
	(void)arg;
	return 0;
}

/* What is still waiting, so the officer knows nothing is forgotten. */
static void
summary(struct sync *s)
{
	int64_t out[HL_ST_COUNT], in[HL_ST_COUNT];
	struct hl_gap *gaps = NULL;
	struct hl_held *held = NULL;
	size_t ngaps = 0, nheld = 0;
	hl_store_msg_counts(s->cli->crypto, HL_OUT, out);
	hl_store_msg_counts(s->cli->crypto, HL_IN, in);
	hl_store_gaps(s->cli->crypto, &gaps, &ngaps);
	hl_store_held_list(s->cli->crypto, NULL, &held, &nheld);
	if (s->cli->json) {
		json_t *o = hl_out_json_object("summary");
		json_object_set_new(o, "event", json_string("summary"));
		json_object_set_new(o, "received", json_integer(s->received));
		json_object_set_new(o, "sent", json_integer(s->sent));
		json_object_set_new(o, "queued", json_integer(out[HL_ST_QUEUED]));
		json_object_set_new(o, "overdue", json_integer(out[HL_ST_OVERDUE]));
		json_object_set_new(o, "unread", json_integer(in[HL_ST_NEW]));
		json_object_set_new(o, "missing", json_integer((json_int_t)ngaps));
		json_object_set_new(o, "held", json_integer((json_int_t)nheld));
		json_object_set_new(o, "relay_ok", json_boolean(hl_engine_relay_ok(s->e) == 1));
		json_object_set_new(o, "fetched", json_boolean(
		    hl_engine_fetch_successes(s->e) > 0));
		hl_out_json_line(o);
	} else {
		printf("sync: %d received, %d sent; %lld queued, %lld overdue, %lld "
		    "unread", s->received, s->sent, (long long)out[HL_ST_QUEUED],
		    (long long)out[HL_ST_OVERDUE], (long long)in[HL_ST_NEW]);
		if (ngaps > 0)
			printf(", %zu missing", ngaps);
		if (nheld > 0)
			printf(", %zu held", nheld);
		if (hl_engine_fetch_successes(s->e) == 0)
			printf("; nothing fetched: the relay %s",
			    hl_engine_relay_ok(s->e) == 1 ? "refused every fetch" :
			    "could not be reached");
		printf("\n");
	}
	free(gaps);
	hl_held_free(held, nheld);
}

int
hl_cmd_sync(struct hl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		HL_CLI_GLOBAL_OPTIONS,
		{ "wait", required_argument, NULL, 'w' },
		{ "follow", no_argument, NULL, 'f' },
		{ "auto-escalate", no_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 },
	};
	struct sync s;
	char cause[HL_CAUSE_MAX] = "";
	int opt, follow = 0, escalate = cli->cfg.auto_escalate;
	long wait = 0;
	memset(&s, 0, sizeof s);
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (hl_cli_global_option(cli, opt))
			continue;
		switch (opt) {
		case 'h':
			return hl_cli_help("sync");
		case 'w': {
			char *end;
			wait = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || wait < 0 || wait > WAIT_MAX_S)
				return hl_cli_usage_error("sync", "--wait: seconds, 0 to %d",
				    WAIT_MAX_S);
			break;
		}
		case 'f':
			follow = s.follow = 1;
			break;
		case 'e':
			escalate = 1;
			break;
		default:
			return hl_cli_usage_error("sync", "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		return hl_cli_usage_error("sync", "unexpected argument '%s'",
		    argv[optind]);
	int rc = hl_cli_open(cli);
	if (rc != 0)
		return rc;
	s.cli = cli;
	struct hl_engine_opts eo;
	hl_cli_engine_opts(cli, &eo);
	eo.auto_escalate = escalate;
	eo.on_event = on_event;
	eo.arg = &s;
	rc = hl_engine_new(&eo, &s.e, cause);
	if (rc != 0)
		return hl_cli_fail(rc, "sync", cause);

	/* Without --follow, --wait bounds the whole run: a refused fetch
	 * (429, 5xx, ...) is tried again when the engine says, while that is
	 * before the end of the wait. */
	int64_t end = hl_mono_ms() + wait * 1000;
	int fetch_wait = follow ? FOLLOW_WAIT_S : (int)wait;
	hl_engine_kick(s.e);
	do {
		hl_notify_reap();
		s.fetches_before = hl_engine_fetches(s.e);
		hl_engine_fetch(s.e, fetch_wait);
		int64_t deadline = hl_mono_ms() + ((int64_t)fetch_wait + 90) * 1000;
		rc = hl_loop_run(s.e, cycle_done, &s, deadline);
		if (rc == HL_EBUSY || s.auth_failed)
			break;
		if (hl_engine_fetch_ok(s.e, NULL)) {
			/* A long-poll lasts at most FOLLOW_WAIT_S (the engine's
			 * cap): for a longer --wait, ask again while nothing
			 * came and the wait goes on. */
			int64_t left = end - hl_mono_ms();
			if (!follow && (fetch_wait < FOLLOW_WAIT_S || s.received > 0 ||
			    left < 1000))
				break;
			if (!follow)
				fetch_wait = (int)(left / 1000);
			continue;
		}
		/* The relay is down, busy or refusing: wait (serving timers)
		 * until the engine's next try, at least as long as it asked. */
		int64_t wait_ms = hl_engine_fetch_next_ms(s.e, NULL) - hl_now_ms();
		if (wait_ms < 0)
			wait_ms = 0;
		if (!follow) {
			int64_t left = end - hl_mono_ms();
			if (wait_ms >= left)
				break;
			fetch_wait = (int)((left - wait_ms) / 1000);
		}
		rc = hl_loop_run(s.e, never, NULL, hl_mono_ms() + wait_ms);
		if (rc == HL_EBUSY)
			break;
	} while (!hl_cli_interrupted());
	summary(&s);
	int relay_ok = hl_engine_relay_ok(s.e);
	int last_status = 0;
	int fetched = hl_engine_fetch_successes(s.e) > 0;
	hl_engine_fetch_next_ms(s.e, &last_status);
	hl_engine_free(s.e);
	if (s.auth_failed)
		return HL_EXIT_REFUSED;
	if (hl_cli_interrupted())
		return HL_EXIT_OK;
	/* No fetch succeeded: nothing was received, whatever else went out.
	 * A refusal for good (4xx) is 5, a relay away or busy is 6. */
	if (!fetched && last_status >= 400 && last_status < 500 &&
	    last_status != 408 && last_status != 429)
		return HL_EXIT_REFUSED;
	if (!fetched || relay_ok != 1)
		return HL_EXIT_UNREACHABLE;
	return HL_EXIT_OK;
}
