/*
 * config: client.ini, the officer's defaults ($XDG_CONFIG_HOME/hotline/
 * client.ini). Every key is optional; an unknown section or key, or a bad
 * value, is an error naming the file, line and key.
 */
#ifndef HL_CONFIG_H
#define HL_CONFIG_H

#include <stdint.h>

#include "client/api.h"
#include "client/engine.h"

#define HL_ALTERNATES_MAX 64

struct hl_client_config {
	/* [relay]: defaults for `register` */
	char relay_url[256];
	char pin[256];
	char ca_file[256];
	int64_t connect_timeout_ms;     /* default 10 s */
	/* [messages] */
	int auto_escalate;              /* escalate = auto | off */
	int64_t default_ack_within_ms;  /* ack_within for urgent and flash; 0 none */
	/* [profile]: defaults for `register` */
	struct hl_profile profile;
	/* [notify]: a program run on flash, urgent, overdue and key-change
	 * events (client/notify.h) */
	char notify_command[512];       /* "" none */
	int notify_include_body;        /* include_body = true | false */
	/* [alternates]: HANDLE = ALTERNATE, where overdue messages escalate */
	struct hl_alternate alternates[HL_ALTERNATES_MAX];
	size_t n_alternates;
};

/* Fills cfg with the defaults, then reads path when it exists (a missing
 * default file, or a NULL or empty path, is not an error; a file named
 * explicitly must exist). A folder, a key given twice, a broken line are
 * HL_ECONFIG with "file:line: ..." in cause. */
int hl_client_config_load(const char *path, int explicit_path,
    struct hl_client_config *cfg, char *cause);

#endif
