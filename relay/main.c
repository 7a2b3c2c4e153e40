/*
 * hotline-relay: the store-and-forward relay and its admin subcommands.
 * The table below is the one place that names the subcommands, their
 * usage and their options; parsing, --help and dispatch all come from it.
 */
#include "relay/cli.h"

#include "relay/config.h"
#include "relay/log.h"
#include "relay/version.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

enum {
	OPT_EXPIRES = 1,
	OPT_LISTEN = 2,
	OPT_INIT = 4,
	OPT_JSON = 8,
};

struct command {
	const char *name;
	const char *usage;       /* after "hotline-relay NAME" */
	const char *summary;
	int nargs;               /* positional arguments required */
	unsigned options;        /* OPT_* beyond -c, --help, --version */
	int (*run)(const struct hl_relay_cli *cli);
};

static const struct command commands[] = {
	{ "init", "[-c FILE]", "create the database (or check it is current)",
	    0, 0, hl_relay_cmd_init },
	{ "serve", "[-c FILE] [--listen ADDR:PORT] [--init]", "run the relay",
	    0, OPT_LISTEN | OPT_INIT, hl_relay_cmd_serve },
	{ "invite", "[-c FILE] [--expires DUR] HANDLE",
	    "print a one-time enrollment code for HANDLE (default expiry 7d)",
	    1, OPT_EXPIRES, hl_relay_cmd_invite },
	{ "revoke", "[-c FILE] HANDLE",
	    "revoke HANDLE's account at once; its queued messages are dropped",
	    1, 0, hl_relay_cmd_revoke },
	{ "accounts", "[-c FILE] [--json]", "list the accounts",
	    0, OPT_JSON, hl_relay_cmd_accounts },
	{ "stats", "[-c FILE] [--json]", "print store statistics",
	    0, OPT_JSON, hl_relay_cmd_stats },
	{ "backup", "[-c FILE] FILE",
	    "write a consistent copy of the database to FILE (while serving "
	    "too)", 1, 0, hl_relay_cmd_backup },
	{ "check-config", "[-c FILE]",
	    "check relay.ini, its TLS files and its store folder without "
	    "serving", 0, 0, hl_relay_cmd_check_config },
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void
usage(FILE *f)
{
	fprintf(f, "usage: hotline-relay COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-12s %s\n", commands[i].name,
		    commands[i].summary);
	fprintf(f, "\nEvery command takes -c FILE (default $%s, else %s),\n"
	    "--help and --version. See "
	    "hotline-relay(8).\n", HL_RELAY_CONFIG_ENV, HL_RELAY_CONFIG_PATH);
}

static void
command_help(const struct command *c)
{
	printf("usage: hotline-relay %s %s\n\n%s.\n\noptions:\n", c->name,
	    c->usage, c->summary);
	printf("  -c, --config FILE     relay.ini (default $%s, else %s)\n",
	    HL_RELAY_CONFIG_ENV, HL_RELAY_CONFIG_PATH);
	if (c->options & OPT_EXPIRES)
		printf("  --expires DUR         how long the code is valid "
		    "(e.g. 90m, 7d; default 7d)\n");
	if (c->options & OPT_LISTEN)
		printf("  --listen ADDR:PORT    listen here instead of "
		    "[server] listen\n");
	if (c->options & OPT_JSON)
		printf("  --json                one JSON object on stdout\n");
	if (c->options & OPT_INIT)
		printf("  --init                create the database first when "
		    "there is none (as init)\n");
	printf("  -h, --help            this help\n");
	printf("  --version             the version\n");
}

static int
bad_usage(const struct command *c, const char *what, const char *word)
{
	fprintf(stderr,
	    "hotline-relay %s: %s%s%s (usage: hotline-relay %s %s)\n",
	    c->name, what, word ? " " : "", word ? word : "", c->name,
	    c->usage);
	return HL_RELAY_EXIT_USAGE;
}

/* Takes an option's value from "--opt=VALUE", "-cVALUE" or the next word. */
static int
option_value(int argc, char **argv, int *i, size_t namelen, const char **out)
{
	const char *a = argv[*i];
	if (a[namelen] == '=') {
		*out = a + namelen + 1;
		return 0;
	}
	if (a[namelen] != '\0') {
		if (a[1] != '-') {     /* -cFILE */
			*out = a + namelen;
			return 0;
		}
		return -1;
	}
	if (*i + 1 >= argc)
		return -1;
	*out = argv[++*i];
	return 0;
}

static int
is_option(const char *a, const char *name)
{
	size_t n = strlen(name);
	return strncmp(a, name, n) == 0 &&
	    (a[n] == '\0' || a[n] == '=' || (name[1] != '-' && a[n] != '\0'));
}

static int
run_command(const struct command *c, int argc, char **argv)
{
	struct hl_relay_cli cli;
	memset(&cli, 0, sizeof cli);
	cli.command = c->name;
	cli.config = hl_relay_config_path();
	char *args[8];
	int nargs = 0, only_args = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (only_args || a[0] != '-' || a[1] == '\0') {
			if (nargs == (int)(sizeof args / sizeof args[0]) ||
			    nargs >= c->nargs)
				return bad_usage(c, "unexpected argument", a);
			args[nargs++] = argv[i];
			continue;
		}
		const char *v = NULL;
		if (strcmp(a, "--") == 0) {
			only_args = 1;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			command_help(c);
			return HL_RELAY_EXIT_OK;
		} else if (strcmp(a, "--version") == 0) {
			printf("hotline-relay %s\n", HL_RELAY_VERSION);
			return HL_RELAY_EXIT_OK;
		} else if (is_option(a, "--config") || is_option(a, "-c")) {
			size_t n = a[1] == '-' ? strlen("--config") : 2;
			if (option_value(argc, argv, &i, n, &v) != 0 ||
			    v[0] == '\0')
				return bad_usage(c, "-c/--config needs a FILE",
				    NULL);
			cli.config = v;
		} else if ((c->options & OPT_JSON) &&
		    strcmp(a, "--json") == 0) {
			cli.json = 1;
		} else if ((c->options & OPT_INIT) &&
		    strcmp(a, "--init") == 0) {
			cli.init = 1;
		} else if ((c->options & OPT_EXPIRES) &&
		    is_option(a, "--expires")) {
			size_t n = strlen("--expires");
			if (option_value(argc, argv, &i, n, &v) != 0 ||
			    v[0] == '\0')
				return bad_usage(c,
				    "--expires needs a duration", NULL);
			cli.expires = v;
		} else if ((c->options & OPT_LISTEN) &&
		    is_option(a, "--listen")) {
			size_t n = strlen("--listen");
			if (option_value(argc, argv, &i, n, &v) != 0 ||
			    v[0] == '\0')
				return bad_usage(c, "--listen needs ADDR:PORT",
				    NULL);
			cli.listen = v;
		} else {
			return bad_usage(c, "unknown option", a);
		}
	}
	if (nargs < c->nargs)
		return bad_usage(c, strstr(c->usage, "HANDLE") ?
		    "missing HANDLE" : "missing FILE", NULL);
	cli.args = args;
	cli.nargs = nargs;
	return c->run(&cli);
}

int
main(int argc, char **argv)
{
	if (sodium_init() < 0) {
		fprintf(stderr,
		    "hotline-relay: libsodium failed to initialise\n");
		return HL_RELAY_EXIT_FAIL;
	}
	hl_log_init();
	if (argc < 2) {
		usage(stderr);
		return HL_RELAY_EXIT_USAGE;
	}
	const char *name = argv[1];
	if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 ||
	    strcmp(name, "help") == 0) {
		usage(stdout);
		return HL_RELAY_EXIT_OK;
	}
	if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
		printf("hotline-relay %s\n", HL_RELAY_VERSION);
		return HL_RELAY_EXIT_OK;
	}
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return run_command(&commands[i], argc - 2, argv + 2);
	fprintf(stderr,
	    "hotline-relay: unknown command '%s' (try hotline-relay "
	    "--help)\n", name);
	return HL_RELAY_EXIT_USAGE;
}
