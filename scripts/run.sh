#!/usr/bin/env bash
# Quick start: install what is missing, build, and run kvsd in the foreground on 127.0.0.1:6379
# with conf/kvsd.conf. Extra arguments are passed to kvsd (e.g. --port 7000 --threads 2).
# Stop it with Ctrl-C (SIGINT) or SIGTERM.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bash "$KVSD_ROOT/scripts/setup.sh"
cd "$KVSD_ROOT"
kvsd_say "starting $KVSD_BUILD/server/kvsd conf/kvsd.conf $*"
exec "$KVSD_BUILD/server/kvsd" conf/kvsd.conf "$@"
