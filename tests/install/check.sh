#!/usr/bin/env bash
# tests/install/check.sh BUILD_DIR APP_C - `meson install` into a scratch
# DESTDIR, then build APP_C the way a service author would, with
# `cc app.c $(pkg-config --cflags --libs clew)`, shared and static, run
# both, and check the record they log. Also checks the man page and the
# headers landed, and that clewd.service, clewd and its example config fit together.
set -euo pipefail
build=$1 app=$2
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

meson install -C "$build" --destdir "$dest" --no-rebuild --quiet
pc=$(find "$dest" -name clew.pc -print -quit)
[ -n "$pc" ] || { echo "FAIL: no clew.pc installed"; exit 1; }
export PKG_CONFIG_PATH=${pc%/*} PKG_CONFIG_SYSROOT_DIR=$dest
find "$dest" -path '*/include/clew/clew.h' | grep -q . || { echo "FAIL: clew/clew.h not installed"; exit 1; }
find "$dest" -path '*/man3/clew.3*' | grep -q . || { echo "FAIL: clew.3 man page not installed"; exit 1; }

# shellcheck disable=SC2046 # word splitting of pkg-config's output is the point
cc -std=c11 -Wall -Werror -o "$dest/app" "$app" $(pkg-config --cflags --libs clew)
libdir=$(pkg-config --variable=libdir clew)
case "$libdir" in "$dest"/*) ;; *) libdir=$dest$libdir ;; esac # pkg-config may or may not add the sysroot
LD_LIBRARY_PATH=$libdir "$dest/app" >"$dest/out.shared"

# shellcheck disable=SC2046
cc -std=c11 -Wall -Werror -o "$dest/app-static" "$app" $(pkg-config --cflags clew) \
	"$libdir/libclew.a" $(pkg-config --static --libs-only-l clew | sed 's/-lclew//')
"$dest/app-static" >"$dest/out.static"

for f in shared static; do
	line=$(cat "$dest/out.$f")
	case "$line" in
	*" INFO req42|install-check|-|-|msg=built with pkg-config, libclew "*"|status=200")
		echo "ok: $f build logged: $line" ;;
	*)
		echo "FAIL: $f build logged: $line"; exit 1 ;;
	esac
done

# The daemon's parts: the unit points at the installed binary and config, and that config checks.
unit=$(find "$dest" -name clewd.service -print -quit)
[ -n "$unit" ] || { echo "FAIL: clewd.service not installed"; exit 1; }
exe=$(sed -n 's/^ExecStart=\([^ ]*\) -c \([^ ]*\)$/\1/p' "$unit")
conf=$(sed -n 's/^ExecStart=\([^ ]*\) -c \([^ ]*\)$/\2/p' "$unit")
[ -x "$dest$exe" ] || { echo "FAIL: the unit runs $exe, not installed"; exit 1; }
[ -f "$dest$conf" ] || { echo "FAIL: the unit reads $conf, not installed"; exit 1; }
"$dest$exe" -c "$dest$conf" --check-config >/dev/null || { echo "FAIL: the installed clewd.yaml does not check"; exit 1; }
find "$dest" -path '*/man8/clewd.8*' | grep -q . || { echo "FAIL: clewd.8 man page not installed"; exit 1; }
echo "ok: clewd.service runs $exe -c $conf, which checks"

# The unit's hardening: systemd itself verifies it (with its paths moved under DESTDIR), and the
# user it runs as is the one the installed sysusers.d file creates.
if command -v systemd-analyze >/dev/null; then
	vdir=$(mktemp -d)
	sed "s#$exe#$dest$exe#g; s#$conf#$dest$conf#g" "$unit" >"$vdir/clewd.service"
	systemd-analyze verify --man=no "$vdir/clewd.service" >"$vdir/verify.log" 2>&1 ||
		{ cat "$vdir/verify.log"; echo "FAIL: systemd-analyze verify clewd.service"; exit 1; }
	rm -rf "$vdir"
	echo "ok: systemd-analyze verify clewd.service"
fi
user=$(sed -n 's/^User=//p' "$unit")
if [ -z "$user" ] || [ "$user" = root ]; then echo "FAIL: clewd.service runs as root"; exit 1; fi
sysusers=$(find "$dest" -path '*/sysusers.d/clew.conf' -print -quit)
if [ -z "$sysusers" ] || ! grep -q "^u *$user " "$sysusers"; then
	echo "FAIL: no sysusers.d entry creates the unit's user $user"; exit 1
fi
echo "ok: clewd.service runs as $user, created by $sysusers"
