# Bounded memory: far more distinct (window, key) groups than shared memory
# holds. The least recently touched windows are evicted (their counts are in
# the tables already), nothing overflows, and every count is exact.
# And librdkafka's prefetch queue: kept to small limits, it fills at every
# batch, and the worker goes on without waiting for the fetcher to look
# again (on librdkafka < 2.2 it wakes the fetcher itself).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use StreamviewTest;

my $broker = start_broker('many:4', 'prefetch:4');
my $node = new_node('memory', "streamview.max_windows = 1024\n");

my $f = produce_rides($broker, 'many', 30000, seed => 51, keys => 5000);
create_rides_stream($node, $broker, 'many', 'many');
$node->safe_psql('postgres', q{
	SELECT streamview.create_window_view('by_key', 'many', 'tpep_pickup_datetime',
	       ARRAY['payment_type'], '10 minutes', '5 minutes');
	SELECT streamview.start('many')});
ok(wait_for_committed($node, 'many', 30000, 120), 'all messages committed');

my $groups = $node->safe_psql('postgres', 'SELECT count(*) FROM by_key');
cmp_ok($groups, '>', 10 * 1024, "far more window rows ($groups) than window slots (1024)");
my ($held, $capacity, $bytes) = split /\|/,
  $node->safe_psql('postgres', 'SELECT * FROM streamview.memory_usage()');
is($capacity, '1024', 'memory_usage shows the capacity');
cmp_ok($held, '<=', 1024, "shared memory holds at most its capacity ($held)");
cmp_ok($held, '>', 0, 'and holds the recent windows');
cmp_ok($bytes, '>', 0, "memory_usage shows the bytes reserved ($bytes)");

load_produced($node, 'produced', $f);
expected_counts($node, 'expected', 'produced', 2, 'f[6]::int', 600, 300);
is(count_mismatches($node, 'expected',
	'SELECT window_start, payment_type AS key, count FROM by_key'),
	'0', 'every count exact despite eviction');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM streamview.live_counts('by_key') l
	  JOIN by_key t ON t.window_start = l.window_start AND t.payment_type::text = l.group_key[1]
	 WHERE t.count <> l.count}), '0', 'the windows held in memory show the committed counts');
is($node->safe_psql('postgres',
	"SELECT state FROM streamview.stream_status WHERE stream = 'many'"),
	'running', 'the stream runs on');
# librdkafka's messages are taken and given back on a thread of the worker's own
my $pid = $node->safe_psql('postgres',
	"SELECT pid FROM streamview.stream_status WHERE stream = 'many'");
my @threads = map { my $c = slurp_file($_); chomp $c; $c } glob("/proc/$pid/task/*/comm");
is(scalar(grep { $_ eq 'sv:fetch' } @threads), 1,
	"the worker has one fetch thread (its threads: @threads)");

# A queue of at most 500 messages, fed 25 messages per partition and fetch.
my $small = 20000;
my $fp = produce_rides($broker, 'prefetch', $small, seed => 52);
create_rides_stream($node, $broker, 'small', 'prefetch',
	options => '{"queued.min.messages": "500", "max.partition.fetch.bytes": "2500"}');
$node->safe_psql('postgres', q{
	SELECT streamview.create_window_view('small_counts', 'small', 'tpep_pickup_datetime',
	       ARRAY['vendor_id'], '10 minutes', '5 minutes');
	ALTER SYSTEM SET log_min_messages = debug1;
	SELECT pg_reload_conf()});
my $log_offset = -s $node->logfile;
$node->safe_psql('postgres', "SELECT streamview.start('small')");
ok(wait_for_committed($node, 'small', $small, 300), 'small queue: all messages committed');
$node->safe_psql('postgres', 'ALTER SYSTEM RESET log_min_messages; SELECT pg_reload_conf()');
check_vendor_view($node, 'small_counts', 'small queue', $fp);
# the batch lines name the librdkafka the worker runs with and its wakes
my @batches = slurp_file($node->logfile, $log_offset) =~
  /stream "small" worker 0: batch of .*; librdkafka ([0-9.]+), fetcher woken by the worker (-?\d+) times so far/g;
cmp_ok(scalar(@batches), '>', 0, 'the worker logged its batches');
my ($rdk, $wakes) = @batches[-2, -1];
my ($major, $minor) = split /\./, $rdk;
if ($major < 2 || ($major == 2 && $minor < 2))
{
	cmp_ok($wakes, '>', 0, "librdkafka $rdk (< 2.2): the worker woke the fetcher ($wakes times)");
}
else
{
	is($wakes, '-1', "librdkafka $rdk (>= 2.2): fetch.queue.backoff.ms does it, the worker never wakes it");
}

$node->stop;
done_testing();
