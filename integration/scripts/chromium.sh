#!/bin/sh
# Installs the headless browser the operator page's tests drive: Debian's
# chromium. Idempotent: does nothing when it is present. Needs root when
# missing.
set -eu
if command -v chromium >/dev/null 2>&1; then
	exit 0
fi
echo "chromium: installing Debian's chromium for the browser tests" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq >&2 || true
apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium >&2
