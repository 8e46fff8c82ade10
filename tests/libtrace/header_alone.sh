#!/bin/sh
# header_alone.sh CC CXX INCDIR HEADER... - each public header compiles on
# its own, as strict C11 and as C++, with every warning an error.
set -eu
cc=$1 cxx=$2 inc=$3
shift 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
for h in "$@"; do
	printf '#include <%s>\nint main(void) { return 0; }\n' "$h" >"$tmp/t.c"
	"$cc" -std=c11 -pedantic -Wall -Wextra -Werror -I"$inc" -c "$tmp/t.c" -o "$tmp/t.o"
	"$cc" -std=c99 -pedantic -Wall -Wextra -Werror -I"$inc" -c "$tmp/t.c" -o "$tmp/t.o"
	printf '#include <%s>\nint main() { return 0; }\n' "$h" >"$tmp/t.cpp"
	"$cxx" -std=c++11 -pedantic -Wall -Wextra -Werror -I"$inc" -c "$tmp/t.cpp" -o "$tmp/t.o"
	n=$((n + 1))
done
echo "$n headers compile alone as C11, C99 and C++11"
