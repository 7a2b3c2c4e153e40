/* The /commands of the terminal interface: one table gives the help, the
 * parsing and the dispatch. */
#include "client/tui_int.h"
#include "client/api.h"
#include "client/drill.h"
#include "client/out.h"
#include "client/sanitize.h"
#include "crypto/hl_err.h"
#include "crypto/hl_handle.h"
#include "crypto/hl_session.h"
#include "crypto/hl_time.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct tui_cmd {
	const char *name;
	const char *args;
	const char *help;
	void (*run)(struct hl_tui *t, char *args);
};

static const struct tui_cmd commands[];

/* The first word of *s (cut off with a NUL), *s moves past it; NULL when
 * there is none. */
static char *
word(char **s)
{
	char *p = *s;
	while (*p == ' ')
		p++;
	if (*p == '\0')
		return NULL;
	char *w = p;
	while (*p && *p != ' ')
		p++;
	if (*p)
		*p++ = '\0';
	while (*p == ' ')
		p++;
	*s = p;
	return w;
}

static int
need_peer(struct hl_tui *t)
{
	if (t->peer[0])
		return 1;
	hl_tui_note(t, "no conversation open: /msg HANDLE first");
	return 0;
}

static int
send_body(struct hl_tui *t, enum hl_prio prio, enum hl_kind kind,
    const char *body, const struct hl_incident *inc)
{
	char id[HL_ID_HEX + 1], cause[HL_CAUSE_MAX] = "";
	if (!need_peer(t))
		return -1;
	if (t->peer_trust == HL_TRUST_CHANGED) {
		hl_tui_note(t, "NOT SENT: %s's identity key changed; compare the "
		    "safety number (/verify) and accept it (/trust) first", t->peer);
		return -1;
	}
	struct hl_send_req r = {
		.to = t->peer, .kind = kind, .prio = prio, .body = body,
		.incident = inc,
		.ack_within_ms = prio != HL_PRIO_ROUTINE || kind == HL_KIND_INCIDENT ?
		    t->cli->cfg.default_ack_within_ms : 0,
	};
	int rc = hl_engine_queue(t->e, &r, id, cause);
	if (rc == HL_EUNTRUSTED) {
		hl_tui_note(t, "NOT SENT: %s's identity key changed: /verify, then "
		    "/trust", t->peer);
		t->dirty = 1;
		return -1;
	}
	if (rc != 0) {
		hl_tui_note(t, "not sent: %s", cause[0] ? cause : hl_strerror(rc));
		return -1;
	}
	hl_engine_kick(t->e);
	t->scroll = 0;
	t->dirty = 1;
	return 0;
}

static void
cmd_msg(struct hl_tui *t, char *args)
{
	char *h = word(&args);
	if (h == NULL || !hl_handle_valid(h)) {
		hl_tui_note(t, "usage: /msg HANDLE [TEXT]");
		return;
	}
	hl_tui_open_peer(t, h);
	t->focus = TUI_FOCUS_INPUT;
	if (*args)
		send_body(t, HL_PRIO_ROUTINE, HL_KIND_TEXT, args, NULL);
}

static void
cmd_urgent(struct hl_tui *t, char *args)
{
	if (*args == '\0') {
		hl_tui_note(t, "usage: /urgent TEXT");
		return;
	}
	send_body(t, HL_PRIO_URGENT, HL_KIND_TEXT, args, NULL);
}

static void
cmd_flash(struct hl_tui *t, char *args)
{
	if (*args == '\0') {
		hl_tui_note(t, "usage: /flash TEXT");
		return;
	}
	send_body(t, HL_PRIO_FLASH, HL_KIND_TEXT, args, NULL);
}

static void
cmd_ack(struct hl_tui *t, char *args)
{
	struct hl_tui_ack_cand c[TUI_ITEMS_MAX > TUI_AWAIT_MAX ? TUI_ITEMS_MAX :
	    TUI_AWAIT_MAX];
	enum hl_response resp = HL_RESP_RECEIVED;
	char peer[HL_HANDLE_MAX + 1], id[HL_ID_HEX + 1], cause[HL_CAUSE_MAX] = "";
	char *rest = args, *w = word(&rest);
	if (w != NULL && hl_response_parse(w, &resp) == 0 && resp != HL_RESP_NONE)
		args = rest;
	else
		resp = HL_RESP_RECEIVED;
	int pick;
	if (t->sel >= 0) {
		for (size_t i = 0; i < t->nitems; i++) {
			const struct hl_msg *m = &t->items[i].m;
			c[i] = (struct hl_tui_ack_cand){ m->content.prio, m->rowid,
			    m->state == HL_ST_ACKNOWLEDGED, m->dir == HL_IN &&
			    hl_msg_needs_ack(&m->content) };
		}
		pick = hl_tui_ack_pick(c, t->nitems, t->sel);
		if (pick < 0) {
			hl_tui_note(t, "the selected message needs no ack or has one "
			    "(Esc clears the selection)");
			return;
		}
		memcpy(peer, t->items[pick].m.peer, sizeof peer);
		memcpy(id, t->items[pick].m.id, sizeof id);
	} else {
		for (size_t i = 0; i < t->nawait; i++)
			c[i] = (struct hl_tui_ack_cand){ t->await[i].prio,
			    t->await[i].rowid, 0, 1 };
		pick = hl_tui_ack_pick(c, t->nawait, -1);
		if (pick < 0) {
			hl_tui_note(t, "nothing waits for your ack");
			return;
		}
		memcpy(peer, t->await[pick].peer, sizeof peer);
		memcpy(id, t->await[pick].id, sizeof id);
	}
	struct hl_msg m;
	if (hl_store_msg_get(t->cli->crypto, HL_IN, peer, id, &m) != 1) {
		hl_tui_note(t, "message %s is gone", id);
		return;
	}
	int rc = hl_engine_ack(t->e, &m, resp, *args ? args : NULL, cause);
	hl_msg_clear(&m);
	if (rc != 0) {
		hl_tui_note(t, "not acknowledged: %s", cause[0] ? cause :
		    hl_strerror(rc));
		return;
	}
	hl_engine_kick(t->e);
	hl_tui_note(t, "acknowledged %.8s from %s: %s", id, peer,
	    hl_response_name(resp));
	t->sel = -1;
	t->dirty = 1;
}

static void
safety_text(const char *digits, char *out, size_t len)
{
	size_t off = 0;
	for (size_t i = 0; digits[i] && off + 3 < len; i++) {
		if (i > 0 && i % 5 == 0)
			out[off++] = i % 30 == 0 ? '\n' : ' ';
		out[off++] = digits[i];
	}
	out[off] = '\0';
}

static void
cmd_verify(struct hl_tui *t, char *args)
{
	struct hl_identity_info info;
	char sn[HL_SAFETY_LEN + 1], a[128], b[128], text[1024];
	(void)args;
	if (!need_peer(t))
		return;
	if (hl_identity_info(t->cli->crypto, t->peer, &info) != 0 ||
	    (!info.has_key && !info.has_pending)) {
		hl_tui_note(t, "no identity key known for %s yet", t->peer);
		return;
	}
	a[0] = b[0] = '\0';
	if (info.has_key && hl_safety_number(t->cli->crypto, t->peer, 0, sn) == 0)
		safety_text(sn, a, sizeof a);
	if (info.has_pending && hl_safety_number(t->cli->crypto, t->peer, 1, sn) == 0)
		safety_text(sn, b, sizeof b);
	snprintf(text, sizeof text, "Safety number with %s (%s)\nCompare it with "
	    "the contact over another channel (phone, in person).\n\n%s%s\n%s%s%s",
	    t->peer, hl_trust_name(info.has_pending ? HL_TRUST_CHANGED : info.trust),
	    a[0] ? "accepted key:\n" : "", a, b[0] ? "\nNEW KEY, waiting for "
	    "/trust:\n" : "", b, "\n\nEsc or Enter to close");
	hl_tui_info(t, text);
}

/* The digits of a safety number as typed, "" for none; -1 when malformed. */
static int
typed_number(const char *s, char out[HL_SAFETY_LEN + 1])
{
	size_t n = 0;
	for (; *s; s++) {
		if (*s == ' ')
			continue;
		if (*s < '0' || *s > '9' || n == HL_SAFETY_LEN)
			return -1;
		out[n++] = *s;
	}
	out[n] = '\0';
	return n == 0 || n == HL_SAFETY_LEN ? 0 : -1;
}

static void
cmd_trust(struct hl_tui *t, char *args)
{
	struct hl_identity_info info;
	char typed[HL_SAFETY_LEN + 1], sn[HL_SAFETY_LEN + 1], cause[HL_CAUSE_MAX] = "";
	int released = 0;
	if (!need_peer(t))
		return;
	if (typed_number(args, typed) != 0) {
		hl_tui_note(t, "usage: /trust [SAFETY-NUMBER] (%d digits)",
		    HL_SAFETY_LEN);
		return;
	}
	if (hl_identity_info(t->cli->crypto, t->peer, &info) != 0 ||
	    !info.has_pending) {
		hl_tui_note(t, "no changed key waits for %s", t->peer);
		return;
	}
	if (typed[0] && (hl_safety_number(t->cli->crypto, t->peer, 1, sn) != 0 ||
	    strcmp(sn, typed) != 0)) {
		hl_tui_note(t, "that is not the safety number of %s's new key: "
		    "nothing accepted (/verify shows it)", t->peer);
		return;
	}
	struct hl_crypto *c = t->cli->crypto;
	int rc = hl_crypto_begin(c);
	if (rc == 0)
		rc = hl_identity_trust(c, t->peer, info.pending, typed[0] != 0);
	if (rc == 0)
		rc = hl_store_reencrypt_queued(c, t->peer);
	if (rc == 0)
		rc = hl_crypto_commit(c);
	if (rc != 0) {
		hl_crypto_rollback(c);
		hl_tui_note(t, "trust: %s", hl_strerror(rc));
		return;
	}
	rc = hl_engine_release_held(t->e, t->peer, &released, cause);
	hl_engine_kick(t->e);
	hl_tui_note(t, "accepted %s's new key%s; %d held message(s) now readable%s%s",
	    t->peer, typed[0] ? " (verified)" : " (unverified until the safety "
	    "numbers are compared)", released, rc != 0 ? "; " : "", rc != 0 ?
	    cause : "");
	t->dirty = 1;
}

#define ASKING_DIRECTORY "asking the directory..."

/* The answer came (or the question failed): the notice that it was asked
 * has done its job. */
static void
drop_asking(struct hl_tui *t)
{
	for (size_t i = t->nnotes; i-- > 0;)
		if (strcmp(t->notes[i], ASKING_DIRECTORY) == 0) {
			free(t->notes[i]);
			memmove(t->notes + i, t->notes + i + 1,
			    (t->nnotes - i - 1) * sizeof t->notes[0]);
			t->nnotes--;
			t->redraw = 1;
			return;
		}
}

static void
directory_done(const struct hl_net_resp *r, void *arg)
{
	struct hl_tui *t = arg;
	drop_asking(t);
	struct hl_dir_entry *entries = NULL;
	size_t n = 0;
	char cause[HL_CAUSE_MAX] = "";
	if (r->err != 0) {
		hl_tui_note_untrusted(t, "directory: ", r->cause);
		return;
	}
	if (r->status != 200 ||
	    hl_api_parse_directory(r->body, r->len, &entries, &n, cause) != 0) {
		char why[64];
		snprintf(why, sizeof why, "directory: the relay answered %d: ",
		    r->status);
		hl_tui_note_untrusted(t, why, cause);
		return;
	}
	size_t cap = 128 + n * 400, off = 0;
	char *text = malloc(cap);
	if (text == NULL) {
		free(entries);
		return;
	}
	off += (size_t)snprintf(text, cap, "Directory: %zu contact(s); /msg "
	    "HANDLE to write\n", n);
	if (hl_crypto_begin(t->cli->crypto) == 0) {
		for (size_t i = 0; i < n; i++) {
			const struct hl_dir_entry *d = &entries[i];
			struct hl_contact ct = { .entry = *d, .fetched_ms = hl_now_ms() };
			char zone[96];
			hl_store_contact_put(t->cli->crypto, &ct);
			int changed = strcmp(d->handle, t->acct.handle) != 0 &&
			    hl_engine_note_directory_key(t->cli->crypto, d) == 1;
			hl_out_time_in(hl_now_ms(), d->profile.timezone, zone, sizeof zone);
			/* hl_tui_info sanitizes each line. */
			/* Only the fields the entry has: no ",  ()" for the rest. */
			const struct { const char *pre, *v, *post; } f[] = {
				{ "  ", d->profile.name, "" },
				{ ", ", d->profile.organisation, "" },
				{ " (", d->profile.country, ")" },
				{ " ", d->profile.role, "" },
				{ " ", zone, "" },
			};
			off += (size_t)snprintf(text + off, cap - off, "%s", d->handle);
			for (size_t k = 0; k < sizeof f / sizeof f[0] && off < cap; k++)
				if (f[k].v[0])
					off += (size_t)snprintf(text + off, cap - off,
					    "%s%s%s", k == 1 && !d->profile.name[0] ? "  " :
					    f[k].pre, f[k].v, f[k].post);
			if (off < cap)
				off += (size_t)snprintf(text + off, cap - off, "%s\n",
				    changed ? "  !! KEY DIFFERS: /verify, /trust" : "");
			if (off >= cap)
				off = cap - 1;
		}
		hl_crypto_commit(t->cli->crypto);
	}
	hl_tui_info(t, text);
	free(text);
	free(entries);
	t->dirty = 1;
}

static void
cmd_directory(struct hl_tui *t, char *args)
{
	char path[512], cause[HL_CAUSE_MAX] = "";
	if (strlen(args) > 128) {
		hl_tui_note(t, "the query is longer than 128 bytes");
		return;
	}
	if (t->net == NULL) {
		struct hl_net_opts o = {
			.base_url = t->acct.relay,
			.pin = t->acct.pin[0] ? t->acct.pin : NULL,
			.ca_file = t->acct.ca_file[0] ? t->acct.ca_file : NULL,
			.connect_timeout_ms = (long)t->cli->cfg.connect_timeout_ms,
		};
		if (hl_net_new(&o, &t->net, cause) != 0) {
			hl_tui_note(t, "directory: %s", cause);
			return;
		}
	}
	char *esc = curl_easy_escape(NULL, args, 0);
	snprintf(path, sizeof path, "/v1/directory?q=%s", esc ? esc : "");
	curl_free(esc);
	if (hl_net_request(t->net, "GET", path, t->acct.token, NULL, 30000,
	    directory_done, t) != 0)
		hl_tui_note(t, "directory: the request could not start");
	else
		hl_tui_note(t, ASKING_DIRECTORY);
}

/* --- /incident: a form, one field a line --- */

enum { F_TITLE, F_SEVERITY, F_TLP, F_STATUS, F_INDICATORS, F_ACTIONS, F_BODY,
    F_COUNT };

static void
form_reset(struct tui_form *f)
{
	free(f->title);
	free(f->status);
	free(f->indicators);
	free(f->actions);
	free(f->body);
	memset(f, 0, sizeof *f);
}

/* Splits a ';'-separated list into trimmed, non-empty items (pointing
 * into s, which is changed). */
static size_t
split_list(char *s, char **items, size_t max)
{
	size_t n = 0;
	for (char *save = NULL, *p = strtok_r(s, ";", &save); p && n < max;
	    p = strtok_r(NULL, ";", &save)) {
		while (*p == ' ')
			p++;
		size_t len = strlen(p);
		while (len > 0 && p[len - 1] == ' ')
			p[--len] = '\0';
		if (*p)
			items[n++] = p;
	}
	return n;
}

static void
form_send(struct hl_tui *t)
{
	struct tui_form *f = &t->form;
	char *ind[HL_INCIDENT_LIST_MAX], *act[HL_INCIDENT_LIST_MAX];
	struct hl_incident inc = {
		.title = f->title, .severity = f->severity, .tlp = f->tlp,
		.status = f->status, .indicators = ind, .actions = act,
	};
	inc.n_indicators = split_list(f->indicators, ind, HL_INCIDENT_LIST_MAX);
	inc.n_actions = split_list(f->actions, act, HL_INCIDENT_LIST_MAX);
	if (send_body(t, HL_PRIO_URGENT, HL_KIND_INCIDENT, f->body, &inc) == 0)
		hl_tui_note(t, "incident report '%s' queued, TLP:%s", f->title,
		    hl_tlp_name(f->tlp));
	form_reset(f);
}

static void
form_field(struct hl_tui *t, const char *line)
{
	struct tui_form *f = &t->form;
	/* Past the TLP, AMBER and RED content stays off the screen's notes:
	 * a summary says it was queued. */
	if (f->field <= F_TLP || f->tlp == HL_TLP_CLEAR || f->tlp == HL_TLP_GREEN)
		hl_tui_note(t, "%s", line[0] ? line : "(empty)");
	switch (f->field) {
	case F_TITLE:
		if (*line == '\0') {
			hl_tui_note(t, "the title is required");
			return;
		}
		f->title = strdup(line);
		break;
	case F_SEVERITY:
		if (hl_severity_parse(line, &f->severity) != 0 ||
		    f->severity == HL_SEV_NONE) {
			hl_tui_note(t, "severity: low, medium, high or critical");
			return;
		}
		break;
	case F_TLP: {
		/* Typed in any case; the wire names are upper case. */
		char up[32];
		size_t i = 0;
		for (; line[i] && i + 1 < sizeof up; i++)
			up[i] = line[i] >= 'a' && line[i] <= 'z' ? (char)(line[i] - 32) :
			    line[i];
		up[i] = '\0';
		if (strncmp(up, "TLP:", 4) == 0)
			memmove(up, up + 4, strlen(up + 4) + 1);
		if (hl_tlp_parse(up, &f->tlp) != 0 || f->tlp == HL_TLP_NONE) {
			hl_tui_note(t, "TLP: clear, green, amber, amber+strict or red");
			return;
		}
		break;
	}
	case F_STATUS:
		f->status = strdup(*line ? line : "open");
		break;
	case F_INDICATORS:
		f->indicators = strdup(line);
		break;
	case F_ACTIONS:
		f->actions = strdup(line);
		break;
	case F_BODY:
		f->body = strdup(line);
		break;
	}
	f->field++;
	if (f->field == F_COUNT)
		form_send(t);
}

static void
cmd_incident(struct hl_tui *t, char *args)
{
	if (strcmp(args, "cancel") == 0)
		return;    /* the form is left already */
	if (!need_peer(t))
		return;
	form_reset(&t->form);
	t->form.active = 1;
	hl_tui_note(t, "incident report to %s: answer each field and press "
	    "Enter; Esc cancels", t->peer);
}

void
hl_tui_drill_show(struct hl_tui *t)
{
	struct hl_drill_report r;
	char cause[HL_CAUSE_MAX] = "", id[sizeof t->drill];
	char *buf = NULL;
	size_t len = 0;
	memcpy(id, t->drill, sizeof id);
	int rc = hl_drill_load(t->cli->crypto, id, &r, cause);
	if (rc != 0) {
		hl_tui_note(t, "drill: %s", cause[0] ? cause : hl_strerror(rc));
		return;
	}
	FILE *f = open_memstream(&buf, &len);
	if (f != NULL) {
		fprintf(f, "Communication check %s (updated as answers come in; Esc "
		    "closes)\n", r.id);
		hl_drill_report_write(f, &r, HL_DRILL_NARROW);
		if (fclose(f) == 0 && buf != NULL) {
			hl_tui_info(t, buf);
			/* hl_tui_info forgot the drill with the old lines. */
			snprintf(t->drill, sizeof t->drill, "%s", r.id);
		}
		free(buf);
	}
	hl_drill_report_clear(&r);
}

/* /drill H1,H2,... [DUR] [NOTE]: start a check; /drill [ID|last]: watch
 * one. */
static void
cmd_drill(struct hl_tui *t, char *args)
{
	char id[HL_DRILL_ID_HEX + 1], cause[HL_CAUSE_MAX] = "";
	char *w = word(&args);
	if (w == NULL || strchr(w, '.') == NULL) {
		snprintf(t->drill, sizeof t->drill, "%s", w != NULL ? w : "last");
		hl_tui_drill_show(t);
		return;
	}
	char **to = NULL;
	size_t n = 0;
	int64_t within = 0;
	if (hl_drill_group_split(w, &to, &n, cause) != 0) {
		hl_tui_note(t, "drill: %s", cause);
		return;
	}
	char *rest = args, *d = word(&rest);
	if (d != NULL && hl_duration_parse(d, 7LL * 86400000, &within, cause) == 0)
		args = rest;
	else
		within = 0;
	struct hl_drill_start s = { .to = (const char *const *)to, .n = n,
	    .ack_within_ms = within, .note = *args ? args : NULL };
	int rc = hl_drill_start(t->e, t->cli->crypto, &s, id, cause);
	hl_drill_group_free(to, n);
	if (rc != 0) {
		hl_tui_note(t, "drill: %s", cause[0] ? cause : hl_strerror(rc));
		return;
	}
	hl_engine_kick(t->e);
	hl_tui_note(t, "drill %s started: %zu check(s) going out", id, n);
	snprintf(t->drill, sizeof t->drill, "%s", id);
	hl_tui_drill_show(t);
	t->dirty = 1;
}

static int
export_one(struct hl_msg *m, void *arg)
{
	FILE *f = arg;
	json_t *o = hl_out_msg_json(m);
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	if (s != NULL) {
		fprintf(f, "%s\n", s);
		sodium_memzero(s, strlen(s));
		free(s);
	}
	json_decref(o);
	return 0;
}

static void
cmd_export(struct hl_tui *t, char *args)
{
	char path[512], when[32];
	time_t now = time(NULL);
	struct tm tm;
	char *p = word(&args);
	if (p == NULL) {
		gmtime_r(&now, &tm);
		strftime(when, sizeof when, "%Y%m%dT%H%M%SZ", &tm);
		snprintf(path, sizeof path, "hotline-export-%s.jsonl", when);
	} else {
		snprintf(path, sizeof path, "%s", p);
	}
	/* Plaintext leaves the vault here: only for the officer. */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL) {
		hl_tui_note(t, "export: %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	struct hl_msg_query q = { .dir = -1, .state = -1 };
	int rc = hl_store_msg_each(t->cli->crypto, &q, export_one, f);
	if (fclose(f) != 0 && rc == 0)
		rc = HL_EIO;
	if (rc != 0)
		hl_tui_note(t, "export: %s: %s", path, hl_strerror(rc));
	else
		hl_tui_note(t, "exported every message with its states to %s "
		    "(JSON lines, mode 0600)", path);
}

static void
cmd_help(struct hl_tui *t, char *args)
{
	char text[4096];
	size_t off = 0;
	(void)args;
	off += (size_t)snprintf(text, sizeof text, "hotline commands (Esc or "
	    "Enter closes this)\n");
	for (const struct tui_cmd *c = commands; c->name && off < sizeof text;
	    c++)
		off += (size_t)snprintf(text + off, sizeof text - off, "/%s%s%s  %s\n",
		    c->name, c->args[0] ? " " : "", c->args, c->help);
	if (off < sizeof text)
		snprintf(text + off, sizeof text - off, "TEXT without / sends a "
		    "routine message to the open contact (// for a leading /).\n"
		    "Tab: next pane (completes a /command); Up/Down: history, "
		    "contacts or messages; PgUp/PgDn: scroll; Enter on a contact "
		    "opens it; Esc: close, deselect; Ctrl-L: redraw; F1: this help.\n"
		    "Editing: Left/Right, Home/End (Ctrl-A/E), Backspace, Delete, "
		    "Ctrl-U, Ctrl-W.");
	hl_tui_info(t, text);
}

static void
cmd_quit(struct hl_tui *t, char *args)
{
	(void)args;
	t->quit = 1;
}

static const struct tui_cmd commands[] = {
	{ "msg", "HANDLE [TEXT]", "open the conversation with HANDLE", cmd_msg },
	{ "urgent", "TEXT", "send an URGENT message (ack requested)", cmd_urgent },
	{ "flash", "TEXT", "send a FLASH message: a banner and the bell until "
	    "acknowledged", cmd_flash },
	{ "ack", "[CODE] [NOTE]", "acknowledge the selected message, else the "
	    "most urgent waiting one; CODE: received, will-comply, unable, "
	    "need-info", cmd_ack },
	{ "verify", "", "show the open contact's safety number", cmd_verify },
	{ "trust", "[SAFETY-NUMBER]", "accept the open contact's changed key "
	    "(with the number compared: verified)", cmd_trust },
	{ "directory", "[QUERY]", "search the relay's directory", cmd_directory },
	{ "incident", "", "write a structured incident report (a form)",
	    cmd_incident },
	{ "drill", "[H1,H2,... [DUR] [NOTE] | ID]", "start a communication check "
	    "(deadline DUR, 15m by default), or watch one (the last by default)",
	    cmd_drill },
	{ "export", "[FILE]", "write every message with its states as JSON lines",
	    cmd_export },
	{ "help", "", "this list", cmd_help },
	{ "quit", "", "leave (the outbox keeps what is not sent yet)", cmd_quit },
	{ NULL, NULL, NULL, NULL },
};

void
hl_tui_submit(struct hl_tui *t, const char *line)
{
	char buf[HL_TUI_LINE_MAX + 1];
	snprintf(buf, sizeof buf, "%s", line);
	t->redraw = 1;
	if (t->form.active && buf[0] == '/') {
		/* A command leaves the form. */
		hl_tui_note(t, "incident report cancelled");
		form_reset(&t->form);
	} else if (t->form.active) {
		form_field(t, buf);
		sodium_memzero(buf, sizeof buf);
		return;
	}
	hl_tui_info_close(t);
	if (buf[0] != '/' || buf[1] == '/') {
		if (buf[0] != '\0')
			send_body(t, HL_PRIO_ROUTINE, HL_KIND_TEXT,
			    buf[0] == '/' ? buf + 1 : buf, NULL);
		sodium_memzero(buf, sizeof buf);
		return;
	}
	char *args = buf + 1, *name = word(&args);
	if (name == NULL)
		name = "";
	for (const struct tui_cmd *c = commands; c->name; c++)
		if (strcmp(c->name, name) == 0) {
			c->run(t, args);
			sodium_memzero(buf, sizeof buf);
			return;
		}
	hl_tui_note(t, "unknown command /%s (/help lists them)", name);
	sodium_memzero(buf, sizeof buf);
}

void
hl_tui_complete(struct hl_tui *t)
{
	const char *typed = t->edit.buf + 1;
	size_t n = t->edit.len - 1;
	const struct tui_cmd *only = NULL;
	int matches = 0;
	for (const struct tui_cmd *c = commands; c->name; c++)
		if (strncmp(c->name, typed, n) == 0) {
			only = c;
			matches++;
		}
	if (matches == 1) {
		hl_tui_edit_op(&t->edit, HL_EDIT_END);
		const char *rest = only->name + n;
		hl_tui_edit_insert(&t->edit, rest, strlen(rest));
		hl_tui_edit_insert(&t->edit, " ", 1);
	} else if (matches > 1) {
		char list[256] = "";
		for (const struct tui_cmd *c = commands; c->name; c++)
			if (strncmp(c->name, typed, n) == 0 &&
			    strlen(list) + strlen(c->name) + 3 < sizeof list) {
				strcat(list, " /");
				strcat(list, c->name);
			}
		hl_tui_note(t, "%s", list + 1);
	}
}
