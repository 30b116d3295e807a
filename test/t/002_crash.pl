# Exactly once across crashes: the worker kills itself at each named crash
# point, is killed with SIGKILL at random moments, and the server is stopped
# with -m immediate mid-stream. Each time, some but not all messages were
# committed when it happened, and afterwards every window count equals the
# count computed independently from the produced messages.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use StreamviewTest;

my $total = 20000;
my $broker = start_broker('crash:4', 'live:4');
my $node = new_node('crash', <<'EOF');
streamview.batch_max_messages = 500
streamview.batch_max_ms = 100
EOF

my $f = produce_rides($broker, 'crash', $total, seed => 21);
load_produced($node, 'produced', $f);
expected_counts($node, 'exp_vendor', 'produced', 2, 'f[1]::int', 600, 300);
expected_counts($node, 'exp_hourly', 'produced', 3, undef, 3600, 3600);

# A query view with a WHERE and several aggregates on every stream, checked
# against its own query run as a batch over a table of the produced rides.
my $stats_query = q{
  SELECT w.window_start, vendor_id, count(*) AS rides,
         count(*) FILTER (WHERE passenger_count > 2) AS groups,
         sum(passenger_count) AS passengers, avg(passenger_count) AS avg_passengers,
         sum(total_amount::numeric) AS revenue,
         min(tpep_dropoff_datetime) AS first_dropoff, max(tpep_dropoff_datetime) AS last_dropoff
  FROM STREAM AS r, streamview.hop(r.tpep_pickup_datetime, '10 minutes', '5 minutes') AS w
  WHERE payment_type <> 2
  GROUP BY w.window_start, vendor_id};
my $stats_cols = 'window_start, vendor_id, rides, groups, passengers, avg_passengers, revenue, first_dropoff, last_dropoff';

# The rides of a produced table as a table with the stream's columns, and
# the stats query over it (the batch the views must equal).
sub batch_stats
{
	my ($produced, $into) = @_;
	my $batch = $stats_query;
	$batch =~ s/STREAM/${produced}_rides/;
	$node->safe_psql('postgres', qq{
		CREATE TABLE ${produced}_rides AS
		SELECT f[1]::int AS vendor_id, f[2]::timestamp AS tpep_pickup_datetime,
		       f[3]::timestamp AS tpep_dropoff_datetime, f[4]::int AS passenger_count,
		       f[5]::real AS trip_distance, f[6]::int AS payment_type, f[7]::real AS total_amount
		  FROM (SELECT string_to_array(v, ', ') AS f FROM $produced) m;
		CREATE TABLE $into AS $batch});
	return;
}
batch_stats('produced', 'exp_stats');

# Runs SQL, retrying while the server restarts after a crash.
sub sql_retry
{
	my ($sql) = @_;
	for (1 .. 300)
	{
		# while the server restarts, psql may exit before it reads its input,
		# and IPC::Run then dies of the broken pipe: that is a retry too
		my ($rc, $out) = eval { $node->psql('postgres', $sql) };
		return $out if defined $rc && $rc == 0;
		usleep(100_000);
	}
	die "could not run: $sql";
}

# Creates a stream over a topic with two views, named after a suffix.
sub make_stream
{
	my ($name, $topic, $parallelism) = @_;
	create_rides_stream($node, $broker, $name, $topic, parallelism => $parallelism // 1);
	$node->safe_psql('postgres', qq{
		SELECT streamview.create_window_view('v_$name', '$name', 'tpep_pickup_datetime',
		       ARRAY['vendor_id'], '10 minutes', '5 minutes');
		SELECT streamview.create_window_view('h_$name', '$name', 'tpep_dropoff_datetime',
		       '{}', '1 hour')});
	my $query = $stats_query;
	$query =~ s/STREAM/"$name"/;
	$node->safe_psql('postgres', "SELECT streamview.create_view('q_$name', \$q\$$query\$q\$)");
	return;
}

# Checks both views of a stream against the expected counts.
sub check_counts
{
	my ($name, $what, $exp_vendor, $exp_hourly, $exp_stats) = @_;
	is(count_mismatches($node, $exp_vendor // 'exp_vendor',
		"SELECT window_start, vendor_id AS key, count FROM v_$name"),
		'0', "$what: sliding counts per vendor exact");
	is(count_mismatches($node, $exp_hourly // 'exp_hourly',
		"SELECT window_start, NULL::text AS key, count FROM h_$name"),
		'0', "$what: tumbling counts exact");
	$exp_stats //= 'exp_stats';
	is($node->safe_psql('postgres', qq{
		SELECT count(*) FROM ((SELECT $stats_cols FROM $exp_stats EXCEPT ALL SELECT $stats_cols FROM q_$name)
		         UNION ALL (SELECT $stats_cols FROM q_$name EXCEPT ALL SELECT $stats_cols FROM $exp_stats)) d}),
		'0', "$what: the query view equals its query run as a batch");
	return;
}

# Each named crash point, on a fresh stream over the same messages, with one
# worker and with two workers sharing the partitions (and the windows).
foreach my $case (map { my $p = $_; map { [$p, $_] } (1, 2) }
	qw(after_fetch after_count before_commit after_commit after_publish))
{
	my ($crash, $n) = @$case;
	my $point = $n == 1 ? $crash : "${crash}_x$n";
	my $log_offset = -s $node->logfile;
	make_stream($point, 'crash', $n);
	sql_retry("ALTER SYSTEM SET streamview.test_crash_point = '$crash'");
	sql_retry('SELECT pg_reload_conf()');
	sql_retry("SELECT streamview.start('$point')");
	# (polled: the crash may already be under way)
	ok(poll_until($node,
		"SELECT cardinality(pids) FROM streamview.stream_status WHERE stream = '$point'", $n),
		"$point: $n worker(s) running");
	$node->wait_for_log(qr/crashing at test crash point "$crash"/, $log_offset);
	my ($committed) = slurp_file($node->logfile, $log_offset)
	  =~ /crashing at test crash point "$crash" with (\d+) messages committed/;
	ok($committed > 0 && $committed < $total,
		"$point: crashed with some but not all committed ($committed of $total)");
	sql_retry('ALTER SYSTEM RESET streamview.test_crash_point');
	sql_retry('SELECT pg_reload_conf()');
	ok(wait_for_committed($node, $point, $total, 120), "$point: stream resumed and finished");
	check_counts($point, $point);
	like(slurp_file($node->logfile, $log_offset),
		qr/terminated by signal 9/, "$point: the worker really died by SIGKILL");
	sql_retry("SELECT streamview.stop('$point')");
}

# Random SIGKILLs while messages keep arriving.
make_stream('live', 'live');
$node->safe_psql('postgres', "SELECT streamview.start('live')");
my $out = PostgreSQL::Test::Utils::tempdir() . '/live.tsv';
my $producer = fork();
if ($producer == 0)
{
	exec("$ENV{SV_TOOLS}/sv_produce", '--brokers', $broker->{bootstrap},
		'--topic', 'live', '--rides', '30000', '--seed', '22', '--rate', '6000',
		'--out', $out) or die;
}
srand(42);
for my $i (1 .. 3)
{
	usleep(300_000 + int(rand(700_000)));
	my $pid = sql_retry("SELECT pid FROM streamview.stream_status WHERE stream = 'live'");
	my $before = sql_retry(
		"SELECT coalesce(sum(next_offset), 0) FROM streamview.offsets WHERE stream = 'live'");
	ok($pid =~ /^\d+$/ && kill('KILL', $pid), "kill $i: SIGKILL to worker $pid");
	ok($before < 30000, "kill $i: mid-stream ($before of 30000 committed)");
}

# And the server stopped with -m immediate mid-stream.
usleep(500_000);
sql_retry('SELECT 1');
my $before = sql_retry(
	"SELECT coalesce(sum(next_offset), 0) FROM streamview.offsets WHERE stream = 'live'");
$node->stop('immediate');
ok($before > 0 && $before < 30000, "immediate stop mid-stream ($before of 30000 committed)");
$node->start;
waitpid($producer, 0);
is($?, 0, 'the producer delivered everything');
ok(wait_for_committed($node, 'live', 30000, 120), 'after kills and an immediate stop the stream finished');
load_produced($node, 'produced_live', $out);
expected_counts($node, 'exp_live_vendor', 'produced_live', 2, 'f[1]::int', 600, 300);
expected_counts($node, 'exp_live_hourly', 'produced_live', 3, undef, 3600, 3600);
batch_stats('produced_live', 'exp_live_stats');
check_counts('live', 'kills and immediate stop', 'exp_live_vendor', 'exp_live_hourly',
	'exp_live_stats');
is($node->safe_psql('postgres', "SELECT state FROM streamview.stream_status WHERE stream = 'live'"),
	'running', 'the stream is running again without anyone calling start()');

$node->stop;
done_testing();
