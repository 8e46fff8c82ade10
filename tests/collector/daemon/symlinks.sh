#!/bin/sh
# A symlink under a tail input's glob is skipped and counted unless follow_symlinks: true (it could
# name any file clewd may read). Usage: symlinks.sh CLEWD
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
echo "real-1|svc|GET|/x|a real log line" >"$tmp/logs/app.log"
echo "secret-1|svc|GET|/x|outside the log directory" >"$tmp/secret.txt"
ln -s "$tmp/secret.txt" "$tmp/logs/evil.log"

# run FOLLOW: clewd with follow_symlinks FOLLOW for 2 s, its records in $tmp/out.json
run() {
	cat >"$tmp/clewd.yaml" <<YAML
state_dir: $tmp/state-$1
inputs:
  - { type: tail, path: "$tmp/logs/*.log", follow_symlinks: $1 }
outputs:
  - { type: stdout, format: json }
YAML
	"$clewd" -c "$tmp/clewd.yaml" >"$tmp/out.json" 2>"$tmp/clewd.log" &
	pid=$!
	sleep 2
	kill -TERM "$pid"
	wait "$pid" || true
	pid=
}

run false
grep -q real-1 "$tmp/out.json" || {
	echo "FAIL: the real file was not read" >&2
	exit 1
}
if grep -q secret-1 "$tmp/out.json"; then
	echo "FAIL: the file behind a symlink was read (follow_symlinks: false)" >&2
	exit 1
fi
grep -q '"tail: symlinks under the glob skipped' "$tmp/clewd.log" || {
	echo "FAIL: the skipped symlink was not logged" >&2
	exit 1
}
run true
grep -q secret-1 "$tmp/out.json" || {
	echo "FAIL: follow_symlinks: true did not read through the symlink" >&2
	exit 1
}
