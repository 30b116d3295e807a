#!/usr/bin/env bash
# The test across PostgreSQL majors (issue 12): dumps a database with
# running streams on this machine's PostgreSQL (15) and restores it into the
# newer major's cluster in its Debian root (test/root.sh), where the streams
# must go on exactly (test/cross/dump_restore.pl says how).
#
#   bash test/cross-major.sh [MAJOR]     MAJOR: 17 (default) or 18
#
# Sets up both sides first: this machine's packages, build and install
# (test/setup.sh), and the same in the root. SV_SKIP_SETUP=1 skips this
# machine's part, for a run right after test/run-all.sh, which did it.
# Runs as root (chroot, mount); the clusters run as each side's postgres
# user. The work directory is removed at the end; a failure's server logs
# are printed first.
set -euo pipefail
cd "$(dirname "$0")/.."
major=${1:-17}
[ "$(id -u)" -eq 0 ] || { echo "cross-major.sh: needs root (chroot, mount)" >&2; exit 1; }
[ -n "${SV_SKIP_SETUP:-}" ] || bash test/setup.sh
export PATH="/usr/lib/postgresql/${SV_PG:-15}/bin:$PATH"
bash test/root.sh run "$major" bash test/setup.sh >/dev/null
root=$(bash test/root.sh path "$major")

work=$(mktemp -d /tmp/streamview-cross.XXXXXX)
rc=0
# Stops whatever server a failed run left behind, prints its log, unmounts
# the root and removes the work directory.
finish()
{
	local d
	for d in "$work/old" "$root/build/cross/new"; do
		if [ -f "$d/postmaster.pid" ]; then
			kill -QUIT "$(head -1 "$d/postmaster.pid")" 2>/dev/null || true
		fi
		if [ "$rc" -ne 0 ] && [ -f "$d/server.log" ]; then
			echo "== $d/server.log (last 40 lines)"
			tail -40 "$d/server.log"
		fi
	done
	sleep 1
	bash test/root.sh umount "$major"
	rm -rf "$work" "$root/build/cross"
}
trap finish EXIT

chmod 755 "$work"
mkdir -p "$work/tap"
chown -R postgres: "$work"
rm -rf "$root/build/cross"
mkdir -p "$root/build/cross"
chroot "$root" chown postgres: /build/cross
bash test/root.sh mount "$major"

pgxs=$(dirname "$(pg_config --pgxs)")/..
env TESTDIR="$work/tap" TESTDATADIR="$work/tap/tmp_check" TESTLOGDIR="$work/tap/tmp_check/log" \
	PG_REGRESS=/bin/true SV_TOOLS=test/broker SV_ROOT="$root" SV_ROOT_PG="$major" SV_WORK="$work" \
	prove -I "$pgxs/test/perl" -I test/lib ${PROVE_FLAGS:-} test/cross/dump_restore.pl || rc=$?
exit $rc
