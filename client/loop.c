#include "client/loop.h"
#include "client/cli.h"
#include "crypto/hl_err.h"
#include "crypto/hl_time.h"

#include <errno.h>
#include <poll.h>

#define LOOP_FDS 64

int
hl_loop_run(struct hl_engine *e, int (*done)(void *arg), void *arg,
    int64_t deadline_ms)
{
	struct pollfd fds[LOOP_FDS];
	for (;;) {
		if (done(arg))
			return 0;
		if (hl_cli_interrupted())
			return HL_EBUSY;
		int timeout = -1;
		int64_t now = hl_mono_ms();
		if (deadline_ms > 0) {
			if (now >= deadline_ms)
				return HL_ETIMEOUT;
			timeout = (int)(deadline_ms - now);
		}
		int n = hl_engine_pollfds(e, fds, LOOP_FDS, &timeout);
		if (n == 0 && timeout < 0)
			return HL_ESTATE;    /* nothing in flight or scheduled */
		int r = poll(fds, (nfds_t)n, timeout);
		if (r < 0 && errno != EINTR)
			return HL_EIO;
		hl_engine_dispatch(e, fds, r < 0 ? 0 : n);
	}
}
