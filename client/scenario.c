#include "client/scenario.h"
#include "crypto/hl_err.h"
#include "crypto/hl_time.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parser {
	const char *file;
	int line;
	char *cause;
	struct hl_scenario *s;
	size_t cap;
	char (*names)[HL_HANDLE_MAX + 1];
	size_t nnames;
	int drills;                 /* drill start steps seen so far */
};

static int bad(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
bad(struct parser *p, const char *fmt, ...)
{
	char why[HL_CAUSE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	return hl_fail(p->cause, HL_EPARSE, "%s:%d: %s", p->file, p->line, why);
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The next blank-separated word of *pp, NUL-terminated in place; NULL at
 * the end of the line. */
static char *
word(char **pp)
{
	char *p = *pp;
	while (is_blank(*p))
		p++;
	if (*p == '\0') {
		*pp = p;
		return NULL;
	}
	char *w = p;
	while (*p && !is_blank(*p))
		p++;
	if (*p)
		*p++ = '\0';
	*pp = p;
	return w;
}

/* The rest of the line, trimmed, with one pair of matching quotes
 * around it removed; NULL (after bad()) when it opens a quote that the
 * end of the line does not close, so a lost quote is not sent as text. */
static char *
rest(struct parser *par, const char *what, char *p)
{
	while (is_blank(*p))
		p++;
	size_t n = strlen(p);
	while (n > 0 && is_blank(p[n - 1]))
		p[--n] = '\0';
	if (n >= 1 && (p[0] == '"' || p[0] == '\'')) {
		if (n < 2 || p[n - 1] != p[0]) {
			bad(par, "%s: the quote %c opened here is not closed at the "
			    "end of the line", what, p[0]);
			return NULL;
		}
		p[n - 1] = '\0';
		p++;
	}
	return p;
}

static int
dup_to(struct parser *p, char **dst, const char *s)
{
	*dst = strdup(s);
	return *dst ? 0 : HL_ENOMEM;
	(void)p;
}

static int
duration(struct parser *p, const char *what, const char *s, int64_t *out)
{
	char why[HL_CAUSE_MAX];
	if (s == NULL)
		return bad(p, "%s: a duration is missing (like 30s or 2m)", what);
	/* hl_duration_parse() takes a bare number as seconds; a scenario is
	 * read by people, so "within 2" is refused rather than guessed. */
	size_t n = strlen(s);
	if (n > 0 && s[n - 1] >= '0' && s[n - 1] <= '9')
		return bad(p, "%s: '%.64s' has no unit (like 30s, 2m or 500ms)",
		    what, s);
	if (hl_duration_parse(s, HL_SCENARIO_DUR_MAX, out, why) != 0)
		return bad(p, "%s: %s", what, why);
	return 0;
}

static int
known(const struct parser *p, const char *name)
{
	for (size_t i = 0; i < p->nnames; i++)
		if (strcmp(p->names[i], name) == 0)
			return 1;
	return 0;
}

/* role names the missing word for the message: "a client name", "the
 * PEER" ... */
static int
client_name_of(struct parser *p, const char *role, const char *w, char *out,
    int must_know)
{
	if (w == NULL)
		return bad(p, "%s is missing", role);
	if (!hl_handle_valid(w))
		return bad(p, "'%.64s' is not a client name (a handle: "
		    "[a-z0-9][a-z0-9.-]{1,62})", w);
	if (must_know && !known(p, w))
		return bad(p, "no client '%s' yet: 'client %s register' first", w, w);
	snprintf(out, HL_HANDLE_MAX + 1, "%s", w);
	return 0;
}

static int
client_name(struct parser *p, const char *w, char *out, int must_know)
{
	return client_name_of(p, "a client name", w, out, must_know);
}

/* "within DUR" at the end of s is cut off into *within. */
static int
cut_within(struct parser *p, char *s, int64_t *within)
{
	size_t n = strlen(s);
	while (n > 0 && is_blank(s[n - 1]))
		s[--n] = '\0';
	/* A quoted TEXT ends with its quote: nothing to cut. */
	if (n > 0 && (s[n - 1] == '"' || s[n - 1] == '\''))
		return 0;
	char *last = strrchr(s, ' ');
	char *tab = strrchr(s, '\t');
	if (tab > last)
		last = tab;
	if (last == NULL)
		return 0;
	char *before = last;
	while (before > s && is_blank(before[-1]))
		before--;
	char *w = before;
	while (w > s && !is_blank(w[-1]))
		w--;
	if ((size_t)(before - w) != 6 || strncmp(w, "within", 6) != 0 ||
	    (w > s && !is_blank(w[-1])))
		return 0;
	int rc = duration(p, "within", last + 1, within);
	if (rc != 0)
		return rc;
	*w = '\0';
	return 0;
}

static int
no_more(struct parser *p, char **pp)
{
	char *w = word(pp);
	if (w != NULL)
		return bad(p, "unexpected '%.64s'", w);
	return 0;
}

static int
parse_relay(struct parser *p, struct hl_step *st, char *q)
{
	static const char *ops[] = { "start", "stop", "kill", "restart" };
	char *w = word(&q);
	st->kind = HL_STEP_RELAY;
	for (int i = 0; w != NULL && i < 4; i++)
		if (strcmp(w, ops[i]) == 0) {
			st->relay = (enum hl_relay_op)i;
			return no_more(p, &q);
		}
	return bad(p, "relay: expected start, stop, kill or restart");
}

static int
parse_client(struct parser *p, struct hl_step *st, char *q)
{
	int rc = client_name(p, word(&q), st->name, 0);
	if (rc != 0)
		return rc;
	char *verb = word(&q);
	if (verb != NULL && strcmp(verb, "reenrol") == 0) {
		if (!known(p, st->name))
			return bad(p, "no client '%s' to enrol again", st->name);
		st->kind = HL_STEP_REENROL;
		return no_more(p, &q);
	}
	if (verb == NULL || strcmp(verb, "register") != 0)
		return bad(p, "client %s: expected register or reenrol", st->name);
	if (known(p, st->name))
		return bad(p, "client %s is registered already", st->name);
	st->kind = HL_STEP_REGISTER;
	char *w = word(&q);
	if (w != NULL) {
		if (strcmp(w, "--alternate") != 0)
			return bad(p, "register: unexpected '%.64s'", w);
		rc = client_name(p, word(&q), st->peer, 0);
		if (rc != 0)
			return rc;
		if (strcmp(st->peer, st->name) == 0)
			return bad(p, "a client cannot be its own alternate");
		if ((rc = no_more(p, &q)) != 0)
			return rc;
	}
	if (p->nnames == HL_SCENARIO_MAX_CLIENTS)
		return bad(p, "more than %d clients", HL_SCENARIO_MAX_CLIENTS);
	memcpy(p->names[p->nnames++], st->name, HL_HANDLE_MAX + 1);
	return 0;
}

static int
parse_send(struct parser *p, struct hl_step *st, char *q)
{
	st->kind = HL_STEP_SEND;
	int rc = client_name_of(p, "send: the PEER", word(&q), st->peer, 0);
	if (rc != 0)
		return rc;
	if (strcmp(st->peer, st->name) == 0)
		return bad(p, "send: %s cannot send to itself", st->name);
	for (;;) {
		char *save = q;
		char *w = word(&q);
		if (w == NULL)
			return bad(p, "send: the TEXT is missing");
		if (strcmp(w, "--urgent") == 0 || strcmp(w, "--flash") == 0) {
			if (st->prio != 0)
				return bad(p, "send: --urgent and --flash exclude each other");
			st->prio = w[2] == 'u' ? 1 : 2;
		} else if (strcmp(w, "--check") == 0) {
			st->check = 1;
		} else if (strcmp(w, "--ack-within") == 0) {
			if ((rc = duration(p, "--ack-within", word(&q),
			    &st->ack_within_ms)) != 0)
				return rc;
			if (st->ack_within_ms < 1000)
				return bad(p, "--ack-within: at least 1s");
		} else if (w[0] == '-' && w[1] == '-') {
			return bad(p, "send: unknown option '%.64s'", w);
		} else {
			/* The word belongs to the text: take the line from it on. */
			size_t wl = strlen(w);
			if (q > w + wl)
				w[wl] = ' ';
			(void)save;
			char *t = rest(p, "send", w);
			if (t == NULL)
				return HL_EPARSE;
			if (*t == '\0')
				return bad(p, "send: the TEXT is missing");
			return dup_to(p, &st->text, t);
		}
	}
}

static int
parse_ack(struct parser *p, struct hl_step *st, char *q)
{
	static const char *codes[] = { "received", "will-comply", "unable",
	    "need-info" };
	st->kind = HL_STEP_ACK;
	char *w = word(&q);
	if (w == NULL || strcmp(w, "last") != 0)
		return bad(p, "ack: expected 'last'");
	char *after = q;
	while (is_blank(*after))
		after++;
	/* Unquoted, the first word is the CODE: a note without a code is
	 * quoted, so a misspelt code is an error, never part of the note. */
	if (*after != '"' && *after != '\'') {
		w = word(&q);
		if (w != NULL) {
			int is_code = 0;
			for (int i = 0; i < 4; i++)
				if (strcmp(w, codes[i]) == 0) {
					snprintf(st->code, sizeof st->code, "%s", w);
					is_code = 1;
				}
			if (!is_code)
				return bad(p, "ack: '%.64s' is not a code (received, "
				    "will-comply, unable or need-info); quote a note "
				    "given without a code", w);
		}
	}
	char *t = rest(p, "ack", q);
	if (t == NULL)
		return HL_EPARSE;
	if (strlen(t) > 16000)
		return bad(p, "ack: the note is too long");
	return *t ? dup_to(p, &st->text, t) : 0;
}

/* Each handle of a list must be a client of the scenario. */
static int
check_list(struct parser *p, const char *list, const char *self)
{
	char buf[HL_SCENARIO_LINE_MAX + 1];
	snprintf(buf, sizeof buf, "%s", list);
	int n = 0;
	for (char *s = buf, *tok; (tok = strsep(&s, ",")) != NULL;) {
		if (*tok == '\0')
			return bad(p, "--to: an empty name in the list");
		if (!hl_handle_valid(tok))
			return bad(p, "--to: '%.64s' is not a handle", tok);
		if (strcmp(tok, self) == 0)
			return bad(p, "--to: %s cannot check itself", self);
		n++;
	}
	return n > 0 ? 0 : bad(p, "--to: no contacts");
}

static int
parse_drill(struct parser *p, struct hl_step *st, char *q)
{
	char *w = word(&q);
	int rc;
	if (w != NULL && strcmp(w, "report") == 0) {
		st->kind = HL_STEP_DRILL_REPORT;
		char *id = word(&q);
		if (id == NULL)
			return bad(p, "drill report: give a drill ID or 'last'");
		if ((rc = dup_to(p, &st->arg, id)) != 0)
			return rc;
		while ((w = word(&q)) != NULL) {
			char *v = word(&q);
			if (v == NULL)
				return bad(p, "drill report: %.64s needs a value", w);
			if (strcmp(w, "--format") == 0) {
				if (strcmp(v, "text") && strcmp(v, "csv") && strcmp(v, "json") &&
				    strcmp(v, "html"))
					return bad(p, "--format: text, csv, json or html");
				free(st->format);
				if ((rc = dup_to(p, &st->format, v)) != 0)
					return rc;
			} else if (strcmp(w, "-o") == 0) {
				free(st->output);
				if ((rc = dup_to(p, &st->output, v)) != 0)
					return rc;
			} else {
				return bad(p, "drill report: unknown option '%.64s'", w);
			}
		}
		if (p->drills == 0 && strcmp(st->arg, "last") == 0)
			return bad(p, "drill report: no drill started before this line");
		return 0;
	}
	if (w == NULL || strcmp(w, "start") != 0)
		return bad(p, "drill: expected start or report");
	st->kind = HL_STEP_DRILL_START;
	while ((w = word(&q)) != NULL) {
		if (strcmp(w, "--to") == 0) {
			char *v = word(&q);
			if (v == NULL)
				return bad(p, "--to: give NAME,NAME,...");
			if ((rc = check_list(p, v, st->name)) != 0)
				return rc;
			free(st->to);
			if ((rc = dup_to(p, &st->to, v)) != 0)
				return rc;
		} else if (strcmp(w, "--ack-within") == 0) {
			if ((rc = duration(p, "--ack-within", word(&q),
			    &st->ack_within_ms)) != 0)
				return rc;
			if (st->ack_within_ms < 1000)
				return bad(p, "--ack-within: at least 1s");
		} else if (strcmp(w, "--note") == 0) {
			char *t = rest(p, "--note", q);
			if (t == NULL)
				return HL_EPARSE;
			if (*t == '\0')
				return bad(p, "--note: the TEXT is missing");
			free(st->text);
			if ((rc = dup_to(p, &st->text, t)) != 0)
				return rc;
			break;
		} else {
			return bad(p, "drill start: unexpected '%.64s'", w);
		}
	}
	if (st->to == NULL)
		return bad(p, "drill start: --to NAME,NAME,... is required");
	p->drills++;
	return 0;
}

static int
parse_number(struct parser *p, const char *w, double *out, int percent_ok)
{
	char *end;
	if (w == NULL)
		return bad(p, "a number is missing");
	double v = strtod(w, &end);
	if (end == w || (*end && !(percent_ok && end[0] == '%' && end[1] == '\0')) ||
	    !(v >= 0 && v <= 1e9))
		return bad(p, "'%.64s' is not a number", w);
	*out = *end == '%' ? v / 100.0 : v;
	return 0;
}

static int
parse_expect(struct parser *p, struct hl_step *st, char *q)
{
	static const char *states[] = { "queued", "sent", "delivered",
	    "acknowledged", "overdue", "failed", "expired", "new", "read",
	    "escalated" };
	static const char *metrics[] = { "rate", "contacts", "delivered",
	    "in-time", "late", "no-answer" };
	static const char *ops[] = { ">=", "<=", "==", ">", "<" };
	char *w = word(&q);
	int rc;
	if (w != NULL && strcmp(w, "report") == 0) {
		st->kind = HL_STEP_EXPECT_REPORT;
		char *id = word(&q);
		if (id == NULL)
			return bad(p, "expect report: give a drill ID or 'last'");
		if (p->drills == 0)
			return bad(p, "expect report: no drill started before this line");
		if ((rc = dup_to(p, &st->arg, id)) != 0)
			return rc;
		char *m = word(&q), *op = word(&q);
		int found = 0;
		for (int i = 0; m != NULL && i < 6; i++)
			if (strcmp(m, metrics[i]) == 0) {
				st->metric = (enum hl_metric)i;
				found = 1;
			}
		if (!found)
			return bad(p, "expect report: expected rate, contacts, delivered, "
			    "in-time, late or no-answer");
		found = 0;
		for (int i = 0; op != NULL && i < 5; i++)
			if (strcmp(op, ops[i]) == 0) {
				st->cmp = (enum hl_cmp)i;
				found = 1;
			}
		if (!found && op == NULL)
			return bad(p, "expect report: the OP is missing: expected "
			    ">=, <=, ==, > or <");
		if (!found)
			return bad(p, "expect report: '%.64s' is not an OP: expected "
			    ">=, <=, ==, > or <", op);
		if ((rc = parse_number(p, word(&q), &st->value,
		    st->metric == HL_METRIC_RATE)) != 0)
			return rc;
		if (st->metric == HL_METRIC_RATE && st->value > 1.0)
			return bad(p, "expect report rate: between 0 and 1 (or 0%% to 100%%)");
		return no_more(p, &q);
	}
	if ((rc = client_name(p, w, st->name, 1)) != 0)
		return rc;
	char *what = word(&q);
	if (what == NULL)
		return bad(p, "expect %s: expected sees, state or overdue", st->name);
	if ((rc = cut_within(p, q, &st->within_ms)) != 0)
		return rc;
	if (strcmp(what, "sees") == 0) {
		st->kind = HL_STEP_EXPECT_SEES;
		char *t = rest(p, "expect sees", q);
		if (t == NULL)
			return HL_EPARSE;
		if (*t == '\0')
			return bad(p, "expect sees: the TEXT is missing");
		return dup_to(p, &st->text, t);
	}
	if (strcmp(what, "state") == 0) {
		st->kind = HL_STEP_EXPECT_STATE;
		w = word(&q);
		if (w == NULL || strcmp(w, "last") != 0)
			return bad(p, "expect state: expected 'last'");
		w = word(&q);
		for (int i = 0; w != NULL && i < 10; i++)
			if (strcmp(w, states[i]) == 0) {
				snprintf(st->state, sizeof st->state, "%s", w);
				return no_more(p, &q);
			}
		return bad(p, "expect state: expected queued, sent, delivered, "
		    "acknowledged, overdue, escalated, failed, expired, new or read");
	}
	if (strcmp(what, "overdue") == 0) {
		st->kind = HL_STEP_EXPECT_OVERDUE;
		double v;
		if ((rc = parse_number(p, word(&q), &v, 0)) != 0)
			return rc;
		if (v != (double)(long)v || v > 1e6)
			return bad(p, "expect overdue: a whole number");
		st->n = (long)v;
		return no_more(p, &q);
	}
	return bad(p, "expect %s: expected sees, state or overdue", st->name);
}

static int
parse_step(struct parser *p, struct hl_step *st, char *q)
{
	char *w = word(&q);
	if (strcmp(w, "relay") == 0)
		return parse_relay(p, st, q);
	if (strcmp(w, "client") == 0)
		return parse_client(p, st, q);
	if (strcmp(w, "wait") == 0) {
		st->kind = HL_STEP_WAIT;
		int rc = duration(p, "wait", word(&q), &st->wait_ms);
		return rc != 0 ? rc : no_more(p, &q);
	}
	if (strcmp(w, "expect") == 0)
		return parse_expect(p, st, q);
	if (!hl_handle_valid(w))
		return bad(p, "unknown step '%.64s'", w);
	int rc = client_name(p, w, st->name, 1);
	if (rc != 0)
		return rc;
	char *verb = word(&q);
	if (verb == NULL)
		return bad(p, "%s: expected send, sync, ack, trust or drill", st->name);
	if (strcmp(verb, "send") == 0)
		return parse_send(p, st, q);
	if (strcmp(verb, "sync") == 0) {
		st->kind = HL_STEP_SYNC;
		return no_more(p, &q);
	}
	if (strcmp(verb, "ack") == 0)
		return parse_ack(p, st, q);
	if (strcmp(verb, "trust") == 0) {
		st->kind = HL_STEP_TRUST;
		if ((rc = client_name(p, word(&q), st->peer, 0)) != 0)
			return rc;
		return no_more(p, &q);
	}
	if (strcmp(verb, "drill") == 0)
		return parse_drill(p, st, q);
	return bad(p, "%s: unknown action '%.64s'", st->name, verb);
}

/* Cuts a comment: '#' at the start of the line, or a '#' standing alone
 * between blanks (so "Incident #42" is text), outside quotes. */
static void
cut_comment(char *s)
{
	char quote = 0;
	while (is_blank(*s))
		s++;
	for (char *c = s; *c; c++) {
		if (quote) {
			if (*c == quote)
				quote = 0;
		} else if ((*c == '"' || *c == '\'') && (c == s || is_blank(c[-1]))) {
			quote = *c;
		} else if (*c == '#' && (c == s || (is_blank(c[-1]) &&
		    (c[1] == '\0' || is_blank(c[1]))))) {
			*c = '\0';
			return;
		}
	}
}

static void
step_clear(struct hl_step *st)
{
	free(st->src);
	free(st->text);
	free(st->to);
	free(st->arg);
	free(st->format);
	free(st->output);
}

static int
parse_line(struct parser *p, const char *s, size_t n)
{
	char buf[HL_SCENARIO_LINE_MAX + 1];
	if (n > HL_SCENARIO_LINE_MAX)
		return bad(p, "line longer than %d bytes", HL_SCENARIO_LINE_MAX);
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (memchr(buf, '\0', n) != NULL)
		return bad(p, "a NUL byte in the line");
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)buf[i] < 0x20 && buf[i] != '\t' && buf[i] != '\r') ||
		    buf[i] == 0x7f)
			return bad(p, "a control character in the line");
	cut_comment(buf);
	char *t = buf;
	while (is_blank(*t))
		t++;
	size_t tl = strlen(t);
	while (tl > 0 && is_blank(t[tl - 1]))
		t[--tl] = '\0';
	if (*t == '\0')
		return 0;
	if (p->s->n == HL_SCENARIO_MAX_STEPS)
		return bad(p, "more than %d steps", HL_SCENARIO_MAX_STEPS);
	if (p->s->n == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 32;
		void *nv = realloc(p->s->steps, ncap * sizeof *p->s->steps);
		if (nv == NULL)
			return HL_ENOMEM;
		p->s->steps = nv;
		p->cap = ncap;
	}
	struct hl_step *st = &p->s->steps[p->s->n];
	memset(st, 0, sizeof *st);
	st->line = p->line;
	st->src = strdup(t);
	if (st->src == NULL)
		return HL_ENOMEM;
	int rc = parse_step(p, st, t);
	if (rc != 0) {
		step_clear(st);
		return rc;
	}
	p->s->n++;
	return 0;
}

int
hl_scenario_parse(const char *text, size_t len, const char *file,
    struct hl_scenario **out, char *cause)
{
	struct parser p;
	memset(&p, 0, sizeof p);
	p.file = file;
	p.cause = cause;
	*out = NULL;
	if (len > HL_SCENARIO_MAX_BYTES)
		return hl_fail(cause, HL_EPARSE, "%s: larger than %d bytes", file,
		    HL_SCENARIO_MAX_BYTES);
	p.s = calloc(1, sizeof *p.s);
	p.names = calloc(HL_SCENARIO_MAX_CLIENTS, sizeof *p.names);
	if (p.s == NULL || p.names == NULL) {
		free(p.s);
		free(p.names);
		return HL_ENOMEM;
	}
	int rc = 0;
	size_t at = 0;
	while (rc == 0 && at < len) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
		p.line++;
		rc = parse_line(&p, text + at, n);
		at += n + (nl ? 1 : 0);
	}
	if (rc == 0 && p.s->n == 0)
		rc = hl_fail(cause, HL_EPARSE, "%s: no steps", file);
	free(p.names);
	if (rc != 0) {
		if (rc == HL_ENOMEM)
			hl_fail(cause, rc, "%s: out of memory", file);
		hl_scenario_free(p.s);
		return rc;
	}
	*out = p.s;
	return 0;
}

void
hl_scenario_free(struct hl_scenario *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		step_clear(&s->steps[i]);
	free(s->steps);
	free(s);
}

const char *
hl_metric_name(enum hl_metric m)
{
	static const char *names[] = { "rate", "contacts", "delivered", "in-time",
	    "late", "no-answer" };
	return (unsigned)m < 6 ? names[m] : "?";
}

const char *
hl_cmp_name(enum hl_cmp op)
{
	static const char *names[] = { ">=", "<=", "==", ">", "<" };
	return (unsigned)op < 5 ? names[op] : "?";
}

int
hl_cmp_holds(enum hl_cmp op, double x, double v)
{
	/* Rates are fractions of small counts: compare with a little slack. */
	const double eps = 1e-9;
	switch (op) {
	case HL_CMP_GE: return x >= v - eps;
	case HL_CMP_LE: return x <= v + eps;
	case HL_CMP_EQ: return x >= v - eps && x <= v + eps;
	case HL_CMP_GT: return x > v + eps;
	case HL_CMP_LT: return x < v - eps;
	}
	return 0;
}
