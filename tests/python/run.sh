#!/bin/sh
# run.sh SANITIZE PRELOAD PYTHON TESTDIR [PYTEST ARGS...] - the Python module's
# pytest suite as one meson test. Exit 0 when every test passed; pytest's
# failures (1), errors (2, 3, 4) and "no tests collected" (5) all fail the
# meson test, so a suite that stops being collected is not a pass.
# In a sanitizer build (SANITIZE is not "none") the extension is built with
# the sanitizers but Debian's python is not: PRELOAD names the compiler's
# shared sanitizer runtimes, preloaded into the interpreter (and so into every
# process the tests start). Leak detection is off there: CPython keeps its
# interned objects to the end and ASan would report them all; the C suites
# check libclew's leaks. Without PRELOAD (not gcc) the suite is skipped (77).
set -u
sanitize=$1 preload=$2 python=$3 dir=$4
shift 4
if [ "$sanitize" != none ]; then
	if [ -z "$preload" ]; then
		echo "skipped: -fsanitize=$sanitize with a compiler whose shared sanitizer runtimes"
		echo "run.sh does not know; the suite runs in gcc builds (release or sanitize)."
		exit 77
	fi
	LD_PRELOAD=$preload
	# last wins: scripts/test exports detect_leaks=1 for the C suites
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}
	export LD_PRELOAD ASAN_OPTIONS UBSAN_OPTIONS
fi
PYTHONDONTWRITEBYTECODE=1 "$python" -m pytest -p no:cacheprovider -q -rfE "$dir" "$@"
rc=$?
[ "$rc" -eq 5 ] && echo "pytest collected no tests: that is a failure" >&2
[ "$rc" -eq 77 ] && rc=1 # never a skip by accident
exit "$rc"
