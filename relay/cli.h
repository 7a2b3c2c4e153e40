/*
 * cli: the subcommands of hotline-relay, each a handler that main.c's
 * table dispatches to after parsing the command line.
 */
#ifndef HL_RELAY_CLI_H
#define HL_RELAY_CLI_H

/* Exit codes (documented in hotline-relay(8)). */
#define HL_RELAY_EXIT_OK 0
#define HL_RELAY_EXIT_FAIL 1       /* the command ran and failed */
#define HL_RELAY_EXIT_USAGE 2      /* bad command line */
#define HL_RELAY_EXIT_CONFIG 3     /* bad relay.ini, or serve refused it */

struct hl_relay_cli {
	const char *command;     /* the subcommand's name, for messages */
	const char *config;      /* -c FILE, or the default */
	const char *expires;     /* invite --expires DUR, or NULL */
	const char *listen;      /* serve --listen ADDR:PORT, or NULL */
	int init;                /* serve --init: create the database first */
	int json;                /* accounts, stats --json */
	char **args;             /* positional arguments */
	int nargs;
};

int hl_relay_cmd_init(const struct hl_relay_cli *cli);
int hl_relay_cmd_serve(const struct hl_relay_cli *cli);
int hl_relay_cmd_invite(const struct hl_relay_cli *cli);
int hl_relay_cmd_revoke(const struct hl_relay_cli *cli);
int hl_relay_cmd_accounts(const struct hl_relay_cli *cli);
int hl_relay_cmd_stats(const struct hl_relay_cli *cli);
int hl_relay_cmd_backup(const struct hl_relay_cli *cli);
int hl_relay_cmd_check_config(const struct hl_relay_cli *cli);

/* Loads the configuration for a command; on error prints one line and
 * returns the exit code to use (HL_RELAY_EXIT_CONFIG). */
struct hl_relay_config;
int hl_relay_cli_config(const struct hl_relay_cli *cli,
    struct hl_relay_config *cfg);

#endif
