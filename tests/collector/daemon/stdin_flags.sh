#!/bin/sh
# clewd makes stdin non-blocking to poll it; the flag belongs to the open file it shares with
# whoever started it (a shell, a pipeline), so it is put back at exit. Usage: stdin_flags.sh CLEWD
set -eu
clewd=$1
[ -r /proc/self/fdinfo/0 ] || {
	echo "SKIP: no /proc/self/fdinfo" >&2
	exit 77
}
# fdinfo's flags are octal; O_NONBLOCK is 04000
flags=$( (
	sleep 0.3
	echo "t1|svc|GET|/x|a line"
) | (
	"$clewd" -i stdin -o null >/dev/null 2>&1
	sed -n 's/^flags:[[:space:]]*//p' /proc/self/fdinfo/0
))
if [ $((0$flags & 04000)) -ne 0 ]; then
	echo "FAIL: stdin left non-blocking (flags $flags)" >&2
	exit 1
fi
