/* hotline discard: dismiss an outbound message that failed for good. */
#include "client/cli.h"
#include "client/commands.h"
#include "client/out.h"
#include "client/store.h"
#include "crypto/hl_err.h"

#include <stdio.h>
#include <string.h>

int
hl_cmd_discard(struct hl_cli *cli, int argc, char **argv)
{
	char cause[HL_CAUSE_MAX] = "";
	int rc = hl_cli_global_options_only(cli, "discard", argc, argv);
	if (rc >= 0)
		return rc;
	if (argc - optind != 1)
		return hl_cli_usage_error("discard", "give one message ID");
	rc = hl_cli_open(cli);
	if (rc != 0)
		return rc;
	struct hl_msg m;
	rc = hl_store_msg_find(cli->crypto, argv[optind], &m, cause);
	if (rc != 0)
		return hl_cli_fail(rc, "discard", cause);
	/* Only what can never go any further: anything else is still news. */
	if (m.dir != HL_OUT || (m.state != HL_ST_FAILED &&
	    m.state != HL_ST_EXPIRED)) {
		rc = hl_cli_error(HL_EXIT_ERROR, "state", "discard: %.8s is %s; only "
		    "a message you sent that failed or expired can be discarded",
		    m.id, hl_state_name(m.state));
		hl_msg_clear(&m);
		return rc;
	}
	rc = hl_store_msg_delete(cli->crypto, &m);
	if (rc != 0) {
		hl_msg_clear(&m);
		return hl_cli_fail(rc, "discard", NULL);
	}
	if (cli->json) {
		json_t *o = hl_out_json_object("discarded");
		json_object_set_new(o, "id", json_string(m.id));
		json_object_set_new(o, "peer", json_string(m.peer));
		json_object_set_new(o, "state", json_string(hl_state_name(m.state)));
		hl_out_json_line(o);
	} else {
		printf("discarded %s to %s (%s)\n", m.id, m.peer,
		    hl_state_name(m.state));
	}
	hl_msg_clear(&m);
	return HL_EXIT_OK;
}
