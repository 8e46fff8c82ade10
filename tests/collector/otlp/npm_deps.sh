#!/bin/sh
# tests/collector/otlp/npm_deps.sh CACHE_DIR - install the otlp tests' node
# packages (protobufjs, the independent decoder of the otlp output's
# requests) into CACHE_DIR/node_modules, once: later runs find them there
# and never reach the network. Exit 0 when they are there, 77 (meson's
# "skipped") when npm cannot reach its registry and no cache exists.
set -eu
dir=${1:?usage: npm_deps.sh CACHE_DIR}
# the versions the tests were written against (protobufjs 7: toObject's long/bytes options)
pkgs="protobufjs@7.5.4"
if [ -f "$dir/node_modules/protobufjs/package.json" ]; then
	exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
	echo "npm_deps: npm is not installed (scripts/test installs nodejs and npm)" >&2
	exit 77
fi
mkdir -p "$dir"
[ -f "$dir/package.json" ] || printf '{"name":"clew-otlp-tests","private":true}\n' >"$dir/package.json"
# shellcheck disable=SC2086 # the package list is words
if ! (cd "$dir" && npm install --no-audit --no-fund --silent --cache "$dir/.npm" $pkgs >&2); then
	echo "npm_deps: npm could not install $pkgs (no registry?) and $dir has no cache" >&2
	exit 77
fi
