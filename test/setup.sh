#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for streamview: installs the Debian
# packages that are missing, builds the extension and the test tools, and
# installs the extension. Idempotent; works as root or as a user with sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES="postgresql-15 postgresql-server-dev-15 librdkafka-dev postgresql-15-pgtap
 libtap-parser-sourcehandler-pgtap-perl libipc-run-perl kcat build-essential clang
 libclang-rt-14-dev postgresql-15-hll"

if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "setup: installing$missing"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

# Debian's postgresql package creates a default cluster; streamview's tests
# and demo use private clusters, so the default one is left alone.
export PATH="/usr/lib/postgresql/15/bin:$PATH"
make -s
$SUDO make -s install
make -s tools
