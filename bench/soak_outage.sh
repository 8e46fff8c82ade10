#!/usr/bin/env bash
# soak_outage.sh - the outage soaks' long form: each output's real peer (InfluxDB, a Kafka
# mock broker, a Logstash tcp receiver) away for OUTAGE seconds while clewd tails a file
# written at RATE lines/s; every line must arrive, clewd's RSS stay within the bound
# tests/soak/outage.py states, the spool drain. The test suite runs the same script with an
# 8 s outage (suite soak); this one defaults to the issue's 60 s.
#
# usage: bench/soak_outage.sh [OUTAGE_S [BUILD_DIR [PEER...]]]
#        (default 60, build/release, every peer; RATE lines/s from the environment, default 2000)
set -euo pipefail

outage=${1:-60}
build=${2:-build/release}
shift $(($# > 2 ? 2 : $#))
peers=("$@")
[ ${#peers[@]} -gt 0 ] || peers=(influxdb kafka logstash)
here=$(cd "$(dirname "$0")/.." && pwd)
export CLEWD_BIN=$here/$build/collector/clewd
export KAFKA_MOCK_BIN=$here/$build/tests/helpers/kafka_mock
export LS_RECEIVER_BIN=$here/$build/tests/collector/logstash/ls_receiver
export INFLUXD_HELPER=$here/tests/helpers/influxd
for bin in "$CLEWD_BIN" "$KAFKA_MOCK_BIN" "$LS_RECEIVER_BIN"; do
	[ -x "$bin" ] || { echo "no $bin: build first (meson compile -C $build)" >&2; exit 2; }
done
rc=0
for peer in "${peers[@]}"; do
	"$here/tests/soak/outage.py" "$peer" "$outage" "${RATE:-2000}" || rc=1
done
exit "$rc"
