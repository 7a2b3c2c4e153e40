/*
 * cli: what every `hotline` subcommand shares: the global options, the
 * profile it opens, exit codes, and the table of commands (name, usage,
 * handler) from which help, parsing and dispatch all come.
 */
#ifndef HL_CLI_H
#define HL_CLI_H

#include <getopt.h>
#include <stdint.h>

#include "client/config.h"
#include "client/net.h"

/* Exit codes, documented in hotline(1). */
enum hl_exit {
	HL_EXIT_OK = 0,
	HL_EXIT_ERROR = 1,       /* anything else went wrong */
	HL_EXIT_USAGE = 2,       /* bad command line */
	HL_EXIT_PASSPHRASE = 3,  /* wrong or missing passphrase */
	HL_EXIT_UNTRUSTED = 4,   /* the contact's key changed: trust first */
	HL_EXIT_REFUSED = 5,     /* the relay refused (code, token, recipient) */
	HL_EXIT_UNREACHABLE = 6, /* the relay could not be reached */
	HL_EXIT_NOTFOUND = 7,    /* no such message, contact or profile */
	HL_EXIT_INTERRUPTED = 130, /* interrupted (Ctrl-C) before anything was done */
	/* send --wait-for: the state reached when the wait ended */
	HL_EXIT_QUEUED = 10,
	HL_EXIT_SENT = 11,
	HL_EXIT_DELIVERED = 12,
	HL_EXIT_FAILED = 13,
	HL_EXIT_EXPIRED = 14,
};

struct hl_crypto;

struct hl_cli {
	int json;                  /* --json: one JSON object per line */
	const char *home;          /* --home, HOTLINE_HOME, XDG_DATA_HOME */
	const char *config_path;   /* --config, XDG_CONFIG_HOME */
	const char *passphrase_file;
	char home_buf[512];
	char db_path[600];
	char config_buf[512];
	struct hl_client_config cfg;
	struct hl_crypto *crypto;  /* opened by hl_cli_open */
};

/* The global options, accepted before and after the command name. */
#define HL_CLI_GLOBAL_OPTIONS \
	{ "json", no_argument, NULL, 'J' }, \
	{ "home", required_argument, NULL, 'H' }, \
	{ "config", required_argument, NULL, 'C' }, \
	{ "passphrase-file", required_argument, NULL, 'P' }, \
	{ "help", no_argument, NULL, 'h' }

struct hl_command {
	const char *name;
	const char *usage;         /* after "hotline NAME " */
	const char *summary;
	int (*run)(struct hl_cli *cli, int argc, char **argv);
};

extern const struct hl_command hl_commands[];

/* Handles a global option (returns 1), or says it is not one (0). */
int hl_cli_global_option(struct hl_cli *cli, int opt);

/* Prints a usage error for command to stderr; returns HL_EXIT_USAGE. */
int hl_cli_usage_error(const char *command, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prints a command's help to stdout; returns HL_EXIT_OK. */
int hl_cli_help(const char *command);

/* Parses the options of a command that takes only the global ones: returns
 * -1 when all were accepted (optind is at the first operand), otherwise the
 * exit code of the help or usage error already printed. */
int hl_cli_global_options_only(struct hl_cli *cli, const char *command,
    int argc, char **argv);

/* Resolves the profile paths and reads client.ini. */
int hl_cli_prepare(struct hl_cli *cli);

/* Opens the profile's database with the passphrase (file or terminal);
 * prints the error and returns the exit code on failure. */
int hl_cli_open(struct hl_cli *cli);

/* Prints "hotline: <what>: <cause>" to stderr and maps code to an exit.
 * With --json anywhere on the command line, every error goes to stderr as
 * one object {"type":"error","code","message","exit"} instead. */
int hl_cli_fail(int code, const char *what, const char *cause);

/* Prints an error whose exit code is already known; code is a short
 * machine name ("usage", "not_found", a relay error code). Returns exitc. */
int hl_cli_error(int exitc, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A warning on stderr: "hotline: ..." or {"type":"warning","message"}. */
void hl_cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The machine name of an exit code ("usage", "unreachable", ...). */
const char *hl_cli_exit_name(int exitc);

/* Takes every global option from anywhere in argv (before "--") into cli,
 * leaving argv as it is; the commands skip them when they parse. */
void hl_cli_global_scan(struct hl_cli *cli, int argc, char **argv);

/* The exit code for an error code. */
int hl_cli_exit_for(int code);

/* Parses a duration option into ms; prints a usage error on failure. */
int hl_cli_duration(const char *command, const char *opt, const char *s,
    int64_t max_ms, int64_t *out);

/* One request, waited for: for commands that need a single answer. */
struct hl_call {
	int err;                     /* 0 when the relay answered */
	char cause[HL_CAUSE_MAX];
	int status;
	char *body;                  /* owned, NUL-terminated */
	size_t len;
	int64_t date_ms;
};

/* Makes the request and runs the transport until it is answered (bounded
 * by the request's own timeout). Returns 0 when an answer came (any
 * status), else the transport's error. Free with hl_call_free. */
int hl_cli_call(struct hl_net *n, const char *method, const char *path,
    const char *token, const char *body, struct hl_call *out);
void hl_call_free(struct hl_call *c);

/* Reports a call that did not give the status wanted: the transport's
 * error, or the relay's error code and message. Returns the exit code. */
int hl_cli_call_failed(const struct hl_call *c, const char *what);

/* A transport for the registered account's relay. */
struct hl_account;
int hl_cli_net(struct hl_cli *cli, const struct hl_account *a,
    struct hl_net **out);

/* Directory-profile options shared by register and profile. */
#define HL_CLI_PROFILE_OPTIONS \
	{ "name", required_argument, NULL, 1001 }, \
	{ "organisation", required_argument, NULL, 1002 }, \
	{ "country", required_argument, NULL, 1003 }, \
	{ "role", required_argument, NULL, 1004 }, \
	{ "languages", required_argument, NULL, 1005 }, \
	{ "timezone", required_argument, NULL, 1006 }, \
	{ "alternate", required_argument, NULL, 1007 }

/* Applies one of those options to p: 1 when it was one, 0 when not, -1
 * when its value is too long (a usage error). */
int hl_cli_profile_option(struct hl_profile *p, int opt, const char *arg);

/* Prints a directory entry for people, or as JSON. */
void hl_cli_print_entry(const struct hl_dir_entry *e, int json);

/* Engine options from the profile's configuration (escalation,
 * alternates, timeouts); the caller adds its event callback. */
void hl_cli_engine_opts(struct hl_cli *cli, struct hl_engine_opts *o);

/* Installs SIGINT/SIGTERM handlers that make hl_cli_interrupted() true
 * and interrupt poll(). */
void hl_cli_signals(void);
int hl_cli_interrupted(void);

#endif
