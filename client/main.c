/*
 * hotline: the contact officer's client. Subcommands serve scripts and
 * drills; without one, the terminal interface opens.
 */
#include "client/cli.h"
#include "client/harden.h"
#include "client/tui.h"
#include "client/version.h"
#include "crypto/hl_session.h"

#include <getopt.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void
usage(FILE *f)
{
	fprintf(f, "usage: hotline [--json] [--home DIR] [--config FILE] "
	    "[--passphrase-file FILE] COMMAND [ARGS]\n\ncommands:\n");
	for (const struct hl_command *c = hl_commands; c->name; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->summary);
	fprintf(f, "\n'hotline COMMAND --help' for a command's options; "
	    "hotline(1) for the whole story.\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		HL_CLI_GLOBAL_OPTIONS,
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct hl_cli cli;
	int opt;

	/* First, before any secret or JSON value exists. */
	if (hl_harden_process() != 0)
		fprintf(stderr, "hotline: warning: core dumps could not be turned off\n");
	setlocale(LC_ALL, "");
	memset(&cli, 0, sizeof cli);
	/* The whole command line first: a global option after the command
	 * name counts as much as one before it, and errors found from here
	 * on know whether to be JSON. */
	hl_cli_global_scan(&cli, argc, argv);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (opt == 'J' || opt == 'H' || opt == 'C' || opt == 'P')
			continue;    /* taken by the scan */
		if (opt == 'h') {
			usage(stdout);
			return HL_EXIT_OK;
		}
		if (opt == 'V') {
			printf("hotline %s\n", HL_VERSION);
			return HL_EXIT_OK;
		}
		return hl_cli_usage_error(NULL, "unknown option '%s'", argv[optind - 1]);
	}
	if (optind >= argc) {
		/* No command: the terminal interface, when there is a terminal. */
		if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
			usage(stderr);
			return HL_EXIT_USAGE;
		}
		int rc = hl_cli_prepare(&cli);
		if (rc != 0)
			return rc;
		hl_cli_signals();
		rc = hl_tui_run(&cli);
		hl_crypto_close(cli.crypto);
		return rc;
	}
	int at = optind;
	const char *name = argv[at];
	for (const struct hl_command *c = hl_commands; c->name; c++) {
		if (strcmp(c->name, name) != 0)
			continue;
		int rc = hl_cli_prepare(&cli);
		if (rc != 0)
			return rc;
		hl_cli_signals();
		optind = 0;    /* the command parses its own argv from scratch */
		rc = c->run(&cli, argc - at, argv + at);
		hl_crypto_close(cli.crypto);
		return rc;
	}
	return hl_cli_usage_error(NULL, "unknown command '%s'", name);
}
