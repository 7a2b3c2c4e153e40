#!/bin/sh
# make demo: the crypto core on its own (two identities, a session, a few
# messages, their safety number).
set -eu
B=${B:-build}
exec "$B/tests/demo/demo_crypto"
