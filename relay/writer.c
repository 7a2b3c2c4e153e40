#include "relay/writer.h"

#include "crypto/hl_err.h"
#include "crypto/hl_time.h"
#include "relay/log.h"
#include "relay/metrics.h"
#include "relay/reserve.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How often a full disk is looked at again for room for the reserve. */
#define RESTORE_MS 1000

struct hl_writer {
	struct hl_store *st;
	struct hl_writer_config cfg;
	hl_writer_wake_fn wake;
	void *wake_arg;
	struct hl_metrics *metrics;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct hl_write *head, *tail;
	int stopping;
	int joined;                     /* someone has joined the thread */
	pthread_t thread;

	/* writer thread only */
	int low;                        /* the disk is full: drain only */
	int64_t next_restore;           /* hl_mono_ms() */
};

/* Writes that make room, or that the ones making room need. */
static int
drains(const struct hl_write *w)
{
	return w->kind == HL_WRITE_ACK || w->kind == HL_WRITE_MARK_USED;
}

/* The disk is full: give the reserve up and refuse what adds. */
static void
go_low(struct hl_writer *wr)
{
	if (wr->low)
		return;
	if (wr->cfg.reserve == NULL) {
		/* reserve_mib = 0: nothing to give up, and so no reason to
		 * refuse anything that might still fit. */
		hl_log(HL_LOG_ERROR, "disk_full", "action=no_reserve");
		return;
	}
	wr->low = 1;
	wr->next_restore = hl_mono_ms() + RESTORE_MS;
	int released = hl_reserve_release(wr->cfg.reserve);
	hl_log(HL_LOG_ERROR, "disk_full", "action=%s",
	    released ? "reserve_released" : "no_reserve");
}

/* While low: is there room for the reserve again? */
static void
try_restore(struct hl_writer *wr)
{
	if (!wr->low || hl_mono_ms() < wr->next_restore)
		return;
	wr->next_restore = hl_mono_ms() + RESTORE_MS;
	char cause[HL_CAUSE_MAX] = "";
	int rc = hl_reserve_restore(wr->cfg.reserve, cause);
	if (rc == HL_EDISKFULL)
		return;
	if (rc != 0) {
		char q[HL_LOG_VALUE_MAX];
		hl_log(HL_LOG_ERROR, "disk_full", "action=restore error=%s",
		    hl_log_quote(cause, q));
		return;
	}
	wr->low = 0;
	hl_log(HL_LOG_INFO, "disk_full", "action=reserve_restored");
}

static void
apply(struct hl_writer *wr, struct hl_write *w, int64_t now)
{
	struct hl_store *st = wr->st;
	const struct hl_store_limits *lim = &wr->cfg.limits;
	w->cause[0] = '\0';
	if (wr->low && !drains(w)) {
		w->rc = hl_fail(w->cause, HL_EDISKFULL,
		    "the relay's disk is full");
		return;
	}
	switch (w->kind) {
	case HL_WRITE_REGISTER:
		w->rc = st->ops->register_account(st, w->reg, now,
		    &w->reissued, w->cause);
		break;
	case HL_WRITE_KEYS:
		w->rc = st->ops->upload_keys(st, w->account, w->keys, lim,
		    &w->prekeys_remaining, w->cause);
		break;
	case HL_WRITE_BUNDLE:
		w->rc = st->ops->take_bundle(st, w->account, w->target, now,
		    lim, &w->bundle, &w->retry_after_s, w->cause);
		break;
	case HL_WRITE_PROFILE:
		w->rc = st->ops->update_profile(st, w->account, w->profile, now,
		    &w->entry, w->cause);
		break;
	case HL_WRITE_MESSAGE:
		w->rc = st->ops->queue_message(st, w->env, now, lim,
		    &w->accepted, w->cause);
		break;
	case HL_WRITE_ACK:
		w->rc = st->ops->ack(st, w->account, w->qids, w->nqids,
		    &w->deleted, w->cause);
		break;
	case HL_WRITE_MARK_USED:
		w->rc = st->ops->mark_used(st, w->account, w->token_hash, now,
		    w->cause);
		break;
	default:
		w->rc = hl_fail(w->cause, HL_EINVAL, "unknown write");
		break;
	}
}

static void
complete(struct hl_write *list)
{
	while (list != NULL) {
		struct hl_write *next = list->next;
		list->next = NULL;
		list->done(list, list->arg);
		list = next;
	}
}

static int
attempt(struct hl_writer *wr, struct hl_write *list, char *cause)
{
	struct hl_store *st = wr->st;
	int64_t now = hl_now_ms();
	int rc = st->ops->batch_begin(st, cause);
	if (rc == 0) {
		for (struct hl_write *w = list; w != NULL; w = w->next)
			apply(wr, w, now);
		rc = st->ops->batch_commit(st, cause);
	}
	return rc;
}

static void
run_batch(struct hl_writer *wr, struct hl_write *list, size_t n)
{
	struct hl_store *st = wr->st;
	char cause[HL_CAUSE_MAX] = "";
	int rc = attempt(wr, list, cause);
	int full = st->ops->disk_full(st);
	if (full && !wr->low) {
		go_low(wr);
		/* Once more, with the reserve's room and only what drains,
		 * so that the acks among these need no retry. */
		if (rc != 0) {
			cause[0] = '\0';
			rc = attempt(wr, list, cause);
			full = st->ops->disk_full(st);
		}
	}
	if (rc != 0) {
		char q[HL_LOG_VALUE_MAX];
		hl_log(HL_LOG_ERROR, "commit", "writes=%zu error=%d cause=%s", n,
		    rc, hl_log_quote(cause, q));
		for (struct hl_write *w = list; w != NULL; w = w->next) {
			int lost = w->rc == 0 || w->rc == HL_EDB ||
			    w->rc == HL_EBUSY;
			if (lost && (full || wr->low)) {
				w->rc = hl_fail(w->cause, HL_EDISKFULL,
				    "the relay's disk is full");
			} else if (lost) {
				w->rc = HL_EDB;
				snprintf(w->cause, sizeof w->cause,
				    "the store cannot accept writes now");
			}
		}
	} else {
		/* Committed, but some writes may have failed on the disk
		 * alone: they are told so. */
		for (struct hl_write *w = list; full && w != NULL; w = w->next)
			if (w->rc == HL_EDB)
				w->rc = hl_fail(w->cause, HL_EDISKFULL,
				    "the relay's disk is full");
		hl_metrics_batch(wr->metrics, n);
		for (struct hl_write *w = list; w != NULL; w = w->next)
			if (w->kind == HL_WRITE_MESSAGE && w->rc == 0 &&
			    !w->accepted.duplicate && wr->wake != NULL)
				wr->wake(w->accepted.recipient, wr->wake_arg);
	}
	complete(list);
}

static void
run_purge(struct hl_writer *wr)
{
	struct hl_store *st = wr->st;
	char cause[HL_CAUSE_MAX] = "";
	struct hl_store_purge p;
	memset(&p, 0, sizeof p);
	int rc = st->ops->batch_begin(st, cause);
	if (rc == 0) {
		rc = st->ops->purge(st, hl_now_ms(), wr->cfg.retention_ms, &p,
		    cause);
		if (rc == 0)
			rc = st->ops->batch_commit(st, cause);
		else
			st->ops->batch_rollback(st);
	}
	if (st->ops->disk_full(st))
		go_low(wr);
	if (rc != 0) {
		char q[HL_LOG_VALUE_MAX];
		hl_log(HL_LOG_ERROR, "purge", "error=%s",
		    hl_log_quote(cause, q));
	} else {
		if (p.expired > 0 || p.notices_dropped > 0)
			hl_log(HL_LOG_INFO, "purge",
			    "expired=%lld notices_dropped=%lld",
			    (long long)p.expired, (long long)p.notices_dropped);
		for (size_t i = 0; i < p.nwoken && wr->wake != NULL; i++)
			wr->wake(p.woken[i], wr->wake_arg);
	}
	free(p.woken);
}

static void
to_timespec(int64_t mono_ms, struct timespec *ts)
{
	ts->tv_sec = (time_t)(mono_ms / 1000);
	ts->tv_nsec = (long)(mono_ms % 1000) * 1000000L;
}

static void *
writer_main(void *arg)
{
	struct hl_writer *wr = arg;
	int64_t next_purge = hl_mono_ms();
	pthread_mutex_lock(&wr->lock);
	for (;;) {
		while (wr->head == NULL && !wr->stopping &&
		    hl_mono_ms() < next_purge &&
		    (!wr->low || hl_mono_ms() < wr->next_restore)) {
			struct timespec ts;
			to_timespec(wr->low && wr->next_restore < next_purge ?
			    wr->next_restore : next_purge, &ts);
			pthread_cond_timedwait(&wr->cond, &wr->lock, &ts);
		}
		if (wr->head == NULL && wr->stopping)
			break;
		struct hl_write *list = wr->head;
		struct hl_write *last = NULL;
		size_t n = 0;
		for (struct hl_write *w = list; w != NULL; w = w->next) {
			if (n == wr->cfg.max_batch)
				break;
			last = w;
			n++;
		}
		if (last != NULL) {
			wr->head = last->next;
			if (wr->head == NULL)
				wr->tail = NULL;
			last->next = NULL;
		}
		int stopping = wr->stopping;
		pthread_mutex_unlock(&wr->lock);
		try_restore(wr);
		if (!stopping && hl_mono_ms() >= next_purge) {
			run_purge(wr);
			next_purge = hl_mono_ms() + wr->cfg.purge_interval_ms;
		}
		if (n > 0)
			run_batch(wr, list, n);
		pthread_mutex_lock(&wr->lock);
	}
	pthread_mutex_unlock(&wr->lock);
	return NULL;
}

int
hl_writer_start(struct hl_store *st, const struct hl_writer_config *cfg,
    hl_writer_wake_fn wake, void *wake_arg, struct hl_metrics *metrics,
    struct hl_writer **out, char *cause)
{
	*out = NULL;
	if (cfg->max_batch == 0 || cfg->purge_interval_ms <= 0 ||
	    cfg->retention_ms <= 0)
		return hl_fail(cause, HL_EINVAL, "writer: bad configuration");
	struct hl_writer *wr = calloc(1, sizeof *wr);
	if (wr == NULL)
		return hl_fail(cause, HL_ENOMEM, "out of memory");
	wr->st = st;
	wr->cfg = *cfg;
	wr->wake = wake;
	wr->wake_arg = wake_arg;
	wr->metrics = metrics;
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (pthread_mutex_init(&wr->lock, NULL) != 0 ||
	    pthread_cond_init(&wr->cond, &attr) != 0) {
		pthread_condattr_destroy(&attr);
		free(wr);
		return hl_fail(cause, HL_EIO, "writer: cannot create its lock");
	}
	pthread_condattr_destroy(&attr);
	int rc = pthread_create(&wr->thread, NULL, writer_main, wr);
	if (rc != 0) {
		pthread_cond_destroy(&wr->cond);
		pthread_mutex_destroy(&wr->lock);
		free(wr);
		return hl_fail(cause, HL_EIO,
		    "writer: cannot start its thread: %s", strerror(rc));
	}
	*out = wr;
	return 0;
}

int
hl_writer_submit(struct hl_writer *wr, struct hl_write *w)
{
	pthread_mutex_lock(&wr->lock);
	if (wr->stopping) {
		pthread_mutex_unlock(&wr->lock);
		return HL_ESTOPPING;
	}
	w->next = NULL;
	if (wr->tail != NULL)
		wr->tail->next = w;
	else
		wr->head = w;
	wr->tail = w;
	pthread_cond_signal(&wr->cond);
	pthread_mutex_unlock(&wr->lock);
	return 0;
}

void
hl_writer_stop(struct hl_writer *wr)
{
	pthread_mutex_lock(&wr->lock);
	int joined = wr->joined;
	wr->stopping = 1;
	wr->joined = 1;
	pthread_cond_signal(&wr->cond);
	pthread_mutex_unlock(&wr->lock);
	if (!joined)
		pthread_join(wr->thread, NULL);
}

void
hl_writer_free(struct hl_writer *wr)
{
	if (wr == NULL)
		return;
	hl_writer_stop(wr);
	pthread_cond_destroy(&wr->cond);
	pthread_mutex_destroy(&wr->lock);
	free(wr);
}
