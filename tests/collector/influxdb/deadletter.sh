#!/usr/bin/env bash
# tests/collector/influxdb/deadletter.sh - a point InfluxDB refuses for good (400:
# a field type conflict) sends its record to the output's dead-letter files,
# and clewd --replay-deadletter writes it once the output points where it is
# accepted. Against a real influxd (tests/helpers/influxd):
#   1. spans arrive; then a metric whose field "value" is a float where the
#      database holds a string: refused (400), the record is in
#      STATE_DIR/deadletter/infl/, the metric says 1, spans written after it
#      still arrive (before: counted as rejected and gone);
#   2. a replay into another database writes it and empties the directory.
#
# usage: deadletter.sh CLEWD INFLUXD_HELPER   (meson test runs it)
set -euo pipefail
clewd=$1 influxd_helper=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/clew-influx-dl-XXXXXX")
cpid=

fail() {
	printf 'influx deadletter: FAIL: %s\n' "$*" >&2
	for f in "$work"/clewd*.log; do
		[ -f "$f" ] && { echo "--- the end of $f:" >&2; tail -n 30 "$f" >&2; }
	done
	exit 1
}
cleanup() {
	[ -n "$cpid" ] && kill -KILL "$cpid" 2>/dev/null
	"$influxd_helper" stop "$work/influx" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
for x in jq curl influxd; do command -v "$x" >/dev/null || fail "$x is missing (scripts/lib.sh TEST_PACKAGES)"; done

port=$("$influxd_helper" start "$work/influx")
q() { # q DB QUERY: the first value of the first series, or 0
	curl -sfG "http://127.0.0.1:$port/query" --data-urlencode "db=$1" --data-urlencode "q=$2" |
		jq -r '.results[0].series[0].values[0][1] // 0'
}
curl -sf -XPOST "http://127.0.0.1:$port/query" --data-urlencode 'q=CREATE DATABASE dl' >/dev/null
curl -sf -XPOST "http://127.0.0.1:$port/query" --data-urlencode 'q=CREATE DATABASE dl2' >/dev/null
# the field "value" of measurement "conflict" is a string in dl (now: field types are per shard)
curl -sf -XPOST "http://127.0.0.1:$port/write?db=dl" --data-binary "conflict value=\"text\" $(date +%s%N)" ||
	fail "cannot write the conflicting point"

# wait_q DB QUERY N: until QUERY says N (two minutes)
wait_q() {
	local i
	for ((i = 0; i < 240; i++)); do
		[ "$(q "$1" "$2")" = "$3" ] && return 0
		sleep 0.5
	done
	fail "$2 in $1 says $(q "$1" "$2"), expected $3"
}
dl_files() { find "$work/state/deadletter/infl" -maxdepth 1 -name '*.spool' 2>/dev/null | sort; }
config() { # config DB
	cat >"$work/clewd.yaml" <<YAML
state_dir: $work/state
chunk: { max_age: 100ms }
tail: { poll_interval: 100ms }
inputs:
  - { type: tail, path: "$work/app.log" }
outputs:
  - { type: influxdb, name: infl, address: "127.0.0.1:$port", db: $1, interval: 1s, red: false, logs: false }
YAML
}
now() { date -u +%Y-%m-%dT%H:%M:%S.%6NZ; }
span() { printf '%s INFO t%s:s%s|orders|GET|/x|event=span|name=op|dur_us=100|status=200\n' "$(now)" "$1" "$1"; }

# --- 1 -----------------------------------------------------------------------------
config dl
{ span 1; span 2; } >"$work/app.log"
"$clewd" -c "$work/clewd.yaml" --http 127.0.0.1:0 2>"$work/clewd.log" &
cpid=$!
wait_q dl 'SELECT count("dur_us") FROM spans' 2
printf '%s INFO -|orders|-|-|event=metric|metric=conflict|type=gauge|value=1\n' "$(now)" >>"$work/app.log"
for ((i = 0; i < 600; i++)); do [ -n "$(dl_files)" ] && break; sleep 0.1; done
[ "$(dl_files | wc -l)" = 1 ] || fail "expected one dead-letter file, found: $(dl_files)"
span 3 >>"$work/app.log"
wait_q dl 'SELECT count("dur_us") FROM spans' 3
[ "$(q dl 'SELECT count("value") FROM conflict')" = 1 ] || fail "the refused point was written"
hport=$(grep -o 'port [0-9]*)' "$work/clewd.log" | head -n 1 | tr -dc 0-9)
curl -sf "http://127.0.0.1:$hport/metrics" >"$work/metrics" || fail "no /metrics"
grep -qx 'clewd_output_deadletter_records_total{output="infl",reason="http_400"} 1' "$work/metrics" ||
	fail "the dead-letter metric does not say 1: $(grep deadletter "$work/metrics")"
kill -TERM "$cpid"
wait "$cpid" || fail "clewd exited with status $? after SIGTERM"
cpid=

# --- 2 -----------------------------------------------------------------------------
config dl2
"$clewd" -c "$work/clewd.yaml" --replay-deadletter infl 2>"$work/clewd-replay.log" ||
	fail "the replay into dl2 failed"
[ -z "$(dl_files)" ] || fail "dead-letter files left after the replay: $(dl_files)"
wait_q dl2 'SELECT count("value") FROM conflict' 1
echo "influx deadletter: ok" >&2
