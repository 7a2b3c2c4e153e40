/*
 * scenario: the language of hotline-drill(1), parsed whole before anything
 * runs, so that a malformed scenario is refused with file:line and the
 * reason. One line, one step; '#' starts a comment; TEXT is the rest of a
 * line, quotes optional. The parser only reads text: it never touches a
 * file, a process or the network (it is fuzzed).
 */
#ifndef HL_SCENARIO_H
#define HL_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/hl_handle.h"

#define HL_SCENARIO_MAX_BYTES (1 << 20)
#define HL_SCENARIO_MAX_STEPS 10000
#define HL_SCENARIO_MAX_CLIENTS 500
#define HL_SCENARIO_LINE_MAX 4096
#define HL_SCENARIO_DUR_MAX (3600LL * 1000)   /* one hour */

enum hl_step_kind {
	HL_STEP_RELAY,          /* relay start|stop|kill|restart */
	HL_STEP_REGISTER,       /* client NAME register [--alternate OTHER] */
	HL_STEP_REENROL,        /* client NAME reenrol (revoked, new identity) */
	HL_STEP_SEND,           /* NAME send PEER [...] TEXT */
	HL_STEP_SYNC,           /* NAME sync */
	HL_STEP_ACK,            /* NAME ack last [CODE] [NOTE] */
	HL_STEP_TRUST,          /* NAME trust PEER */
	HL_STEP_DRILL_START,    /* NAME drill start --to A,B [--ack-within D] [--note T] */
	HL_STEP_DRILL_REPORT,   /* NAME drill report ID [--format F] [-o FILE] */
	HL_STEP_WAIT,           /* wait DUR */
	HL_STEP_EXPECT_SEES,    /* expect NAME sees TEXT [within DUR] */
	HL_STEP_EXPECT_STATE,   /* expect NAME state last STATE [within DUR] */
	HL_STEP_EXPECT_OVERDUE, /* expect NAME overdue N [within DUR] */
	HL_STEP_EXPECT_REPORT,  /* expect report ID METRIC OP X */
};

enum hl_relay_op { HL_RELAY_START, HL_RELAY_STOP, HL_RELAY_KILL, HL_RELAY_RESTART };

enum hl_cmp { HL_CMP_GE, HL_CMP_LE, HL_CMP_EQ, HL_CMP_GT, HL_CMP_LT };

/* What expect report can look at. */
enum hl_metric {
	HL_METRIC_RATE, HL_METRIC_CONTACTS, HL_METRIC_DELIVERED,
	HL_METRIC_IN_TIME, HL_METRIC_LATE, HL_METRIC_NO_ANSWER,
};

struct hl_step {
	enum hl_step_kind kind;
	int line;
	char *src;                    /* owned: the line as written, trimmed */
	char name[HL_HANDLE_MAX + 1]; /* the client, when the step has one */
	char peer[HL_HANDLE_MAX + 1]; /* send, trust; register: --alternate */
	char *text;                   /* owned: TEXT, NOTE, or a drill's --note */
	char *to;                     /* owned: drill start's --to list */
	char *arg;                    /* owned: report ID, format or file */
	char *format;                 /* owned: drill report --format, or NULL */
	char *output;                 /* owned: drill report -o, or NULL */
	int prio;                     /* 0 routine, 1 urgent, 2 flash */
	int check;                    /* send --check */
	int64_t ack_within_ms;        /* 0: not given */
	int64_t within_ms;            /* expect ... within; 0: check once */
	int64_t wait_ms;
	enum hl_relay_op relay;
	char code[16];                /* ack: "" or the response code */
	char state[16];               /* expect state */
	long n;                       /* expect overdue */
	enum hl_metric metric;
	enum hl_cmp cmp;
	double value;
};

struct hl_scenario {
	struct hl_step *steps;        /* owned */
	size_t n;
};

/* Parses text (len bytes, need not be NUL-terminated); file names it in
 * messages. 0 and *out (hl_scenario_free), or HL_EPARSE with
 * "file:line: reason" in cause. Also refused: clients used before they
 * register, registered twice, or more than HL_SCENARIO_MAX_CLIENTS. */
int hl_scenario_parse(const char *text, size_t len, const char *file,
    struct hl_scenario **out, char *cause);
void hl_scenario_free(struct hl_scenario *s);

const char *hl_metric_name(enum hl_metric m);
/* Whether x OP value holds. */
int hl_cmp_holds(enum hl_cmp op, double x, double value);
const char *hl_cmp_name(enum hl_cmp op);

#endif
