#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for streamview: installs the Debian
# packages that are missing, builds the extension and the test tools, and
# installs the extension. Idempotent; works as root or as a user with sudo.
#
# SV_PG names the PostgreSQL major to set up (default 15, Debian 12's); the
# Debian roots of test/root.sh set it to their release's (17 in trixie, 18 in
# sid), where the same packages exist under that major's names.
set -euo pipefail
cd "$(dirname "$0")/.."

PG=${SV_PG:-15}
PACKAGES="postgresql-$PG postgresql-server-dev-$PG librdkafka-dev postgresql-$PG-pgtap
 libtap-parser-sourcehandler-pgtap-perl libipc-run-perl kcat build-essential clang
 postgresql-$PG-hll"

if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi

updated=""
# Installs those of the packages "$@" that are not installed yet.
install_missing()
{
	local p missing=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
	done
	[ -n "$missing" ] || return 0
	echo "setup: installing$missing"
	[ -n "$updated" ] || { $SUDO apt-get update -qq; updated=1; }
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
}
install_missing $PACKAGES
# libFuzzer's runtime, for the release's default clang (14 in Debian 12)
install_missing "libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev"

# Debian's postgresql package creates a default cluster; streamview's tests
# and demo use private clusters, so the default one is left alone.
export PATH="/usr/lib/postgresql/$PG/bin:$PATH"
make -s
$SUDO make -s install
make -s tools
