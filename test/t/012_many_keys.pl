# Many keys (issue 13): count views with thousands of keys per batch are
# written by the bulk writer (lookups, in-place updates, multi-row inserts);
# every window must stay exact with two workers adding to the same rows, a
# worker killed mid-stream, keys that differ as text but are one value,
# and results tables the bulk writer must leave to the upsert (a trigger,
# a user's column with a default, a results table attached as a partition).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use StreamviewTest;

my $total = 40000;
my $broker = start_broker('mk:8', 'canon:1', 'plain:4', 'conflict:4', 'part:1');
# small batches: each batch both inserts rows and updates rows of earlier ones
my $node = new_node('manykeys', <<'EOF');
streamview.batch_max_messages = 3000
streamview.batch_max_ms = 100
EOF

# Runs SQL, retrying while the server restarts after a crash.
sub sql_retry
{
	my ($sql) = @_;
	for (1 .. 300)
	{
		my ($rc, $out) = eval { $node->psql('postgres', $sql) };
		return $out if defined $rc && $rc == 0;
		usleep(100_000);
	}
	die "could not run: $sql";
}

# A stream over a topic of $n rides with $keys payment types over one hour,
# its per-payment_type 10/5-minute view "${name}_counts", and the expected
# counts in "exp_$name".
sub keyed_stream
{
	my ($name, $seed, $n, $keys) = @_;
	my $f = produce_rides($broker, $name, $n, seed => $seed, keys => $keys, span => 60);
	load_produced($node, "produced_$name", $f);
	expected_counts($node, "exp_$name", "produced_$name", 2, 'f[6]::int', 600, 300);
	create_rides_stream($node, $broker, $name, $name);
	$node->safe_psql('postgres', qq{
		SELECT streamview.create_window_view('${name}_counts', '$name', 'tpep_pickup_datetime',
		       ARRAY['payment_type'], '10 minutes', '5 minutes')});
	return;
}

# 10k payment types over one hour: ~60k window rows of a 10/5-minute view
my $f = produce_rides($broker, 'mk', $total, seed => 121, keys => 10000, span => 60);
load_produced($node, 'produced', $f);
expected_counts($node, 'exp_sliding', 'produced', 2, 'f[6]::int', 600, 300);
expected_counts($node, 'exp_tumbling', 'produced', 2, q{f[6] || ',' || f[1]}, 60, 60);

# Two workers share the partitions, and so every window and most keys.
create_rides_stream($node, $broker, 'mk', 'mk', parallelism => 2);
$node->safe_psql('postgres', q{
	SELECT streamview.create_window_view('mk_sliding', 'mk', 'tpep_pickup_datetime',
	       ARRAY['payment_type'], '10 minutes', '5 minutes');
	SELECT streamview.create_window_view('mk_tumbling', 'mk', 'tpep_pickup_datetime',
	       ARRAY['payment_type', 'vendor_id'], '1 minute')});
my $log_offset = -s $node->logfile;
$node->safe_psql('postgres', "SELECT streamview.start('mk')");

# Kill a worker once some but not all messages are committed.
ok(poll_until($node, qq{SELECT coalesce(sum(next_offset), 0) > 0
	  FROM streamview.offsets WHERE stream = 'mk'}, 't', 60), 'mk: first batches committed');
my $pid = $node->safe_psql('postgres', "SELECT pids[2] FROM streamview.stream_status WHERE stream = 'mk'");
my $before = committed_offsets($node, 'mk');
kill 'KILL', $pid;
cmp_ok($before, '<', $total, "killed worker $pid with $before of $total committed");
ok(wait_for_committed($node, 'mk', $total, 180), 'mk: resumed after the crash and finished');
like(slurp_file($node->logfile, $log_offset), qr/terminated by signal 9/,
	'the worker really died by SIGKILL');

my $rows = $node->safe_psql('postgres', 'SELECT count(*) FROM mk_sliding');
cmp_ok($rows, '>', 40000, "many window rows ($rows)");
is(count_mismatches($node, 'exp_sliding',
	'SELECT window_start, payment_type AS key, count FROM mk_sliding'),
	'0', 'sliding view: every window exact');
is(count_mismatches($node, 'exp_tumbling',
	q{SELECT window_start, payment_type || ',' || vendor_id AS key, count FROM mk_tumbling}),
	'0', 'tumbling view with two group columns: every window exact');
is(sql_retry(q{
	SELECT count(*) FROM streamview.live_counts('mk_sliding') l
	  JOIN mk_sliding t ON t.window_start = l.window_start
	   AND t.payment_type::text = l.group_key[1]
	 WHERE t.count <> l.count}), '0', 'live_counts shows the committed counts');
cmp_ok(sql_retry(q{SELECT count(*) FROM streamview.live_counts('mk_sliding')}), '>', 0,
	'live_counts holds windows');
sql_retry("SELECT streamview.stop('mk')");

# One worker: the bulk writer knows which windows hold only its rows and
# inserts keys new to them without a lookup. A user's rows inserted mid-stream
# (into windows and keys the stream writes later), a DELETE, and a SIGKILL
# must not cost a count.
create_rides_stream($node, $broker, 'solo', 'mk');
$node->safe_psql('postgres', q{
	SELECT streamview.create_window_view('solo_counts', 'solo', 'tpep_pickup_datetime',
	       ARRAY['payment_type'], '10 minutes', '5 minutes')});
$log_offset = -s $node->logfile;
$node->safe_psql('postgres', "SELECT streamview.start('solo')");
ok(poll_until($node, q{SELECT coalesce(sum(next_offset), 0) >= 6000
	  FROM streamview.offsets WHERE stream = 'solo'}, 't', 60), 'solo: first batches committed');
# keys the stream has not written yet (those of the last produced messages),
# in windows it has
# (retried: the user's rows, in another order than the worker's, may
# deadlock with its batch, and the loser is rolled back whole)
my $user_rows = sql_retry(q{
	WITH later AS (
	  SELECT DISTINCT ON (key) e.window_start, e.key
	    FROM exp_sliding e
	   WHERE NOT EXISTS (SELECT FROM solo_counts s
	                      WHERE s.window_start = e.window_start AND s.payment_type = e.key)
	     AND EXISTS (SELECT FROM solo_counts s WHERE s.window_start = e.window_start)
	   ORDER BY key, window_start LIMIT 50)
	INSERT INTO solo_counts (window_start, window_end, payment_type, count)
	SELECT window_start, window_start + interval '10 minutes', key, 1000 FROM later
	ON CONFLICT DO NOTHING
	RETURNING 1}) =~ tr/\n// + 1;
cmp_ok($user_rows, '>', 0, "a user inserted $user_rows rows");
$node->safe_psql('postgres', q{CREATE TABLE solo_user AS
	SELECT window_start, payment_type FROM solo_counts WHERE count >= 1000});
$pid = $node->safe_psql('postgres', "SELECT pid FROM streamview.stream_status WHERE stream = 'solo'");
kill 'KILL', $pid;
ok(wait_for_committed($node, 'solo', $total, 180), 'solo: resumed after the crash and finished');
like(slurp_file($node->logfile, $log_offset), qr/terminated by signal 9/,
	'solo: the worker really died by SIGKILL');
is(count_mismatches($node, 'exp_sliding', q{
	SELECT window_start, payment_type AS key,
	       count - CASE WHEN (window_start, payment_type) IN (SELECT * FROM solo_user)
	                    THEN 1000 ELSE 0 END AS count
	  FROM solo_counts}),
	'0', "solo: every window exact, the user's rows added to");
sql_retry("SELECT streamview.stop('solo')");

# A key inserted by someone else between lookup and insert: the bulk write is
# rolled back and the batch goes through the upsert. Forced for the first
# half of a stream (streamview.test_bulk_conflict), then the bulk writer
# adds to the rows the upsert wrote.
keyed_stream('conflict', 123, 20000, 5000);
$node->safe_psql('postgres', q{
	ALTER SYSTEM SET streamview.test_bulk_conflict = on;
	SELECT pg_reload_conf()});
$node->safe_psql('postgres', "SELECT streamview.start('conflict')");
ok(poll_until($node, q{SELECT coalesce(sum(next_offset), 0) >= 10000
	  FROM streamview.offsets WHERE stream = 'conflict'}, 't', 120),
	'conflict: half committed through the fallback');
$node->safe_psql('postgres', q{
	ALTER SYSTEM RESET streamview.test_bulk_conflict;
	SELECT pg_reload_conf()});
ok(wait_for_committed($node, 'conflict', 20000, 120), 'conflict: all committed');
is(count_mismatches($node, 'exp_conflict',
	'SELECT window_start, payment_type AS key, count FROM conflict_counts'),
	'0', 'rolled-back bulk writes then bulk writes: every window exact');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM streamview.live_counts('conflict_counts') l
	  JOIN conflict_counts t ON t.window_start = l.window_start
	   AND t.payment_type::text = l.group_key[1]
	 WHERE t.count <> l.count}), '0', 'conflict: live_counts shows the committed counts');
$node->safe_psql('postgres', "SELECT streamview.stop('conflict')");

# Keys that are one int but differ as text, in one batch and across batches.
create_rides_stream($node, $broker, 'canon', 'canon');
$node->safe_psql('postgres', q{
	SELECT streamview.create_window_view('canon_counts', 'canon', 'tpep_pickup_datetime',
	       ARRAY['payment_type'], '10 minutes')});
produce_lines($broker, 'canon', 0,
	'1, 2020-07-01 00:01:00, 2020-07-01 00:09:00, 1, 1.5, 7, 9.3',
	'1, 2020-07-01 00:02:00, 2020-07-01 00:09:00, 1, 1.5, 07, 9.3',
	'1, 2020-07-01 00:03:00, 2020-07-01 00:09:00, 1, 1.5, +7, 9.3');
$node->safe_psql('postgres', "SELECT streamview.start('canon')");
ok(wait_for_committed($node, 'canon', 3, 60), 'canon: first three committed');
produce_lines($broker, 'canon', 0,
	'1, 2020-07-01 00:04:00, 2020-07-01 00:09:00, 1, 1.5, 007, 9.3');
ok(wait_for_committed($node, 'canon', 4, 60), 'canon: the fourth committed');
is($node->safe_psql('postgres', 'SELECT payment_type, count FROM canon_counts'),
	'7|4', '"7", "07", "+7" and "007" are one row');
is($node->safe_psql('postgres',
	q{SELECT group_key::text, count FROM streamview.live_counts('canon_counts')}),
	'{7}|4', 'live_counts shows the key as the table holds it');
sql_retry("SELECT streamview.stop('canon')");

# Results tables the bulk writer leaves alone: a trigger (which must see
# every write), then a column of the user's with a default.
keyed_stream('plain', 122, 20000, 5000);
$node->safe_psql('postgres', q{
	CREATE TABLE plain_audit (n bigint);
	INSERT INTO plain_audit VALUES (0);
	CREATE FUNCTION plain_touch() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN UPDATE public.plain_audit SET n = n + 1; RETURN NEW; END $$;
	CREATE TRIGGER plain_touch BEFORE INSERT OR UPDATE ON plain_counts
	  FOR EACH ROW EXECUTE FUNCTION plain_touch();
	ALTER TABLE plain_counts ADD COLUMN note text DEFAULT 'kept';
	SELECT streamview.start('plain')});
ok(wait_for_committed($node, 'plain', 20000, 120), 'plain: all committed');
is(count_mismatches($node, 'exp_plain',
	'SELECT window_start, payment_type AS key, count FROM plain_counts'),
	'0', 'with a trigger and a user column: every window exact');
cmp_ok($node->safe_psql('postgres', 'SELECT n FROM plain_audit'), '>=',
	$node->safe_psql('postgres', 'SELECT count(*) FROM plain_counts'),
	'the trigger ran for every row written');
is($node->safe_psql('postgres', q{SELECT count(*) FROM plain_counts WHERE note IS DISTINCT FROM 'kept'}),
	'0', "the user's column got its default");
sql_retry("SELECT streamview.stop('plain')");

# A results table attached as a partition of the user's table for July
# 2020: its bound holds for every row written (the upsert checks it), a
# window past it fails the batch without a row, and once the user detaches
# the table the stream goes on.
create_rides_stream($node, $broker, 'part', 'part');
$node->safe_psql('postgres', q{
	SELECT streamview.create_window_view('part_counts', 'part', 'tpep_pickup_datetime',
	       ARRAY['payment_type'], '10 minutes');
	CREATE TABLE part_all (LIKE part_counts) PARTITION BY RANGE (window_start);
	ALTER TABLE part_all ATTACH PARTITION part_counts
	  FOR VALUES FROM ('2020-07-01') TO ('2020-08-01');
	SELECT streamview.start('part')});
produce_lines($broker, 'part', 0,
	'1, 2020-07-01 00:01:00, 2020-07-01 00:09:00, 1, 1.5, 7, 9.3',
	'1, 2020-07-01 00:02:00, 2020-07-01 00:09:00, 1, 1.5, 8, 9.3',
	'1, 2020-07-31 23:55:00, 2020-08-01 00:09:00, 1, 1.5, 7, 9.3');
ok(wait_for_committed($node, 'part', 3, 60), 'partition: the July rides committed');
is($node->safe_psql('postgres',
	q{SELECT string_agg(window_start || ' ' || payment_type || ' ' || count, ', '
	    ORDER BY window_start, payment_type) FROM part_all}),
	'2020-07-01 00:00:00 7 1, 2020-07-01 00:00:00 8 1, 2020-07-31 23:50:00 7 1',
	'partition: every July window exact, read through the parent');
produce_lines($broker, 'part', 0,
	'1, 2020-08-01 00:01:00, 2020-08-01 00:09:00, 1, 1.5, 7, 9.3');
ok(poll_until($node, q{SELECT last_error ~ 'violates partition constraint'
	  FROM streamview.stream_status WHERE stream = 'part'}, 't', 60),
	'partition: a window past the bound fails the batch, and the status says why');
is(committed_offsets($node, 'part'), '3', 'partition: that batch committed nothing');
is($node->safe_psql('postgres',
	q{SELECT count(*) FROM part_counts WHERE window_start >= '2020-08-01'}),
	'0', 'partition: no row past the bound');
$node->safe_psql('postgres', 'ALTER TABLE part_all DETACH PARTITION part_counts');
ok(wait_for_committed($node, 'part', 4, 120), 'partition: detached, the stream goes on');
is($node->safe_psql('postgres',
	q{SELECT count FROM part_counts WHERE window_start = '2020-08-01' AND payment_type = 7}),
	'1', 'partition: the August window written once detached');
sql_retry("SELECT streamview.stop('part')");

$node->stop;
done_testing();
