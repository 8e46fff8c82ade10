#!/bin/sh
# A new file that gets a deleted file's inode is a new file: clewd (tail input) reads it from its
# start, not from the old file's checkpointed offset (file identity = inode + a fingerprint of the
# first bytes). Usage: recycled_inode.sh CLEWD
set -eu
clewd=$1
tmp=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir "$tmp/logs"

# run OUT: clewd tailing logs/*.log, stdout to OUT, until OUT holds $2 lines (or 20 s pass)
run() {
	: >"$1"
	"$clewd" -s "$tmp/state" -i "tail:$tmp/logs/*.log" -o stdout:json >"$1" 2>>"$tmp/clewd.log" &
	pid=$!
	i=0
	while [ "$(wc -l <"$1")" -lt "$2" ] && [ $i -lt 200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	sleep 1.5 # the chunk acknowledged and the checkpoint saved
	kill -TERM "$pid"
	wait "$pid" || true
	pid=
}

i=0
while [ $i -lt 10 ]; do
	echo "old-line-$i|svc|GET|/x|the old file, line $i"
	i=$((i + 1))
done >"$tmp/logs/a.log"
old_ino=$(stat -c %i "$tmp/logs/a.log")
run "$tmp/out1.json" 10
[ "$(grep -c old-line- "$tmp/out1.json")" -eq 10 ] || {
	echo "FAIL: the old file was not read whole" >&2
	exit 1
}

rm "$tmp/logs/a.log"
i=0
while [ $i -lt 30 ]; do
	echo "new-line-$i|svc|GET|/x|the new file, line $i"
	i=$((i + 1))
done >"$tmp/logs/a.log"
if [ "$(stat -c %i "$tmp/logs/a.log")" != "$old_ino" ]; then
	echo "SKIP: this filesystem did not reuse the inode" >&2
	exit 77
fi
run "$tmp/out2.json" 30
got=$(grep -c new-line- "$tmp/out2.json" || true)
if [ "$got" -ne 30 ]; then
	echo "FAIL: $got of the new file's 30 lines read (resumed at the old file's offset?)" >&2
	exit 1
fi
grep -q "recycled inode" "$tmp/clewd.log" || {
	echo "FAIL: no log line for the recycled inode" >&2
	exit 1
}
