#include "client/cli.h"
#include "client/sanitize.h"
#include "client/commands.h"
#include "client/api.h"
#include "client/passphrase.h"
#include "client/store.h"
#include "crypto/hl_err.h"
#include "crypto/hl_session.h"
#include "crypto/hl_time.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

const struct hl_command hl_commands[] = {
	{ "init", "[--kdf moderate|sensitive|interactive]",
	    "create a new profile and its passphrase", hl_cmd_init },
	{ "register", "--relay URL --handle H [--code-file FILE|-] [--pin [sha256//]HASH]\n"
	    "         [--ca FILE] [--name N] [--organisation O] [--country CC] [--role R]\n"
	    "         [--languages en,et] [--timezone ZONE] [--alternate HANDLE]",
	    "enrol with a relay using the operator's one-time code", hl_cmd_register },
	{ "directory", "[QUERY]", "search the relay's directory of contacts",
	    hl_cmd_directory },
	{ "profile", "[--name N] [--organisation O] [--country CC] [--role R]\n"
	    "         [--languages L] [--timezone ZONE] [--alternate HANDLE]",
	    "show or update your own directory entry", hl_cmd_profile },
	{ "send", "HANDLE [--urgent|--flash] [--check] [--ack-within DUR] [--thread ID]\n"
	    "         [--incident --title T --severity S --tlp TLP --status S\n"
	    "          [--indicator I]... [--action A]...]\n"
	    "         [--wait-for relay|delivered|ack [--timeout DUR]] [TEXT | -]",
	    "send a message (TEXT, or standard input with -)", hl_cmd_send },
	{ "sync", "[--wait S] [--follow] [--auto-escalate]",
	    "send the outbox, receive, send receipts, update states", hl_cmd_sync },
	{ "inbox", "[--awaiting-ack] [--all] [--held] [--from HANDLE]",
	    "list received messages (new ones, unless --all) and mark them read",
	    hl_cmd_inbox },
	{ "ack", "ID|last [--response received|will-comply|unable|need-info] [NOTE]",
	    "acknowledge a received message", hl_cmd_ack },
	{ "status", "[ID]", "the state of the outbox, or of one message with "
	    "the time of each state", hl_cmd_status },
	{ "verify", "HANDLE [--confirm]",
	    "show a contact's safety number and key history; --confirm records "
	    "that you compared it", hl_cmd_verify },
	{ "trust", "HANDLE [SAFETY-NUMBER] | --reject HANDLE",
	    "accept a contact's changed identity key (give the safety number "
	    "you compared to mark it verified), or dismiss it", hl_cmd_trust },
	{ "discard", "ID",
	    "dismiss a message you sent that failed or expired: it stops counting",
	    hl_cmd_discard },
	{ "export", "[--format json|text] [--since T]",
	    "every message with every state and its time", hl_cmd_export },
	{ "drill", "start --to H1,H2,... | --group FILE [--ack-within DUR] [--note TEXT]\n"
	    "         | status ID|last [--follow]\n"
	    "         | report ID|last [--format text|csv|json|html] [-o FILE [--force]]\n"
	    "         | list | history [--format text|html] [-o FILE [--force]]",
	    "communication checks: send an EXERCISE check to contacts, follow "
	    "the answers, report", hl_cmd_drill },
	{ NULL, NULL, NULL, NULL },
};

/* Set as soon as --json is seen, so that errors met before a command has
 * a struct hl_cli at hand come out as JSON too. */
static int json_errors;

int
hl_cli_global_option(struct hl_cli *cli, int opt)
{
	switch (opt) {
	case 'J':
		cli->json = 1;
		json_errors = 1;
		return 1;
	case 'H':
		cli->home = optarg;
		return 1;
	case 'C':
		cli->config_path = optarg;
		return 1;
	case 'P':
		cli->passphrase_file = optarg;
		return 1;
	default:
		return 0;
	}
}

void
hl_cli_global_scan(struct hl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		HL_CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	char **copy = calloc((size_t)argc + 1, sizeof *copy);
	int opt;
	if (copy == NULL)
		return;
	/* GNU getopt permutes what it scans: a copy keeps argv as typed. "-"
	 * returns every other word in place, so nothing is skipped or moved;
	 * options the command alone knows come back as '?'. */
	memcpy(copy, argv, (size_t)argc * sizeof *copy);
	opterr = 0;
	optind = 0;
	while ((opt = getopt_long(argc, copy, "-", opts, NULL)) != -1)
		hl_cli_global_option(cli, opt);
	free(copy);
	optind = 0;
}

static void
json_error(int exitc, const char *code, const char *message)
{
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string("error"));
	json_object_set_new(o, "code", json_string(code));
	json_object_set_new(o, "message", json_string(message));
	json_object_set_new(o, "exit", json_integer(exitc));
	char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (s != NULL)
		fprintf(stderr, "%s\n", s);
	free(s);
	json_decref(o);
}

const char *
hl_cli_exit_name(int exitc)
{
	switch (exitc) {
	case HL_EXIT_OK: return "ok";
	case HL_EXIT_USAGE: return "usage";
	case HL_EXIT_PASSPHRASE: return "passphrase";
	case HL_EXIT_UNTRUSTED: return "untrusted";
	case HL_EXIT_REFUSED: return "refused";
	case HL_EXIT_UNREACHABLE: return "unreachable";
	case HL_EXIT_NOTFOUND: return "not_found";
	case HL_EXIT_QUEUED: return "queued";
	case HL_EXIT_SENT: return "sent";
	case HL_EXIT_DELIVERED: return "delivered";
	case HL_EXIT_FAILED: return "failed";
	case HL_EXIT_EXPIRED: return "expired";
	case HL_EXIT_INTERRUPTED: return "interrupted";
	default: return "error";
	}
}

int
hl_cli_error(int exitc, const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (json_errors)
		json_error(exitc, code != NULL ? code : hl_cli_exit_name(exitc), msg);
	else
		fprintf(stderr, "hotline: %s\n", msg);
	return exitc;
}

void
hl_cli_warn(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!json_errors) {
		fprintf(stderr, "hotline: %s\n", msg);
		return;
	}
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string("warning"));
	json_object_set_new(o, "message", json_string(msg));
	char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (s != NULL)
		fprintf(stderr, "%s\n", s);
	free(s);
	json_decref(o);
}

int
hl_cli_usage_error(const char *command, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (json_errors) {
		char full[1100];
		snprintf(full, sizeof full, "%s%s%s", command ? command : "",
		    command ? ": " : "", msg);
		json_error(HL_EXIT_USAGE, "usage", full);
		return HL_EXIT_USAGE;
	}
	fprintf(stderr, "hotline%s%s: %s\nTry 'hotline %s%s--help'.\n",
	    command ? " " : "", command ? command : "", msg,
	    command ? command : "", command ? " " : "");
	return HL_EXIT_USAGE;
}

int
hl_cli_global_options_only(struct hl_cli *cli, const char *command, int argc,
    char **argv)
{
	static const struct option opts[] = {
		HL_CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (hl_cli_global_option(cli, opt))
			continue;
		if (opt == 'h')
			return hl_cli_help(command);
		return hl_cli_usage_error(command, "unknown option '%s'",
		    argv[optind - 1]);
	}
	return -1;
}

int
hl_cli_help(const char *command)
{
	for (const struct hl_command *c = hl_commands; c->name; c++)
		if (strcmp(c->name, command) == 0) {
			printf("usage: hotline %s %s\n\n%s.\n\nGlobal options: --json, "
			    "--home DIR, --config FILE, --passphrase-file FILE.\n"
			    "See hotline(1).\n", c->name, c->usage, c->summary);
			return HL_EXIT_OK;
		}
	return HL_EXIT_USAGE;
}

int
hl_cli_exit_for(int code)
{
	switch (code) {
	case 0:
		return HL_EXIT_OK;
	case HL_EUSAGE:
		return HL_EXIT_USAGE;
	case HL_EPASSPHRASE:
		return HL_EXIT_PASSPHRASE;
	case HL_EINTR:
		return HL_EXIT_INTERRUPTED;
	case HL_EUNTRUSTED:
		return HL_EXIT_UNTRUSTED;
	case HL_EAUTH:
	case HL_EREFUSED:
	case HL_ERECIPIENT:
	case HL_ECODE:
		return HL_EXIT_REFUSED;
	case HL_ENET:
	case HL_ETLS:
	case HL_EPIN:
	case HL_ETIMEOUT:
		return HL_EXIT_UNREACHABLE;
	case HL_ENOTFOUND:
	case HL_ENOVAULT:
		return HL_EXIT_NOTFOUND;
	default:
		return HL_EXIT_ERROR;
	}
}

/* The open profile's folder: a database error there on a full disk is
 * said as such (SQLite's own "disk is full" is lost by the time the error
 * reaches a command: the rollback after it clears it). */
static char open_home[600];

#define DISK_LOW_BYTES (1024 * 1024)

static int
disk_low(const char *dir)
{
	struct statvfs v;
	return statvfs(dir, &v) == 0 &&
	    (unsigned long long)v.f_bavail * v.f_frsize < DISK_LOW_BYTES;
}

int
hl_cli_fail(int code, const char *what, const char *cause)
{
	/* A cause can quote the relay or a file: shown sanitized. */
	struct hl_san_pool sp = { 0 };
	int exitc = hl_cli_exit_for(code);
	char full[sizeof open_home + 128];
	if (code == HL_EDB && open_home[0] != '\0' && disk_low(open_home)) {
		snprintf(full, sizeof full, "the disk holding the profile (%s) is "
		    "full: free some space and try again; what was stored before "
		    "is kept", open_home);
		cause = full;
	}
	hl_cli_error(exitc, NULL, "%s: %s", what, hl_san(&sp,
	    cause != NULL && *cause ? cause : hl_strerror(code), HL_SANITIZE_ONELINE));
	hl_san_free(&sp);
	return exitc;
}

int
hl_cli_duration(const char *command, const char *opt, const char *s,
    int64_t max_ms, int64_t *out)
{
	char cause[HL_CAUSE_MAX];
	if (hl_duration_parse(s, max_ms, out, cause) != 0)
		return hl_cli_usage_error(command, "--%s: %s", opt, cause);
	return 0;
}

/* $HOTLINE_HOME, else $XDG_DATA_HOME/hotline, else ~/.local/share/hotline;
 * client.ini under $XDG_CONFIG_HOME/hotline, else ~/.config/hotline. */
int
hl_cli_prepare(struct hl_cli *cli)
{
	char cause[HL_CAUSE_MAX];
	const char *home = getenv("HOME");
	if (cli->home == NULL)
		cli->home = getenv("HOTLINE_HOME");
	if (cli->home == NULL || *cli->home == '\0') {
		const char *xdg = getenv("XDG_DATA_HOME");
		if (xdg != NULL && *xdg == '/')
			snprintf(cli->home_buf, sizeof cli->home_buf, "%s/hotline", xdg);
		else if (home != NULL && *home != '\0')
			snprintf(cli->home_buf, sizeof cli->home_buf,
			    "%s/.local/share/hotline", home);
		else
			return hl_cli_fail(HL_EUSAGE, "profile",
			    "no HOTLINE_HOME, XDG_DATA_HOME or HOME to find it in");
		cli->home = cli->home_buf;
	}
	snprintf(cli->db_path, sizeof cli->db_path, "%s/hotline.db", cli->home);
	int explicit_config = cli->config_path != NULL;
	if (cli->config_path == NULL) {
		const char *xdg = getenv("XDG_CONFIG_HOME");
		if (xdg != NULL && *xdg == '/')
			snprintf(cli->config_buf, sizeof cli->config_buf,
			    "%s/hotline/client.ini", xdg);
		else if (home != NULL && *home != '\0')
			snprintf(cli->config_buf, sizeof cli->config_buf,
			    "%s/.config/hotline/client.ini", home);
		cli->config_path = cli->config_buf;
	}
	if (cli->passphrase_file == NULL) {
		const char *f = getenv("HOTLINE_PASSPHRASE_FILE");
		if (f != NULL && *f != '\0')
			cli->passphrase_file = f;
	}
	if (hl_client_config_load(cli->config_path, explicit_config, &cli->cfg,
	    cause) != 0)
		return hl_cli_fail(HL_ECONFIG, "configuration", cause);
	return 0;
}

int
hl_cli_open(struct hl_cli *cli)
{
	char cause[HL_CAUSE_MAX] = "";
	char *pass;
	size_t len;
	struct stat st;
	if (stat(cli->db_path, &st) != 0)
		return hl_cli_fail(HL_ENOTFOUND, "profile",
		    errno == ENOENT ? "no profile here yet: run 'hotline init'" :
		    strerror(errno));
	int rc = hl_passphrase_read(cli->passphrase_file, "Passphrase: ", 0, &pass,
	    &len, cause);
	if (rc != 0)
		return hl_cli_fail(rc, "passphrase", cause);
	snprintf(open_home, sizeof open_home, "%s", cli->home);
	rc = hl_crypto_open(cli->db_path, pass, len, &cli->crypto, cause);
	hl_passphrase_free(pass);
	if (rc != 0)
		return hl_cli_fail(rc, cli->db_path, cause);
	rc = hl_store_init(cli->crypto, cause);
	if (rc != 0)
		return hl_cli_fail(rc, cli->db_path, cause);
	return 0;
}

static void
call_done(const struct hl_net_resp *r, void *arg)
{
	struct hl_call *c = arg;
	c->err = r->err;
	snprintf(c->cause, sizeof c->cause, "%s", r->cause);
	c->status = r->status;
	c->date_ms = r->date_ms;
	c->body = malloc(r->len + 1);
	if (c->body != NULL) {
		memcpy(c->body, r->body != NULL ? r->body : "", r->len);
		c->body[r->len] = '\0';
		c->len = r->len;
	} else if (c->err == 0) {
		c->err = HL_ENOMEM;
	}
}

int
hl_cli_call(struct hl_net *n, const char *method, const char *path,
    const char *token, const char *body, struct hl_call *out)
{
	memset(out, 0, sizeof *out);
	out->err = HL_ETIMEOUT;
	int rc = hl_net_request(n, method, path, token, body, 30000, call_done, out);
	if (rc != 0)
		return out->err = rc;
	/* The request's own timeout ends it; the deadline is a backstop. */
	hl_net_run(n, hl_mono_ms() + 60000);
	if (out->err == 0 && out->status == 0)
		out->err = HL_ENET;
	return out->err;
}

void
hl_call_free(struct hl_call *c)
{
	free(c->body);
	memset(c, 0, sizeof *c);
}

int
hl_cli_call_failed(const struct hl_call *c, const char *what)
{
	char code[64], message[256];
	if (c->err != 0)
		return hl_cli_fail(c->err, what, c->cause);
	hl_api_parse_error(c->body, c->len, code, sizeof code, message,
	    sizeof message);
	int exitc = c->status >= 500 || c->status == 429 ? HL_EXIT_UNREACHABLE :
	    HL_EXIT_REFUSED;
	struct hl_san_pool sp = { 0 };
	const char *scode = hl_san(&sp, code, HL_SANITIZE_ONELINE);
	hl_cli_error(exitc, code[0] ? scode : NULL,
	    "%s: the relay answered %d%s%s%s%s", what, c->status, code[0] ? " " : "",
	    scode, message[0] ? ": " : "", hl_san(&sp, message, HL_SANITIZE_ONELINE));
	hl_san_free(&sp);
	return exitc;
}

int
hl_cli_net(struct hl_cli *cli, const struct hl_account *a, struct hl_net **out)
{
	char cause[HL_CAUSE_MAX] = "";
	struct hl_net_opts o = {
		.base_url = a->relay,
		.pin = a->pin[0] ? a->pin : NULL,
		.ca_file = a->ca_file[0] ? a->ca_file : NULL,
		.connect_timeout_ms = (long)cli->cfg.connect_timeout_ms,
	};
	int rc = hl_net_new(&o, out, cause);
	if (rc != 0)
		return hl_cli_fail(rc, "relay", cause);
	return 0;
}

void
hl_cli_engine_opts(struct hl_cli *cli, struct hl_engine_opts *o)
{
	memset(o, 0, sizeof *o);
	o->crypto = cli->crypto;
	o->auto_escalate = cli->cfg.auto_escalate;
	o->alternates = cli->cfg.alternates;
	o->n_alternates = cli->cfg.n_alternates;
	o->connect_timeout_ms = (long)cli->cfg.connect_timeout_ms;
}

static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

void
hl_cli_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: poll() returns EINTR and the loop looks at the flag. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int
hl_cli_interrupted(void)
{
	return interrupted;
}
