#!/usr/bin/env bash
# Runs every streamview test on a fresh machine: set-up (packages, build,
# install), the parser's unit tests, parser fuzzing, pg_regress + pgTAP on a
# private cluster, then the end-to-end TAP tests against the local broker,
# one file at a time (each file's name is printed as it starts). PostgreSQL
# refuses to run as root, so as root the clusters run as the postgres OS
# user.
#
# Everything the tests write (clusters, pg_regress and fuzzing output, TAP's
# TESTDIR, the broker's files, temporary files: TMPDIR points there too) is
# under one work directory, /tmp/streamview-test.XXXXXX, which is removed
# when the run ends, whether the suites passed or failed. When a suite
# failed, its logs are first copied to log/run-all-<date>-<time>/ in this
# checkout (ignored by git), and the last line before the summary says so.
#
# Environment: FUZZ_SECONDS (default 10), PROVE_FLAGS (extra prove options
# for the end-to-end tests, e.g. -v), SV_PG (the PostgreSQL major to test on
# this machine, default 15).
#
#   bash test/run-all.sh --pg 17     the same suites on PostgreSQL 17, in a
#                                    Debian trixie root (18: sid; 15: bookworm)
#                                    that test/root.sh builds on first use and
#                                    reuses afterwards; needs root (or sudo)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--pg" ]; then
	[ -n "${2:-}" ] || { echo "usage: bash test/run-all.sh [--pg MAJOR]" >&2; exit 2; }
	if [ "$(id -u)" -eq 0 ]; then
		exec bash test/root.sh run "$2" bash test/run-all.sh
	fi
	exec sudo FUZZ_SECONDS="${FUZZ_SECONDS:-10}" PROVE_FLAGS="${PROVE_FLAGS:-}" \
		bash test/root.sh run "$2" bash test/run-all.sh
fi
bash test/setup.sh

PG=${SV_PG:-15}
export PATH="/usr/lib/postgresql/$PG/bin:$PATH"
echo "== PostgreSQL $(pg_config --version | sed 's/^PostgreSQL //'), librdkafka" \
	"$(dpkg-query -W -f='${Version} ' 'librdkafka1*' 2>/dev/null || echo '?'), $(. /etc/os-release && echo "$PRETTY_NAME")"
checkout=$(pwd)
top=$checkout
passed=0
failed=0
work=$(mktemp -d /tmp/streamview-test.XXXXXX)

# Keeps the logs of a run in the checkout if a suite failed (or the script
# itself did, other than by Ctrl-C); then removes the work directory.
finish()
{
	local status=$? keep
	if { [ "$failed" -gt 0 ] || { [ "$status" -ne 0 ] && [ "$status" -ne 130 ]; }; } &&
		[ -d "$work" ]; then
		keep="$checkout/log/run-all-$(date +%Y%m%d-%H%M%S)"
		mkdir -p "$keep"
		cp -r "$work/logs/." "$keep/" 2>/dev/null || true
		if [ -d "$work/regress" ]; then
			mkdir -p "$keep/regress"
			cp -r "$work/regress/regression.diffs" "$work/regress/regression.out" \
				"$work/regress/log" "$keep/regress/" 2>/dev/null || true
		fi
		[ -d "$work/tap/tmp_check/log" ] &&
			cp -r "$work/tap/tmp_check/log" "$keep/tap" 2>/dev/null
		# libFuzzer's findings: the inputs that crashed, leaked or hung
		find "$work/fuzz" -maxdepth 1 -type f \
			\( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
			-o -name 'oom-*' -o -name 'slow-unit-*' \) \
			-exec cp {} "$keep/" \; 2>/dev/null || true
		echo "logs of this run kept in $keep"
	fi
	rm -rf "$work"
}
trap finish EXIT
trap 'exit 130' INT TERM

mkdir -p "$work/logs" "$work/tap" "$work/tmp"
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
# pg_regress's socket directory and TAP's short temporary directories go
# to TMPDIR: keep them in the work directory as well.
export TMPDIR="$work/tmp"

# Records the outcome of one suite.
suite() { if [ "$1" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi; }

echo "== unit tests: the parsers, the fetch thread"
rc=0; prove -e '' test/parse_test test/csv_test test/json_test test/fetch_test 2>&1 |
	tee "$work/logs/parse_test.log" || rc=1; suite $rc

echo "== META.json (PGXN meta-spec 1.0.0, and agreement with the tree)"
rc=0; perl test/check-meta.pl 2>&1 | tee "$work/logs/meta.log" || rc=1; suite $rc

echo "== the library's exports (hidden visibility: what PostgreSQL looks up, nothing else)"
rc=0; bash test/check-exports.sh 2>&1 | tee "$work/logs/exports.log" || rc=1; suite $rc

echo "== parser fuzzing (libFuzzer + AddressSanitizer, ${FUZZ_SECONDS:-10} s per fuzzer)"
if make -s fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-10}" FUZZ_DIR="$work/fuzz" \
	>"$work/logs/fuzz.log" 2>&1; then
	grep -E "^(Done|stat::number_of_executed_runs)" "$work/logs/fuzz.log" || true
	suite 0
else
	tail -40 "$work/logs/fuzz.log"
	suite 1
fi

echo "== pg_regress and pgTAP (private cluster)"
pgxs=$(dirname "$(pg_config --pgxs)")/..
as_pg "$pgxs/test/regress/pg_regress" --inputdir="$top" \
	--bindir="$(pg_config --bindir)" \
	--temp-instance="$work/regress-instance" --temp-config="$top/test/regress.conf" \
	--outputdir="$work/regress" --dbname=contrib_regression \
	$(sed -n 's/^REGRESS = //p' "$top/Makefile") && suite 0 || {
	suite 1
	head -200 "$work/regress/regression.diffs" 2>/dev/null
}

if ls test/t/*.pl >/dev/null 2>&1; then
	echo "== end-to-end tests (local broker, private clusters)"
	e2e_start=$SECONDS
	e2e_tests=0
	e2e_failed=()
	for t in test/t/*.pl; do
		name=$(basename "$t" .pl)
		out="$work/logs/$name.log"
		# the name goes out before the file runs, so a long one is seen alive;
		# PostgreSQL 15's harness puts its files under TESTDIR, later ones
		# under TESTDATADIR and TESTLOGDIR (relative to the checkout if unset,
		# where the server cannot find the files the tests COPY)
		printf '== %s ... ' "$t"
		start=$SECONDS
		rc=0
		(cd "$top" && as_pg env TESTDIR="$work/tap" TESTDATADIR="$work/tap/tmp_check" \
			TESTLOGDIR="$work/tap/tmp_check/log" PG_REGRESS=/bin/true \
			SV_TOOLS="$top/test/broker" \
			prove -I "$pgxs/test/perl" -I "$top/test/lib" ${PROVE_FLAGS:-} "$t") \
			>"$out" 2>&1 || rc=$?
		n=$(sed -n 's/^Files=1, Tests=\([0-9]*\),.*/\1/p' "$out")
		e2e_tests=$((e2e_tests + ${n:-0}))
		if [ "$rc" -eq 0 ]; then
			echo "ok (${n:-?} tests, $((SECONDS - start)) s)"
		else
			echo "FAILED ($((SECONDS - start)) s)"
			e2e_failed+=("$t")
		fi
		# a failure shows all prove said; a pass only what goes beyond its
		# one-file summary (diagnostics, PROVE_FLAGS=-v output)
		if [ "$rc" -ne 0 ]; then
			cat "$out"
		else
			grep -v -E -e '^(All tests successful\.|Result: PASS)$' \
				-e '^Files=1, Tests=' -e "^$t \.+ ok\$" "$out" || true
		fi
	done
	nfiles=$(ls test/t/*.pl | wc -l)
	echo "end-to-end: Files=$nfiles, Tests=$e2e_tests, $((SECONDS - e2e_start)) s;" \
		"$((nfiles - ${#e2e_failed[@]})) passed, ${#e2e_failed[@]} failed${e2e_failed[*]:+ (${e2e_failed[*]})}"
	[ "${#e2e_failed[@]}" -eq 0 ] && suite 0 || suite 1
fi

echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
