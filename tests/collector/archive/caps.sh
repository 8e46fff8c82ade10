#!/bin/sh
# Content at and past every cap of the chunk/archive path reaches the archive: clewd (stdin ->
# archive) never fails on it, and tracegrep --archive finds each record by its trace ID.
# Caps: a service name's length (CD_ARCH_SERVICE_LEN_MAX, 1024), distinct services in one
# chunk (CD_ARCH_FRAME_SERVICES_MAX, 1024), a trace ID's length (no cap: listed by hash),
# distinct traces in one chunk (CD_CHUNK_RECORDS_MAX, 16384), an attribute's size (up to the
# line cap, 64 KiB). Usage: caps.sh CLEWD TRACEGREP
set -eu
clewd=$1
tracegrep=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

rep() { # rep CHAR N: CHAR repeated N times
	head -c "$2" /dev/zero | tr '\0' "$1"
}

# run NAME: feed $tmp/NAME.in through clewd into $tmp/NAME.arch; clewd must exit 0
run() {
	if ! "$clewd" -s "$tmp/$1.state" -i stdin -o "archive:$tmp/$1.arch" <"$tmp/$1.in" \
		>/dev/null 2>"$tmp/$1.log"; then
		echo "FAIL $1: clewd exited non-zero:" >&2
		tail -3 "$tmp/$1.log" >&2
		fail=1
	fi
}

# found NAME TRACE [TEXT]: tracegrep finds TRACE in NAME's archive (and its output holds TEXT)
found() {
	if ! "$tracegrep" --archive "$tmp/$1.arch" "$2" >"$tmp/out" 2>"$tmp/err"; then
		echo "FAIL $1: trace of $(printf %s "$2" | wc -c) bytes not found" >&2
		fail=1
	elif [ $# -gt 2 ] && ! grep -qF -- "$3" "$tmp/out"; then
		echo "FAIL $1: trace found without its content" >&2
		fail=1
	fi
}

# a service name at the cap, just past it, and at the line cap
at=$(rep a 1024)
past=$(rep b 1025)
huge=$(rep c 60000)
{
	echo "svc-at|$at|GET|/x|m=1|msg at"
	echo "svc-past|$past|GET|/x|m=2|msg past"
	echo "svc-huge|$huge|GET|/x|m=3|msg huge"
} >"$tmp/svclen.in"
run svclen
found svclen svc-at "msg at"
found svclen svc-past "msg past"
found svclen svc-huge "msg huge"

# distinct services in one chunk: at the frame's cap, then past it (one burst = one chunk)
awk 'BEGIN { for (i = 0; i < 1024; i++) printf "many-at-%d|s%d|GET|/x|msg %d\n", i, i, i }' \
	>"$tmp/svcat.in"
run svcat
found svcat many-at-0 "msg 0"
found svcat many-at-1023 "msg 1023"
awk 'BEGIN { for (i = 0; i < 3000; i++) printf "many-%d|s%d|GET|/x|msg %d\n", i, i, i }' \
	>"$tmp/svcpast.in"
run svcpast
found svcpast many-0 "msg 0"
found svcpast many-1024 "msg 1024"
found svcpast many-2999 "msg 2999"

# a trace ID's length: 1024, 1025 and 60,000 bytes
t1=$(rep t 1024)
t2=$(rep u 1025)
t3=$(rep v 60000)
{
	echo "$t1|svc|GET|/x|msg t1"
	echo "$t2|svc|GET|/x|msg t2"
	echo "$t3|svc|GET|/x|msg t3"
} >"$tmp/tracelen.in"
run tracelen
found tracelen "$t1" "msg t1"
found tracelen "$t2" "msg t2"
found tracelen "$t3" "msg t3"

# distinct traces in one chunk: the chunk's record cap and one past it
awk 'BEGIN { for (i = 0; i < 16385; i++) printf "tr-%d|svc|GET|/x|msg %d\n", i, i }' \
	>"$tmp/traces.in"
run traces
found traces tr-0 "msg 0"
found traces tr-16383 "msg 16383"
found traces tr-16384 "msg 16384"

# an attribute's size: 1024, 1025 and 60,000 bytes of value
{
	echo "attr-1|svc|GET|/x|k=$(rep x 1024)|msg a1"
	echo "attr-2|svc|GET|/x|k=$(rep y 1025)|msg a2"
	echo "attr-3|svc|GET|/x|k=$(rep z 60000)|msg a3"
} >"$tmp/attr.in"
run attr
found attr attr-1 "msg a1"
found attr attr-2 "msg a2"
found attr attr-3 "$(rep z 60000)"

exit $fail
