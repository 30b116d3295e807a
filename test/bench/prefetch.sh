#!/usr/bin/env bash
# Does librdkafka's prefetch queue stall a consumer that pauses now and then?
# (issue 12: re-measure src/kafka.c's 2.0.2 workaround on newer librdkafka;
# issue 13: what the big queue limits cost in memory)
#
#   bash test/bench/prefetch.sh [N]      N rides, default 1000000
#   SV_PREFETCH_ROUNDS=3                 rounds (every configuration once per
#                                        round, interleaved; medians)
#   SV_PREFETCH_PAUSE="100000 10"        pause every N messages for MS ms
#                                        ("100000 60": a consumer slower than
#                                        the broker, whose queue fills up)
#
# On the local mock broker (test/broker/sv_broker) it produces N zoomcamp
# rides once to a topic of 64 partitions (more if N would overflow the
# mock's ~5 MB per partition), then drains them ROUNDS times per
# configuration with test/bench/sv_floor (a plain consumer: every partition
# assigned at offset 0, rd_kafka_consume_batch_queue) that sleeps 10 ms
# after every 100k messages without calling librdkafka, as a worker's batch
# commit does; librdkafka's threads go on fetching meanwhile. The
# configurations are librdkafka consumer properties given as -X; those the
# installed librdkafka does not know are skipped (n/a).
#
# Per configuration: the median steady rate (10% to 100% of N, pauses
# included; min-max of the rounds beside it), the median whole-drain rate
# (start-up included), the median peak RSS of the consumer process (VmHWM
# at the end of the drain), steady rate / the best median steady rate, and
# the stalls: in how many drains a single wait for messages (once the first
# had arrived) took 500 ms or more, and the longest wait of all rounds. A
# fetch stall (librdkafka not fetching while its queue runs empty: up to
# 1 s) shows there even when the machine's load blurs the rates; waits of
# 100-300 ms come and go with the load in every configuration. Then, once per
# configuration, "RSS full": the peak RSS of a consumer that reads N/10
# messages, pauses 3 s (librdkafka prefetches up to its queue limits
# meanwhile) and reads N/10 more: what the limits cost when the consumer
# falls behind. Progress goes to stderr, the table to stdout.
#
# Works as root or as any user (nothing here runs PostgreSQL); needs gcc and
# librdkafka-dev (builds sv_floor, and the broker and the producer if they
# are missing: in a new test/root.sh root, run `bash test/setup.sh` first).
# Cleans up its broker and work directory.
set -euo pipefail

N=${1:-1000000}
ROUNDS=${SV_PREFETCH_ROUNDS:-3}
read -r PAUSE_EVERY PAUSE_MS <<<"${SV_PREFETCH_PAUSE:-100000 10}"
top=$(cd "$(dirname "$0")/../.." && pwd)
bench=$top/test/bench
tools=$top/test/broker

log() { echo "[prefetch $(date +%H:%M:%S)] $*" >&2; }
die() { echo "prefetch: $*" >&2; exit 1; }
kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }
median_of() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }
isnum() { [[ $1 =~ ^[0-9.]+$ ]]; }
min_of() { printf '%s\n' "$@" | sort -n | head -1; }
max_of() { printf '%s\n' "$@" | sort -n | tail -1; }

[[ $N =~ ^[0-9]+$ ]] && [ "$N" -ge 1000 ] || die "N must be an integer >= 1000"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "SV_PREFETCH_ROUNDS must be a positive integer"
[[ $PAUSE_EVERY =~ ^[0-9]+$ && $PAUSE_MS =~ ^[0-9]+$ ]] ||
	die "SV_PREFETCH_PAUSE must be \"EVERY MS\""
if [ ! -x "$tools/sv_broker" ] || [ ! -x "$tools/sv_produce" ]; then
	log "building the broker and the producer"
	make -s -C "$top" test/broker/sv_broker test/broker/sv_produce >&2 ||
		die "could not build them (bash test/setup.sh installs what they need)"
fi

others=$(pgrep -c -f 'sv_broker|postgres: streamview' || true)
[ "${others:-0}" -gt 0 ] &&
	log "warning: $others other sv_broker/streamview processes are running; figures will be noisy"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

W=$(mktemp -d "${TMPDIR:-/tmp}/sv-prefetch.XXXXXX")
BROKER_PID=
FLOOR_PID=
cleanup() {
	set +e
	[ -n "$FLOOR_PID" ] && kill "$FLOOR_PID" 2>/dev/null && wait "$FLOOR_PID" 2>/dev/null
	[ -n "$BROKER_PID" ] && kill "$BROKER_PID" 2>/dev/null && wait "$BROKER_PID" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

gcc -std=gnu99 -O2 -Wall -Wextra -o "$W/sv_floor" "$bench/sv_floor.c" -lrdkafka ||
	die "could not build sv_floor"
VERSION=$("$W/sv_floor" --version)

# The configurations: name, then -X properties. "streamview" is what
# src/kafka.c's sv_kafka_conf sets (its fetch.wait.max.ms=50 is left out:
# it matters for freshness, not here). When the queue is at its limits,
# librdkafka 2.2+ postpones a partition's next fetch by fetch.queue.backoff.ms
# (default 1000); 2.0.2 leaves the partition until its broker thread next
# wakes up (up to 1 s), and fetch.error.backoff.ms applies to fetch errors
# only (see rd_kafka_toppar_fetch_decide in rdkafka_fetcher.c).
CONFIGS=(
	"defaults|"
	"streamview|fetch.error.backoff.ms=20 queued.min.messages=1000000 queued.max.messages.kbytes=262144"
	"1M/256MB|queued.min.messages=1000000 queued.max.messages.kbytes=262144"
	"min500k|queued.min.messages=500000"
	"min250k|queued.min.messages=250000"
	"err20|fetch.error.backoff.ms=20"
	"err20+min20k|fetch.error.backoff.ms=20 queued.min.messages=20000"
	"streamview+q20|fetch.queue.backoff.ms=20 fetch.error.backoff.ms=20 queued.min.messages=1000000 queued.max.messages.kbytes=262144"
	"q20+min250k|fetch.queue.backoff.ms=20 queued.min.messages=250000"
	"q20|fetch.queue.backoff.ms=20"
	"q20+min50k|fetch.queue.backoff.ms=20 queued.min.messages=50000"
	"q20+min20k|fetch.queue.backoff.ms=20 queued.min.messages=20000"
)
xargs_of() { # "k=v k=v" -> -X k=v -X k=v
	local p out=()
	for p in $1; do out+=(-X "$p"); done
	[ ${#out[@]} -eq 0 ] || printf '%s\n' "${out[@]}"
}
names=() props=() skipped=()
for c in "${CONFIGS[@]}"; do
	name=${c%%|*} p=${c#*|}
	mapfile -t xa < <(xargs_of "$p")
	if "$W/sv_floor" --version "${xa[@]}" >/dev/null 2>"$W/check.err"; then
		names+=("$name") props+=("$p")
	else
		skipped+=("$name ($(sed 's/^sv_floor: //' "$W/check.err" | head -1))")
	fi
done

P=64
while [ $((P * 40000)) -lt "$N" ]; do P=$((P * 2)); done
log "$(kv librdkafka "$VERSION"): starting the broker (rides:$P) in $W"
"$tools/sv_broker" --bootstrap-file "$W/bootstrap" "rides:$P" </dev/null >"$W/broker.log" 2>&1 &
BROKER_PID=$!
for _ in $(seq 100); do [ -s "$W/bootstrap" ] && break; sleep 0.1; done
[ -s "$W/bootstrap" ] || die "broker did not start: $(cat "$W/broker.log")"
B=$(head -1 "$W/bootstrap")

log "producing $N rides"
# big produce batches, as run.sh does (the mock keeps ~100k batches per partition)
"$tools/sv_produce" --brokers "$B" --topic rides --rides "$N" --seed 1 \
	-X linger.ms=200 -X batch.size=262144 2>&1 | sed 's/^/    /' >&2
[ "${PIPESTATUS[0]}" -eq 0 ] || die "sv_produce failed"

declare -A STEADY WHOLE RSS MAXW
nc=${#names[@]}
for r in $(seq "$ROUNDS"); do
	for j in $(seq 0 $((nc - 1))); do
		i=$(((j + r - 1) % nc)) # a different configuration first in each round
		mapfile -t xa < <(xargs_of "${props[$i]}")
		"$W/sv_floor" --brokers "$B" --topic rides --messages "$N" --timeout-s 300 \
			--pause-every "$PAUSE_EVERY" --pause-ms "$PAUSE_MS" --stats "${xa[@]}" \
			>"$W/out" 2>"$W/err" &
		FLOOR_PID=$!
		wait "$FLOOR_PID" || die "sv_floor failed (${names[$i]}): $(cat "$W/err")"
		FLOOR_PID=
		line=$(cat "$W/out")
		stats=$(grep '^sv_floor: peak_rss_kb=' "$W/err" || true)
		rss=$(kv peak_rss_kb "$stats") mw=$(kv max_wait_ms "$stats") sw=$(kv waits_over_100ms "$stats")
		isnum "$(kv steady_rate "$line")" && isnum "$rss" && isnum "$mw" && isnum "$sw" ||
			die "unexpected output (${names[$i]}): $line $(cat "$W/err")"
		STEADY[$i]+="$(kv steady_rate "$line") "
		WHOLE[$i]+="$(kv whole_rate "$line") "
		RSS[$i]+="$rss "
		MAXW[$i]+="$mw "
		log "round $r ${names[$i]}: steady $(kv steady_rate "$line") msg/s, whole $(kv whole_rate "$line") msg/s," \
			"peak RSS $((rss / 1024)) MB, longest wait $mw ms, $sw waits > 100 ms"
	done
done

# what the limits cost when the consumer falls behind: a 3 s pause at N/10
declare -A FULL
for i in $(seq 0 $((nc - 1))); do
	mapfile -t xa < <(xargs_of "${props[$i]}")
	"$W/sv_floor" --brokers "$B" --topic rides --messages $((N / 5)) --timeout-s 300 \
		--pause-every $((N / 10)) --pause-ms 3000 --stats "${xa[@]}" >"$W/out" 2>"$W/err" &
	FLOOR_PID=$!
	wait "$FLOOR_PID" || die "sv_floor failed (${names[$i]}, full queue): $(cat "$W/err")"
	FLOOR_PID=
	FULL[$i]=$(kv peak_rss_kb "$(grep '^sv_floor: peak_rss_kb=' "$W/err" || true)")
	isnum "${FULL[$i]}" || die "unexpected output (${names[$i]}, full queue): $(cat "$W/err")"
	log "full queue ${names[$i]}: peak RSS $((FULL[$i] / 1024)) MB"
done

best=0
for i in $(seq 0 $((nc - 1))); do
	# shellcheck disable=SC2086
	m=$(median_of ${STEADY[$i]})
	awk "BEGIN { exit !($m > $best) }" && best=$m
done
{
	echo "prefetch queue limits vs a consumer that pauses $PAUSE_MS ms every $PAUSE_EVERY messages"
	echo "$VERSION"
	echo "$N rides, $P partitions, local mock broker; $ROUNDS rounds, interleaved; medians" \
		"(min-max of steady rate); $(nproc) cores, load before: $LOAD0; other broker/streamview processes: ${others:-0}"
	echo "stalled: drains with a wait for messages of 500 ms or more, of all; longest: the longest wait in any round;"
	echo "RSS/full: peak RSS of the drain (median) / of a consumer that paused 3 s at N/10 (queue at its limits)"
	echo
	printf "%-15s %9s %11s %9s %6s %7s %8s %8s  %s\n" "config" "steady/s" "(min-max)" \
		"whole/s" "/best" "stalled" "longest" "RSS/full" "properties"
	for i in $(seq 0 $((nc - 1))); do
		# shellcheck disable=SC2086
		s=$(median_of ${STEADY[$i]}) smin=$(min_of ${STEADY[$i]}) smax=$(max_of ${STEADY[$i]})
		# shellcheck disable=SC2086
		w=$(median_of ${WHOLE[$i]}) m=$(median_of ${RSS[$i]})
		# shellcheck disable=SC2086
		mw=$(max_of ${MAXW[$i]})
		# shellcheck disable=SC2086
		sw=$(printf '%s\n' ${MAXW[$i]} | awk '$1 >= 500 { n++ } END { printf "%d/%d", n, NR }')
		printf "%-15s %9.0f %11s %9.0f %6.2f %7s %5s ms %8s  %s\n" "${names[$i]}" "$s" \
			"$(awk "BEGIN { printf \"%.2f-%.2fM\", $smin / 1e6, $smax / 1e6 }")" \
			"$w" "$(awk "BEGIN { print $s / $best }")" "$sw" "$mw" \
			"$((m / 1024))/$((FULL[$i] / 1024))MB" "${props[$i]:-(librdkafka defaults)}"
	done
	for s in "${skipped[@]}"; do echo "skipped: $s"; done
}
