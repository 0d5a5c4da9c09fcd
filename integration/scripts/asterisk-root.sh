#!/bin/sh
# Builds the Debian sid chroot that holds Asterisk 22 for tests and `make run`.
# Idempotent: does nothing when the root is already complete. Safe to run
# twice at once: a lock serialises builders, and the root is built in a
# temporary directory and renamed into place only when complete.
set -eu
ROOT="${ASTERISK_ROOT:-/var/cache/transferd/asterisk-root}"
MIRROR="${DEBIAN_MIRROR:-}"
if [ -x "$ROOT/usr/sbin/asterisk" ] && [ -f "$ROOT/.transferd-complete" ]; then
	exit 0
fi
mkdir -p "$(dirname "$ROOT")"
exec 9>"$ROOT.lock"
flock 9
if [ -x "$ROOT/usr/sbin/asterisk" ] && [ -f "$ROOT/.transferd-complete" ]; then
	exit 0
fi
if ! command -v debootstrap >/dev/null 2>&1; then
	echo "asterisk-root: installing debootstrap" >&2
	apt-get update -qq >&2 || true
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
fi
TMP="$ROOT.tmp"
rm -rf "$TMP"
echo "asterisk-root: debootstrap sid into $TMP (about a minute)" >&2
if [ -n "$MIRROR" ]; then
	debootstrap --variant=minbase sid "$TMP" "$MIRROR" >&2
else
	debootstrap --variant=minbase sid "$TMP" >&2
fi
echo "asterisk-root: installing asterisk" >&2
chroot "$TMP" /usr/bin/apt-get -o Acquire::Check-Valid-Until=false update -qq >&2
chroot "$TMP" /usr/bin/env DEBIAN_FRONTEND=noninteractive /usr/bin/apt-get install -y -qq --no-install-recommends \
	asterisk asterisk-modules asterisk-core-sounds-en-gsm asterisk-moh-opsound-gsm >&2
chroot "$TMP" /usr/bin/apt-get clean >&2 || true
touch "$TMP/.transferd-complete"
rm -rf "$ROOT"
mv "$TMP" "$ROOT"
echo "asterisk-root: ready at $ROOT" >&2
