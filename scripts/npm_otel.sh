#!/bin/sh
# npm_otel.sh CACHE - install the OpenTelemetry JS SDK packages the OTLP tests
# use (tests/otlp/sdk/) into CACHE/node_modules, once: a cache that already
# holds them is left alone, so the tests run offline afterwards.
# Exit 0 when the packages are there, 1 when npm could not fetch them (npm: see
# TEST_PACKAGES in scripts/lib.sh; scripts/test installs it when missing).
set -eu
cache=${1:?usage: npm_otel.sh CACHE}
pkgs="@opentelemetry/api @opentelemetry/api-logs @opentelemetry/resources @opentelemetry/sdk-trace-base
@opentelemetry/exporter-trace-otlp-http @opentelemetry/exporter-trace-otlp-proto @opentelemetry/sdk-logs
@opentelemetry/exporter-logs-otlp-http"
if [ -f "$cache/node_modules/@opentelemetry/exporter-logs-otlp-http/package.json" ] &&
	[ -f "$cache/node_modules/@opentelemetry/exporter-trace-otlp-proto/package.json" ]; then
	exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "npm_otel.sh: npm is not installed" >&2; exit 1; }
mkdir -p "$cache"
# shellcheck disable=SC2086 # the package list is split on purpose
timeout 600 npm install --prefix "$cache" --no-audit --no-fund --loglevel=error $pkgs >&2
