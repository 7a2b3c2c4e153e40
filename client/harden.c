#include "client/harden.h"
#include "crypto/hl_err.h"
#include "crypto/hl_jsonwipe.h"

#include <sys/prctl.h>
#include <sys/resource.h>

int
hl_harden_process(void)
{
	int rc = 0;
	const struct rlimit none = { 0, 0 };
	/* A core file would hold the unwrapped data key, session states and
	 * plaintexts: the vault is worth nothing once one is written. */
	if (setrlimit(RLIMIT_CORE, &none) != 0)
		rc = HL_EIO;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		rc = HL_EIO;
	hl_jsonwipe_install();
	return rc;
}
