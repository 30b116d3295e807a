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
work=$(mktemp -d /tmp/streamview-test.XXXXXX)
trap '[ "${failed:-1}" -eq 0 ] && rm -rf "$work"' EXIT
mkdir -p "$work/tap"
chmod 755 "$work"
if [ "$(id -u)" -eq 0 ]; then
	# The clusters run as postgres, which may not read this checkout (say,
	# under /root): they get a copy of what the tests read.
	mkdir -p "$work/tree"
	cp -r Makefile sql expected test "$work/tree/"
	top="$work/tree"
	chown -R postgres: "$work"
	as_pg() { runuser -u postgres -- env PATH="$PATH" "$@"; }
else
	as_pg() { "$@"; }
fi
passed=0
failed=0
# Records the outcome of one suite.
suite() { if [ "$1" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi; }

echo "== parser unit tests"
rc=0; prove -e '' test/parse_test || rc=1; suite $rc

echo "== parser fuzzing (libFuzzer + AddressSanitizer, ${FUZZ_SECONDS:-10} s)"
if make -s fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-10}" >"$work/fuzz.log" 2>&1; then
	grep -E "^(Done|stat::number_of_executed_runs)" "$work/fuzz.log" || true
	suite 0
else
	tail -40 "$work/fuzz.log"
	suite 1
fi

echo "== pg_regress and pgTAP (private cluster)"
pgxs=$(dirname "$(pg_config --pgxs)")/..
as_pg "$pgxs/test/regress/pg_regress" --inputdir="$top" \
	--bindir=/usr/lib/postgresql/15/bin \
	--temp-instance="$work/regress-instance" --temp-config="$top/test/regress.conf" \
	--outputdir="$work/regress" --dbname=contrib_regression \
	$(sed -n 's/^REGRESS = //p' "$top/Makefile") && suite 0 || {
	suite 1
	head -200 "$work/regress/regression.diffs" 2>/dev/null
}

if ls test/t/*.pl >/dev/null 2>&1; then
	echo "== end-to-end tests (local broker, private clusters)"
	(cd "$top" && as_pg env TESTDIR="$work/tap" PG_REGRESS=/bin/true SV_TOOLS="$top/test/broker" \
		prove -I "$pgxs/test/perl" -I "$top/test/lib" ${PROVE_FLAGS:-} test/t/*.pl) && suite 0 || suite 1
fi

echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
