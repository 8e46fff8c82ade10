#!/bin/sh
# clewd --oneshot reads every file of a tail glob to its end, delivers it to the archive and exits 0;
# a second run delivers nothing new, a third only what was appended. The summary line clewd logs on
# exit counts what was read and delivered (oneshot, stdin at EOF, SIGTERM); --oneshot exits non-zero
# when an output did not take everything.
# Usage: oneshot_summary.sh CLEWD ARCHIVE_DUMP
set -eu
clewd=$1
dump=$2
tmp=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	[ -f "$tmp/clewd.log" ] && tail -5 "$tmp/clewd.log" >&2
	exit 1
}
# summary FIELD: the value of FIELD in the last summary line of $tmp/clewd.log
summary() {
	grep '"message":"summary"' "$tmp/clewd.log" | tail -1 | sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p"
}
# oneshot: clewd --oneshot over the logs into the archive and stdout; its status must be 0
oneshot() {
	"$clewd" --oneshot -s "$tmp/state" -i "tail:$tmp/logs/*.log" -o "archive:$tmp/archive" -o stdout:pipe \
		>"$tmp/out.txt" 2>"$tmp/clewd.log" || fail "--oneshot exited with status $?"
}

mkdir "$tmp/logs"
for f in 1 2 3 4 5; do
	seq -f "file$f-%g|svc|GET|/x|old line" 1 100 >"$tmp/logs/app-$f.log"
done
printf 'file6-1|svc|GET|/x|no newline at the end' >"$tmp/logs/app-6.log"

oneshot
[ "$(wc -l <"$tmp/out.txt")" -eq 501 ] || fail "$(wc -l <"$tmp/out.txt") records on stdout, 501 expected"
"$dump" "$tmp/archive" >"$tmp/archive.jsonl"
[ "$(wc -l <"$tmp/archive.jsonl")" -eq 501 ] || fail "$(wc -l <"$tmp/archive.jsonl") records in the archive"
grep -q 'file6-1' "$tmp/archive.jsonl" || fail "the last line without a newline is not in the archive"
grep -q 'file3-77' "$tmp/archive.jsonl" || fail "file3-77 is not in the archive"
[ "$(summary records_in)" = "tail#1=501" ] || fail "summary records_in: $(summary records_in)"
[ "$(summary delivered)" = "archive#1=501,stdout#2=501" ] || fail "summary delivered: $(summary delivered)"
[ "$(summary unparsed)" = 0 ] || fail "summary unparsed: $(summary unparsed)"
[ "$(summary dropped)" = 0 ] || fail "summary dropped: $(summary dropped)"
[ -n "$(summary cpu_s)" ] || fail "no cpu_s in the summary"
[ -n "$(summary wall_s)" ] || fail "no wall_s in the summary"

# nothing new: nothing delivered
oneshot
[ ! -s "$tmp/out.txt" ] || fail "a second --oneshot delivered $(wc -l <"$tmp/out.txt") records again"
[ "$(summary records_in)" = "tail#1=0" ] || fail "second run's summary records_in: $(summary records_in)"

# appended since: only that
echo "file2-101|svc|GET|/x|new line" >>"$tmp/logs/app-2.log"
echo "file7-1|svc|GET|/x|a new file" >"$tmp/logs/app-7.log"
oneshot
[ "$(wc -l <"$tmp/out.txt")" -eq 2 ] || fail "third run delivered $(wc -l <"$tmp/out.txt") records, 2 expected"
[ "$(summary delivered)" = "archive#1=2,stdout#2=2" ] || fail "third run's summary: $(summary delivered)"

# an output that cannot take the records (/dev/full: ENOSPC, retried): they go to its spool at the
# drain timeout, and --oneshot says so with its exit status
if CLEWD_DRAIN_TIMEOUT=1s "$clewd" --oneshot -s "$tmp/state-full" -i "tail:$tmp/logs/*.log" \
	-o file:/dev/full >/dev/null 2>"$tmp/clewd.log"; then
	fail "--oneshot exited 0 though nothing was delivered"
fi
[ "$(summary delivered)" = "file#1=0" ] || fail "full output's summary delivered: $(summary delivered)"
[ "$(summary spooled_chunks)" != 0 ] || fail "full output's summary: nothing spooled"

# --oneshot refuses an input that never ends
if "$clewd" --oneshot -i tcp://127.0.0.1:0 -o stdout >/dev/null 2>"$tmp/clewd.log"; then
	fail "--oneshot accepted a tcp input"
fi

# stdin at EOF: the summary counts every line, one of them unparsed
{
	seq -f "in-%g|svc|GET|/x|line" 1 250
	echo "not a record at all"
} | "$clewd" -i stdin -p pipe --no-multiline -o stdout:pipe >"$tmp/out.txt" 2>"$tmp/clewd.log" || fail "stdin run failed"
[ "$(summary records_in)" = "stdin#1=251" ] || fail "stdin summary records_in: $(summary records_in)"
[ "$(summary delivered)" = "stdout#1=251" ] || fail "stdin summary delivered: $(summary delivered)"
[ "$(summary unparsed)" = 1 ] || fail "stdin summary unparsed: $(summary unparsed)"

# SIGTERM: the summary of a daemon that was following files (app-6's line without a newline waits)
"$clewd" -s "$tmp/state2" -i "tail:$tmp/logs/*.log" -o stdout:pipe >"$tmp/out.txt" 2>"$tmp/clewd.log" &
pid=$!
n=0
while [ "$(wc -l <"$tmp/out.txt")" -lt 502 ]; do
	n=$((n + 1))
	[ "$n" -le 1200 ] || fail "the daemon delivered $(wc -l <"$tmp/out.txt") records, 502 expected"
	sleep 0.1
done
kill -TERM "$pid"
wait "$pid" || fail "clewd exited with status $? on SIGTERM"
pid=
[ "$(summary records_in)" = "tail#1=502" ] || fail "SIGTERM summary records_in: $(summary records_in)"
[ "$(summary delivered)" = "stdout#1=502" ] || fail "SIGTERM summary delivered: $(summary delivered)"
echo "ok"
