#!/usr/bin/env bash
# soak_kill.sh - the SIGKILL soak's long form: clewd tailing three growing files (plain, rotated
# by rename, rotated by copytruncate) killed with SIGKILL KILLS times at random moments and
# restarted; every line must reach the archive (copytruncate: only lines truncated away before
# clewd read them may be missing; counted). The test suite runs the same script with 15 kills.
#
# usage: bench/soak_kill.sh [KILLS [BUILD_DIR [PACE]]]   (default 100, build/release, steady;
#        PACE fast: rotations every 0.15-0.6 s, clewd alive 0.03-0.7 s)
set -euo pipefail

kills=${1:-100}
build=${2:-build/release}
pace=${3:-steady}
here=$(cd "$(dirname "$0")/.." && pwd)
export CLEWD_BIN=$here/$build/collector/clewd
export ARCHIVE_DUMP_BIN=$here/$build/tests/helpers/archive_dump
for bin in "$CLEWD_BIN" "$ARCHIVE_DUMP_BIN"; do
	[ -x "$bin" ] || { echo "no $bin: build first (meson compile -C $build)" >&2; exit 2; }
done
exec "$here/tests/soak/kill.py" "$kills" "$pace"
