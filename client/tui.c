#include "client/tui.h"
#include "client/tui_int.h"
#include "client/notify.h"
#include "client/out.h"
#include "client/sanitize.h"
#include "crypto/hl_err.h"
#include "crypto/hl_session.h"
#include "crypto/hl_time.h"

#include <errno.h>
#include <langinfo.h>
#include <poll.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOOP_FDS (HL_NET_MAX_FDS * 2 + 1)

void
hl_tui_note(struct hl_tui *t, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	/* Our own words, but they may quote a handle or a cause: sanitized
	 * like everything else that reaches the screen, on one line. */
	char *s = hl_sanitize(buf, strlen(buf), HL_SANITIZE_ONELINE);
	if (s == NULL)
		return;
	if (t->nnotes == TUI_NOTES_MAX) {
		free(t->notes[0]);
		memmove(t->notes, t->notes + 1, (TUI_NOTES_MAX - 1) * sizeof *t->notes);
		t->nnotes--;
	}
	t->notes[t->nnotes++] = s;
	t->redraw = 1;
}

void
hl_tui_info_close(struct hl_tui *t)
{
	for (size_t i = 0; i < t->ninfo; i++)
		free(t->info[i]);
	free(t->info);
	t->info = NULL;
	t->ninfo = 0;
	t->help = 0;
	t->drill[0] = '\0';
	t->redraw = 1;
}

void
hl_tui_info(struct hl_tui *t, const char *text)
{
	hl_tui_info_close(t);
	size_t n = 1;
	for (const char *p = text; *p; p++)
		n += *p == '\n';
	t->info = calloc(n, sizeof *t->info);
	if (t->info == NULL)
		return;
	for (const char *p = text; t->ninfo < n;) {
		size_t len = strcspn(p, "\n");
		char *s = hl_sanitize(p, len, HL_SANITIZE_ONELINE);
		if (s == NULL)
			break;
		t->info[t->ninfo++] = s;
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	t->help = 1;
}

void
hl_tui_note_untrusted(struct hl_tui *t, const char *prefix, const char *text)
{
	char *s = hl_sanitize(text != NULL ? text : "", text != NULL ?
	    strlen(text) : 0, HL_SANITIZE_ONELINE);
	if (s == NULL)
		return;
	hl_tui_note(t, "%s%s", prefix, s);
	free(s);
}

/* --- reading the store: only what is shown --- */

static void
item_clear(struct tui_item *it)
{
	if (it->text != NULL) {
		sodium_memzero(it->text, strlen(it->text));
		free(it->text);
	}
	memset(it, 0, sizeof *it);
}

static void
items_clear(struct hl_tui *t)
{
	for (size_t i = 0; i < t->nitems; i++)
		item_clear(&t->items[i]);
	t->nitems = 0;
}

/* The text of a message as shown: the body, an incident's fields, the
 * note of an ack; all sanitized. Caller frees. */
static char *
item_text(const struct hl_msg *m)
{
	size_t cap = 256 + (m->content.body ? strlen(m->content.body) : 0) +
	    (m->ack_note ? strlen(m->ack_note) : 0) + strlen(m->reason);
	const struct hl_incident *inc = m->content.incident;
	if (inc != NULL) {
		cap += strlen(inc->title) + strlen(inc->status);
		for (size_t i = 0; i < inc->n_indicators; i++)
			cap += strlen(inc->indicators[i]) + 8;
		for (size_t i = 0; i < inc->n_actions; i++)
			cap += strlen(inc->actions[i]) + 8;
	}
	char *raw = malloc(cap);
	if (raw == NULL)
		return NULL;
	size_t off = 0;
	raw[0] = '\0';
	if (inc != NULL) {
		off += (size_t)snprintf(raw + off, cap - off, "%s\nseverity %s, "
		    "TLP:%s, status %s\n", inc->title, hl_severity_name(inc->severity),
		    hl_tlp_name(inc->tlp), inc->status);
		for (size_t i = 0; i < inc->n_indicators; i++)
			off += (size_t)snprintf(raw + off, cap - off, "indicator: %s\n",
			    inc->indicators[i]);
		for (size_t i = 0; i < inc->n_actions; i++)
			off += (size_t)snprintf(raw + off, cap - off, "action: %s\n",
			    inc->actions[i]);
	}
	if (m->content.body != NULL)
		off += (size_t)snprintf(raw + off, cap - off, "%s", m->content.body);
	if (m->ack_note != NULL && m->ack_note[0])
		off += (size_t)snprintf(raw + off, cap - off, "%snote: %s",
		    off > 0 ? "\n" : "", m->ack_note);
	if (hl_msg_escalated(m) && m->reason[0])
		off += (size_t)snprintf(raw + off, cap - off, "%snote: %s",
		    off > 0 ? "\n" : "", m->reason);
	if (m->dir == HL_OUT && m->state == HL_ST_FAILED && m->reason[0])
		off += (size_t)snprintf(raw + off, cap - off, "%sfailed: %s",
		    off > 0 ? "\n" : "", m->reason);
	char *s = hl_sanitize(raw, off, 0);
	sodium_memzero(raw, cap);
	free(raw);
	return s;
}

static int
take_item(struct hl_msg *m, void *arg)
{
	struct hl_tui *t = arg;
	if (t->nitems == TUI_ITEMS_MAX)
		return 1;
	struct tui_item *it = &t->items[t->nitems];
	it->text = item_text(m);
	if (it->text == NULL)
		return 1;
	it->m = *m;
	it->m.content.body = NULL;
	it->m.content.incident = NULL;
	it->m.ct = NULL;
	it->m.ct_len = 0;
	it->m.ack_note = NULL;
	t->nitems++;
	return 0;
}

static void
load_page(struct hl_tui *t, int64_t before)
{
	size_t had = t->nitems;
	struct hl_msg_query q = { .dir = -1, .state = -1, .peer = t->peer,
	    .exclude_receipts = 1, .before_rowid = before, .limit = TUI_PAGE };
	hl_store_msg_each(t->cli->crypto, &q, take_item, t);
	t->more_history = t->nitems - had == TUI_PAGE && t->nitems < TUI_ITEMS_MAX;
}

int
hl_tui_older(struct hl_tui *t)
{
	if (!t->more_history || t->nitems == 0)
		return 0;
	size_t had = t->nitems;
	load_page(t, t->items[t->nitems - 1].m.rowid);
	return t->nitems > had;
}

/* New messages shown in the open conversation are read. */
static int
mark_read(struct hl_msg *m, void *arg)
{
	struct hl_tui *t = arg;
	if (t->nshown_new == TUI_PAGE) {
		memmove(t->shown_new, t->shown_new + 1,
		    (TUI_PAGE - 1) * sizeof t->shown_new[0]);
		t->nshown_new--;
	}
	t->shown_new[t->nshown_new++] = m->rowid;
	hl_store_msg_transition(t->cli->crypto, m, HL_ST_READ, hl_now_ms());
	return 0;
}

static int
shown_new(const struct hl_tui *t, int64_t rowid)
{
	for (size_t i = 0; i < t->nshown_new; i++)
		if (t->shown_new[i] == rowid)
			return 1;
	return 0;
}

static void
load_conversation(struct hl_tui *t)
{
	/* Keep as much history as was read before, page by page. */
	size_t want = t->nitems > TUI_PAGE ? t->nitems : TUI_PAGE;
	items_clear(t);
	t->more_history = 0;
	if (t->peer[0] == '\0')
		return;
	struct hl_msg_query nq = { .dir = HL_IN, .state = HL_ST_NEW,
	    .peer = t->peer, .exclude_receipts = 1, .limit = TUI_PAGE };
	hl_store_msg_each(t->cli->crypto, &nq, mark_read, t);
	load_page(t, INT64_MAX);
	while (t->nitems < want && hl_tui_older(t))
		;
	for (size_t i = 0; i < t->nitems; i++)
		if (t->items[i].m.state == HL_ST_READ &&
		    shown_new(t, t->items[i].m.rowid))
			t->items[i].m.state = HL_ST_NEW;
	struct hl_identity_info info;
	t->peer_trust = HL_TRUST_NONE;
	if (hl_identity_info(t->cli->crypto, t->peer, &info) == 0)
		t->peer_trust = info.has_pending ? HL_TRUST_CHANGED : (int)info.trust;
	struct hl_held *held = NULL;
	size_t nheld = 0;
	t->peer_held = 0;
	if (hl_store_held_list(t->cli->crypto, t->peer, &held, &nheld) == 0)
		t->peer_held = nheld;
	hl_held_free(held, nheld);
}

static int
take_conv(const struct hl_conv_summary *s, void *arg)
{
	struct hl_tui *t = arg;
	if (t->ncontacts == TUI_CONTACTS_MAX)
		return 1;
	struct hl_tui_contact *c = &t->contacts[t->ncontacts++];
	memset(c, 0, sizeof *c);
	snprintf(c->handle, sizeof c->handle, "%s", s->peer);
	c->unread = s->unread;
	c->awaiting = s->awaiting;
	c->overdue = s->overdue;
	c->last_ms = s->last_ms;
	return 0;
}

static int
contact_order(const void *a, const void *b)
{
	const struct hl_tui_contact *x = a, *y = b;
	/* What waits for us first, then the latest conversation. */
	int wx = x->awaiting > 0 || x->overdue > 0, wy = y->awaiting > 0 ||
	    y->overdue > 0;
	if (wx != wy)
		return wy - wx;
	if (x->last_ms != y->last_ms)
		return x->last_ms < y->last_ms ? 1 : -1;
	return strcmp(x->handle, y->handle);
}

/* An escalated message is no longer late: the alternate has it. The
 * counts come from the plain columns, which cannot tell; the overdue ones
 * are few and read through the state index. */
static int
discount_escalated(struct hl_msg *m, void *arg)
{
	struct hl_tui *t = arg;
	if (!hl_msg_escalated(m))
		return 0;
	if (t->counts_out[HL_ST_OVERDUE] > 0)
		t->counts_out[HL_ST_OVERDUE]--;
	for (size_t i = 0; i < t->ncontacts; i++)
		if (strcmp(t->contacts[i].handle, m->peer) == 0 &&
		    t->contacts[i].overdue > 0)
			t->contacts[i].overdue--;
	return 0;
}

static void
load_contacts(struct hl_tui *t)
{
	char sel[HL_HANDLE_MAX + 1] = "";
	if (t->sel_contact >= 0 && (size_t)t->sel_contact < t->ncontacts)
		snprintf(sel, sizeof sel, "%s", t->contacts[t->sel_contact].handle);
	t->ncontacts = 0;
	hl_store_conversations(t->cli->crypto, take_conv, t);
	int have_peer = t->peer[0] == '\0';
	for (size_t i = 0; i < t->ncontacts; i++)
		have_peer |= strcmp(t->contacts[i].handle, t->peer) == 0;
	if (!have_peer && t->ncontacts < TUI_CONTACTS_MAX) {
		/* Opened with /msg and nothing written yet. */
		struct hl_tui_contact *c = &t->contacts[t->ncontacts++];
		memset(c, 0, sizeof *c);
		snprintf(c->handle, sizeof c->handle, "%s", t->peer);
		c->last_ms = hl_now_ms();
	}
	struct hl_msg_query oq = { .dir = HL_OUT, .state = HL_ST_OVERDUE };
	hl_store_msg_each(t->cli->crypto, &oq, discount_escalated, t);
	for (size_t i = 0; i < t->ncontacts; i++) {
		struct hl_tui_contact *c = &t->contacts[i];
		struct hl_contact ct;
		struct hl_identity_info info;
		if (hl_store_contact_get(t->cli->crypto, c->handle, &ct) == 1) {
			const char *n = ct.entry.profile.name;
			char *s = hl_sanitize(n, strlen(n), HL_SANITIZE_ONELINE);
			if (s != NULL) {
				snprintf(c->name, sizeof c->name, "%s", s);
				free(s);
			}
			hl_out_time_in(hl_now_ms(), ct.entry.profile.timezone,
			    c->local_time, sizeof c->local_time);
		}
		if (hl_identity_info(t->cli->crypto, c->handle, &info) == 0)
			c->trust = info.has_pending ? HL_TRUST_CHANGED : (int)info.trust;
	}
	qsort(t->contacts, t->ncontacts, sizeof *t->contacts, contact_order);
	t->sel_contact = t->ncontacts > 0 ? 0 : -1;
	for (size_t i = 0; i < t->ncontacts; i++)
		if (strcmp(t->contacts[i].handle, sel[0] ? sel : t->peer) == 0)
			t->sel_contact = (int)i;
}

static void
awaits_clear(struct hl_tui *t)
{
	for (size_t i = 0; i < t->nawait; i++)
		free(t->await[i].first_line);
	t->nawait = 0;
}

static int
take_await(struct hl_msg *m, void *arg)
{
	struct hl_tui *t = arg;
	if (t->nawait == TUI_AWAIT_MAX)
		return 1;
	struct tui_await *a = &t->await[t->nawait];
	memset(a, 0, sizeof *a);
	memcpy(a->id, m->id, sizeof a->id);
	memcpy(a->peer, m->peer, sizeof a->peer);
	a->prio = m->content.prio;
	a->rowid = m->rowid;
	a->sent_ms = m->content.sent;
	const char *b = m->content.body ? m->content.body : "";
	a->first_line = hl_sanitize(b, strcspn(b, "\n"), HL_SANITIZE_ONELINE);
	if (a->first_line == NULL)
		return 1;
	t->nawait++;
	return 0;
}

void
hl_tui_refresh(struct hl_tui *t)
{
	awaits_clear(t);
	/* Oldest first, so /ack's choice among equals is the oldest. */
	struct hl_msg_query q = { .dir = HL_IN, .state = -1, .awaiting_ack = 1,
	    .limit = TUI_AWAIT_MAX };
	hl_store_msg_each(t->cli->crypto, &q, take_await, t);
	/* Only the states the status line shows: each through the index. */
	hl_store_msg_count_state(t->cli->crypto, HL_OUT, HL_ST_QUEUED,
	    &t->counts_out[HL_ST_QUEUED]);
	hl_store_msg_count_state(t->cli->crypto, HL_OUT, HL_ST_OVERDUE,
	    &t->counts_out[HL_ST_OVERDUE]);
	hl_store_msg_count_state(t->cli->crypto, HL_IN, HL_ST_NEW,
	    &t->counts_in[HL_ST_NEW]);
	load_contacts(t);
	/* Nothing open yet: the contact that waits first (the pane's order). */
	if (t->peer[0] == '\0' && t->ncontacts > 0)
		snprintf(t->peer, sizeof t->peer, "%s", t->contacts[0].handle);
	load_conversation(t);
	if (t->help && t->drill[0])
		hl_tui_drill_show(t);
	t->dirty = 0;
	t->redraw = 1;
}

void
hl_tui_open_peer(struct hl_tui *t, const char *peer)
{
	if (strcmp(t->peer, peer) != 0) {
		snprintf(t->peer, sizeof t->peer, "%s", peer);
		items_clear(t);
		t->nshown_new = 0;
		t->scroll = 0;
		t->sel = -1;
	}
	hl_tui_refresh(t);
}

const struct tui_await *
hl_tui_flash_waiting(const struct hl_tui *t)
{
	for (size_t i = 0; i < t->nawait; i++)
		if (t->await[i].prio == HL_PRIO_FLASH)
			return &t->await[i];
	return NULL;
}

/* --- the engine's events --- */

static void
on_event(const struct hl_event *ev, void *arg)
{
	struct hl_tui *t = arg;
	char cause[HL_CAUSE_MAX] = "";
	enum hl_notify_kind k = hl_notify_event(&t->cli->cfg, ev, cause);
	if (cause[0])
		hl_tui_note(t, "%s", cause);
	t->dirty = 1;
	switch (ev->kind) {
	case HL_EV_RECEIVED:
		if (k == HL_NOTIFY_FLASH)
			t->next_bell_mono = 0;   /* ring now, then until acked */
		else if (k == HL_NOTIFY_URGENT)
			hl_tui_bell();           /* once */
		break;
	case HL_EV_RELAY:
		if (!ev->n) {
			char *s = hl_sanitize(ev->text ? ev->text : "", ev->text ?
			    strlen(ev->text) : 0, HL_SANITIZE_ONELINE);
			snprintf(t->relay_why, sizeof t->relay_why, "%s", s ? s : "");
			free(s);
		}
		break;
	case HL_EV_KEY_CHANGED:
		hl_tui_note(t, "KEY CHANGED: %s has a new identity key; sending "
		    "to it is blocked; compare with /verify, accept with /trust",
		    ev->peer ? ev->peer : "?");
		break;
	case HL_EV_GAP:
		hl_tui_note(t, "%lld message(s) missing from %s", (long long)ev->n,
		    ev->peer ? ev->peer : "?");
		break;
	case HL_EV_HELD:
		hl_tui_note_untrusted(t, "held: ", ev->text);
		break;
	case HL_EV_AUTH:
		hl_tui_note_untrusted(t, "the relay refused our token: ", ev->text);
		break;
	case HL_EV_FETCH_FAILED: {
		char what[96];
		snprintf(what, sizeof what, "the relay refused to hand over "
		    "messages (%lld): ", (long long)ev->n);
		hl_tui_note_untrusted(t, what, ev->text);
		char *s = hl_sanitize(ev->text ? ev->text : "", ev->text ?
		    strlen(ev->text) : 0, HL_SANITIZE_ONELINE);
		snprintf(t->relay_why, sizeof t->relay_why, "refused (%lld)%s%s",
		    (long long)ev->n, s && s[0] ? ": " : "", s ? s : "");
		free(s);
		break;
	}
	case HL_EV_ESCALATED:
		hl_tui_note(t, "escalated %s to %s", ev->msg ? ev->msg->id : "?",
		    ev->peer ? ev->peer : "?");
		break;
	case HL_EV_NOT_ESCALATED:
		hl_tui_note_untrusted(t, "not escalated: ", ev->text);
		break;
	case HL_EV_STATE:
		if (ev->msg != NULL && ev->msg->state == HL_ST_FAILED)
			hl_tui_note_untrusted(t, "failed: ", ev->msg->reason);
		break;
	default:
		break;
	}
}

/* --- the loop --- */

static void
schedule_fetch(struct hl_tui *t)
{
	int64_t now = hl_mono_ms();
	if (t->fetching) {
		if (hl_engine_fetches(t->e) == t->fetches_before)
			return;
		t->fetching = 0;
		t->fetch_failed = !hl_engine_fetch_ok(t->e, NULL);
		if (!t->fetch_failed) {
			t->retry_at_ms = 0;
			t->next_fetch_mono = now;
		} else {
			/* The engine's backoff (and the relay's Retry-After). */
			int64_t at = hl_engine_fetch_next_ms(t->e, NULL);
			int64_t wait = at > 0 ? at - hl_now_ms() : 1000;
			if (wait < 0)
				wait = 0;
			t->next_fetch_mono = now + wait;
			t->retry_at_ms = hl_now_ms() + wait;
		}
		t->redraw = 1;
	}
	if (!t->fetching && now >= t->next_fetch_mono) {
		/* The first asks without waiting, so that the status line knows
		 * at once whether the relay answers; then long-polls. */
		t->fetches_before = hl_engine_fetches(t->e);
		hl_engine_fetch(t->e, t->fetches_before == 0 ? 0 : TUI_FETCH_WAIT_S);
		t->fetching = 1;
	}
	int ok = hl_engine_relay_ok(t->e);
	if (ok != t->relay) {
		t->relay = ok;
		t->redraw = 1;
	}
}

static void
net_dispatch_all(struct hl_tui *t, struct pollfd *fds, int n_engine, int n_net)
{
	hl_engine_dispatch(t->e, fds + 1, n_engine);
	if (t->net != NULL)
		hl_net_dispatch(t->net, fds + 1 + n_engine, n_net);
}

static int
loop(struct hl_tui *t)
{
	struct pollfd fds[LOOP_FDS];
	hl_engine_kick(t->e);
	while (!t->quit && !hl_cli_interrupted()) {
		hl_notify_reap();
		schedule_fetch(t);
		if (t->dirty)
			hl_tui_refresh(t);
		int64_t now = hl_mono_ms();
		const struct tui_await *flash = hl_tui_flash_waiting(t);
		if (flash != NULL && now >= t->next_bell_mono) {
			hl_tui_bell();
			t->next_bell_mono = now + TUI_BELL_MS;
		}
		/* Redraw at least each second: deadlines and retry times count
		 * down. */
		hl_tui_draw(t);
		int timeout = 1000 - (int)(hl_now_ms() % 1000);
		if (flash != NULL && t->next_bell_mono - now < timeout)
			timeout = (int)(t->next_bell_mono - now);
		if (!t->fetching && t->next_fetch_mono - now < timeout)
			timeout = (int)(t->next_fetch_mono - now);
		if (timeout < 0)
			timeout = 0;
		fds[0].fd = STDIN_FILENO;
		fds[0].events = POLLIN;
		fds[0].revents = 0;
		int ne = hl_engine_pollfds(t->e, fds + 1, HL_NET_MAX_FDS, &timeout);
		int nn = t->net != NULL ? hl_net_pollfds(t->net, fds + 1 + ne,
		    HL_NET_MAX_FDS, &timeout) : 0;
		int r = poll(fds, (nfds_t)(1 + ne + nn), timeout);
		if (r < 0 && errno != EINTR)
			return HL_EIO;
		if (r > 0 && (fds[0].revents & (POLLHUP | POLLERR | POLLNVAL)) &&
		    !(fds[0].revents & POLLIN))
			return 0;    /* the terminal went away */
		/* Keys are read every time: a resize arrives as EINTR. */
		hl_tui_read_keys(t);
		net_dispatch_all(t, fds, r < 0 ? 0 : ne, r < 0 ? 0 : nn);
	}
	return 0;
}

static void
tui_free(struct hl_tui *t)
{
	items_clear(t);
	awaits_clear(t);
	for (size_t i = 0; i < t->nnotes; i++)
		free(t->notes[i]);
	hl_tui_info_close(t);
	hl_engine_free(t->e);
	hl_net_free(t->net);
	hl_tui_edit_free(&t->edit);
	free(t->form.title);
	free(t->form.status);
	free(t->form.indicators);
	free(t->form.actions);
	free(t->form.body);
	free(t->items);
	free(t);
}

int
hl_tui_open(struct hl_cli *cli, FILE *in, FILE *out, struct hl_tui **tp,
    char *cause)
{
	*tp = NULL;
	struct hl_tui *t = calloc(1, sizeof *t);
	if (t == NULL)
		return hl_fail(cause, HL_ENOMEM, "out of memory");
	t->items = calloc(TUI_ITEMS_MAX, sizeof *t->items);
	if (t->items == NULL) {
		free(t);
		return hl_fail(cause, HL_ENOMEM, "out of memory");
	}
	t->cli = cli;
	t->sel = -1;
	t->sel_contact = -1;
	t->relay = -1;
	hl_tui_edit_init(&t->edit);
	if (hl_store_account_get(cli->crypto, &t->acct) != 1) {
		tui_free(t);
		return hl_fail(cause, HL_ESTATE, "not registered: run 'hotline "
		    "register' first");
	}
	struct hl_engine_opts eo;
	hl_cli_engine_opts(cli, &eo);
	eo.on_event = on_event;
	eo.arg = t;
	int rc = hl_engine_new(&eo, &t->e, cause);
	if (rc != 0) {
		tui_free(t);
		return rc;
	}
	const char *cs = nl_langinfo(CODESET);
	t->utf8 = cs != NULL && strcmp(cs, "UTF-8") == 0;
	if (hl_tui_draw_start(t, in, out) != 0) {
		tui_free(t);
		return hl_fail(cause, HL_EIO, "cannot use this terminal (is TERM "
		    "set?)");
	}
	*tp = t;
	return 0;
}

void
hl_tui_first_frame(struct hl_tui *t)
{
	hl_tui_note(t, "hotline: /help for commands, Tab between panes, "
	    "/quit to leave");
	hl_tui_refresh(t);
	hl_tui_draw(t);
}

void
hl_tui_close(struct hl_tui *t)
{
	if (t == NULL)
		return;
	hl_tui_draw_end();
	tui_free(t);
}

int
hl_tui_run(struct hl_cli *cli)
{
	char cause[HL_CAUSE_MAX] = "";
	struct hl_tui *t;
	int rc = hl_cli_open(cli);
	if (rc != 0)
		return rc;
	rc = hl_tui_open(cli, stdin, stdout, &t, cause);
	if (rc != 0)
		return hl_cli_fail(rc, "tui", cause);
	hl_tui_first_frame(t);
	rc = loop(t);
	hl_tui_close(t);
	/* Hooks still running are left to finish on their own; init reaps
	 * them once we are gone. */
	return rc == 0 ? HL_EXIT_OK : hl_cli_fail(rc, "tui", NULL);
}
