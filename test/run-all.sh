#!/usr/bin/env bash
# Runs every streamview test on a fresh machine: set-up (packages, build,
# install), the parser's unit tests, pg_regress + pgTAP on a private cluster,
# then the end-to-end TAP tests against the local broker. PostgreSQL refuses
# to run as root, so as root the clusters run as the postgres OS user.
set -euo pipefail
cd "$(dirname "$0")/.."
bash test/setup.sh

export PATH="/usr/lib/postgresql/15/bin:$PATH"
top=$(pwd)
work=/tmp/streamview-test
rm -rf "$work" && mkdir -p "$work"
if [ "$(id -u)" -eq 0 ]; then
	chown postgres: "$work"
	as_pg() { runuser -u postgres -- env PATH="$PATH" "$@"; }
else
	as_pg() { "$@"; }
fi
failed=0

echo "== parser unit tests"
prove -e '' test/parse_test || failed=1

echo "== pg_regress and pgTAP (private cluster)"
pgxs=$(dirname "$(pg_config --pgxs)")/..
as_pg "$pgxs/test/regress/pg_regress" --inputdir="$top" \
	--bindir=/usr/lib/postgresql/15/bin \
	--temp-instance="$work/regress-instance" --temp-config="$top/test/regress.conf" \
	--outputdir="$work/regress" --dbname=contrib_regression \
	$(sed -n 's/^REGRESS = //p' Makefile) || {
	failed=1
	cat "$work/regress/regression.diffs" 2>/dev/null | head -200
}

if ls test/t/*.pl >/dev/null 2>&1; then
	echo "== end-to-end tests (local broker, private clusters)"
	as_pg env TESTDIR="$work/tap" PG_REGRESS=/bin/true SV_TOOLS="$top/test/broker" \
		prove -I "$pgxs/test/perl" -I "$top/test/lib" ${PROVE_FLAGS:-} test/t/*.pl || failed=1
fi

if [ "$failed" -ne 0 ]; then
	echo "streamview: some tests FAILED"
	exit 1
fi
echo "streamview: all tests passed"
