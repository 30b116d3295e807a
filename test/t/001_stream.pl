# End to end: the zoomcamp example and friends against the local broker.
# Every count is checked window by window against counts computed in SQL
# from the messages the producer delivered.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use StreamviewTest;

my $broker = start_broker('rides:4', 'late:1', 'other:2');
my $node = new_node('stream');

# Workers and launcher show up under their own backend types.
ok(poll_until($node,
	"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'streamview launcher'", '1'),
	'launcher runs');

# 20,000 rides over 4 hours, out of time order, over 4 partitions.
my $f1 = produce_rides($broker, 'rides', 20000, seed => 7);
create_rides_stream($node, $broker, 'rides', 'rides');
$node->safe_psql('postgres', q{
	SELECT streamview.create_window_view('vendor_counts', 'rides', 'tpep_pickup_datetime',
	       ARRAY['vendor_id'], '10 minutes', '5 minutes');
	SELECT streamview.create_window_view('hourly', 'rides', 'tpep_dropoff_datetime',
	       '{}', '1 hour');
	SELECT streamview.create_window_view('"Payment Types"', 'rides', 'tpep_pickup_datetime',
	       ARRAY['payment_type', 'passenger_count'], '30 minutes', '10 minutes');
	SELECT streamview.start('rides');
});
is($node->safe_psql('postgres',
	"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'streamview worker'"),
	'1', 'start() returns with the worker up');
ok(wait_for_committed($node, 'rides', 20000), 'all 20000 messages committed');

load_produced($node, 'produced', $f1);
expected_counts($node, 'exp_vendor', 'produced', 2, 'f[1]::int', 600, 300);
expected_counts($node, 'exp_hourly', 'produced', 3, undef, 3600, 3600);
expected_counts($node, 'exp_payment', 'produced', 2, 'f[6]::int || \'/\' || f[4]::int', 1800, 600);

is(count_mismatches($node, 'exp_vendor',
	'SELECT window_start, vendor_id AS key, count FROM vendor_counts'),
	'0', 'sliding 10/5-minute counts per vendor match, window by window');
is($node->safe_psql('postgres', 'SELECT sum(count) FROM vendor_counts'), '40000',
	'each ride is in two sliding windows');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM vendor_counts WHERE window_end - window_start <> '10 minutes'"),
	'0', 'window_end is window_start + size');
is(count_mismatches($node, 'exp_hourly',
	'SELECT window_start, NULL::text AS key, count FROM hourly'),
	'0', 'tumbling hourly counts without keys match');
is(count_mismatches($node, 'exp_payment',
	'SELECT window_start, payment_type || \'/\' || passenger_count AS key, count FROM "Payment Types"'),
	'0', 'two-key view with a quoted name matches');

# live_counts shows the committed counts held in shared memory.
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM streamview.live_counts('vendor_counts') l
	  FULL JOIN vendor_counts v
	    ON v.window_start = l.window_start AND v.vendor_id::text = l.group_key[1]
	 WHERE l.count IS DISTINCT FROM v.count}), '0',
	'live_counts equals the results table');

# Status views.
is($node->safe_psql('postgres',
	"SELECT state, messages, rejects FROM streamview.stream_status WHERE stream = 'rides'"),
	'running|20000|0', 'stream_status shows the stream running and its messages');
ok(poll_until($node,
	"SELECT sum(lag), count(*), sum(high_watermark) FROM streamview.partition_status WHERE stream = 'rides'",
	'0|4|20000'), 'partition_status shows 4 partitions with no lag');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM streamview.partition_status WHERE stream = 'rides'
	    AND committed_at BETWEEN now() - interval '5 minutes' AND clock_timestamp()"),
	'4', 'partition_status shows when each partition last committed');

# stop, produce more, nothing moves; start resumes where it left off.
$node->safe_psql('postgres', "SELECT streamview.stop('rides')");
is($node->safe_psql('postgres',
	"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'streamview worker'"),
	'0', 'stop() returns with the worker gone');
is(stream_state($node, 'rides'), 'stopped', 'stream_status says stopped');
my $f2 = produce_rides($broker, 'rides', 5000, seed => 8);
sleep 1;
is(committed_offsets($node, 'rides'), '20000', 'a stopped stream consumes nothing');
$node->safe_psql('postgres', "SELECT streamview.start('rides')");
ok(wait_for_committed($node, 'rides', 25000), 'after start, the rest is consumed');

# A server restart resumes the running stream by itself.
$node->restart;
my $f3 = produce_rides($broker, 'rides', 5000, seed => 9);
ok(wait_for_committed($node, 'rides', 30000), 'after a restart the stream resumes by itself');

load_produced($node, 'produced', $f2, $f3);
$node->safe_psql('postgres', 'DROP TABLE exp_vendor');
expected_counts($node, 'exp_vendor', 'produced', 2, 'f[1]::int', 600, 300);
is(count_mismatches($node, 'exp_vendor',
	'SELECT window_start, vendor_id AS key, count FROM vendor_counts'),
	'0', 'counts are exact across stop/start and restart');

# A view created on a running stream counts from the stream's position on.
$node->safe_psql('postgres', q{
	SELECT streamview.create_window_view('late_view', 'rides', 'tpep_pickup_datetime',
	       '{}', '1 hour')});
my $f4 = produce_rides($broker, 'rides', 1000, seed => 10);
ok(wait_for_committed($node, 'rides', 31000), 'new messages consumed');
is($node->safe_psql('postgres', 'SELECT sum(count) FROM late_view'), '1000',
	'a view created on a running stream counts only what comes after');

# Renaming a results table while the stream runs: the view follows the table
# (the catalog keeps its OID) and a new table of the old name is never written to.
my $hourly_before = $node->safe_psql('postgres', 'SELECT sum(count) FROM hourly');
$node->safe_psql('postgres', q{
	ALTER TABLE hourly RENAME TO hourly_renamed;
	CREATE TABLE hourly (LIKE hourly_renamed INCLUDING ALL)});
produce_rides($broker, 'rides', 1000, seed => 13);
ok(wait_for_committed($node, 'rides', 32000), 'messages after the rename consumed');
is($node->safe_psql('postgres', 'SELECT sum(count) FROM hourly_renamed'), $hourly_before + 1000,
	'the renamed table got the new counts');
is($node->safe_psql('postgres', 'SELECT count(*) FROM hourly'), '0',
	'the new table of the old name got nothing');

# start_offset => latest skips what is already in the topic.
produce_rides($broker, 'other', 300, seed => 11);
create_rides_stream($node, $broker, 'from_latest', 'other', start_offset => 'latest');
$node->safe_psql('postgres', q{
	SELECT streamview.create_window_view('latest_counts', 'from_latest',
	       'tpep_pickup_datetime', '{}', '1 hour');
	SELECT streamview.start('from_latest')});
ok(poll_until($node,
	"SELECT sum(next_offset) FROM streamview.offsets WHERE stream = 'from_latest'", '300'),
	'latest resolves to the end of each partition, stored before the first batch');
produce_rides($broker, 'other', 200, seed => 12);
ok(wait_for_committed($node, 'from_latest', 500), 'later messages consumed');
is($node->safe_psql('postgres', 'SELECT sum(count) FROM latest_counts'), '200',
	'only messages after the start are counted');

# Partitions the stream has not seen get their earliest offset: simulate a
# stream that knew partition 0 of 'other' only, before partition 1 appeared.
create_rides_stream($node, $broker, 'grown', 'other');
$node->safe_psql('postgres', q{
	SELECT streamview.create_window_view('grown_counts', 'grown',
	       'tpep_pickup_datetime', '{}', '1 hour');
	INSERT INTO streamview.offsets VALUES ('grown', 0, 0);
	SELECT streamview.start('grown')});
ok(wait_for_committed($node, 'grown', 500), 'the unseen partition is picked up');
is($node->safe_psql('postgres', 'SELECT sum(count) FROM grown_counts'), '500',
	'every message of the new partition counted once');

# drop_stream stops the worker.
$node->safe_psql('postgres', q{
	SELECT streamview.drop_window_view('grown_counts');
	SELECT streamview.drop_stream('grown')});
is($node->safe_psql('postgres',
	"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'streamview worker'"),
	'2', 'drop_stream stops its worker, the others run on');

# A launcher that restarts (terminated here; the postmaster starts it again
# after 5 s) finds the running workers in shared memory and leaves them be.
# Before, it started a second worker for every running one, which could not
# take the slot and exited, and then another, every second.
my $old_launcher = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'streamview launcher'");
my $workers_before = $node->safe_psql('postgres', q{
	SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE backend_type = 'streamview worker'});
my $log_offset = -s $node->logfile;
$node->safe_psql('postgres', "SELECT pg_terminate_backend($old_launcher)");
ok(poll_until($node, qq{SELECT count(*) FROM pg_stat_activity
	WHERE backend_type = 'streamview launcher' AND pid <> $old_launcher}, '1', 60),
	'the launcher is back');
# a stream started now shows that the new launcher went over the slots
create_rides_stream($node, $broker, 'after_restart', 'other');
$node->safe_psql('postgres', q{
	SELECT streamview.create_window_view('after_restart_counts', 'after_restart',
	       'tpep_pickup_datetime', '{}', '1 hour');
	SELECT streamview.start('after_restart')});
ok(wait_for_committed($node, 'after_restart', 500), 'it starts new streams');
unlike(slurp_file($node->logfile, $log_offset),
	qr/streamview worker \d+ of stream \d+ exits: the stream was stopped or has that worker already/,
	'and starts no second worker for a running one');
is($node->safe_psql('postgres', qq{
	SELECT count(*) FILTER (WHERE pid = ANY ('{$workers_before}'::int[])) || ' ' || count(*)
	  FROM pg_stat_activity WHERE backend_type = 'streamview worker'}),
	'2 3', 'the two workers that ran before run on, beside the new one');

$node->stop;
done_testing();
