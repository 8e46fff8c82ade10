#!/usr/bin/env bash
# tests/e2e/e2e.sh - the whole chain at once, as real processes on loopback:
# the example services (gateway -> orders -> billing, libclew) write log files;
# one clewd tails them into the archive, Kafka (librdkafka's mock cluster as a
# process), a Logstash tcp receiver and InfluxDB (a throwaway influxd), all at
# once; clewd is killed with SIGKILL three times while the requests run and is
# started again each time. Then every sink is read back independently and
# compared with what the services wrote: every record is in the archive, in
# Kafka and at the Logstash receiver, and every span is a point in InfluxDB.
# Duplicates (allowed after a kill -9) are counted and reported.
#
# usage: e2e.sh BUILD_DIR SOURCE_DIR   (meson test runs it with both)
set -euo pipefail
build=$1 src=$2
bin_clewd=$build/collector/clewd
ex=$build/examples
helpers=$build/tests/helpers
work=$(mktemp -d "${TMPDIR:-/tmp}/clew-e2e-XXXXXX")
pids=()

say() { printf 'e2e: %s\n' "$*" >&2; }
fail() {
	printf 'e2e: FAIL: %s\n' "$*" >&2
	[ -f "$work/clewd.log" ] && { echo "--- the end of clewd's log:" >&2; tail -n 60 "$work/clewd.log" >&2; }
	exit 1
}
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	if [ -f "$work/influx/pid" ]; then "$src/tests/helpers/influxd" stop "$work/influx" >/dev/null 2>&1 || true; fi
	exec 3>&- 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
for x in jq kcat curl influxd; do command -v "$x" >/dev/null || fail "$x is missing (scripts/lib.sh TEST_PACKAGES)"; done

# wait_file FILE - until FILE is not empty (60 s).
wait_file() {
	local i
	for ((i = 0; i < 600; i++)); do [ -s "$1" ] && return 0; sleep 0.1; done
	fail "$1 never appeared"
}

# --- the peers ---------------------------------------------------------------
mkfifo "$work/kafka.ctl"
"$helpers/kafka_mock" -b 3 logs:4 <"$work/kafka.ctl" >"$work/kafka.out" 2>"$work/kafka.err" &
pids+=($!)
exec 3>"$work/kafka.ctl" # kafka_mock runs until this closes
wait_file "$work/kafka.out"
boot=$(head -n 1 "$work/kafka.out")
say "kafka mock cluster: $boot"

"$build/tests/collector/logstash/ls_receiver" tcp --port 0 --port-file "$work/ls.port" --report "$work/ls.report" \
	--events "$work/ls.events" 2>"$work/ls.err" &
ls_pid=$!
pids+=("$ls_pid")
wait_file "$work/ls.port"
ls_port=$(cat "$work/ls.port")
say "logstash receiver: 127.0.0.1:$ls_port"

influx_port=$("$src/tests/helpers/influxd" start "$work/influx")
curl -sf -XPOST "http://127.0.0.1:$influx_port/query" --data-urlencode 'q=CREATE DATABASE e2e' >/dev/null
say "influxd: 127.0.0.1:$influx_port"

# --- the services ------------------------------------------------------------
mkdir -p "$work/svc"
services=()
start_service() { # NAME FORMAT [ARGS...]; sets port
	local name=$1 format=$2
	shift 2
	CLEW_FORMAT=$format CLEW_OUTPUT="file:$work/svc/$name.log" \
		"$ex/$name" --port 0 --port-file "$work/svc/$name.port" "$@" 2>>"$work/svc.err" &
	pids+=($!)
	services+=($!)
	wait_file "$work/svc/$name.port"
	port=$(cat "$work/svc/$name.port")
}
start_service billing pipe
start_service orders json --billing "http://127.0.0.1:$port"
start_service gateway pipe --orders "http://127.0.0.1:$port"
gateway=http://127.0.0.1:$port

# --- clewd -------------------------------------------------------------------
cat >"$work/clewd.yaml" <<YAML
state_dir: $work/state
log_level: info
chunk: { max_age: 200ms }
inputs:
  - { type: tail, path: "$work/svc/*.log" }
outputs:
  - { type: archive, path: $work/archive }
  - { type: kafka, brokers: "$boot", topic: logs }
  - { type: logstash+tcp, address: "127.0.0.1:$ls_port" }
  - { type: influxdb, address: "127.0.0.1:$influx_port", path: e2e, interval: 1s }
YAML
"$bin_clewd" -c "$work/clewd.yaml" --check-config >/dev/null || fail "the configuration does not check"
start_clewd() {
	"$bin_clewd" -c "$work/clewd.yaml" 2>>"$work/clewd.log" &
	clewd_pid=$!
	pids+=("$clewd_pid")
}
start_clewd

requests=240
for ((i = 1; i <= requests; i++)); do
	curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
		-d "{\"user\":\"u$((i % 17))\",\"amount\":$((500 + i * 37 % 9000))}" "$gateway/checkout" || true
	if ((i % 60 == 0 && i < requests)); then
		kill -KILL "$clewd_pid"
		wait "$clewd_pid" 2>/dev/null || true
		say "request $i: clewd killed with SIGKILL, started again"
		start_clewd
	fi
done
kill -TERM "${services[@]}"
wait "${services[@]}" || true
sleep 3 # the services' last lines, then clewd's last chunks
kill -TERM "$clewd_pid"
wait "$clewd_pid" || fail "clewd exited with $? on SIGTERM (see $work/clewd.log)"
grep -q '"level":"ERROR"' "$work/clewd.log" && say "clewd logged errors: $(grep -c '"level":"ERROR"' "$work/clewd.log")"

# --- what was written, and what each sink holds -------------------------------
# A record is known by its time, service, span and message (all the services
# write microsecond times); every sink is reduced to the set of those keys.
key='[(.timestamp // ."@timestamp"), .service, (.span // ""), (.message // "")] | @json'
cat "$work"/svc/*.log | "$bin_clewd" -i stdin -p auto -o stdout:json >"$work/written.jsonl" 2>/dev/null
jq -r "$key" <"$work/written.jsonl" | sort -u >"$work/want"
want=$(wc -l <"$work/want")
[ "$want" -gt $((requests * 5)) ] || fail "only $want records written by the services"

check_set() { # NAME FILE_OF_JSON_LINES
	local name=$1 lines distinct missing
	lines=$(wc -l <"$2")
	jq -r "$key" <"$2" | sort -u >"$work/got.$name"
	distinct=$(wc -l <"$work/got.$name")
	missing=$(comm -23 "$work/want" "$work/got.$name" | wc -l)
	say "$name: $lines records, $distinct distinct, $missing of $want missing, $((lines - distinct)) duplicates"
	[ "$missing" -eq 0 ] || { comm -23 "$work/want" "$work/got.$name" | head -n 5 >&2; fail "$name lost records"; }
}
"$helpers/archive_dump" "$work/archive" >"$work/archive.jsonl"
check_set archive "$work/archive.jsonl"
kcat -C -b "$boot" -t logs -o beginning -e -q -f '%s\n' >"$work/kafka.jsonl" 2>/dev/null
check_set kafka "$work/kafka.jsonl"
kill -TERM "$ls_pid"
wait "$ls_pid" || true
check_set logstash "$work/ls.events"

# InfluxDB: a span record is a point of "spans"; the same span delivered twice is the same
# point (same tags and time), so the server holds one point per distinct span.
spans=$(jq -r 'select(.event == "span") | [.trace, .span] | @json' <"$work/written.jsonl" | sort -u | wc -l)
points=$(curl -sf -G "http://127.0.0.1:$influx_port/query" --data-urlencode db=e2e \
	--data-urlencode 'q=SELECT count(dur_us) FROM spans' | jq '.results[0].series[0].values[0][1] // 0')
say "influxdb: $points span points for $spans distinct span records"
[ "$points" -eq "$spans" ] || fail "influxdb holds $points span points, $spans spans were written"
say "ok: $want records through 3 SIGKILLs, nothing lost in any sink"
