# shellcheck shell=bash disable=SC2034
# scripts/lib.sh - shared by scripts/test and scripts/demo: logging and
# installing Debian packages that are missing (as root, or with sudo).
# Sourced, not run.

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 2; }

# The build: compiler, meson, and every library the toolkit links; g++ and
# spdlog only for bench_client's baseline (it builds without them, minus that row);
# python3-dev for the Python module (python/; the rest builds without it).
BUILD_PACKAGES="gcc pkg-config meson ninja-build libzstd-dev libmsgpack-dev librdkafka-dev
  libcurl4-openssl-dev libpcre2-dev libjansson-dev check libsubunit-dev libmicrohttpd-dev
  g++ libspdlog-dev zlib1g-dev libyaml-dev libhiredis-dev python3-dev libssl-dev"
# The test run adds: clang + libFuzzer for the fuzz targets, clang-format and shellcheck for the
# style check, chromium for the headless check of tracegrep --html, prometheus for promtool
# (clewd's /metrics is checked with promtool check metrics), redis (the logstash+redis
# output's tests, and real logs for the regex parser tests), a JDK (java runs a source
# file whose stack traces the regex tests read), influxdb (a real InfluxDB 1.x for the
# influxdb output and the dashboards' queries), curl and openssl (a test certificate for
# the output's TLS), jq and kcat (tests/e2e reads every sink back with them); for the
# Python module's suite (tests/python): pytest, Flask under gunicorn and aiohttp (the
# example services), python-json-logger (bench/bench_python.py's baseline), and
# meson-python with patchelf, venv and pip (`pip install --no-build-isolation .`);
# nodejs and npm: the otlp output's tests decode its requests with protobufjs from npm
# (npm is installed by scripts/test only when missing: NodeSource's nodejs has it and conflicts with Debian's).
TEST_PACKAGES="clang libfuzzer-14-dev libclang-rt-14-dev clang-format shellcheck chromium prometheus
  redis-server redis-tools openjdk-17-jdk-headless influxdb curl openssl jq kcat
  python3-pytest python3-flask gunicorn python3-aiohttp python3-pythonjsonlogger
  python3-mesonpy patchelf python3-venv python3-pip nodejs python3-fluent-logger python3-msgpack
  nginx apache2 python3-oslo.log"
TEST_PACKAGES="$TEST_PACKAGES rsyslog bsdutils" # the syslog input's real senders (rsyslogd, logger)

# need_packages PKG... - install those of PKG that are not installed yet.
need_packages() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && { say "packages: all ${#} present"; return 0; }
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	say "installing: ${missing[*]}"
	$sudo apt-get update -qq || die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" \
		|| die "apt-get install failed for: ${missing[*]}"
}

# setup_build DIR [MESON OPTIONS...] - configure DIR, or reconfigure it if it exists.
setup_build() {
	local dir=$1; shift
	if [ -d "$dir/meson-private" ]; then
		meson setup --reconfigure "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; die "meson setup $dir failed"; }
	else
		mkdir -p "$(dirname "$dir")"
		meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; die "meson setup $dir failed"; }
	fi
}
