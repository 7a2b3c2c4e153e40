#include "client/out.h"
#include "client/sanitize.h"
#include "crypto/hl_time.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void
hl_out_time(int64_t ms, char *out)
{
	char utc[HL_TIME_STR], local[HL_TIME_STR];
	if (ms <= 0) {
		snprintf(out, HL_OUT_TIME, "-");
		return;
	}
	hl_time_utc(ms, utc);
	hl_time_local(ms, local);
	/* The local time without its date when the date is the same. */
	const char *l = strncmp(utc, local, 11) == 0 ? local + 11 : local;
	snprintf(out, HL_OUT_TIME, "%s (%s)", utc, l);
}

/* Zone names come from the directory, that is from other people: only a
 * plain IANA-looking name is ever put in TZ. */
static int
zone_ok(const char *z)
{
	if (*z == '\0' || *z == '/' || strstr(z, "..") != NULL || strlen(z) > 64)
		return 0;
	for (const char *p = z; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '/' || *p == '_' ||
		    *p == '-' || *p == '+'))
			return 0;
	return 1;
}

void
hl_out_time_in(int64_t ms, const char *zone, char *out, size_t len)
{
	char saved[128];
	struct tm tm;
	out[0] = '\0';
	if (zone == NULL || !zone_ok(zone))
		return;
	const char *old = getenv("TZ");
	int had = old != NULL && strlen(old) < sizeof saved;
	if (had)
		memcpy(saved, old, strlen(old) + 1);
	setenv("TZ", zone, 1);
	tzset();
	time_t t = (time_t)(ms / 1000);
	if (localtime_r(&t, &tm) != NULL)
		snprintf(out, len, "%02d:%02d %s", tm.tm_hour, tm.tm_min, zone);
	if (had)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
}

void
hl_out_contact_tag(const struct hl_contact *ct, char *out, size_t len)
{
	char zone[96];
	out[0] = '\0';
	if (ct == NULL)
		return;
	hl_out_time_in(hl_now_ms(), ct->entry.profile.timezone, zone, sizeof zone);
	struct hl_san_pool sp = { 0 };
	const char *name = hl_san(&sp, ct->entry.profile.name, HL_SANITIZE_ONELINE);
	if (*name && *zone)
		snprintf(out, len, " (%s, %s)", name, zone);
	else if (*name)
		snprintf(out, len, " (%s)", name);
	else if (*zone)
		snprintf(out, len, " (%s)", zone);
	hl_san_free(&sp);
}

static void
set_time(json_t *o, const char *key, int64_t ms)
{
	char t[HL_TIME_STR];
	if (ms <= 0)
		return;
	hl_time_rfc3339(ms, t);
	json_object_set_new(o, key, json_string(t));
}

static json_t *
string_list(char **items, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(items[i]));
	return a;
}

const char *
hl_out_state(const struct hl_msg *m)
{
	if (hl_msg_escalated(m))
		return "escalated";
	return hl_state_name(m->state);
}

json_t *
hl_out_json_object(const char *type)
{
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string(type));
	return o;
}

json_t *
hl_out_msg_json(const struct hl_msg *m)
{
	const struct hl_content *c = &m->content;
	json_t *o = hl_out_json_object("message");
	json_object_set_new(o, "id", json_string(m->id));
	json_object_set_new(o, "dir", json_string(m->dir == HL_OUT ? "out" : "in"));
	json_object_set_new(o, "peer", json_string(m->peer));
	json_object_set_new(o, "kind", json_string(hl_kind_name(c->kind)));
	json_object_set_new(o, "priority", json_string(hl_prio_name(c->prio)));
	json_object_set_new(o, "state", json_string(hl_out_state(m)));
	json_object_set_new(o, "body", json_string(c->body ? c->body : ""));
	json_object_set_new(o, "seq", json_integer(c->seq));
	if (c->kind == HL_KIND_CHECK)
		json_object_set_new(o, "exercise", json_true());
	if (c->thread[0])
		json_object_set_new(o, "thread", json_string(c->thread));
	if (c->ref[0])
		json_object_set_new(o, "ref", json_string(c->ref));
	if (c->response != HL_RESP_NONE)
		json_object_set_new(o, "response", json_string(hl_response_name(c->response)));
	set_time(o, "ack_by", c->ack_by);
	/* The sender's clock when it was written: received messages carry it. */
	set_time(o, "sent", c->sent);
	json_t *times = json_object();
	for (int s = 0; s < HL_ST_COUNT; s++) {
		char t[HL_TIME_STR];
		if (m->at[s] <= 0)
			continue;
		hl_time_rfc3339(m->at[s], t);
		json_object_set_new(times, hl_state_name((enum hl_state)s), json_string(t));
	}
	json_object_set_new(o, "times", times);
	if (m->ack_response != HL_RESP_NONE) {
		json_t *a = json_object();
		json_object_set_new(a, "response",
		    json_string(hl_response_name(m->ack_response)));
		if (m->ack_note != NULL)
			json_object_set_new(a, "note", json_string(m->ack_note));
		json_object_set_new(o, "ack", a);
	}
	if (m->reason[0])
		json_object_set_new(o, "reason", json_string(m->reason));
	if (m->escalated_to[0]) {
		json_object_set_new(o, "escalated_to", json_string(m->escalated_to));
		json_object_set_new(o, "escalated_id", json_string(m->escalated_id));
	}
	if (m->escalation_of[0])
		json_object_set_new(o, "escalation_of", json_string(m->escalation_of));
	if (m->key_changed)
		json_object_set_new(o, "key_changed", json_true());
	if (c->incident != NULL) {
		const struct hl_incident *in = c->incident;
		json_t *i = json_object();
		json_object_set_new(i, "title", json_string(in->title));
		json_object_set_new(i, "severity", json_string(hl_severity_name(in->severity)));
		json_object_set_new(i, "tlp", json_string(hl_tlp_name(in->tlp)));
		json_object_set_new(i, "status", json_string(in->status));
		json_object_set_new(i, "indicators", string_list(in->indicators,
		    in->n_indicators));
		json_object_set_new(i, "actions", string_list(in->actions, in->n_actions));
		json_object_set_new(o, "incident", i);
	}
	return o;
}

void
hl_out_json_line(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (s != NULL) {
		fputs(s, stdout);
		fputc('\n', stdout);
		sodium_memzero(s, strlen(s));
		free(s);
	}
	fflush(stdout);
	json_decref(o);
}

static void
indented(FILE *f, const char *text, const char *indent)
{
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		fprintf(f, "%s%.*s\n", indent, (int)n, p);
		p += n + (nl ? 1 : 0);
	}
}

static const char *
prio_tag(enum hl_prio p)
{
	return p == HL_PRIO_FLASH ? "FLASH" : p == HL_PRIO_URGENT ? "URGENT" : "routine";
}

/* Everything in a message but its state names, times and our own words
 * came from the peer or the relay: it reaches the terminal sanitized. */
void
hl_out_msg(FILE *f, const struct hl_msg *m, const struct hl_contact *ct,
    int details)
{
	const struct hl_content *c = &m->content;
	struct hl_san_pool sp = { 0 };
	const int one = HL_SANITIZE_ONELINE;
	char tag[256], t[HL_OUT_TIME];
	hl_out_contact_tag(ct, tag, sizeof tag);
	fprintf(f, "%s %s%s  %s%s  %s  %s\n", m->dir == HL_OUT ? "->" : "<-",
	    hl_san(&sp, m->peer, one), tag, prio_tag(c->prio),
	    c->kind == HL_KIND_CHECK ? "  EXERCISE check" :
	    c->kind == HL_KIND_INCIDENT ? "  INCIDENT" :
	    c->kind == HL_KIND_RECEIPT ? "  receipt" :
	    c->kind == HL_KIND_ACK ? "  ack" : "",
	    hl_out_state(m), hl_san(&sp, m->id, one));
	if (m->key_changed)
		fprintf(f, "   !! KEY CHANGED: %s's identity key changed; compare the "
		    "safety number ('hotline verify %s') before relying on this\n",
		    hl_san(&sp, m->peer, one), hl_san(&sp, m->peer, one));
	hl_out_time(c->sent, t);
	fprintf(f, "   sent %s  seq %lld%s%s\n", t, (long long)c->seq,
	    c->thread[0] ? "  thread " : "", hl_san(&sp, c->thread, one));
	if (c->ack_by > 0) {
		hl_out_time(c->ack_by, t);
		fprintf(f, "   ack by %s\n", t);
	}
	if (c->incident != NULL) {
		const struct hl_incident *in = c->incident;
		fprintf(f, "   [TLP:%s] %s severity: %s  status: %s\n",
		    hl_tlp_name(in->tlp), hl_severity_name(in->severity),
		    hl_san(&sp, in->title, one), hl_san(&sp, in->status, one));
		hl_san_free(&sp);
		for (size_t i = 0; i < in->n_indicators; i++) {
			fprintf(f, "   indicator: %s\n",
			    hl_san(&sp, in->indicators[i], one));
			hl_san_free(&sp);
		}
		for (size_t i = 0; i < in->n_actions; i++) {
			fprintf(f, "   requested: %s\n", hl_san(&sp, in->actions[i], one));
			hl_san_free(&sp);
		}
	}
	if (c->kind == HL_KIND_ACK || c->kind == HL_KIND_RECEIPT)
		fprintf(f, "   for %.8s%s%s\n", hl_san(&sp, c->ref, one),
		    c->kind == HL_KIND_ACK ? ": " : "", c->kind == HL_KIND_ACK ?
		    hl_response_name(c->response) : "");
	if (c->body != NULL && *c->body)
		indented(f, hl_san(&sp, c->body, 0), "   | ");
	if (m->ack_response != HL_RESP_NONE)
		fprintf(f, "   acknowledged: %s%s%s\n", hl_response_name(m->ack_response),
		    m->ack_note ? " - " : "", hl_san(&sp, m->ack_note, one));
	if (m->reason[0])
		fprintf(f, "   note: %s\n", hl_san(&sp, m->reason, one));
	if (m->escalated_to[0])
		fprintf(f, "   escalated to %s as %.8s\n",
		    hl_san(&sp, m->escalated_to, one), m->escalated_id);
	if (m->escalation_of[0])
		fprintf(f, "   escalation of %.8s\n", m->escalation_of);
	hl_san_free(&sp);
	if (details)
		for (int s = 0; s < HL_ST_COUNT; s++)
			if (m->at[s] > 0) {
				hl_out_time(m->at[s], t);
				fprintf(f, "   %-12s %s\n", hl_state_name((enum hl_state)s), t);
			}
}

void
hl_out_event(const struct hl_event *ev, int json)
{
	const struct hl_msg *m = ev->msg;
	char d[32];
	if (json) {
		json_t *o = m != NULL ? hl_out_msg_json(m) : json_object();
		json_object_set_new(o, "type", json_string("event"));
		static const char *names[] = {
			"received", "state", "escalated", "gap", "gap_closed",
			"key_changed", "held", "clock_skew", "relay", "prekeys", "auth",
			"not_escalated", "fetch_failed",
		};
		json_object_set_new(o, "event", json_string(names[ev->kind]));
		if (ev->peer != NULL && m == NULL)
			json_object_set_new(o, "peer", json_string(ev->peer));
		if (ev->kind == HL_EV_ESCALATED)
			json_object_set_new(o, "alternate", json_string(ev->peer));
		if (ev->kind == HL_EV_GAP || ev->kind == HL_EV_GAP_CLOSED ||
		    ev->kind == HL_EV_PREKEYS || ev->kind == HL_EV_RELAY)
			json_object_set_new(o, "n", json_integer(ev->n));
		if (ev->kind == HL_EV_SKEW)
			json_object_set_new(o, "skew_ms", json_integer(ev->n));
		if (ev->kind == HL_EV_FETCH_FAILED) {
			char t[HL_TIME_STR];
			int64_t in = ev->at_ms - hl_now_ms();
			json_object_set_new(o, "status", json_integer(ev->n));
			hl_time_rfc3339(ev->at_ms, t);
			json_object_set_new(o, "retry_at", json_string(t));
			json_object_set_new(o, "retry_in_ms", json_integer(in > 0 ? in : 0));
		}
		if (ev->text != NULL)
			json_object_set_new(o, "text", json_string(ev->text));
		hl_out_json_line(o);
		return;
	}
	/* Peers, relay words and reasons reach the terminal sanitized. */
	struct hl_san_pool sp = { 0 };
	const char *peer = hl_san(&sp, ev->peer, HL_SANITIZE_ONELINE);
	const char *text = hl_san(&sp, ev->text, HL_SANITIZE_ONELINE);
	const char *mpeer = m != NULL ? hl_san(&sp, m->peer, HL_SANITIZE_ONELINE) : "";
	switch (ev->kind) {
	case HL_EV_RECEIVED:
		hl_out_msg(stdout, m, NULL, 0);
		break;
	case HL_EV_STATE:
		/* An overdue message can still be delivered: say so. */
		printf("-> %s  %.8s  %s%s%s%s\n", mpeer, m->id,
		    hl_out_state(m), m->state == HL_ST_OVERDUE &&
		    m->at[HL_ST_DELIVERED] ? " (delivered)" : "",
		    m->reason[0] ? ": " : "", hl_san(&sp, m->reason, HL_SANITIZE_ONELINE));
		break;
	case HL_EV_ESCALATED:
		printf("!! escalated %.8s (no ack from %s) to the alternate %s as %.8s\n",
		    m->id, mpeer, peer, text);
		break;
	case HL_EV_GAP:
		printf("!! %lld message%s from %s missing (the relay or the network "
		    "dropped %s): see 'hotline status'\n", (long long)ev->n,
		    ev->n == 1 ? "" : "s", peer, ev->n == 1 ? "it" : "them");
		break;
	case HL_EV_GAP_CLOSED:
		printf("   missing message %lld from %s arrived\n", (long long)ev->n,
		    peer);
		break;
	case HL_EV_KEY_CHANGED:
		printf("!! KEY CHANGED: %s's identity key changed. Messages to %s "
		    "are held and messages from %s are kept unread until you compare "
		    "the safety number ('hotline verify %s') and accept it "
		    "('hotline trust %s').\n", peer, peer, peer, peer,
		    peer);
		break;
	case HL_EV_HELD:
		printf("!! a message from %s is kept unread: %s\n", peer,
		    text);
		break;
	case HL_EV_SKEW:
		hl_duration_format(ev->n < 0 ? -ev->n : ev->n, d, sizeof d);
		printf("!! clock skew: this computer's clock is %s %s the relay's; "
		    "deadlines will be off until it is set right\n", d,
		    ev->n > 0 ? "ahead of" : "behind");
		break;
	case HL_EV_RELAY:
		if (ev->n)
			printf("   relay reachable\n");
		else
			printf("!! relay unreachable: %s\n", text);
		break;
	case HL_EV_PREKEYS:
		printf("   uploaded %lld one-time prekeys\n", (long long)ev->n);
		break;
	case HL_EV_AUTH:
		printf("!! the relay refused this account's token (%s): ask the "
		    "operator\n", text);
		break;
	case HL_EV_NOT_ESCALATED:
		printf("!! %.8s to %s is overdue and was not escalated: %s\n", m->id,
		    mpeer, text);
		break;
	case HL_EV_FETCH_FAILED: {
		char t[HL_OUT_TIME];
		int64_t in = ev->at_ms - hl_now_ms();
		hl_duration_format(in > 1000 ? in : 1000, d, sizeof d);
		hl_out_time(ev->at_ms, t);
		printf("!! fetching messages failed: %s; next try in %s (%s)\n", text,
		    d, t);
		break;
	}
	}
	hl_san_free(&sp);
	fflush(stdout);
}

void
hl_out_gaps_held(FILE *f, const struct hl_gap *gaps, size_t ngaps,
    const struct hl_held *held, size_t nheld)
{
	struct hl_san_pool sp = { 0 };
	char t[HL_OUT_TIME];
	for (size_t i = 0; i < ngaps; i++) {
		hl_out_time(gaps[i].since_ms, t);
		fprintf(f, "!! missing: message %lld from %s (noticed %s)\n",
		    (long long)gaps[i].seq, hl_san(&sp, gaps[i].peer,
		    HL_SANITIZE_ONELINE), t);
		hl_san_free(&sp);
	}
	for (size_t i = 0; i < nheld; i++) {
		fprintf(f, "!! held from %s: %s%s\n", hl_san(&sp, held[i].from,
		    HL_SANITIZE_ONELINE), hl_san(&sp, held[i].reason,
		    HL_SANITIZE_ONELINE), held[i].pt != NULL ?
		    " (decrypted and kept: 'hotline inbox --held' shows it)" : "");
		hl_san_free(&sp);
	}
}

void
hl_out_safety(FILE *f, const char *digits, const char *indent)
{
	for (int i = 0; i < 60; i += 5)
		fprintf(f, "%s%.5s%s", i % 30 == 0 ? indent : "", digits + i,
		    (i + 5) % 30 == 0 ? "\n" : " ");
}

void
hl_out_key_fingerprint(const uint8_t *key, size_t len, char *out)
{
	uint8_t h[32];
	char hex[65];
	crypto_hash_sha256(h, key, len);
	sodium_bin2hex(hex, sizeof hex, h, sizeof h);
	size_t o = 0;
	for (int i = 0; i < 64; i += 4)
		o += (size_t)sprintf(out + o, "%s%.4s", i ? " " : "", hex + i);
}
