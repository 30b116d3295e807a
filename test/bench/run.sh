#!/usr/bin/env bash
# streamview benchmark (issue 5): one command, one table to compare across commits.
#
#   bash test/bench/run.sh [N]         N rides, default 1000000
#   SV_BENCH_SCALING=0 bash test/bench/run.sh    skip the N/2N/4N drains
#   SV_BENCH_KEEP=1                    keep the work directory (logs, data)
#   SV_BENCH_STREAM_OPTIONS='{"k": "v"}'  librdkafka options for every stream
#                                      (default none; the table then says so)
#   SV_BENCH_LIBDIR=DIR                load DIR/streamview.so instead of the installed
#                                      one (a build not installed; the installed SQL
#                                      script is used, so it must match)
#   SV_BENCH_RUNS=7                    rounds of floor + streamview drain (medians)
#   SV_BENCH_PGCONF='name = value'    more postgresql.conf lines (experiments)
#   SV_BENCH_MANYKEYS_ONLY=1           only the many-key rows (4 and 4b below; with
#                                      a small N for quick runs while developing)
#   SV_BENCH_FEWKEYS_ONLY=1            everything but the many-key rows
#   SV_BENCH_PERF=1                    perf record the worker during each drain;
#                                      profiles (flat and inclusive) written to
#                                      test/bench/perf-STREAM.txt
#   SV_BENCH_OUT=FILE                  also write the table to FILE, and the
#                                      progress to FILE minus .txt plus .progress.txt
#   SV_PG=18                           the PostgreSQL major whose binaries
#                                      (/usr/lib/postgresql/MAJOR/bin) run the
#                                      cluster; default 15, as test/setup.sh
#
#   bash test/bench/run.sh --pg 18 [N]  the same on PostgreSQL 18 (17: trixie,
#                                      librdkafka 2.8; 18: sid, librdkafka 2.14;
#                                      15: bookworm) in a Debian root of
#                                      test/root.sh (needs root or sudo). Runs
#                                        bash test/root.sh run 18 env SV_BENCH_...=..
#                                          bash -c 'bash test/setup.sh >&2 &&
#                                                   bash test/bench/run.sh [N]'
#                                      i.e. in a fresh copy of this checkout
#                                      there: installs the packages (setup.sh
#                                      has all the bench needs), builds and
#                                      installs the extension and the tools,
#                                      then runs this script with the caller's
#                                      SV_BENCH_* settings. The table is printed
#                                      and kept in log/root-18/bench-pg18-DATE.txt
#                                      (with .progress.txt) of this checkout;
#                                      test/bench/results-latest.txt is not
#                                      touched. E.g. the many-key rows on 18:
#                                        SV_BENCH_MANYKEYS_ONLY=1 bash test/bench/run.sh --pg 18
#
# Progress goes to stderr; the table to stdout and to test/bench/results-latest.txt.
# Works as root (PostgreSQL then runs as the postgres OS user) or as any user
# who can run /usr/lib/postgresql/$SV_PG/bin/*. Needs the extension installed
# (make && make install), kcat, gcc and librdkafka-dev (test/setup.sh installs
# them); builds the broker and producer (make tools) if they are missing.
#
# What it does, on the local mock broker (test/broker/sv_broker) and one
# throwaway cluster:
#  1. produces N zoomcamp rides (sv_produce, seed 1) to topic "rides" and N
#     rides with --keys 100000 (payment_type has 100k values) to "hc", over
#     P partitions (64, more if N would overflow the mock's ~5 MB/partition),
#     in big produce batches (BULK below says why).
#  2. FLOOR: test/bench/sv_floor.c, a plain librdkafka consumer (defaults,
#     all partitions assigned at offset 0, rd_kafka_consume_batch_queue),
#     counts messages until N; median of RUNS (7) runs (leaving out runs
#     below half of the best: librdkafka 2.0.2's defaults stall a second
#     after a full queue now and then; one run before them warms up and
#     is not counted), each run just before
#     a streamview drain of 3 (interleaved: same broker state). "whole" includes its
#     start-up; "steady" is from 10% to 100% of N read.
#  3. STREAMVIEW: cluster with shared_preload_libraries=streamview,
#     streamview.database=postgres, shared_buffers=256MB, max_wal_size=4GB,
#     checkpoint_timeout=30min; fsync and synchronous_commit at their
#     defaults (on); every streamview.* setting at its default. The zoomcamp
#     stream and a 10-minute/5-minute sliding count per vendor_id, RUNS
#     times (new streams on the topic, one after the other; the row is the
#     median by steady rate, every run's counts are checked). A PL/pgSQL
#     procedure in the server calls start(), commits, then polls
#     sum(next_offset) and max(committed_at) of streamview.offsets every 10 ms,
#     so each observation is an exact (commit time, messages committed) pair:
#     whole = start() to the commit that completed N; steady = (N - committed
#     at the first observation >= 10%) / (time from that commit to the last).
#     Counts are then compared window by window with counts
#     computed independently in SQL from what the producer delivered
#     (StreamviewTest.pm's expected_counts): OK or MISMATCH.
#     "1st/stall ms": from start() to the first commit that moved the
#     offsets, and the longest time between two such commits (as observed).
#     The worker's peak memory: VmHWM of its /proc/PID/status at the end of
#     the drain (includes shared buffers it touched), and the peak of RssAnon
#     (private memory) sampled every 50 ms.
#     The formats' streams (JSON, CSV, CSV with a note) are drained in each
#     round beside the delimited one, in the order delimited, JSON, CSV,
#     CSV with a note in odd rounds and the reverse in even ones; their
#     ratios are of medians, each to the delimited stream's.
#     If create_stream has a parallelism argument, the same with
#     parallelism => 2 (a second stream on the same topic).
#  4. MANY KEYS (issue 13): (a) the same on topic "hc" with a view grouped by
#     payment_type (100k keys, ~1.6N window rows); (d) the write limit: (a)'s
#     rows, read from its results table after the drain in md5 order of the
#     row (an order unrelated to the key), COPYed into an empty table LIKE it
#     (INCLUDING ALL: same shape and primary key), timed; (c) the baseline of
#     5 below for (a)'s view; (b) 2N rides with N payment types on topic
#     "hk", a tumbling 1-minute count per payment_type (~2N window rows).
#     Counts checked as in 3; rows/s = window rows / drain (or COPY) time.
#     Ratios: (a) time / (d) time, (a) msg/s / (c) msg/s, (b) rows/s / (a)
#     rows/s, and the worker's peak memory in (a) and (b).
#  5. BASELINE, the plain-PostgreSQL way: kcat -C -o beginning -e over all
#     partitions piped into COPY base_raw FROM STDIN (FORMAT csv) (a typed,
#     logged table), then one INSERT INTO base_counts SELECT ... date_bin ...
#     GROUP BY ... ON CONFLICT DO UPDATE SET count = count + excluded.count,
#     base_counts being LIKE the streamview results table. Timed end to end
#     (process start of kcat to INSERT committed); counts checked as above.
#  6. FRESHNESS (also with 100k keys: topic "freshhc", a view per
#     payment_type, --keys 100000): streamview.batch_max_ms = 100 (ALTER SYSTEM + reload); an
#     empty topic "fresh", its stream started and running; then sv_produce
#     --rate 20000 for 10 s. Meanwhile a procedure polls the per-partition
#     committed offsets every 5 ms and keeps (clock_timestamp(), offsets[])
#     whenever they change. Counts and offsets commit in one transaction,
#     so a message's count is visible exactly when its partition's committed
#     next_offset passes it. Afterwards kcat reads every message's partition,
#     offset and CreateTime (%p %o %T, set by the producer at produce() time,
#     ms, same machine clock); a message (p, o) became visible at the first
#     observation whose offsets[p] > o, and latency = that time - CreateTime.
#     Reported: p50, p99, max. The poll makes it an upper bound by at most
#     one poll interval (~5 ms plus the query). Before that, the same produce
#     run into topic "fresh0" read by sv_floor --latency (age of each message
#     when a plain consumer gets it): the part of the latency that is the
#     producer, the broker and the machine, not streamview.
#  7. SCALING (unless SV_BENCH_SCALING=0): N, 2N and 4N rides on topics of
#     the same partition count (enough for 4N; the row says how many); per
#     size three rounds of a floor run and a drain of a new stream as in 3
#     (sum(count) = 2 x messages checked), medians by whole-drain rate:
#     drain time and rate; rate(4N) / rate(N). The floor on each topic shows
#     the broker's share: compare streamview/floor across sizes as well.
#  8. SHARED MEMORY per window slot: the cluster restarted with
#     streamview.max_windows = 100000 and 200000; the difference of the
#     total shared memory (sum(allocated_size) of pg_shmem_allocations,
#     free space included, i.e. the segment PostgreSQL reserved) divided
#     by 100000. Also the difference of the allocations named streamview*
#     (the hash's elements are allocated without a name, so that one is low).
set -euo pipefail

# --pg MAJOR [N]: the same in test/root.sh's Debian root for MAJOR (see above)
if [ "${1:-}" = "--pg" ]; then
	[[ ${2:-} =~ ^[0-9]+$ ]] || { echo "usage: bash test/bench/run.sh [--pg MAJOR] [N]" >&2; exit 2; }
	major=$2
	shift 2
	cd "$(dirname "$0")/../.."
	# root.sh runs its command with a clean environment: the SV_BENCH_*
	# settings go in by env, and so does the commit (the copy has no .git)
	benv=()
	for v in $(compgen -v SV_BENCH_); do
		[ "$v" = SV_BENCH_OUT ] || benv+=("$v=${!v}")
	done
	commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
	[ -z "$(git status --porcelain -- src sql 2>/dev/null)" ] ||
		commit="$commit+uncommitted src/sql changes"
	benv+=("SV_BENCH_COMMIT=$commit"
		"SV_BENCH_OUT=log/bench-pg$major-$(date +%Y%m%d-%H%M%S).txt")
	[ "$(id -u)" -eq 0 ] && sudo= || sudo=sudo
	exec $sudo bash test/root.sh run "$major" env "${benv[@]}" bash -c \
		'bash test/setup.sh >&2 && exec bash test/bench/run.sh "$@"' bash "$@"
fi

N=${1:-1000000}
SCALING=${SV_BENCH_SCALING:-1}
MANY_ONLY=${SV_BENCH_MANYKEYS_ONLY:-0}
FEW_ONLY=${SV_BENCH_FEWKEYS_ONLY:-0}
[ "$MANY_ONLY" = 0 ] || SCALING=0
FRESH_RATE=${SV_BENCH_FRESH_RATE:-20000}
FRESH_SECONDS=${SV_BENCH_FRESH_SECONDS:-10}
top=$(cd "$(dirname "$0")/../.." && pwd)
bench=$top/test/bench
tools=$top/test/broker
PG=${SV_PG:-15}
PGBIN=/usr/lib/postgresql/$PG/bin
export PATH="$PGBIN:$PATH"
if [ -n "${SV_BENCH_OUT:-}" ]; then
	case $SV_BENCH_OUT in /*) ;; *) SV_BENCH_OUT=$top/$SV_BENCH_OUT ;; esac
	mkdir -p "$(dirname "$SV_BENCH_OUT")"
	exec 2> >(tee "${SV_BENCH_OUT%.txt}.progress.txt" >&2)
	TEE_PID=$!
fi

log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }
now() { date +%s.%N; }
# awk arithmetic: calc 'expr' -> number
calc() { awk "BEGIN { printf \"%s\", $1 }" /dev/null; }
kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }
isnum() { [[ $1 =~ ^[0-9.]+$ ]]; }
fmt() { if isnum "$1"; then printf "%.0f" "$1"; else printf -- "-"; fi; }
ratio() { if isnum "$1" && isnum "$2"; then calc "$1 / $2" | awk '{ printf "%.2f", $1 }'; else printf -- "-"; fi; }
pass() { # value op target
	if ! isnum "$1"; then echo "n/a"; elif awk "BEGIN { exit !($1 $2 $3) }"; then echo pass; else echo FAIL; fi
}

[[ $N =~ ^[0-9]+$ ]] && [ "$N" -ge 1000 ] || die "N must be an integer >= 1000"
command -v kcat >/dev/null || die "kcat is not installed (apt-get install kcat)"
[ -x "$PGBIN/initdb" ] ||
	die "PostgreSQL $PG binaries not found in $PGBIN (SV_PG names the major; apt-get install postgresql-$PG)"
[ -f "$("$PGBIN/pg_config" --pkglibdir)/streamview.so" ] ||
	die "streamview is not installed: run make && make install in $top"
for f in "$top"/src/*.c; do
	if [ "$f" -nt "$("$PGBIN/pg_config" --pkglibdir)/streamview.so" ]; then
		log "warning: $f is newer than the installed streamview.so (make install?)"
		break
	fi
done
if [ ! -x "$tools/sv_broker" ] || [ ! -x "$tools/sv_produce" ]; then
	log "building test tools (make tools)"
	make -s -C "$top" tools >&2
fi

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
others=$(pgrep -c -f 'sv_broker|postgres: streamview' || true)
if [ "${others:-0}" -gt 0 ]; then
	log "warning: $others other sv_broker/streamview processes are running; figures will be noisy"
fi
W=$(mktemp -d "${TMPDIR:-/tmp}/sv-bench.XXXXXX")
chmod 755 "$W"
if [ "$(id -u)" -eq 0 ]; then
	chown postgres: "$W"
	as_pg() { runuser -u postgres -- "$@"; }
else
	as_pg() { "$@"; }
fi
PORT=$((20000 + RANDOM % 20000))
BROKER_PID=
PG_STARTED=0
cleanup() {
	set +e
	[ "$PG_STARTED" = 1 ] && as_pg "$PGBIN/pg_ctl" -D "$W/pg" -m immediate -w stop >/dev/null 2>&1
	[ -n "$BROKER_PID" ] && kill "$BROKER_PID" 2>/dev/null && wait "$BROKER_PID" 2>/dev/null
	if [ "${SV_BENCH_KEEP:-0}" = 1 ]; then
		log "work directory kept: $W"
	else
		rm -rf "$W"
	fi
	# the progress file is complete when this script is done
	if [ -n "${TEE_PID:-}" ]; then
		exec 2>&-
		wait "$TEE_PID" 2>/dev/null
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# psql as the cluster's superuser over its private socket (any OS user may do that).
q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$W" -p "$PORT" -U postgres -d postgres "$@"; }

# ---- the floor program -------------------------------------------------
gcc -std=gnu99 -O2 -Wall -Wextra -o "$W/sv_floor" "$bench/sv_floor.c" -lrdkafka ||
	die "could not build sv_floor"

# ---- broker and data ---------------------------------------------------
# The mock broker keeps ~5 MB per partition: at most ~40,000 rides each.
P=64
while [ $((P * 40000)) -lt "$N" ]; do P=$((P * 2)); done
PS=$P
while [ $((PS * 40000)) -lt $((4 * N)) ]; do PS=$((PS * 2)); done
# compact JSON values are about 167 bytes, 2.7 times the delimited ones: the
# mock's ~5 MB per partition holds 26,000 of them with room to spare (the
# same partitions as the delimited rides up to N = 1.6M, so that the rows
# compare the formats and not partition counts)
PJ=$P
while [ $((PJ * 26000)) -lt "$N" ]; do PJ=$((PJ * 2)); done
# (b): 2N rides
PK=$P
while [ $((PK * 40000)) -lt $((2 * N)) ]; do PK=$((PK * 2)); done
topics="rides:$P hc:$P hk:$PK fresh:$P fresh0:$P freshhc:$P rides_json:$PJ rides_csv:$P rides_csvnote:$P"
[ "$SCALING" = 1 ] && topics="$topics scale1:$PS scale2:$PS scale4:$PS"
log "work directory $W; starting the broker ($topics)"
# shellcheck disable=SC2086
"$tools/sv_broker" --bootstrap-file "$W/bootstrap" $topics </dev/null >"$W/broker.log" 2>&1 &
BROKER_PID=$!
for _ in $(seq 100); do [ -s "$W/bootstrap" ] && break; sleep 0.1; done
[ -s "$W/bootstrap" ] || die "broker did not start: $(cat "$W/broker.log")"
B=$(head -1 "$W/bootstrap")

produce() { # topic n seed [extra...]
	local topic=$1 n=$2 seed=$3
	shift 3
	"$tools/sv_produce" --brokers "$B" --topic "$topic" --rides "$n" --seed "$seed" "$@" 2>&1 |
		sed 's/^/    /' >&2
	[ "${PIPESTATUS[0]}" -eq 0 ] || die "sv_produce failed for $topic"
}
log "producing $N rides to rides, $N rides with 100k payment types to hc, $((2 * N)) with $N to hk"
# Bulk loads go out in bigger produce batches (256 kB, below the consumer's
# 1 MB per-partition fetch size): the mock broker finds a fetch offset by
# walking a partition's message sets from the first, so with the producer's
# usual small batches every fetch gets slower as a topic grows (a plain
# consumer drained 4M rides on 128 partitions at 1.8-2.0M msg/s that way;
# 1.2-4.3M, median 2.6M, with these settings). A real broker has an index.
BULK="-X linger.ms=200 -X batch.size=262144"
# shellcheck disable=SC2086
[ "$MANY_ONLY" = 0 ] && produce rides "$N" 1 --out "$W/rides.tsv" $BULK
if [ "$FEW_ONLY" = 0 ]; then
	# shellcheck disable=SC2086
	produce hc "$N" 2 --keys 100000 --out "$W/hc.tsv" $BULK
	# shellcheck disable=SC2086
	produce hk $((2 * N)) 4 --keys "$N" --out "$W/hk.tsv" $BULK
fi
if [ "$MANY_ONLY" = 0 ]; then
# the same rides (seed 1) as compact JSON (as producers write it; the tests use
# --format json, with whitespace, escapes and decoys) and as CSV (timestamps
# quoted, numbers quoted at random), for the formats' rows; and as CSV with an
# eighth field, a note with commas, quotes, line breaks and UTF-8 (a row of
# its own: it is more than the same rides)
# shellcheck disable=SC2086
produce rides_json "$N" 1 --format json-compact $BULK
# shellcheck disable=SC2086
produce rides_csv "$N" 1 --format csv-compact $BULK
# shellcheck disable=SC2086
produce rides_csvnote "$N" 1 --format csv $BULK
fi

# ---- cluster -----------------------------------------------------------
log "initdb and start a throwaway cluster (port $PORT)"
as_pg "$PGBIN/initdb" -D "$W/pg" -U postgres --auth=trust -E UTF8 --no-locale >"$W/initdb.log" 2>&1 ||
	die "initdb failed: $(tail "$W/initdb.log")"
cat >>"$W/pg/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$W'
port = $PORT
shared_preload_libraries = 'streamview'
streamview.database = 'postgres'
max_worker_processes = 16
shared_buffers = 256MB
max_wal_size = 4GB
checkpoint_timeout = 30min
log_min_messages = warning
EOF
# SV_BENCH_PGCONF: more postgresql.conf lines, for experiments (the table says so)
[ -n "${SV_BENCH_PGCONF:-}" ] && printf '%s\n' "$SV_BENCH_PGCONF" >>"$W/pg/postgresql.conf"
pg_start() {
	as_pg "$PGBIN/pg_ctl" -D "$W/pg" -l "$W/pg.log" -w -t 60 "$@" start >/dev/null ||
		die "PostgreSQL did not start: $(tail -20 "$W/pg.log")"
	PG_STARTED=1
}
pg_stop() {
	as_pg "$PGBIN/pg_ctl" -D "$W/pg" -w -t 60 -m fast stop >/dev/null
	PG_STARTED=0
}
pg_start
q -c "CREATE EXTENSION streamview"
# SV_BENCH_LIBDIR: the extension is created with the installed library, then
# its functions, the preload and the workers load "streamview" through
# dynamic_library_path, which finds DIR/streamview.so first.
if [ -n "${SV_BENCH_LIBDIR:-}" ]; then
	[ -f "$SV_BENCH_LIBDIR/streamview.so" ] || die "no streamview.so in $SV_BENCH_LIBDIR"
	q -c "UPDATE pg_proc SET probin = 'streamview' WHERE probin = '\$libdir/streamview'" >/dev/null
	pg_stop
	echo "dynamic_library_path = '$SV_BENCH_LIBDIR:\$libdir'" >>"$W/pg/postgresql.conf"
	pg_start
fi
q <<'EOF'
-- Starts a stream and waits (polling every 10 ms) until total offsets are committed.
CREATE TABLE bench_drains (stream text, total bigint, t0 timestamptz, t10 timestamptz,
	s10 bigint, t100 timestamptz, first_at timestamptz, max_stall interval);
CREATE PROCEDURE bench_drain(s text, total bigint, timeout_s float8 DEFAULT 900)
LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz; t10 timestamptz; s10 bigint; c bigint; prev bigint := 0;
	at timestamptz; first_at timestamptz; last_at timestamptz; max_stall interval := '0';
BEGIN
	t0 := clock_timestamp();
	PERFORM streamview.start(s);
	COMMIT;
	LOOP
		-- the sum of the offsets and the time of the latest commit in it
		SELECT coalesce(sum(next_offset), 0), max(committed_at) INTO c, at
		  FROM streamview.offsets o WHERE o.stream = s;
		-- the longest time between two commits that moved the offsets
		IF c > prev THEN
			IF last_at IS NULL THEN
				first_at := at;
			ELSE
				max_stall := greatest(max_stall, at - last_at);
			END IF;
			last_at := at;
			prev := c;
		END IF;
		IF t10 IS NULL AND c >= total / 10 THEN
			t10 := at;
			s10 := c;
		END IF;
		EXIT WHEN c >= total;
		IF clock_timestamp() - t0 > make_interval(secs => timeout_s) THEN
			RAISE EXCEPTION 'stream %: % of % messages committed after % s', s, c, total, timeout_s;
		END IF;
		COMMIT;
		PERFORM pg_sleep(0.01);
	END LOOP;
	INSERT INTO bench_drains VALUES (s, total, t0, t10, s10, at, first_at, max_stall);
END
$$;
-- What the producer delivered: partition, offset, key, value.
CREATE TABLE produced (topic text, p int, o bigint, k text, v text);
EOF

rides_stream() { # name topic [more create_stream arguments]
	q -c "SELECT streamview.create_stream(name => '$1', brokers => '$B', topic => '$2' ${3:-},
		columns => 'vendor_id int, tpep_pickup_datetime timestamp,
		            tpep_dropoff_datetime timestamp, passenger_count int,
		            trip_distance real, payment_type int, total_amount real',
		options => '${SV_BENCH_STREAM_OPTIONS:-{\}}')" >/dev/null
}

# The benchmark's view: a 10-minute/5-minute sliding count per vendor_id.
vendor_view() { # view stream
	q -c "SELECT streamview.create_window_view('$1', '$2', 'tpep_pickup_datetime',
		ARRAY['vendor_id'], '10 minutes', '5 minutes')" >/dev/null
}

# A stream over the JSON or CSV rides (sv_produce --format) with the count view.
format_stream() { # name topic format
	if [ "$3" = json ]; then
		q -c "SELECT streamview.create_stream(name => '$1', brokers => '$B', topic => '$2',
			columns => 'vendor_id int, tpep_pickup_datetime timestamp, tpep_dropoff_datetime timestamp,
			            passenger_count int, trip_distance real, payment_type int, total_amount real',
			format => 'json', column_paths => '{\"tpep_pickup_datetime\": \"\$.trip.pickup.at\",
			  \"tpep_dropoff_datetime\": \"\$.trip.dropoff\", \"trip_distance\": \"\$.trip.distance\"}')" >/dev/null
	else
		# csv: the seven columns; csvnote: and the note
		local note=
		[ "$3" = csvnote ] && note=', note text'
		q -c "SELECT streamview.create_stream(name => '$1', brokers => '$B', topic => '$2',
			columns => 'vendor_id int, tpep_pickup_datetime timestamp, tpep_dropoff_datetime timestamp,
			            passenger_count int, trip_distance real, payment_type int, total_amount real
			            $note', format => 'csv')" >/dev/null
	fi
	vendor_view "${1}_counts" "$1"
}

# The issue-9 query view: WHERE and six aggregates per vendor, 10/5 minutes.
stats_view() { # view stream
	q -c "SELECT streamview.create_view('$1', \$q\$
	  SELECT w.window_start, w.window_end, vendor_id,
	         count(*) AS rides, count(*) FILTER (WHERE passenger_count > 1) AS shared_rides,
	         sum(total_amount) AS revenue, avg(trip_distance) AS avg_distance,
	         min(total_amount) AS min_fare, max(tpep_dropoff_datetime) AS last_dropoff
	  FROM \"$2\", streamview.hop(tpep_pickup_datetime, '10 minutes', '5 minutes') AS w
	  WHERE payment_type = 1 AND trip_distance > 0
	  GROUP BY w.window_start, w.window_end, vendor_id \$q\$)" >/dev/null
}

# The middle one of lines that start with a number (sorted by it).
median_of() { # line...
	printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"
}

# CPU ticks (utime + stime) per thread name of a process: "name=ticks ...".
thread_ticks() { # pid
	cat /proc/"$1"/task/*/stat 2>/dev/null |
		awk '{ sub(/^[0-9]+ \(/, ""); n = $0; sub(/\) .*/, "", n); gsub(/ /, "_", n); sub(/^[^)]*\) /, "");
		       t[n] += $12 + $13 } END { for (n in t) printf "%s=%d ", n, t[n] }'
}
# Context switches (voluntary+involuntary) per thread name, summed over threads.
thread_switches() { # pid
	for f in /proc/"$1"/task/*/status; do cat "$f" 2>/dev/null; done |
		awk '/^Name:/ { n = $2 } /^voluntary_ctxt_switches:/ { v[n] += $2 }
		     /^nonvoluntary_ctxt_switches:/ { i[n] += $2 }
		     END { for (n in v) printf "%s=%d/%d ", n, v[n], i[n] }'
}
# How many each thread name made between two thread_switches snapshots.
switches_diff() { # before after
	awk -v a="$1" -v b="$2" 'BEGIN {
		n = split(a, x, " "); for (i = 1; i <= n; i++) { split(x[i], kv, "="); split(kv[2], c, "/"); v0[kv[1]] = c[1]; i0[kv[1]] = c[2] }
		n = split(b, x, " "); for (i = 1; i <= n; i++) { split(x[i], kv, "="); split(kv[2], c, "/");
			dv = c[1] - v0[kv[1]]; di = c[2] - i0[kv[1]]; if (dv + di > 0) printf "%s %d/%d, ", kv[1], dv, di } }'
}
# CPU seconds each thread name used between two thread_ticks snapshots.
ticks_diff() { # before after
	awk -v a="$1" -v b="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN {
		n = split(a, x, " "); for (i = 1; i <= n; i++) { split(x[i], kv, "="); t0[kv[1]] = kv[2] }
		n = split(b, x, " "); for (i = 1; i <= n; i++) { split(x[i], kv, "=");
			d = (kv[2] - t0[kv[1]]) / hz; if (d > 0) printf "%s %.2fs, ", kv[1], d } }'
}

# Drains a stream: start() .. total committed; sets D_WHOLE_S D_WHOLE D_STEADY
# D_HWM_KB D_ANON_KB.
drain() { # stream total
	local s=$1 total=$2 pid= hwm=0 anon=0 k v rest perfpid= wt0= bt0= ws0=
	q -c "CALL bench_drain('$s', $total, $((60 + total / 10000)))" >"$W/drain-$s.log" 2>&1 &
	local callpid=$!
	while kill -0 "$callpid" 2>/dev/null; do
		if [ -z "$pid" ]; then
			pid=$(q -c "SELECT pid FROM streamview.stream_status WHERE stream = '$s'" 2>/dev/null || true)
			[ -z "$pid" ] && { sleep 0.02; continue; }
			wt0=$(thread_ticks "$pid") bt0=$(thread_ticks "$BROKER_PID") ws0=$(thread_switches "$pid")
			if [ "${SV_BENCH_PERF:-0}" = 1 ]; then
				perf record -q -e cpu-clock -F 9999 -g -p "$pid" -o "$W/perf-$s.data" \
					>"$W/perf-$s.log" 2>&1 &
				perfpid=$!
			fi
		fi
		if [ -r "/proc/$pid/status" ]; then
			while read -r k v rest; do
				if [ "$k" = RssAnon: ] && [ "$v" -gt "$anon" ]; then anon=$v; fi
			done <"/proc/$pid/status"
		fi
		sleep 0.05
	done
	wait "$callpid" || die "drain of $s failed: $(cat "$W/drain-$s.log")"
	if [ -n "$pid" ]; then
		log "  CPU of the worker: $(ticks_diff "$wt0" "$(thread_ticks "$pid")")broker: $(ticks_diff "$bt0" "$(thread_ticks "$BROKER_PID")")"
		log "  context switches of the worker (voluntary/involuntary): $(switches_diff "$ws0" "$(thread_switches "$pid")")"
	fi
	if [ -n "$perfpid" ]; then
		kill -INT "$perfpid"
		wait "$perfpid" || true
		{
			echo "== self time (flat), all threads of the worker"
			perf report -i "$W/perf-$s.data" --stdio --no-children --percent-limit 0.5 \
				-g none 2>/dev/null
			echo "== inclusive time (self + callees), the worker's own thread"
			perf report -i "$W/perf-$s.data" --stdio --children --comm postgres \
				--sort symbol --percent-limit 2 -g none 2>/dev/null
		} >"$bench/perf-$s.txt" || true
		log "  profile of the worker: test/bench/perf-$s.txt"
	fi
	if [ -n "$pid" ] && [ -r "/proc/$pid/status" ]; then
		hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
	fi
	D_HWM_KB=$hwm
	D_ANON_KB=$anon
	local r
	r=$(q -F' ' -c "SELECT extract(epoch FROM t100 - t0), total / extract(epoch FROM t100 - t0),
		round(extract(epoch FROM first_at - t0) * 1000), round(extract(epoch FROM max_stall) * 1000),
		CASE WHEN s10 < total THEN (total - s10) / nullif(extract(epoch FROM t100 - t10), 0) END
		FROM bench_drains WHERE stream = '$s'")
	read -r D_WHOLE_S D_WHOLE D_FIRST_MS D_STALL_MS D_STEADY <<<"$r"
	# no steady state when a single commit took it from below 10% to all
	[ -n "$D_STEADY" ] || D_STEADY=-
	q -c "SELECT streamview.stop('$s')" >/dev/null
}

load_produced() { # topic file
	q -c "COPY produced (p, o, k, v) FROM STDIN" <"$2"
	q -c "UPDATE produced SET topic = '$1' WHERE topic IS NULL"
}

# Expected counts of a sliding view (default 10/5 minutes) from the produced
# messages, in SQL (as StreamviewTest.pm's expected_counts), then the rows
# that differ.
check_counts() { # topic key-expr actual-sql [size-s slide-s]
	local size=${4:-600} slide=${5:-300}
	q <<EOF
CREATE TEMP TABLE exp AS
SELECT ws AS window_start, $2 AS key, count(*) AS count
  FROM (SELECT string_to_array(v, ', ') AS f FROM produced WHERE topic = '$1') m,
       LATERAL (SELECT f[2]::timestamp AS t) x,
       LATERAL generate_series(
           to_timestamp((floor((extract(epoch FROM t) - $size) / $slide) + 1) * $slide) AT TIME ZONE 'UTC',
           t, make_interval(secs => $slide)) ws
 GROUP BY 1, 2;
SELECT count(*) FROM exp e FULL JOIN ($3) a
    ON e.window_start = a.window_start AND e.key = a.key
 WHERE e.count IS DISTINCT FROM a.count;
EOF
}
verdict() { [ "$1" = 0 ] && echo OK || echo "MISMATCH($1 rows)"; }

# The plain-PostgreSQL way for a 10/5-minute sliding count: kcat -C over all
# partitions piped into COPY PREFIX_raw FROM STDIN (FORMAT csv) (a typed,
# logged table), then one INSERT INTO PREFIX_counts SELECT ... date_bin ...
# GROUP BY ... ON CONFLICT DO UPDATE SET count = count + excluded.count,
# PREFIX_counts being LIKE streamview's results table. Timed end to end
# (process start of kcat to INSERT committed); sets BL_S BL_MSGS BL_RATE.
baseline() { # topic prefix like-table key-column
	q <<EOF
CREATE TABLE ${2}_raw (vendor_id int, tpep_pickup_datetime timestamp,
	tpep_dropoff_datetime timestamp, passenger_count int, trip_distance real,
	payment_type int, total_amount real);
CREATE TABLE ${2}_counts (LIKE $3 INCLUDING ALL);
CHECKPOINT;
EOF
	local b0 b1
	b0=$(now)
	kcat -C -b "$B" -t "$1" -o beginning -e -q -f '%s\n' |
		q -c "COPY ${2}_raw FROM STDIN (FORMAT csv)" \
			-c "INSERT INTO ${2}_counts AS t (window_start, window_end, $4, count)
				SELECT w.ws, w.ws + interval '10 minutes', r.$4, count(*)
				  FROM ${2}_raw r,
				       LATERAL (SELECT date_bin('5 minutes', r.tpep_pickup_datetime,
				                                timestamp '1970-01-01') AS b) b,
				       LATERAL (VALUES (b.b), (b.b - interval '5 minutes')) w(ws)
				 GROUP BY 1, 3
				ON CONFLICT (window_start, $4)
				DO UPDATE SET count = t.count + excluded.count"
	b1=$(now)
	BL_S=$(calc "$b1 - $b0")
	BL_MSGS=$(q -c "SELECT count(*) FROM ${2}_raw")
	BL_RATE=$(calc "$BL_MSGS / $BL_S")
	[ "$BL_MSGS" = "$N" ] || log "  warning: baseline read $BL_MSGS messages, not $N"
	log "  ${BL_S}s, $(printf %.0f "$BL_RATE") msg/s; checking counts"
}

if [ "$MANY_ONLY" = 0 ]; then
# ---- streamview, per vendor --------------------------------------------
# RUNS rounds, each a floor run (test/bench/sv_floor.c, a plain consumer) and
# a streamview drain of a new stream on the same topic, checked; each row is
# the run with the median steady rate. Interleaved, so that both see the same
# broker and machine: the mock broker's speed drifts and stalls.
# Seven rounds, not five: on a 2-core VM the same drain's steady rate
# varies from 1.4M to 2.9M msg/s from one drain to the next, so the
# ratios of medians need all the drains they can get.
RUNS=${SV_BENCH_RUNS:-7}
log "floor and streamview (10/5-minute sliding count per vendor_id) over $N rides, $RUNS rounds"
load_produced rides "$W/rides.tsv"
floor_runs=()
sv_runs=()
qv_runs=()
json_runs=()
csv_runs=()
csvnote_runs=()
HAVE_FORMATS=$(q -c "SELECT count(*) FROM pg_proc WHERE proname = 'create_stream'
	AND 'column_paths' = ANY (proargnames)")
HAVE_VIEWS=$(q -c "SELECT count(*) FROM pg_proc WHERE proname = 'create_view'
	AND pronamespace = 'streamview'::regnamespace")
# the first read of a new topic is slower for every reader (the fetcher
# used 2-3x its CPU in first rounds): one floor run, not counted, warms up
log "  warm-up: $("$W/sv_floor" --brokers "$B" --topic rides --messages "$N")"
# The delimited stream's drain and the formats' drains (ratios to it) run
# in this order in odd rounds and in the reverse order in even ones, so
# that no drain always follows the same other one.
order=(delimited)
[ "$HAVE_FORMATS" = 1 ] && order+=(json csv csvnote)
for i in $(seq "$RUNS"); do
	line=$("$W/sv_floor" --brokers "$B" --topic rides --messages "$N")
	log "  floor: $line"
	floor_runs+=("$(kv steady_rate "$line") $line")
	this_order=("${order[@]}")
	if [ $((i % 2)) = 0 ]; then
		this_order=()
		for ((k = ${#order[@]} - 1; k >= 0; k--)); do this_order+=("${order[k]}"); done
	fi
	for fmt in "${this_order[@]}"; do
		if [ "$fmt" = delimited ]; then
			rides_stream "rides$i" rides
			vendor_view "vendor_counts$i" "rides$i"
			drain "rides$i" "$N"
			check=$(verdict "$(check_counts rides 'f[1]::int' \
				"SELECT window_start, vendor_id AS key, count FROM vendor_counts$i")")
			log "  streamview: whole ${D_WHOLE_S}s, $(printf %.0f "$D_WHOLE") msg/s; steady $(fmt "$D_STEADY") msg/s; counts: $check"
			sv_runs+=("$(fmt "$D_STEADY") $D_WHOLE_S $D_WHOLE $D_STEADY $D_HWM_KB $D_ANON_KB $D_FIRST_MS/$D_STALL_MS $check")
			[ "$check" = OK ] || SV_BAD_CHECK=$check
			continue
		fi
		format_stream "${fmt}$i" "rides_$fmt" "$fmt"
		drain "${fmt}$i" "$N"
		# the same rides as the delimited topic: the same counts
		check=$(verdict "$(check_counts rides 'f[1]::int' \
			"SELECT window_start, vendor_id AS key, count FROM ${fmt}${i}_counts")")
		log "  $fmt: whole ${D_WHOLE_S}s, $(printf %.0f "$D_WHOLE") msg/s; steady $(fmt "$D_STEADY") msg/s; counts: $check"
		run="$(fmt "$D_STEADY") $D_WHOLE_S $D_WHOLE $D_STEADY $D_FIRST_MS/$D_STALL_MS $check"
		case $fmt in
		json) json_runs+=("$run") ;;
		csv) csv_runs+=("$run") ;;
		*) csvnote_runs+=("$run") ;;
		esac
	done
	if [ "$HAVE_VIEWS" = 1 ]; then
		rides_stream "stats$i" rides
		stats_view "vendor_stats$i" "stats$i"
		drain "stats$i" "$N"
		# every ride passing the WHERE is in two windows
		check=$(verdict "$(q -c "SELECT (SELECT sum(rides) FROM vendor_stats$i) -
			2 * (SELECT count(*) FROM produced WHERE topic = 'rides'
			       AND split_part(v, ', ', 6)::int = 1 AND split_part(v, ', ', 5)::real > 0)")")
		log "  query view: whole ${D_WHOLE_S}s, $(printf %.0f "$D_WHOLE") msg/s; steady $(fmt "$D_STEADY") msg/s; rides: $check"
		qv_runs+=("$(fmt "$D_STEADY") $D_WHOLE_S $D_WHOLE $D_STEADY $D_FIRST_MS/$D_STALL_MS $check")
		[ "$check" = OK ] || QV_BAD_CHECK=$check
	fi
done
if [ "$HAVE_VIEWS" = 1 ]; then
	read -r _ QV_WHOLE_S QV_WHOLE QV_STEADY QV_FS QV_CHECK <<<"$(median_of "${qv_runs[@]}")"
	QV_CHECK=${QV_BAD_CHECK:-$QV_CHECK}
fi
if [ "$HAVE_FORMATS" = 1 ]; then
	read -r _ JS_WHOLE_S JS_WHOLE JS_STEADY JS_FS JS_CHECK <<<"$(median_of "${json_runs[@]}")"
	read -r _ CS_WHOLE_S CS_WHOLE CS_STEADY CS_FS CS_CHECK <<<"$(median_of "${csv_runs[@]}")"
	read -r _ CN_WHOLE_S CN_WHOLE CN_STEADY CN_FS CN_CHECK <<<"$(median_of "${csvnote_runs[@]}")"
fi
# librdkafka 2.0.2 with its defaults sometimes stops fetching for a second
# once its queue is full (README, Performance): a floor run below half of the
# best one is left out of the median, so that a stalled floor never flatters
# the ratio; the table says how many were.
floor_best=$(printf '%s\n' "${floor_runs[@]}" | sort -n | tail -1 | cut -d' ' -f1)
floor_kept=()
for r in "${floor_runs[@]}"; do
	if awk -v a="${r%% *}" -v b="$floor_best" 'BEGIN { exit !(a >= 0.5 * b) }'; then
		floor_kept+=("$r")
	fi
done
FLOOR_STALLED=$((${#floor_runs[@]} - ${#floor_kept[@]}))
[ "$FLOOR_STALLED" = 0 ] || log "  $FLOOR_STALLED stalled floor run(s) left out of its median"
floor=$(median_of "${floor_kept[@]}" | cut -d' ' -f2-)
FLOOR_WHOLE_S=$(kv whole_s "$floor")
FLOOR_WHOLE=$(kv whole_rate "$floor")
FLOOR_STEADY=$(kv steady_rate "$floor")
read -r _ SV_WHOLE_S SV_WHOLE SV_STEADY SV_HWM SV_ANON SV_FS SV_CHECK \
	<<<"$(median_of "${sv_runs[@]}")"
# a mismatch in any run is reported, whichever run is the median
SV_CHECK=${SV_BAD_CHECK:-$SV_CHECK}

# ---- streamview, per vendor, two workers ---------------------------------
HAVE_PAR=$(q -c "SELECT count(*) FROM pg_proc WHERE proname = 'create_stream'
	AND 'parallelism' = ANY (proargnames)")
if [ "$HAVE_PAR" = 1 ]; then
	log "streamview: the same per vendor_id with parallelism => 2"
	rides_stream rides_p2 rides ", parallelism => 2"
	vendor_view vendor_counts_p2 rides_p2
	drain rides_p2 "$N"
	P2_WHOLE_S=$D_WHOLE_S P2_WHOLE=$D_WHOLE P2_STEADY=$D_STEADY P2_FS="$D_FIRST_MS/$D_STALL_MS"
	log "  whole ${P2_WHOLE_S}s, $(printf %.0f "$P2_WHOLE") msg/s; steady $(fmt "$P2_STEADY") msg/s; checking counts"
	P2_CHECK=$(verdict "$(check_counts rides 'f[1]::int' \
		'SELECT window_start, vendor_id AS key, count FROM vendor_counts_p2')")
	log "  counts: $P2_CHECK"
fi

# ---- baseline: kcat | COPY, INSERT ... GROUP BY ... ON CONFLICT ----------
log "baseline: kcat | COPY, then INSERT ... SELECT ... GROUP BY ... ON CONFLICT"
baseline rides base vendor_counts1 vendor_id
BASE_S=$BL_S BASE_ROWS=$BL_MSGS BASE_RATE=$BL_RATE
BASE_CHECK=$(verdict "$(check_counts rides 'f[1]::int' \
	'SELECT window_start, vendor_id AS key, count FROM base_counts')")
log "  counts: $BASE_CHECK"

fi

if [ "$FEW_ONLY" = 0 ]; then
# ---- many keys (issue 13) ------------------------------------------------
# (a) the 100k-key view: 10/5-minute sliding count per payment_type over N
#     rides with 100k payment types (~1.6 window rows per ride);
# (b) 1M keys: a tumbling 1-minute count per payment_type over 2N rides with
#     N payment types (~1 window row per ride);
# (c) the plain-PostgreSQL way for (a): kcat | COPY, INSERT ... GROUP BY ...
#     ON CONFLICT into a table like (a)'s results table;
# (d) the write limit: (a)'s final rows, taken from its results table after
#     the drain in md5 order of the row (an order unrelated to the key, as a
#     stream delivers), COPYed into an empty table of the same shape and
#     primary key (LIKE ... INCLUDING ALL); timed from psql's start to COPY's
#     commit.
# Rows/s = window rows in the results table / whole drain (or COPY) time.
log "streamview (a): per payment_type (100k distinct), 10/5 minutes, over $N rides"
rides_stream hc hc
q -c "SELECT streamview.create_window_view('hc_counts', 'hc', 'tpep_pickup_datetime',
	ARRAY['payment_type'], '10 minutes', '5 minutes')" >/dev/null
q -c "CHECKPOINT"
drain hc "$N"
HC_WHOLE_S=$D_WHOLE_S HC_WHOLE=$D_WHOLE HC_STEADY=$D_STEADY HC_HWM=$D_HWM_KB HC_ANON=$D_ANON_KB
HC_FS="$D_FIRST_MS/$D_STALL_MS"
HC_ROWS=$(q -c "SELECT count(*) FROM hc_counts")
HC_RPS=$(calc "$HC_ROWS / $HC_WHOLE_S")
log "  whole ${HC_WHOLE_S}s, $(printf %.0f "$HC_WHOLE") msg/s; steady $(fmt "$HC_STEADY") msg/s; $HC_ROWS window rows; checking counts"
load_produced hc "$W/hc.tsv"
HC_CHECK=$(verdict "$(check_counts hc 'f[6]::int' \
	'SELECT window_start, payment_type AS key, count FROM hc_counts')")
log "  counts: $HC_CHECK"

log "write limit (d): COPY of (a)'s $HC_ROWS rows in md5 order into an empty table like it"
q -c "COPY (SELECT * FROM hc_counts ORDER BY md5(hc_counts::text)) TO STDOUT" >"$W/wl.copy"
q -c "CREATE TABLE wl_counts (LIKE hc_counts INCLUDING ALL)" -c "CHECKPOINT"
b0=$(now)
q -c "COPY wl_counts FROM STDIN" <"$W/wl.copy"
b1=$(now)
WL_S=$(calc "$b1 - $b0")
WL_ROWS=$(q -c "SELECT count(*) FROM wl_counts")
WL_RPS=$(calc "$WL_ROWS / $WL_S")
log "  ${WL_S}s, $(printf %.0f "$WL_RPS") rows/s"
rm -f "$W/wl.copy"

log "baseline (c): kcat | COPY, then INSERT ... GROUP BY ... ON CONFLICT for (a)"
baseline hc base_hc hc_counts payment_type
BHC_S=$BL_S BHC_MSGS=$BL_MSGS BHC_RATE=$BL_RATE
BHC_ROWS=$(q -c "SELECT count(*) FROM base_hc_counts")
BHC_RPS=$(calc "$BHC_ROWS / $BHC_S")
BHC_CHECK=$(verdict "$(check_counts hc 'f[6]::int' \
	'SELECT window_start, payment_type AS key, count FROM base_hc_counts')")
log "  counts: $BHC_CHECK"
q -c "DROP TABLE base_hc_raw, base_hc_counts, wl_counts"

log "streamview (b): per payment_type ($N distinct), tumbling 1 minute, over $((2 * N)) rides"
rides_stream hk hk
q -c "SELECT streamview.create_window_view('hk_counts', 'hk', 'tpep_pickup_datetime',
	ARRAY['payment_type'], '1 minute', '1 minute')" >/dev/null
q -c "CHECKPOINT"
drain hk $((2 * N))
HK_WHOLE_S=$D_WHOLE_S HK_WHOLE=$D_WHOLE HK_STEADY=$D_STEADY HK_HWM=$D_HWM_KB HK_ANON=$D_ANON_KB
HK_FS="$D_FIRST_MS/$D_STALL_MS"
HK_ROWS=$(q -c "SELECT count(*) FROM hk_counts")
HK_RPS=$(calc "$HK_ROWS / $HK_WHOLE_S")
log "  whole ${HK_WHOLE_S}s, $(printf %.0f "$HK_WHOLE") msg/s; $HK_ROWS window rows; checking counts"
load_produced hk "$W/hk.tsv"
HK_CHECK=$(verdict "$(check_counts hk 'f[6]::int' \
	'SELECT window_start, payment_type AS key, count FROM hk_counts' 60 60)")
log "  counts: $HK_CHECK"
q -c "DELETE FROM produced WHERE topic IN ('hc', 'hk')"
# The many-key section leaves 3M dead rows in produced and 3.6M new ones in
# the results tables; autovacuum takes them on at its next round (every
# minute), which landed inside the freshness runs below in some full runs
# and not in others. Their work is done here, untimed, so that freshness
# measures a stream, not the cleanup of the section before it.
log "vacuum and checkpoint after the many-key section"
q -c "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null
fi


# ---- freshness -----------------------------------------------------------
FRESH_N=$((FRESH_RATE * FRESH_SECONDS))
# linger.ms=10: at 20k msg/s over 64 partitions the producer's default 5 ms
# makes batches of 1-2 messages, and the mock broker (one thread; one batch
# per partition per fetch, found by a linear walk) then lags by 100-350 ms
# at its p99 whenever the machine is busy. Measured with a plain consumer:
# p99 75-238 ms with 5 ms, 61-68 ms with 10 ms.
FRESH_PRODUCE="-X linger.ms=10"
if [ "$MANY_ONLY" = 0 ]; then
log "freshness floor: a plain consumer reading while $FRESH_RATE msg/s are produced for $FRESH_SECONDS s"
"$W/sv_floor" --brokers "$B" --topic fresh0 --messages "$FRESH_N" --latency >"$W/fresh0.out" &
floor_pid=$!
sleep 1
# shellcheck disable=SC2086
produce fresh0 "$FRESH_N" 3 --rate "$FRESH_RATE" $FRESH_PRODUCE
wait "$floor_pid" || die "sv_floor --latency failed"
FR0=$(cat "$W/fresh0.out")
FR0_P50=$(kv lat_p50_ms "$FR0") FR0_P99=$(kv lat_p99_ms "$FR0") FR0_MAX=$(kv lat_max_ms "$FR0")
log "  $FR0"
fi
q <<EOF >/dev/null
ALTER SYSTEM SET streamview.batch_max_ms = 100;
SELECT pg_reload_conf();
CREATE TABLE fresh_obs (stream text, t timestamptz, offs bigint[]);
CREATE TABLE fresh_msgs (topic text, p int, o bigint, ts_ms bigint);
CREATE PROCEDURE fresh_watch(s text, total bigint, nparts int, timeout_s float8 DEFAULT 120)
LANGUAGE plpgsql AS \$\$
DECLARE
	t0 timestamptz := clock_timestamp(); t timestamptz;
	cur bigint[]; prev bigint[]; ts timestamptz[] := '{}'; offs text[] := '{}';
BEGIN
	LOOP
		t := clock_timestamp();
		SELECT array_agg(next_offset ORDER BY partition) INTO cur
		  FROM streamview.offsets WHERE stream = s;
		IF cur IS DISTINCT FROM prev THEN
			IF cardinality(cur) <> nparts THEN
				RAISE EXCEPTION '%: % partitions in offsets, expected %', s, cardinality(cur), nparts;
			END IF;
			ts := ts || t;
			offs := offs || cur::text;
			prev := cur;
		END IF;
		EXIT WHEN (SELECT sum(x) FROM unnest(cur) x) >= total;
		IF clock_timestamp() - t0 > make_interval(secs => timeout_s) THEN
			RAISE EXCEPTION '%: not all % messages committed after % s', s, total, timeout_s;
		END IF;
		COMMIT;
		PERFORM pg_sleep(0.005);
	END LOOP;
	INSERT INTO fresh_obs SELECT s, u.t, u.o::bigint[] FROM unnest(ts, offs) u(t, o);
END
\$\$;
EOF
sleep 0.5

# A stream over an empty topic, running, while FRESH_RATE msg/s are produced
# for FRESH_SECONDS s: the latency of each message from its CreateTime to
# the commit that made its count visible. Sets FR_N FR_P50 FR_P99 FR_MAX
# FR_TOTAL FR_RATE.
freshness() { # stream/topic view-sql [produce args...]
	local s=$1 view=$2 watch_pid f0 f1 r
	shift 2
	rides_stream "$s" "$s"
	q -c "$view" >/dev/null
	q -c "SELECT streamview.start('$s')" >/dev/null
	for _ in $(seq 300); do
		[ "$(q -c "SELECT count(*) FROM streamview.offsets WHERE stream = '$s'")" = "$P" ] &&
			[ "$(q -c "SELECT state FROM streamview.stream_status WHERE stream = '$s'")" = running ] && break
		sleep 0.1
	done
	q -c "CALL fresh_watch('$s', $FRESH_N, $P)" >"$W/fresh-watch-$s.log" 2>&1 &
	watch_pid=$!
	sleep 0.2
	f0=$(now)
	# shellcheck disable=SC2086
	produce "$s" "$FRESH_N" 3 --rate "$FRESH_RATE" $FRESH_PRODUCE "$@"
	f1=$(now)
	wait "$watch_pid" || die "freshness watch failed: $(cat "$W/fresh-watch-$s.log")"
	q -c "SELECT streamview.stop('$s')" >/dev/null
	kcat -C -b "$B" -t "$s" -o beginning -e -q -f "$s %p %o %T\n" |
		q -c "COPY fresh_msgs FROM STDIN (DELIMITER ' ')"
	r=$(q -F' ' <<EOF
CREATE TEMP TABLE moves AS
SELECT t, p, lag(next, 1, 0::bigint) OVER (PARTITION BY p ORDER BY t) AS prev, next
  FROM (SELECT f.t, u.ord - 1 AS p, u.next
          FROM fresh_obs f, unnest(f.offs) WITH ORDINALITY u(next, ord)
         WHERE f.stream = '$s') x;
DELETE FROM moves WHERE next = prev;
CREATE TEMP TABLE lat AS
SELECT extract(epoch FROM m.t - to_timestamp(f.ts_ms / 1000.0)) * 1000 AS ms
  FROM fresh_msgs f JOIN moves m ON m.p = f.p AND f.o >= m.prev AND f.o < m.next
 WHERE f.topic = '$s';
SELECT count(*), round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)),
       round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)), round(max(ms)),
       (SELECT count(*) FROM fresh_msgs WHERE topic = '$s')
  FROM lat;
EOF
)
	read -r FR_N FR_P50 FR_P99 FR_MAX FR_TOTAL <<<"$r"
	FR_RATE=$(calc "$FRESH_N / ($f1 - $f0)")
	log "  $FR_N of $FR_TOTAL messages matched; p50 ${FR_P50} ms, p99 ${FR_P99} ms, max ${FR_MAX} ms"
}
if [ "$MANY_ONLY" = 0 ]; then
	log "freshness: batch_max_ms = 100, $FRESH_RATE msg/s for $FRESH_SECONDS s"
	freshness fresh "SELECT streamview.create_window_view('fresh_counts', 'fresh',
		'tpep_pickup_datetime', ARRAY['vendor_id'], '10 minutes', '5 minutes')"
fi
FRV=("${FR_N:--}" "${FR_P50:--}" "${FR_P99:--}" "${FR_MAX:--}" "${FR_TOTAL:--}" "${FR_RATE:--}")
if [ "$FEW_ONLY" = 0 ]; then
	log "freshness with 100k keys: per payment_type, batch_max_ms = 100, $FRESH_RATE msg/s for $FRESH_SECONDS s"
	freshness freshhc "SELECT streamview.create_window_view('freshhc_counts', 'freshhc',
		'tpep_pickup_datetime', ARRAY['payment_type'], '10 minutes', '5 minutes')" --keys 100000
	FRK_N=$FR_N FRK_P50=$FR_P50 FRK_P99=$FR_P99 FRK_MAX=$FR_MAX FRK_TOTAL=$FR_TOTAL FRK_RATE=$FR_RATE
fi
read -r FR_N FR_P50 FR_P99 FR_MAX FR_TOTAL FR_RATE <<<"${FRV[*]}"
q -c "ALTER SYSTEM RESET streamview.batch_max_ms" -c "SELECT pg_reload_conf()" >/dev/null

# ---- scaling -----------------------------------------------------------
declare -A SC_S SC_RATE SC_STEADY SC_CHECK SC_FLOOR SC_FS SC_BAD
if [ "$SCALING" = 1 ]; then
	for k in 1 2 4; do
		n=$((k * N))
		log "scaling: ${k}N = $n rides over $PS partitions"
		# shellcheck disable=SC2086
		produce "scale$k" "$n" $((10 + k)) $BULK
		# three rounds of a floor run and a drain of a new stream; medians
		fl=() sv=()
		for r in 1 2 3; do
			line=$("$W/sv_floor" --brokers "$B" --topic "scale$k" --messages "$n")
			log "  floor: $line"
			fl+=("$(kv whole_rate "$line")")
			rides_stream "scale${k}_$r" "scale$k"
			vendor_view "scale${k}_${r}_counts" "scale${k}_$r"
			drain "scale${k}_$r" "$n"
			sum=$(q -c "SELECT sum(count) FROM scale${k}_${r}_counts")
			[ "$sum" = $((2 * n)) ] && check=OK || check="MISMATCH(sum $sum)"
			[ "$check" = OK ] || SC_BAD[$k]=$check
			log "  streamview: ${D_WHOLE_S}s, $(printf %.0f "$D_WHOLE") msg/s, steady $(fmt "$D_STEADY"); $check"
			sv+=("$D_WHOLE $D_WHOLE_S $D_STEADY $D_FIRST_MS/$D_STALL_MS $check")
		done
		SC_FLOOR[$k]=$(median_of "${fl[@]}")
		read -r SC_RATE[$k] SC_S[$k] SC_STEADY[$k] SC_FS[$k] SC_CHECK[$k] \
			<<<"$(median_of "${sv[@]}")"
		SC_CHECK[$k]=${SC_BAD[$k]:-${SC_CHECK[$k]}}
	done
fi

if [ "$MANY_ONLY" = 0 ]; then
# ---- shared memory per window slot -------------------------------------
log "shared memory: restarting with streamview.max_windows = 100000 and 200000"
shm() {
	pg_stop
	pg_start -o "-c streamview.max_windows=$1"
	q -F' ' -c "SELECT sum(allocated_size),
		sum(allocated_size) FILTER (WHERE name LIKE 'streamview%')
		FROM pg_shmem_allocations"
}
read -r shm1_total shm1_named <<<"$(shm 100000)"
read -r shm2_total shm2_named <<<"$(shm 200000)"
SHM_SLOT=$(calc "($shm2_total - $shm1_total) / 100000")
SHM_NAMED=$(calc "($shm2_named - $shm1_named) / 100000")
KEY_BYTES=$(q -c "SELECT setting FROM pg_settings WHERE name = 'streamview.max_key_bytes'")
pg_stop

fi

# ---- the table -----------------------------------------------------------
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
if [ -n "${SV_BENCH_COMMIT:-}" ]; then
	commit=$SV_BENCH_COMMIT
else
	commit=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
	if [ -n "$(git -C "$top" status --porcelain -- src sql 2>/dev/null)" ]; then
		commit="$commit+uncommitted src/sql changes"
	fi
fi
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
pgv=$("$PGBIN/postgres" --version | awk '{ print $3 }')
# the library the worker loads: its package's version (as run-all.sh says it),
# else what the headers say
rdk=$(dpkg-query -W -f='${Version}' librdkafka1 2>/dev/null || true)
[ -n "$rdk" ] || rdk=$(pkg-config --modversion rdkafka 2>/dev/null || echo '?')
os=$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME" || echo '?')

R_STEADY=$(ratio "${SV_STEADY:-}" "${FLOOR_STEADY:-}")
R_WHOLE=$(ratio "${SV_WHOLE:-}" "${FLOOR_WHOLE:-}")
R_BASE=$(ratio "${SV_WHOLE:-}" "${BASE_RATE:-}")
R_HC=$(ratio "${HC_STEADY:-}" "${FLOOR_STEADY:-}")
R_AD=$(ratio "${HC_WHOLE_S:-}" "${WL_S:-}")
R_AC=$(ratio "${HC_WHOLE:-}" "${BHC_RATE:-}")
R_BA=$(ratio "${HK_RPS:-}" "${HC_RPS:-}")

{
	echo "streamview benchmark — commit $commit, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "library: $(ls -l --time-style='+%Y-%m-%d %H:%M' "$("$PGBIN/pg_config" --pkglibdir)/streamview.so" | awk '{ print $6, $7 }') installed streamview.so"
	echo "machine: $cpu, $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo); $os; PostgreSQL $pgv, librdkafka $rdk"
	echo "load average before the run: $LOAD0, after: $LOAD1; other broker/streamview processes at start: ${others:-0}"
	echo "N = $N zoomcamp rides, $P partitions, mock broker on loopback; cluster: shared_buffers=256MB,"
	echo "max_wal_size=4GB, checkpoint_timeout=30min, fsync/synchronous_commit on, streamview.* defaults"
	if [ -n "${SV_BENCH_STREAM_OPTIONS:-}" ]; then
		echo "stream options (NOT the defaults): $SV_BENCH_STREAM_OPTIONS"
	fi
	if [ -n "${SV_BENCH_PGCONF:-}" ]; then
		echo "postgresql.conf additions (NOT the defaults): $SV_BENCH_PGCONF"
	fi
	if [ -n "${SV_BENCH_LIBDIR:-}" ]; then
		echo "library NOT the installed one: $SV_BENCH_LIBDIR/streamview.so"
	fi
	echo
	printf "%-44s %9s %8s %11s %12s %12s  %s\n" "run" "messages" "whole s" "whole msg/s" "steady msg/s" "1st/stall ms" "counts"
	if [ "$MANY_ONLY" = 0 ]; then
	printf "%-44s %9s %8.3f %11s %12s %12s  %s\n" "floor: librdkafka consumer (median of ${#floor_kept[@]})" "$N" \
		"$FLOOR_WHOLE_S" "$(fmt "$FLOOR_WHOLE")" "$(fmt "$FLOOR_STEADY")" "-" "-"
	printf "%-44s %9s %8.3f %11s %12s %12s  %s\n" "streamview: per vendor_id (median of $RUNS)" "$N" \
		"$SV_WHOLE_S" "$(fmt "$SV_WHOLE")" "$(fmt "$SV_STEADY")" "$SV_FS" "$SV_CHECK"
	if [ "$HAVE_FORMATS" = 1 ]; then
		printf "%-44s %9s %8.3f %11s %12s %12s  %s\n" "the same rides as compact JSON (3 paths)" "$N" \
			"$JS_WHOLE_S" "$(fmt "$JS_WHOLE")" "$(fmt "$JS_STEADY")" "$JS_FS" "$JS_CHECK"
		printf "%-44s %9s %8.3f %11s %12s %12s  %s\n" "the same rides as quoted CSV" "$N" \
			"$CS_WHOLE_S" "$(fmt "$CS_WHOLE")" "$(fmt "$CS_STEADY")" "$CS_FS" "$CS_CHECK"
		printf "%-44s %9s %8.3f %11s %12s %12s  %s\n" "the same as CSV with a note column" "$N" \
			"$CN_WHOLE_S" "$(fmt "$CN_WHOLE")" "$(fmt "$CN_STEADY")" "$CN_FS" "$CN_CHECK"
	fi
	if [ "$HAVE_VIEWS" = 1 ]; then
		printf "%-44s %9s %8.3f %11s %12s %12s  %s\n" "query view vendor_stats: WHERE + 6 aggregates" "$N" \
			"$QV_WHOLE_S" "$(fmt "$QV_WHOLE")" "$(fmt "$QV_STEADY")" "$QV_FS" "$QV_CHECK"
	fi
	if [ "$HAVE_PAR" = 1 ]; then
		printf "%-44s %9s %8.3f %11s %12s %12s  %s\n" "streamview: per vendor_id, parallelism 2" "$N" \
			"$P2_WHOLE_S" "$(fmt "$P2_WHOLE")" "$(fmt "$P2_STEADY")" "$P2_FS" "$P2_CHECK"
	fi
	printf "%-44s %9s %8.3f %11s %12s %12s  %s\n" "baseline: kcat | COPY; INSERT..GROUP BY" "$BASE_ROWS" \
		"$BASE_S" "$(fmt "$BASE_RATE")" "-" "-" "$BASE_CHECK"
	fi
	if [ "$FEW_ONLY" = 0 ]; then
	printf "%-44s %9s %8.3f %11s %12s %12s  %s\n" "(a) streamview: 10/5 min per payment_type (100k)" "$N" \
		"$HC_WHOLE_S" "$(fmt "$HC_WHOLE")" "$(fmt "$HC_STEADY")" "$HC_FS" "$HC_CHECK ($HC_ROWS rows, $(fmt "$HC_RPS") rows/s)"
	printf "%-44s %9s %8.3f %11s %12s %12s  %s\n" "(b) streamview: 1 min tumbling, $N keys" "$((2 * N))" \
		"$HK_WHOLE_S" "$(fmt "$HK_WHOLE")" "$(fmt "$HK_STEADY")" "$HK_FS" "$HK_CHECK ($HK_ROWS rows, $(fmt "$HK_RPS") rows/s)"
	printf "%-44s %9s %8.3f %11s %12s %12s  %s\n" "(c) baseline for (a): kcat|COPY; INSERT..GROUP BY" "$BHC_MSGS" \
		"$BHC_S" "$(fmt "$BHC_RATE")" "-" "-" "$BHC_CHECK ($BHC_ROWS rows, $(fmt "$BHC_RPS") rows/s)"
	printf "%-44s %9s %8.3f %11s %12s %12s  %s\n" "(d) write limit: COPY of (a)'s rows, md5 order" "-" \
		"$WL_S" "-" "-" "-" "$WL_ROWS rows, $(fmt "$WL_RPS") rows/s"
	fi
	if [ "$SCALING" = 1 ]; then
		for k in 1 2 4; do
			printf "%-44s %9s %8.3f %11s %12s %12s  %s\n" "scaling ${k}N ($PS partitions, median of 3)" \
				$((k * N)) "${SC_S[$k]}" "$(fmt "${SC_RATE[$k]}")" "$(fmt "${SC_STEADY[$k]}")" "${SC_FS[$k]}" "${SC_CHECK[$k]}"
		done
		for k in 1 2 4; do
			printf "%-44s %9s %8s %11s %12s %12s  %s\n" "  floor on the same ${k}N topic (median of 3)" \
				$((k * N)) "" "$(fmt "${SC_FLOOR[$k]}")" "" "" ""
		done
	fi
	echo
	printf "%-52s %14s  %-16s %s\n" "measure" "value" "target" ""
	if [ "$MANY_ONLY" = 0 ]; then
	printf "%-52s %14s  %-16s %s\n" "streamview/floor, steady state" "$R_STEADY" ">= 0.9" "$(pass "$R_STEADY" '>=' 0.9)"
	printf "%-52s %14s  %-16s %s\n" "streamview/floor, whole drain" "$R_WHOLE" "" ""
	printf "%-52s %14s  %-16s %s\n" "  floor runs left out as stalled (< 1/2 the best)" "$FLOOR_STALLED of $RUNS" "" ""
	if [ "$HAVE_PAR" = 1 ]; then
		printf "%-52s %14s  %-16s %s\n" "parallelism 2/floor, steady state" \
			"$(ratio "$P2_STEADY" "$FLOOR_STEADY")" "" ""
	fi
	if [ "$HAVE_FORMATS" = 1 ]; then
		R_JS=$(ratio "$JS_STEADY" "$SV_STEADY")
		R_CS=$(ratio "$CS_STEADY" "$SV_STEADY")
		printf "%-52s %14s  %-16s %s\n" "JSON/delimited, steady state" "$R_JS" ">= 0.6" "$(pass "$R_JS" '>=' 0.6)"
		printf "%-52s %14s  %-16s %s\n" "CSV/delimited, steady state" "$R_CS" ">= 0.9" "$(pass "$R_CS" '>=' 0.9)"
		printf "%-52s %14s  %-16s %s\n" "  CSV with a note/delimited, steady state" \
			"$(ratio "$CN_STEADY" "$SV_STEADY")" "" ""
	fi
	if [ "$HAVE_VIEWS" = 1 ]; then
		R_QV=$(ratio "$QV_STEADY" "$SV_STEADY")
		printf "%-52s %14s  %-16s %s\n" "query view/count view, steady state" "$R_QV" ">= 0.6" "$(pass "$R_QV" '>=' 0.6)"
	fi
	printf "%-52s %14s  %-16s %s\n" "streamview/baseline, whole drain" "$R_BASE" ">= 4" "$(pass "$R_BASE" '>=' 4)"
	[ "$FEW_ONLY" = 0 ] && printf "%-52s %14s  %-16s %s\n" "100k-key view/floor, steady state" "$R_HC" "" ""
	printf "%-52s %14s  %-16s %s\n" "freshness p50 ($(fmt "$FR_RATE") msg/s, batch_max_ms=100)" "$FR_P50 ms" "" ""
	printf "%-52s %14s  %-16s %s\n" "freshness p99 (max $FR_MAX ms; $FR_N/$FR_TOTAL msgs)" "$FR_P99 ms" "<= 250 ms" "$(pass "$FR_P99" '<=' 250)"
	printf "%-52s %14s  %-16s %s\n" "  floor: plain consumer p50 / p99 (max $FR0_MAX ms)" "$FR0_P50/$FR0_P99 ms" "" ""
	printf "%-52s %14s  %-16s %s\n" "worker peak RSS (VmHWM), per vendor" "$((SV_HWM / 1024)) MB" "" ""
	printf "%-52s %14s  %-16s %s\n" "worker peak private RSS (RssAnon), per vendor" "$((SV_ANON / 1024)) MB" "" ""
	fi
	if [ "$FEW_ONLY" = 0 ]; then
	printf "%-52s %14s  %-16s %s\n" "freshness p50, 100k keys ($(fmt "$FRK_RATE") msg/s)" "$FRK_P50 ms" "" ""
	printf "%-52s %14s  %-16s %s\n" "freshness p99, 100k keys (max $FRK_MAX ms; $FRK_N/$FRK_TOTAL)" "$FRK_P99 ms" "<= 500 ms" "$(pass "$FRK_P99" '<=' 500)"
	printf "%-52s %14s  %-16s %s\n" "(a) drain time / (d) write-limit time" "$R_AD" "<= 1.5" "$(pass "$R_AD" '<=' 1.5)"
	printf "%-52s %14s  %-16s %s\n" "(a) msg/s / (c) baseline msg/s" "$R_AC" ">= 2" "$(pass "$R_AC" '>=' 2)"
	printf "%-52s %14s  %-16s %s\n" "(b) rows/s / (a) rows/s" "$R_BA" ">= 0.7" "$(pass "$R_BA" '>=' 0.7)"
	printf "%-52s %14s  %-16s %s\n" "worker peak RSS (VmHWM), (a) 100k keys" "$((HC_HWM / 1024)) MB" "<= 400 MB" "$(pass $((HC_HWM / 1024)) '<=' 400)"
	printf "%-52s %14s  %-16s %s\n" "worker peak private RSS (RssAnon), (a) 100k keys" "$((HC_ANON / 1024)) MB" "" ""
	printf "%-52s %14s  %-16s %s\n" "worker peak RSS (VmHWM), (b) 1M keys" "$((HK_HWM / 1024)) MB" "<= 400 MB" "$(pass $((HK_HWM / 1024)) '<=' 400)"
	printf "%-52s %14s  %-16s %s\n" "worker peak private RSS (RssAnon), (b) 1M keys" "$((HK_ANON / 1024)) MB" "" ""
	fi
	if [ "$MANY_ONLY" = 0 ]; then
	printf "%-52s %14s  %-16s %s\n" "shared memory per window slot (max_key_bytes=$KEY_BYTES)" \
		"$(printf %.1f "$SHM_SLOT") B" "<= 64 B + key" "$(pass "$SHM_SLOT" '<=' "64 + $KEY_BYTES")"
	printf "%-52s %14s  %-16s %s\n" "  of it in allocations named streamview*" "$(printf %.1f "$SHM_NAMED") B" "" ""
	fi
	if [ "$SCALING" = 1 ]; then
		R_SCALE=$(ratio "${SC_RATE[4]}" "${SC_RATE[1]}")
		printf "%-52s %14s  %-16s %s\n" "drain s at N / 2N / 4N" \
			"$(printf '%.2f/%.2f/%.2f' "${SC_S[1]}" "${SC_S[2]}" "${SC_S[4]}")" "" ""
		printf "%-52s %14s  %-16s %s\n" "rate at 4N / rate at N (whole drains)" "$R_SCALE" ">= 0.9" "$(pass "$R_SCALE" '>=' 0.9)"
		printf "%-52s %14s  %-16s %s\n" "  the same for the floor (the broker's share)" \
			"$(ratio "${SC_FLOOR[4]}" "${SC_FLOOR[1]}")" "" ""
		printf "%-52s %14s  %-16s %s\n" "streamview/floor, whole drains at N / 2N / 4N" \
			"$(ratio "${SC_RATE[1]}" "${SC_FLOOR[1]}")/$(ratio "${SC_RATE[2]}" "${SC_FLOOR[2]}")/$(ratio "${SC_RATE[4]}" "${SC_FLOOR[4]}")" "" ""
	fi
} >"$W/table.txt"
cat "$W/table.txt"
if [ -n "${SV_BENCH_OUT:-}" ]; then
	cp "$W/table.txt" "$SV_BENCH_OUT"
	log "done; table also in $SV_BENCH_OUT"
elif cp "$W/table.txt" "$bench/results-latest.txt" 2>/dev/null; then
	log "done; table also in test/bench/results-latest.txt"
else
	log "done; warning: could not write $bench/results-latest.txt"
fi
