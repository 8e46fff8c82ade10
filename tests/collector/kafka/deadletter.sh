#!/usr/bin/env bash
# tests/collector/kafka/deadletter.sh - a record Kafka rejects for good goes to
# the output's dead-letter files, alone, and clewd --replay-deadletter sends it
# once the limit is raised. Against librdkafka's mock cluster (a process of its
# own, tests/helpers/kafka_mock), read back with kcat:
#   1. two tailed files; one holds a record larger than the output's
#      message.max.bytes among small ones: every small record arrives exactly
#      once, the large one is in STATE_DIR/deadletter/NAME/, the metric says 1,
#      and records written afterwards (to both files) still arrive: the output
#      did not stall, the inputs were not held back (before: the chunk was
#      retried forever, its small records sent again each time);
#   2. a replay with the same limit rejects it again: it stays, in a new file;
#   3. a replay with the limit raised delivers it and empties the directory;
#   4. the broker refusing a record (the mock answers a Produce request with
#      INVALID_RECORD): the delivery report sends it to the dead-letter files,
#      the records after it arrive;
#   5. a stdin job keeps no state: the large record is dropped, counted and
#      logged, the others arrive, and it exits 0 (before: retried until the
#      drain timed out, exit 1).
#
# usage: deadletter.sh CLEWD KAFKA_MOCK   (meson test runs it)
set -euo pipefail
clewd=$1 kafka_mock=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/clew-deadletter-XXXXXX")
pids=()

say() { printf 'deadletter: %s\n' "$*" >&2; }
fail() {
	printf 'deadletter: FAIL: %s\n' "$*" >&2
	for f in "$work"/clewd*.log; do
		[ -f "$f" ] && { echo "--- the end of $f:" >&2; tail -n 30 "$f" >&2; }
	done
	exit 1
}
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	exec 3>&- 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
for x in kcat curl promtool; do command -v "$x" >/dev/null || fail "$x is missing (scripts/lib.sh TEST_PACKAGES)"; done

# --- the cluster ---------------------------------------------------------------
mkfifo "$work/kafka.ctl"
"$kafka_mock" -b 1 dl:1 <"$work/kafka.ctl" >"$work/kafka.out" 2>"$work/kafka.err" &
pids+=($!)
exec 3>"$work/kafka.ctl" # kafka_mock runs until this closes
for ((i = 0; i < 600; i++)); do [ -s "$work/kafka.out" ] && break; sleep 0.1; done
boot=$(head -n 1 "$work/kafka.out")
[ -n "$boot" ] || fail "kafka_mock printed no bootstrap list"

# consume: every message of topic dl, one a line, into $work/topic
consume() { kcat -C -b "$boot" -t dl -o beginning -e -q -f '%s\n' >"$work/topic" 2>/dev/null || true; }
# wait_count N: until the topic holds N messages (two minutes: a loaded machine)
wait_count() {
	local i
	for ((i = 0; i < 240; i++)); do
		consume
		[ "$(wc -l <"$work/topic")" -ge "$1" ] && return 0
		sleep 0.5
	done
	fail "the topic holds $(wc -l <"$work/topic") messages, expected $1"
}
# once ID: ID is in exactly one message
once() {
	local n
	n=$(grep -cF -- "\"$1\"" "$work/topic" || true)
	[ "$n" = 1 ] || fail "$1 is in $n messages, expected exactly 1"
}
# dl_files: the dead-letter chunk files of the output
dl_dir=$work/state/deadletter/kmain
dl_files() { find "$dl_dir" -maxdepth 1 -name '*.spool' 2>/dev/null | sort; }

# config LIMIT: clewd's configuration with the output's message.max.bytes at LIMIT
config() {
	cat >"$work/clewd.yaml" <<YAML
state_dir: $work/state
chunk: { max_age: 100ms }
tail: { poll_interval: 100ms }
inputs:
  - { type: tail, path: "$work/a.log" }
  - { type: tail, path: "$work/b.log" }
outputs:
  - type: kafka
    name: kmain
    brokers: "$boot"
    topic: dl
    properties.message.max.bytes: $1
YAML
}

# --- 0: deadletter_max in the file, CLEWD_DEADLETTER_MAX over it, a bad size refused ----------
printf 'state_dir: %s/cc\ndeadletter_max: 2M\ninputs:\n  - { type: tail, path: /tmp/x.log }\n' "$work" >"$work/cc.yaml"
"$clewd" -c "$work/cc.yaml" --check-config | grep -qxF "  dead-letter: $work/cc/deadletter (at most 2097152 bytes per output)" ||
	fail "--check-config does not show deadletter_max: 2M"
if CLEWD_DEADLETTER_MAX=0 "$clewd" -c "$work/cc.yaml" --check-config | grep -q dead-letter; then
	fail "CLEWD_DEADLETTER_MAX=0 kept the dead-letter files"
fi
printf 'deadletter_max: lots\ninputs:\n  - type: stdin\n' >"$work/cc.yaml"
if "$clewd" -c "$work/cc.yaml" --check-config 2>"$work/cc.err"; then fail "deadletter_max: lots was accepted"; fi
grep -qF "cc.yaml:1:17: expected a size (4096, 64k, 10M, 2G) for deadletter_max" "$work/cc.err" ||
	fail "deadletter_max: lots: $(cat "$work/cc.err")"

big=$(head -c 6000 /dev/zero | tr '\0' x)
line() { printf '%s|svc|GET|/x|%s\n' "$1" "$2"; }

# --- 1: a large record among small ones -------------------------------------------
config 2000
{
	for i in 1 2 3 4 5; do line "small-a$i" "a small record"; done
	line big-1 "$big"
	for i in 6 7 8 9; do line "small-a$i" "a small record"; done
} >"$work/a.log"
: >"$work/b.log"
"$clewd" -c "$work/clewd.yaml" --http 127.0.0.1:0 2>"$work/clewd.log" &
cpid=$!
pids+=("$cpid")
wait_count 9
say "the 9 small records arrived"
for ((i = 0; i < 100; i++)); do [ -n "$(dl_files)" ] && break; sleep 0.1; done
[ "$(dl_files | wc -l)" = 1 ] || fail "expected one dead-letter file in $dl_dir, found: $(dl_files)"

# more records, to both files, after the rejection: they arrive (nothing stalled)
for i in 1 2 3; do line "small-b$i" "after the large one" >>"$work/b.log"; done
line small-a10 "after the large one" >>"$work/a.log"
wait_count 13
consume
for id in small-a1 small-a2 small-a3 small-a4 small-a5 small-a6 small-a7 small-a8 small-a9 small-a10 \
	small-b1 small-b2 small-b3; do
	once "$id"
done
grep -q big-1 "$work/topic" && fail "the large record reached the topic past message.max.bytes"
[ "$(wc -l <"$work/topic")" = 13 ] || fail "expected 13 messages, found $(wc -l <"$work/topic")"
say "13 records arrived once each; the large one is in $(dl_files)"

port=$(grep -o 'port [0-9]*)' "$work/clewd.log" | head -n 1 | tr -dc 0-9)
[ -n "$port" ] || fail "clewd did not say its /metrics port"
curl -sf "http://127.0.0.1:$port/metrics" >"$work/metrics" || fail "no /metrics"
grep -qx 'clewd_output_deadletter_records_total{output="kmain",reason="msg_size_too_large"} 1' "$work/metrics" ||
	fail "the dead-letter metric does not say 1: $(grep deadletter "$work/metrics")"
promtool check metrics <"$work/metrics" || fail "promtool rejects the scrape with the dead-letter series"
grep -q '"output rejected records for good: kept in its dead-letter files"' "$work/clewd.log" ||
	fail "the rejection was not logged"
kill -TERM "$cpid"
wait "$cpid" || fail "clewd exited with status $? after SIGTERM"

# --- 2: a replay with the same limit: rejected again, kept in a new file ----------------
old=$(dl_files)
set +e
"$clewd" -c "$work/clewd.yaml" --replay-deadletter kmain 2>"$work/clewd-replay1.log"
st=$?
set -e
[ "$st" = 1 ] || fail "a replay whose record is rejected again exited $st, expected 1"
[ "$(dl_files | wc -l)" = 1 ] || fail "after a rejected replay: $(dl_files)"
[ "$(dl_files)" != "$old" ] || fail "the rejected record was not written to a new file"
consume
grep -q big-1 "$work/topic" && fail "the large record reached the topic"

# --- 3: the limit raised: the replay delivers it and empties the directory ---------------
config 1000000
"$clewd" -c "$work/clewd.yaml" --replay-deadletter kmain 2>"$work/clewd-replay2.log" ||
	fail "the replay with the limit raised failed"
[ -z "$(dl_files)" ] || fail "dead-letter files left after the replay: $(dl_files)"
wait_count 14
once big-1
once small-a1
[ "$(wc -l <"$work/topic")" = 14 ] || fail "expected 14 messages after the replay, found $(wc -l <"$work/topic")"
say "the replay delivered the large record once and emptied $dl_dir"

# --- 4: refused by the broker (a delivery report, not librdkafka's own check) ----------
"$clewd" -c "$work/clewd.yaml" --http 127.0.0.1:0 2>"$work/clewd-2.log" &
cpid=$!
pids+=("$cpid")
line small-c1 "before the refusal" >>"$work/a.log"
wait_count 15
echo "reject 87" >&3 # INVALID_RECORD, for the next Produce request
for ((i = 0; i < 100; i++)); do [ "$(grep -c '^ok$' "$work/kafka.out")" -ge 1 ] && break; sleep 0.1; done
line refused-1 "the broker refuses this one" >>"$work/a.log"
for ((i = 0; i < 600; i++)); do [ -n "$(dl_files)" ] && break; sleep 0.1; done
[ "$(dl_files | wc -l)" = 1 ] || fail "the refused record is not in a dead-letter file: $(dl_files)"
line small-c2 "after the refusal" >>"$work/a.log"
wait_count 16
consume
grep -qF '"refused-1"' "$work/topic" && fail "the refused record is in the topic"
once small-c1
once small-c2
port=$(grep -o 'port [0-9]*)' "$work/clewd-2.log" | head -n 1 | tr -dc 0-9)
curl -sf "http://127.0.0.1:$port/metrics" >"$work/metrics" || fail "no /metrics"
grep -qx 'clewd_output_deadletter_records_total{output="kmain",reason="invalid_record"} 1' "$work/metrics" ||
	fail "the dead-letter metric does not say 1: $(grep deadletter "$work/metrics")"
kill -TERM "$cpid"
wait "$cpid" || fail "clewd exited with status $? after SIGTERM"
say "a record the broker refused went to the dead-letter files, the others arrived once"

# --- 5: a stdin job: no dead-letter files, the record is dropped and counted ----------------
{
	line small-d1 "a stdin record"
	line big-2 "$big"
	line small-d2 "a stdin record"
} | "$clewd" -i stdin -o "kafka://$boot/dl?properties.message.max.bytes=2000" 2>"$work/clewd-3.log" ||
	fail "the stdin job exited $?"
grep '"records dropped"' "$work/clewd-3.log" | grep -q '"reason":"permanent:msg_size_too_large"' ||
	fail "the dropped record was not logged"
consume
once small-d1
once small-d2
grep -qF '"big-2"' "$work/topic" && fail "the large record reached the topic"
say "ok"
