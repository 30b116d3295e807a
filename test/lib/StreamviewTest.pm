# StreamviewTest.pm - shared helpers for streamview's end-to-end TAP tests
#
# Starts the local Kafka broker (test/broker/sv_broker, librdkafka's mock
# cluster on loopback), produces rides with test/broker/sv_produce, starts
# private PostgreSQL clusters with streamview preloaded, and checks window
# counts against counts computed independently in SQL from the produced
# messages (never from streamview's own code).
package StreamviewTest;

use strict;
use warnings;

use Exporter 'import';
use File::Temp ();
use POSIX ();
use Time::HiRes qw(usleep time);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(start_broker broker_cmd produce_rides produce_lines
  new_node create_rides_stream load_produced expected_counts
  count_mismatches wait_for_committed committed_offsets poll_until
  stream_state check_vendor_view produce_marker);

my $tools = $ENV{SV_TOOLS} // 'test/broker';
my @brokers;

# Starts a mock cluster with the given "topic:partitions" and returns
# { pid, bootstrap, control } once the topics exist.
sub start_broker
{
	my (@topics) = @_;
	my $dir = PostgreSQL::Test::Utils::tempdir();
	my $bs = "$dir/bootstrap";
	my $fifo = "$dir/control";
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		open STDIN, '<', '/dev/null';
		open STDOUT, '>', "$dir/broker.log";
		open STDERR, '>&', \*STDOUT;
		exec("$tools/sv_broker", '--bootstrap-file', $bs, '--control', $fifo,
			@topics) or die "exec sv_broker: $!";
	}
	for (1 .. 200)
	{
		last if -s $bs;
		usleep(50_000);
	}
	die "broker did not start" unless -s $bs;
	my $addr = slurp_file($bs);
	chomp $addr;
	my $broker = { pid => $pid, bootstrap => $addr, control => $fifo, dir => $dir };
	push @brokers, $broker;
	return $broker;
}

# Sends one control command to the broker ("down 1", "up 1", ...).
sub broker_cmd
{
	my ($broker, $cmd) = @_;
	open my $f, '>', $broker->{control} or die "control fifo: $!";
	print $f "$cmd\n";
	close $f;
	usleep(200_000);
	return;
}

END
{
	foreach my $b (@brokers)
	{
		kill 'TERM', $b->{pid};
		waitpid($b->{pid}, 0);
	}
}

# Produces N generated rides; returns the file of what was delivered
# (partition, offset, key, value per line).
sub produce_rides
{
	my ($broker, $topic, $n, %opt) = @_;
	my $out = $opt{out} // PostgreSQL::Test::Utils::tempdir() . "/produced.tsv";
	my @cmd = ("$tools/sv_produce", '--brokers', $broker->{bootstrap},
		'--topic', $topic, '--rides', $n, '--seed', $opt{seed} // 1,
		'--out', $out);
	push @cmd, '--partitions', $opt{partitions} if $opt{partitions};
	push @cmd, '--span-minutes', $opt{span} if $opt{span};
	push @cmd, '--rate', $opt{rate} if $opt{rate};
	push @cmd, '--keys', $opt{keys} if $opt{keys};
	system(@cmd) == 0 or die "sv_produce failed: @cmd";
	return $out;
}

# Produces the given lines as messages to one partition (with --unescape,
# "\x00"-style escapes and "\N" for a null value); returns the --out file.
sub produce_lines
{
	my ($broker, $topic, $partition, @lines) = @_;
	my $dir = PostgreSQL::Test::Utils::tempdir();
	my $out = "$dir/produced.tsv";
	open my $in, '|-', "$tools/sv_produce", '--brokers', $broker->{bootstrap},
	  '--topic', $topic, '--stdin', '--partition', $partition, '--unescape',
	  '--null-value', '--out', $out
	  or die "sv_produce: $!";
	print $in "$_\n" foreach @lines;
	close $in or die "sv_produce failed";
	return $out;
}

# Appends a transaction marker (a COMMIT control record, which takes an
# offset and is never delivered) to a partition; returns its offset.
sub produce_marker
{
	my ($broker, $topic, $partition) = @_;
	my $out = `$tools/sv_produce --brokers $broker->{bootstrap} --topic $topic --marker --partition $partition`;
	die "sv_produce --marker failed" if $? != 0;
	my ($offset) = $out =~ /^marker at offset (\d+)$/m or die "sv_produce --marker said: $out";
	return $offset;
}

# A private cluster with streamview preloaded and installed in "postgres"
# (not installed with no_extension => 1, e.g. for pg_restore).
sub new_node
{
	my ($name, $extra, %opt) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	# utf8 => 1: a UTF8 database whatever the environment's locale says
	$node->init($opt{utf8} ? (extra => [ '--encoding=UTF8', '--locale=C' ]) : ());
	$node->append_conf('postgresql.conf', <<"EOF");
shared_preload_libraries = 'streamview'
max_worker_processes = 16
streamview.batch_max_ms = 200
restart_after_crash = on
${\ ($extra // '')}
EOF
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION streamview') unless $opt{no_extension};
	return $node;
}

# The zoomcamp stream over a topic (options: librdkafka's, as JSON text).
sub create_rides_stream
{
	my ($node, $broker, $name, $topic, %opt) = @_;
	my $start = $opt{start_offset} // 'earliest';
	my $parallelism = $opt{parallelism} // 1;
	my $options = $opt{options} // '{}';
	$node->safe_psql('postgres', qq{
		SELECT streamview.create_stream(
		  name => '$name', brokers => '$broker->{bootstrap}', topic => '$topic',
		  columns => 'vendor_id int, tpep_pickup_datetime timestamp,
		              tpep_dropoff_datetime timestamp, passenger_count int,
		              trip_distance real, payment_type int, total_amount real',
		  start_offset => '$start', parallelism => $parallelism,
		  options => '$options')});
	return;
}

# Loads produced messages into table $table (p, o, k, v) for expectations.
sub load_produced
{
	my ($node, $table, @files) = @_;
	$node->safe_psql('postgres',
		"CREATE TABLE IF NOT EXISTS $table (p int, o bigint, k text, v text)");
	$node->safe_psql('postgres', "COPY $table FROM '$_'") foreach @files;
	return;
}

# Creates table $into with the expected counts of a window view, computed in
# SQL from the produced rides: every window [start, start + size) with start
# a multiple of slide from the epoch and start <= t < start + size.
# $key is an SQL expression over the field array f (1-based) or undef.
sub expected_counts
{
	my ($node, $into, $from, $time_field, $key, $size_s, $slide_s, $where) = @_;
	my $keycol = defined $key ? ", $key AS key" : ', NULL::text AS key';
	my $keygrp = defined $key ? ', 2' : '';
	$where //= 'true';
	$node->safe_psql('postgres', qq{
		CREATE TABLE $into AS
		SELECT ws AS window_start $keycol, count(*) AS count
		  FROM (SELECT string_to_array(v, ', ') AS f, k FROM $from) m,
		       LATERAL (SELECT f[$time_field]::timestamp AS t) x,
		       LATERAL generate_series(
		           to_timestamp((floor((extract(epoch FROM t) - $size_s) / $slide_s) + 1) * $slide_s)
		             AT TIME ZONE 'UTC',
		           t, make_interval(secs => $slide_s)) ws
		 WHERE $where
		 GROUP BY 1 $keygrp});
	return;
}

# Rows that differ between expected and actual (both: window_start, [key], count).
sub count_mismatches
{
	my ($node, $expected, $actual_sql) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT count(*) FROM $expected e
		  FULL JOIN ($actual_sql) a
		    ON e.window_start = a.window_start
		   AND coalesce(e.key::text, '') = coalesce(a.key::text, '')
		 WHERE e.count IS DISTINCT FROM a.count});
}

# Checks every count of a per-vendor_id view of 10-minute windows sliding by
# 5 minutes against counts computed in SQL from the produced rides.
sub check_vendor_view
{
	my ($node, $view, $what, @files) = @_;
	load_produced($node, "p_$view", @files);
	expected_counts($node, "e_$view", "p_$view", 2, 'f[1]::int', 600, 300);
	is(count_mismatches($node, "e_$view",
		"SELECT window_start, vendor_id AS key, count FROM $view"),
		'0', "$what: every count exact");
	return;
}

# Sum of a stream's committed offsets.
sub committed_offsets
{
	my ($node, $stream) = @_;
	return $node->safe_psql('postgres',
		"SELECT coalesce(sum(next_offset), 0) FROM streamview.offsets WHERE stream = '$stream'");
}

# Polls an SQL query until it returns $want (or the timeout in seconds).
sub poll_until
{
	my ($node, $sql, $want, $timeout) = @_;
	$timeout //= 60;
	my $deadline = time() + $timeout;
	my $got = '';
	while (time() < $deadline)
	{
		# while a crashed server restarts, psql may exit before reading its
		# input and IPC::Run die of the broken pipe: poll again
		my ($rc, $out) = eval { $node->psql('postgres', $sql) };
		$got = $out // '';
		return 1 if defined $rc && $rc == 0 && $out eq $want;
		usleep(100_000);
	}
	diag("poll_until: '$sql' returned '$got', wanted '$want'");
	return 0;
}

# Waits until the stream's offsets add up to $total.
sub wait_for_committed
{
	my ($node, $stream, $total, $timeout) = @_;
	return poll_until($node,
		"SELECT coalesce(sum(next_offset), 0) FROM streamview.offsets WHERE stream = '$stream'",
		$total, $timeout);
}

sub stream_state
{
	my ($node, $stream) = @_;
	return $node->safe_psql('postgres',
		"SELECT state FROM streamview.stream_status WHERE stream = '$stream'");
}

1;
