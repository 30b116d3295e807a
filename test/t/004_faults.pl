# Broker faults: a broker down mid-stream, a topic unknown at start, an
# unreachable bootstrap address, and a retention gap. Each time the stream
# shows it (retrying or the gap) and, once the broker is back, every count is
# exact (for the gap: exact over what the broker still had).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use StreamviewTest;

my $broker = start_broker('down:2', 'ret:1', 'later:2');
my $node = new_node('faults');

sub view_on
{
	my ($stream) = @_;
	$node->safe_psql('postgres', qq{
		SELECT streamview.create_window_view('v_$stream', '$stream', 'tpep_pickup_datetime',
		       ARRAY['vendor_id'], '10 minutes', '5 minutes')});
	return;
}

sub check_exact
{
	my ($stream, $what, @files) = @_;
	check_vendor_view($node, "v_$stream", $what, @files);
	return;
}

# 1. The broker goes down mid-stream for several seconds.
create_rides_stream($node, $broker, 'down', 'down');
view_on('down');
$node->safe_psql('postgres', "SELECT streamview.start('down')");
my $f1 = produce_rides($broker, 'down', 5000, seed => 31);
ok(wait_for_committed($node, 'down', 5000), 'broker up: consumed');
broker_cmd($broker, 'down 1');
ok(poll_until($node, "SELECT state FROM streamview.stream_status WHERE stream = 'down'",
	'retrying', 30), 'broker down: the stream shows retrying');
isnt($node->safe_psql('postgres',
	"SELECT coalesce(last_error, '') FROM streamview.stream_status WHERE stream = 'down'"),
	'', 'and says why in last_error');
sleep 2;
broker_cmd($broker, 'up 1');
my $f2 = produce_rides($broker, 'down', 5000, seed => 32);
ok(wait_for_committed($node, 'down', 10000, 60), 'broker back: the stream caught up');
ok(poll_until($node, "SELECT state FROM streamview.stream_status WHERE stream = 'down'",
	'running', 30), 'and shows running again');
check_exact('down', 'broker down and up', $f1, $f2);

# 2. An unreachable bootstrap address, then alter_stream to the right one.
$node->safe_psql('postgres', q{
	SELECT streamview.create_stream('nowhere', '127.0.0.1:1', 'later',
	  'vendor_id int, tpep_pickup_datetime timestamp, tpep_dropoff_datetime timestamp,
	   passenger_count int, trip_distance real, payment_type int, total_amount real')});
view_on('nowhere');
$node->safe_psql('postgres', "SELECT streamview.start('nowhere')");
ok(poll_until($node, "SELECT state FROM streamview.stream_status WHERE stream = 'nowhere'",
	'retrying', 30), 'unreachable bootstrap: retrying');
like($node->safe_psql('postgres',
	"SELECT last_error FROM streamview.stream_status WHERE stream = 'nowhere'"),
	qr/later|metadata|broker|transport|connect/i, 'last_error says what failed');
my $pid1 = $node->safe_psql('postgres', "SELECT pid FROM streamview.stream_status WHERE stream = 'nowhere'");
sleep 3;
is($node->safe_psql('postgres', "SELECT pid FROM streamview.stream_status WHERE stream = 'nowhere'"),
	$pid1, 'the worker keeps retrying instead of dying in a loop');
my $f3 = produce_rides($broker, 'later', 3000, seed => 33);
$node->safe_psql('postgres',
	"SELECT streamview.alter_stream('nowhere', brokers => '$broker->{bootstrap}')");
ok(wait_for_committed($node, 'nowhere', 3000, 60), 'after alter_stream the stream consumes');
check_exact('nowhere', 'unreachable, then fixed', $f3);

# 3. A topic unknown at start, then known.
broker_cmd($broker, 'topic_error ghost UNKNOWN_TOPIC_OR_PART');
$node->safe_psql('postgres', qq{
	SELECT streamview.create_stream('ghost', '$broker->{bootstrap}', 'ghost',
	  'vendor_id int, tpep_pickup_datetime timestamp, tpep_dropoff_datetime timestamp,
	   passenger_count int, trip_distance real, payment_type int, total_amount real')});
view_on('ghost');
$node->safe_psql('postgres', "SELECT streamview.start('ghost')");
ok(poll_until($node, "SELECT state FROM streamview.stream_status WHERE stream = 'ghost'",
	'retrying', 30), 'unknown topic: retrying');
like($node->safe_psql('postgres',
	"SELECT last_error FROM streamview.stream_status WHERE stream = 'ghost'"),
	qr/ghost/, 'last_error names the topic');
broker_cmd($broker, 'topic_error ghost 0');
broker_cmd($broker, 'create ghost 2');
my $f4 = produce_rides($broker, 'ghost', 3000, seed => 34);
ok(wait_for_committed($node, 'ghost', 3000, 90), 'once the topic exists the stream consumes it');
check_exact('ghost', 'topic created later', $f4);

# 4. A retention gap: the mock keeps about 5 MB per partition, so 150,000
# rides into one partition push out the oldest while the stream is stopped.
create_rides_stream($node, $broker, 'ret', 'ret');
view_on('ret');
$node->safe_psql('postgres', "SELECT streamview.start('ret')");
my $f5 = produce_rides($broker, 'ret', 1000, seed => 35);
ok(wait_for_committed($node, 'ret', 1000), 'first 1000 consumed');
$node->safe_psql('postgres', "SELECT streamview.stop('ret')");
my $f6 = produce_rides($broker, 'ret', 150000, seed => 36);
my $log_offset = -s $node->logfile;
$node->safe_psql('postgres', "SELECT streamview.start('ret')");
ok(wait_for_committed($node, 'ret', 151000, 120), 'the stream reaches the end of the partition');
my ($last) = slurp_file($node->logfile, $log_offset) =~
  /WARNING:  stream "ret": offsets out of range: partition 0 lost offsets 1000 to (\d+)/;
ok(defined $last, 'the gap is in the server log');
# the batches after the gap commit: the status no longer shows it as an error
ok(poll_until($node, q{
	SELECT last_error IS NULL AND last_error_at IS NOT NULL
	  FROM streamview.stream_status WHERE stream = 'ret'}, 't', 30),
	'stream_status: last_error cleared by the next batches, last_error_at kept');
load_produced($node, 'p_ret', $f5, $f6);
$node->safe_psql('postgres', "DELETE FROM p_ret WHERE o BETWEEN 1000 AND $last");
expected_counts($node, 'e_ret', 'p_ret', 2, 'f[1]::int', 600, 300);
is(count_mismatches($node, 'e_ret',
	'SELECT window_start, vendor_id AS key, count FROM v_ret'),
	'0', 'counts exact over what the broker still had');

$node->stop;
done_testing();
