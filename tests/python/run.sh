#!/bin/sh
# run.sh SANITIZE PYTHON TESTDIR [PYTEST ARGS...] - the Python module's pytest suite
# as one meson test. Exit 0 when every test passed; pytest's failures (1),
# errors (2, 3, 4) and "no tests collected" (5) all fail the meson test, so a
# suite that stops being collected is not a pass. In a sanitizer build the
# suite is skipped (77) with the reason: see python/meson.build.
set -u
sanitize=$1 python=$2 dir=$3
shift 3
if [ "$sanitize" != none ]; then
	echo "skipped: the extension is built with -fsanitize=$sanitize; loading it into Debian's"
	echo "unsanitized /usr/bin/python3 needs libasan preloaded into the interpreter, whose own"
	echo "allocations and leaks ASan then reports. The suite runs in the release build."
	exit 77
fi
PYTHONDONTWRITEBYTECODE=1 "$python" -m pytest -p no:cacheprovider -q -rfE "$dir" "$@"
rc=$?
[ "$rc" -eq 5 ] && echo "pytest collected no tests: that is a failure" >&2
[ "$rc" -eq 77 ] && rc=1 # never a skip by accident
exit "$rc"
