/*
 * cli: what every subcommand shares: loading the configuration the command
 * line names.
 */
#include "relay/cli.h"

#include "crypto/hl_err.h"
#include "relay/config.h"

#include <stdio.h>

int
hl_relay_cli_config(const struct hl_relay_cli *cli, struct hl_relay_config *cfg)
{
	char cause[HL_CAUSE_MAX];
	if (hl_relay_config_load(cli->config, cfg, cause) != 0) {
		fprintf(stderr, "hotline-relay %s: %s\n", cli->command, cause);
		return HL_RELAY_EXIT_CONFIG;
	}
	return HL_RELAY_EXIT_OK;
}
