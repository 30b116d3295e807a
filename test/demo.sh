#!/usr/bin/env bash
# The streamview demo on a fresh machine: sets everything up (Debian packages,
# build, install), starts a throwaway Kafka-protocol broker on loopback and a
# throwaway PostgreSQL cluster, creates the zoomcamp stream and a 10-minute
# window sliding by 5 minutes per vendor, produces taxi rides at a steady
# rate, and shows the window counts changing live for DEMO_SECONDS (default
# 30) seconds. Then, when run from a terminal, it waits for Enter so you can
# look around with psql; either way it ends by stopping and removing the
# broker, the cluster and its work directory. Ctrl-C does that at any time.
#
# Environment: DEMO_SECONDS (default 30), DEMO_RATE (rides per second,
# default 2000), DEMO_PORT (the PostgreSQL cluster's port, default 54329).
set -euo pipefail
cd "$(dirname "$0")/.."
bash test/setup.sh

export PATH="/usr/lib/postgresql/15/bin:$PATH"
top=$(pwd)
work=/tmp/streamview-demo-$(id -un)
port=${DEMO_PORT:-54329}
seconds=${DEMO_SECONDS:-30}
rate=${DEMO_RATE:-2000}

if [ "$(id -u)" -eq 0 ]; then
	as_pg() { runuser -u postgres -- env PATH="$PATH" "$@"; }
	pguser=postgres
else
	as_pg() { "$@"; }
	pguser=$(id -un)
fi

broker_pid=""
producer_pid=""
cleanup() {
	[ -n "$producer_pid" ] && kill "$producer_pid" 2>/dev/null || true
	as_pg pg_ctl -D "$work/data" -m fast stop >/dev/null 2>&1 || true
	[ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null || true
	rm -rf "$work"
	echo "demo: stopped and removed the broker, the cluster and $work"
}
as_pg pg_ctl -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
rm -rf "$work" && mkdir -p "$work"
[ "$(id -u)" -eq 0 ] && chown postgres: "$work"
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "demo: starting the local Kafka broker (librdkafka's mock cluster)"
test/broker/sv_broker --bootstrap-file "$work/bootstrap" rides_csv:4 \
	</dev/null >"$work/broker.log" 2>&1 &
broker_pid=$!
for _ in $(seq 100); do [ -s "$work/bootstrap" ] && break; sleep 0.1; done
brokers=$(cat "$work/bootstrap")
echo "demo: broker at $brokers, topic rides_csv with 4 partitions"

echo "demo: starting a throwaway PostgreSQL cluster on port $port"
as_pg initdb -D "$work/data" -A trust -U "$pguser" >/dev/null
cat >>"$work/data/postgresql.conf" <<EOF
port = $port
listen_addresses = ''
unix_socket_directories = '$work'
shared_preload_libraries = 'streamview'
streamview.batch_max_ms = 200
EOF
as_pg pg_ctl -D "$work/data" -l "$work/postgres.log" -w start >/dev/null
psql_demo() { psql -X -q -h "$work" -p "$port" -U "$pguser" -d postgres "$@"; }

psql_demo <<EOF
CREATE EXTENSION streamview;
SELECT streamview.create_stream(
  name         => 'rides',
  brokers      => '$brokers',
  topic        => 'rides_csv',
  columns      => 'vendor_id int, tpep_pickup_datetime timestamp, tpep_dropoff_datetime timestamp,
                   passenger_count int, trip_distance real, payment_type int, total_amount real');
SELECT streamview.create_window_view(
  name        => 'vendor_counts',
  stream      => 'rides',
  time_column => 'tpep_pickup_datetime',
  group_by    => ARRAY['vendor_id'],
  size        => '10 minutes',
  slide       => '5 minutes');
\echo 'demo: a sample ride, parsed by the stream''s schema:'
SELECT streamview.parse_message('rides', '1, 2020-07-01 00:25:32, 2020-07-01 00:33:39, 1, 1.50, 2, 9.3');
SELECT streamview.start('rides');
EOF

echo "demo: producing taxi rides at $rate per second (pickups 2020-07-01 00:00 to 01:00, out of order)"
test/broker/sv_produce --brokers "$brokers" --topic rides_csv --rides $((rate * (seconds + 5))) \
	--rate "$rate" --span-minutes 60 --seed "$RANDOM" >/dev/null 2>"$work/producer.log" &
producer_pid=$!

connect="psql -h $work -p $port -U $pguser postgres"
end=$((SECONDS + seconds))
while [ $SECONDS -lt $end ]; do
	sleep 2
	clear 2>/dev/null || true
	echo "streamview demo: live window counts (refreshing every 2 s, $((end - SECONDS)) s left)"
	echo "while it runs, connect from another terminal with: $connect"
	psql_demo <<'EOF'
SELECT stream, state, messages, batches, rejects, round(last_batch_ms::numeric, 1) AS last_batch_ms
  FROM streamview.stream_status;
SELECT window_start, window_end,
       max(count) FILTER (WHERE vendor_id = 1) AS vendor_1,
       max(count) FILTER (WHERE vendor_id = 2) AS vendor_2
  FROM vendor_counts GROUP BY 1, 2 ORDER BY 1;
EOF
done

# From a terminal, the cluster stays up until Enter; otherwise the demo ends
# here (and cleanup says what it removed).
if [ -t 0 ]; then
	cat <<EOF

The demo cluster stays up until you press Enter. In another terminal, connect with
    $connect
and try
    SELECT * FROM vendor_counts ORDER BY window_start, vendor_id;
    SELECT * FROM streamview.live_counts('vendor_counts');
    SELECT * FROM streamview.stream_status;
    SELECT * FROM streamview.partition_status;
EOF
	read -r -p "Press Enter to stop the demo and remove everything. " _
else
	echo "demo: the $seconds s are over (DEMO_SECONDS)"
fi
