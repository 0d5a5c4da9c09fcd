#!/bin/sh
# Installs the SIP user agents the integration tests drive as real phones:
# baresip (soft phone) and sip-tester (SIPp, exact RFC 4733 DTMF timings).
# Idempotent: does nothing when both are present. Needs root when missing.
set -eu
if command -v baresip >/dev/null 2>&1 && command -v sipp >/dev/null 2>&1; then
	exit 0
fi
echo "sip-phones: installing baresip and sip-tester" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq >&2 || true
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends baresip-core sip-tester >&2 ||
	apt-get -o DPkg::Lock::Timeout=600 install -y -qq baresip sip-tester >&2
