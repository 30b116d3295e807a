# A good database citizen: table statistics and autovacuum while streams run,
# live_counts() after a user's TRUNCATE, DELETE and UPDATE, DROP EXTENSION
# while streams run, pg_dump and pg_restore of running streams, the error
# lifecycle in stream_status, and the messages a DBA sees.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use POSIX ();
use Test::More;
use StreamviewTest;

my $broker = start_broker('citizen:4', 'drop:2', 'dump:4', 'marker:1');

my $node = new_node('citizen', <<'EOF');
autovacuum_naptime = 1
autovacuum_vacuum_threshold = 50
autovacuum_vacuum_scale_factor = 0
autovacuum_analyze_threshold = 50
autovacuum_analyze_scale_factor = 0
EOF

sub view_on
{
	my ($n, $view, $stream) = @_;
	$n->safe_psql('postgres', qq{
		SELECT streamview.create_window_view('$view', '$stream', 'tpep_pickup_datetime',
		       ARRAY['vendor_id'], '10 minutes', '5 minutes')});
	return;
}

# 1. Workers report table statistics: autovacuum vacuums the results table
# and streamview.offsets while the stream runs, and keeps dead rows down.
create_rides_stream($node, $broker, 'citizen', 'citizen');
view_on($node, 'citizen_counts', 'citizen');
$node->safe_psql('postgres', "SELECT streamview.start('citizen')");
my $pid = $node->safe_psql('postgres',
	"SELECT pid FROM streamview.stream_status WHERE stream = 'citizen'");
my @files = (produce_rides($broker, 'citizen', 10000, seed => 81, rate => 2000));
ok(wait_for_committed($node, 'citizen', 10000), 'consumed the first rides');
cmp_ok($node->safe_psql('postgres',
	"SELECT n_tup_upd FROM pg_stat_user_tables WHERE relid = 'streamview.offsets'::regclass"),
	'>', 0, 'the worker reports its updates of streamview.offsets while it runs');
ok(poll_until($node, q{
	SELECT count(*) FROM pg_stat_user_tables
	 WHERE relid IN ('streamview.offsets'::regclass, 'citizen_counts'::regclass)
	   AND autovacuum_count > 0}, '2', 60),
	'autovacuum vacuumed the results table and streamview.offsets');
push @files, produce_rides($broker, 'citizen', 10000, seed => 82, rate => 2000);
ok(wait_for_committed($node, 'citizen', 20000), 'consumed the second rides');
ok(poll_until($node, q{
	SELECT n_dead_tup < 50 FROM pg_stat_user_tables
	 WHERE relid = 'streamview.offsets'::regclass}, 't', 60),
	'and keeps streamview.offsets free of dead rows');
is($node->safe_psql('postgres',
	"SELECT state || ' ' || pid FROM streamview.stream_status WHERE stream = 'citizen'"),
	"running $pid", 'all the while the same worker ran the stream');
check_vendor_view($node, 'citizen_counts', 'with autovacuum', @files);

# 2. live_counts() never shows a count the results table does not hold,
# whatever a user does to the table.
my $live_mismatches = q{
	SELECT count(*) FROM streamview.live_counts('citizen_counts') l
	  LEFT JOIN citizen_counts t
	    ON t.window_start = l.window_start::timestamp AND t.vendor_id::text = l.group_key[1]
	 WHERE t.count IS DISTINCT FROM l.count};
my $total = 20000;

# Produces rides and waits until the stream has committed them.
sub more_rides
{
	my ($n, $seed) = @_;
	produce_rides($broker, 'citizen', $n, seed => $seed, span => 60);
	$total += $n;
	return wait_for_committed($node, 'citizen', $total);
}

cmp_ok($node->safe_psql('postgres',
	"SELECT count(*) FROM streamview.live_counts('citizen_counts')"), '>', 0,
	'live_counts shows windows');
is($node->safe_psql('postgres', $live_mismatches), '0', 'live_counts agrees with the table');

$node->safe_psql('postgres', 'TRUNCATE citizen_counts');
ok(more_rides(1, 83), 'one more ride after TRUNCATE');
is($node->safe_psql('postgres', $live_mismatches), '0',
	'after TRUNCATE, live_counts shows no count the table does not hold');
is($node->safe_psql('postgres',
	"SELECT sum(count) FROM streamview.live_counts('citizen_counts')"), '2',
	'only the new ride, in its two windows');

ok(more_rides(2000, 84), 'rides into the truncated table');
$node->safe_psql('postgres', q{
	DELETE FROM citizen_counts
	 WHERE window_start < (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY window_start)
	                         FROM citizen_counts)});
is($node->safe_psql('postgres', $live_mismatches), '0', 'after DELETE of old windows');
ok(more_rides(2000, 85), 'rides into deleted windows too');
is($node->safe_psql('postgres', $live_mismatches), '0', 'and after the next batches');

$node->safe_psql('postgres', 'UPDATE citizen_counts SET count = count + 1000 WHERE vendor_id = 1');
is($node->safe_psql('postgres', $live_mismatches), '0', 'after UPDATE of counts');
ok(more_rides(2000, 86), 'rides into updated windows');
is($node->safe_psql('postgres', $live_mismatches), '0', 'and after the next batches');

# Users deleting windows while batches commit.
my $deleter = fork();
die "fork: $!" unless defined $deleter;
if ($deleter == 0)
{
	for my $i (1 .. 40)
	{
		system('psql', '-X', '-q', '-d', $node->connstr('postgres'), '-c',
			"DELETE FROM citizen_counts WHERE vendor_id = " . ($i % 3 + 1)
			  . " AND window_start = (SELECT max(window_start) FROM citizen_counts)");
		select(undef, undef, undef, 0.05);
	}
	# not exit: the END blocks would stop the node and the broker
	POSIX::_exit(0);
}
produce_rides($broker, 'citizen', 10000, seed => 87, span => 60, rate => 5000);
$total += 10000;
waitpid($deleter, 0);
ok(wait_for_committed($node, 'citizen', $total), 'rides while a user deletes windows');
is($node->safe_psql('postgres', $live_mismatches), '0',
	'live_counts agrees with the table after concurrent deletes');

# A drop_window_view that fails (a user's view depends on the table) leaves
# the results table registered: a DELETE after it still takes the deleted
# windows out of live_counts. (The registration used to go before the DROP
# TABLE ran, and stayed gone when it failed.)
$node->safe_psql('postgres', 'CREATE VIEW citizen_dep AS SELECT * FROM citizen_counts');
my ($drop_rc, $drop_out, $drop_err) =
  $node->psql('postgres', "SELECT streamview.drop_window_view('citizen_counts')");
like($drop_err, qr/cannot drop table citizen_counts because other objects depend on it/,
	'drop_window_view fails while a view depends on the results table');
ok(more_rides(2000, 88), 'the stream counts on');
cmp_ok($node->safe_psql('postgres', q{
	SELECT count(*) FROM streamview.live_counts('citizen_counts') WHERE group_key[1] = '2'}),
	'>', 0, 'live_counts shows the new windows');
$node->safe_psql('postgres', 'DELETE FROM citizen_counts WHERE vendor_id = 2');
is($node->safe_psql('postgres', $live_mismatches), '0',
	'a DELETE after the failed drop still reaches live_counts');
$node->safe_psql('postgres', 'DROP VIEW citizen_dep');

# 5. Errors have a lifecycle; a starting stream says what it waits for.
$node->safe_psql('postgres', q{
	SELECT streamview.create_stream('nowhere', '127.0.0.1:1', 'nowhere', 'a int');
	SELECT streamview.start('nowhere')});
ok(poll_until($node, q{
	SELECT detail IN ('connecting to 127.0.0.1:1 for the partitions of topic "nowhere"',
	                  'waiting 500 ms before asking 127.0.0.1:1 again for the partitions of topic "nowhere"')
	  FROM streamview.stream_status WHERE stream = 'nowhere'}, 't', 20),
	'a stream waiting for its brokers says so in detail');
my ($rc, $out, $err) = $node->psql('postgres', "SELECT streamview.start('nowhere')");
like($err, qr/NOTICE:  stream "nowhere" is already running/, 'start() of a running stream says so');
$node->safe_psql('postgres', "SELECT streamview.stop('nowhere')");
($rc, $out, $err) = $node->psql('postgres', "SELECT streamview.stop('nowhere')");
like($err, qr/NOTICE:  stream "nowhere" is not running/, 'stop() of a stopped stream says so');

broker_cmd($broker, 'down 1');
ok(poll_until($node, q{
	SELECT state = 'retrying' AND last_error IS NOT NULL AND last_error_at IS NOT NULL
	  FROM streamview.stream_status WHERE stream = 'citizen'}, 't', 30),
	'broker down: retrying, with last_error and last_error_at');
my $error_at = $node->safe_psql('postgres',
	"SELECT last_error_at FROM streamview.stream_status WHERE stream = 'citizen'");
sleep 1;
broker_cmd($broker, 'up 1');
ok(more_rides(100, 88), 'broker back: the stream consumes again');
ok(poll_until($node, q{
	SELECT state = 'running' AND last_error IS NULL AND last_error_at IS NOT NULL
	  FROM streamview.stream_status WHERE stream = 'citizen'}, 't', 30),
	'a committed batch clears last_error and keeps last_error_at');
cmp_ok($node->safe_psql('postgres',
	"SELECT last_error_at >= '$error_at' FROM streamview.stream_status WHERE stream = 'citizen'"),
	'eq', 't', 'last_error_at is when the error happened');

# 6. Offsets go past records that are never delivered: a partition whose
# last record is a transaction marker reaches lag 0.
my @ride = ('1, 2020-07-01 00:25:32, 2020-07-01 00:33:39, 1, 1.50, 2, 9.3',
	'2, 2020-07-01 00:27:00, 2020-07-01 00:40:00, 2, 3.10, 1, 14.8');
my @marked = (produce_lines($broker, 'marker', 0, @ride, $ride[0]));
is(produce_marker($broker, 'marker', 0), '3', 'a transaction marker at offset 3');
create_rides_stream($node, $broker, 'marker', 'marker');
view_on($node, 'marker_counts', 'marker');
$node->safe_psql('postgres', "SELECT streamview.start('marker')");
ok(wait_for_committed($node, 'marker', 4, 30), 'the stored next offset is past the marker');
ok(poll_until($node, q{
	SELECT high_watermark || ' ' || lag FROM streamview.partition_status WHERE stream = 'marker'},
	'4 0', 30), 'and the lag is 0');
push @marked, produce_lines($broker, 'marker', 0, @ride);
ok(wait_for_committed($node, 'marker', 6, 30), 'two more rides');
is(produce_marker($broker, 'marker', 0), '6', 'a marker after the stream caught up');
ok(wait_for_committed($node, 'marker', 7, 30), 'is passed too, by a batch without messages');
check_vendor_view($node, 'marker_counts', 'with transaction markers', @marked);

# 7. stream_status lists streams by name; logs name streams.
$node->safe_psql('postgres', q{
	SELECT streamview.create_stream('b stream', '127.0.0.1:1', 't', 'a int');
	SELECT streamview.create_stream('A stream', '127.0.0.1:1', 't', 'a int')});
is($node->safe_psql('postgres', 'SELECT string_agg(stream, \',\') FROM streamview.stream_status'),
	$node->safe_psql('postgres',
		'SELECT string_agg(name, \',\' ORDER BY name) FROM streamview.streams'),
	'stream_status rows come ordered by stream name');
$node->safe_psql('postgres', "SELECT streamview.stop('citizen')");
my $log = slurp_file($node->logfile);
like($log, qr/LOG:  streamview worker 0 of stream "citizen" stopping/, 'the log names the stream');
unlike($log, qr/for stream \d/, 'and never names a stream by its id');
$node->stop;

# 3. DROP EXTENSION (without and with CASCADE) while streams run stops every
# worker without errors; CREATE EXTENSION starts from nothing.
my $dropper = new_node('dropper');
create_rides_stream($dropper, $broker, 'drop', 'drop');
view_on($dropper, 'drop_counts', 'drop');
$dropper->safe_psql('postgres', "SELECT streamview.start('drop')");
my $dropfile = produce_rides($broker, 'drop', 500, seed => 91);
ok(wait_for_committed($dropper, 'drop', 500), 'dropper consumed');
my $workers = "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'streamview worker'";
my $logpos = -s $dropper->logfile;
$dropper->safe_psql('postgres', 'DROP EXTENSION streamview');
is($dropper->safe_psql('postgres', $workers), '0', 'DROP EXTENSION stops the worker');
sleep 2;
my $since = substr(slurp_file($dropper->logfile), $logpos);
unlike($since, qr/ERROR|FATAL/, 'without errors in the log');
is($dropper->safe_psql('postgres', $workers), '0', 'and no worker comes back');

$dropper->safe_psql('postgres', 'CREATE EXTENSION streamview');
is($dropper->safe_psql('postgres', 'SELECT count(*) FROM streamview.stream_status'), '0',
	'CREATE EXTENSION again: no streams');
create_rides_stream($dropper, $broker, 'again', 'drop');
view_on($dropper, 'again_counts', 'again');
is($dropper->safe_psql('postgres', "SELECT id FROM streamview.streams WHERE name = 'again'"),
	'1', 'a new stream takes the old id');
$dropper->safe_psql('postgres', "SELECT streamview.start('again')");
ok(wait_for_committed($dropper, 'again', 500), 'and consumes the topic from the start');
is($dropper->safe_psql('postgres',
	"SELECT messages || ' ' || rejects FROM streamview.stream_status WHERE stream = 'again'"),
	'500 0', 'its counters start from nothing');
is($dropper->safe_psql('postgres',
	"SELECT coalesce(sum(count), 0) FROM streamview.live_counts('again_counts')"),
	$dropper->safe_psql('postgres', 'SELECT sum(count) FROM again_counts'),
	'live_counts holds the new view only');
check_vendor_view($dropper, 'again_counts', 'after DROP and CREATE EXTENSION', $dropfile);
$logpos = -s $dropper->logfile;
$dropper->safe_psql('postgres', 'DROP EXTENSION streamview CASCADE');
is($dropper->safe_psql('postgres', $workers), '0', 'DROP EXTENSION CASCADE stops the worker');
sleep 2;
$since = substr(slurp_file($dropper->logfile), $logpos);
unlike($since, qr/ERROR|FATAL/, 'without errors in the log');
$dropper->stop;

# 4. pg_dump and pg_restore: the id sequence and the rejects are dumped, and
# a stream that was running runs again by itself from the restored offsets.
my $source = new_node('source');
create_rides_stream($source, $broker, 'dump', 'dump');
create_rides_stream($source, $broker, 'idle', 'dump');
view_on($source, 'dump_counts', 'dump');
$source->safe_psql('postgres', "SELECT streamview.start('dump')");
my @dumped = (produce_rides($broker, 'dump', 3000, seed => 95));
push @dumped, produce_lines($broker, 'dump', 0, 'not a ride');
ok(wait_for_committed($source, 'dump', 3001), 'source consumed');
my $dump = PostgreSQL::Test::Utils::tempdir() . '/citizen.dump';
$source->command_ok([ 'pg_dump', '-Fc', '-d', $source->connstr('postgres'), '-f', $dump ],
	'pg_dump of a database with a running stream');
$source->safe_psql('postgres', "SELECT streamview.stop('dump')");
$source->stop;

my $target = new_node('target', '', no_extension => 1);
$target->command_ok([ 'pg_restore', '-d', $target->connstr('postgres'), $dump ], 'pg_restore');
is($target->safe_psql('postgres', q{
	SELECT string_agg(reason, ',') FROM streamview.rejects}),
	'expected 7 fields, found 1', 'the rejects are restored');
ok(poll_until($target, "SELECT state FROM streamview.stream_status WHERE stream = 'dump'",
	'running', 30), 'the restored running stream runs by itself');
is($target->safe_psql('postgres', "SELECT state FROM streamview.stream_status WHERE stream = 'idle'"),
	'stopped', 'the stopped one stays stopped');
$target->safe_psql('postgres', q{
	SELECT streamview.create_stream('fresh', '127.0.0.1:1', 't', 'a int')});
is($target->safe_psql('postgres', "SELECT id FROM streamview.streams WHERE name = 'fresh'"),
	'3', 'a new stream after the restore gets the next id');
push @dumped, produce_rides($broker, 'dump', 1000, seed => 96);
ok(wait_for_committed($target, 'dump', 4001), 'the restored stream goes on from the restored offsets');
check_vendor_view($target, 'dump_counts', 'restored and continued', @dumped);
$target->stop;

done_testing();
