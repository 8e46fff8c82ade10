#!/bin/sh
# Every directory and file clewd creates by path (the state directory and its parents, the spool
# directories, a file output, the archive directory) is followed by an fsync of its parent
# directory, so that its name survives a power loss. Checked on the system calls (strace).
# Usage: dir_fsync.sh CLEWD
set -eu
clewd=$1
command -v strace >/dev/null 2>&1 || {
	echo "SKIP: no strace" >&2
	exit 77
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
strace -o /dev/null true 2>/dev/null || {
	echo "SKIP: strace cannot trace here" >&2
	exit 77
}
mkdir "$tmp/logs"
echo "t1|svc|GET|/x|a line" >"$tmp/logs/a.log"
# timeout stops clewd (SIGTERM) after 3 s; strace follows it and its threads
strace -f -o "$tmp/trace" -e trace=mkdir,openat,fsync timeout -s TERM 3 \
	"$clewd" -s "$tmp/state/deep" -i "tail:$tmp/logs/*.log" -o "file:$tmp/out.log" \
	-o "archive:$tmp/arch" 2>"$tmp/clewd.log" || true

awk '
function parent(p) { sub(/\/+[^\/]*$/, "", p); return p == "" ? "/" : p }
/ mkdir\("/ && / = 0$/ { split($0, q, "\""); pending[parent(q[2])] = q[2]; next }
/ openat\(AT_FDCWD, "/ && /O_CREAT/ && /O_EXCL/ && !/= -1/ { split($0, q, "\""); pending[parent(q[2])] = q[2]; next }
/ openat\(AT_FDCWD, "/ && /O_DIRECTORY/ && !/= -1/ { split($0, q, "\""); n = split($0, w, " = "); dirfd[w[n] + 0] = q[2]; next }
/ fsync\(/ && / = 0$/ { fd = $0; sub(/.*fsync\(/, "", fd); sub(/\).*/, "", fd); if ((fd + 0) in dirfd) delete pending[dirfd[fd + 0]]; next }
END {
	bad = 0
	for (d in pending) { print "FAIL: " pending[d] " created, its directory " d " not fsynced" > "/dev/stderr"; bad = 1 }
	exit bad
}' "$tmp/trace"
grep -q 'mkdir(".*/state/deep", 0750) = 0' "$tmp/trace" || {
	echo "FAIL: the state directory was not created (is the trace empty?)" >&2
	exit 1
}
