/*
 * The handlers of `hotline` subcommands, one file each (cmd_<name>.c).
 * Each parses its own options (and the global ones), does its work and
 * returns an exit code (enum hl_exit).
 */
#ifndef HL_COMMANDS_H
#define HL_COMMANDS_H

struct hl_cli;

int hl_cmd_init(struct hl_cli *cli, int argc, char **argv);
int hl_cmd_register(struct hl_cli *cli, int argc, char **argv);
int hl_cmd_directory(struct hl_cli *cli, int argc, char **argv);
int hl_cmd_profile(struct hl_cli *cli, int argc, char **argv);
int hl_cmd_send(struct hl_cli *cli, int argc, char **argv);
int hl_cmd_sync(struct hl_cli *cli, int argc, char **argv);
int hl_cmd_inbox(struct hl_cli *cli, int argc, char **argv);
int hl_cmd_ack(struct hl_cli *cli, int argc, char **argv);
int hl_cmd_status(struct hl_cli *cli, int argc, char **argv);
int hl_cmd_verify(struct hl_cli *cli, int argc, char **argv);
int hl_cmd_trust(struct hl_cli *cli, int argc, char **argv);
int hl_cmd_export(struct hl_cli *cli, int argc, char **argv);
int hl_cmd_discard(struct hl_cli *cli, int argc, char **argv);
int hl_cmd_drill(struct hl_cli *cli, int argc, char **argv);

#endif
