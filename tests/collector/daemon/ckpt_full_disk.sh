#!/bin/sh
# A checkpoint that cannot be saved (its disk full) is logged once per interval with a count of
# the failures, not on every turn of the loop. The state directory is a 256 KiB tmpfs filled up
# by the test (needs root and mount; skipped otherwise). Usage: ckpt_full_disk.sh CLEWD
set -eu
clewd=$1
tmp=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	umount "$tmp/state" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir "$tmp/logs" "$tmp/state"
if ! mount -t tmpfs -o size=256k tmpfs "$tmp/state" 2>/dev/null; then
	echo "SKIP: cannot mount a tmpfs here" >&2
	exit 77
fi
echo "t0|svc|GET|/x|first" >"$tmp/logs/a.log"
CLEWD_CHUNK_AGE=50ms "$clewd" -s "$tmp/state" -i "tail:$tmp/logs/*.log" -o null \
	2>"$tmp/clewd.log" &
pid=$!
sleep 1
dd if=/dev/zero of="$tmp/state/fill" bs=4k 2>/dev/null || true # the disk is full now
i=0
while [ $i -lt 40 ]; do # a chunk, hence a save, every 50 ms for 4 s
	echo "t$i|svc|GET|/x|line $i" >>"$tmp/logs/a.log"
	sleep 0.1
	i=$((i + 1))
done
kill -TERM "$pid"
wait "$pid" || true
pid=
n=$(grep -c '"checkpoint: save failed"' "$tmp/clewd.log" || true)
if [ "$n" -lt 1 ] || [ "$n" -gt 2 ]; then
	echo "FAIL: $n log lines for the failing checkpoint saves (want 1 or 2 in 4 s)" >&2
	exit 1
fi
grep '"checkpoint: save failed"' "$tmp/clewd.log" | head -1 | grep -q '"failures":"1"' || {
	echo "FAIL: the log line has no count of the failures" >&2
	exit 1
}
