# Administration: no free worker slot (53400 naming max_worker_processes),
# stop() cutting a batch short, settings reloaded on SIGHUP, pg_dump keeping the
# catalog, and CREATE EXTENSION in the wrong database.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use StreamviewTest;

my $broker = start_broker('admin:2');

# Two worker slots: the launcher and the logical replication launcher take them.
my $small = new_node('small', "max_worker_processes = 2\n");
create_rides_stream($small, $broker, 'starved', 'admin');
my ($rc, $out, $err) = $small->psql('postgres', q{
	\set VERBOSITY verbose
	SELECT streamview.start('starved')});
isnt($rc, 0, 'start() fails when no background worker slot is free');
like($err, qr/ERROR:\s+53400: could not start a worker for stream "starved"/,
	'with SQLSTATE 53400');
like($err, qr/HINT:.*max_worker_processes/, 'and a hint naming max_worker_processes');
is($small->safe_psql('postgres', "SELECT running FROM streamview.streams"), 'f',
	'the failed start leaves the stream stopped');
is($small->safe_psql('postgres', "SELECT state FROM streamview.stream_status"), 'stopped',
	'and stream_status says so');
$small->stop;

my $node = new_node('admin');
create_rides_stream($node, $broker, 'admin', 'admin');
$node->safe_psql('postgres', q{
	SELECT streamview.create_window_view('admin_counts', 'admin', 'tpep_pickup_datetime',
	       ARRAY['vendor_id'], '10 minutes', '5 minutes');
	SELECT streamview.start('admin')});
produce_rides($broker, 'admin', 2000, seed => 71);
ok(wait_for_committed($node, 'admin', 2000), 'consumed');

# SIGHUP: a longer batch_max_ms is taken up without a restart.
$node->append_conf('postgresql.conf', "streamview.batch_max_ms = 3000\n");
$node->reload;
sleep 1;
produce_rides($broker, 'admin', 10, seed => 72);
ok(wait_for_committed($node, 'admin', 2010, 20), 'the next messages are committed');
cmp_ok($node->safe_psql('postgres',
	"SELECT last_batch_ms FROM streamview.stream_status WHERE stream = 'admin'"),
	'>', 2500, 'by a batch that lasted the reloaded batch_max_ms');

# stop() cuts a running batch short: with batches of a minute, a worker
# that waited for its batch to end would outlive the launcher's 3 s grace
# and be terminated; this one leaves by itself.
$node->append_conf('postgresql.conf', "streamview.batch_max_ms = 60000\n");
$node->reload;
produce_rides($broker, 'admin', 10, seed => 73);
# (the 3 s batch running at the reload ends; the next one lasts a minute)
sleep 4;
my $logpos = -s $node->logfile;
$node->safe_psql('postgres', "SELECT streamview.stop('admin')");
is($node->safe_psql('postgres',
	"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'streamview worker'"),
	'0', 'the worker is gone when stop() returns');
my $since = substr(slurp_file($node->logfile), $logpos);
like($since, qr/streamview worker 0 of stream "admin" stopping/,
	'the worker left by itself, in the middle of a one-minute batch');
unlike($since, qr/terminating background worker/, 'without being terminated');

# The slot the stopped worker had is free: another stream starts right away.
$node->append_conf('postgresql.conf', "streamview.batch_max_ms = 200\n");
$node->reload;
sleep 1;
create_rides_stream($node, $broker, 'admin2', 'admin');
$node->safe_psql('postgres', "SELECT streamview.start('admin2')");
ok(poll_until($node, "SELECT state FROM streamview.stream_status WHERE stream = 'admin2'",
	'running', 30), 'another stream starts after the stop');
ok(wait_for_committed($node, 'admin2', 2020, 30), 'and the stream consumes');
$node->safe_psql('postgres', "SELECT streamview.stop('admin2')");

# start() and stop() follow the catalog through subtransactions: rolled back
# to a savepoint, or in a PL/pgSQL block whose error was caught, they are
# undone (the worker that start() waited for goes again); released, they
# hold. Before, the worker ran on while the catalog said stopped.
my $admin2 = q{SELECT (SELECT running FROM streamview.streams WHERE name = 'admin2')
	|| ' ' || state FROM streamview.stream_status WHERE stream = 'admin2'};
# Calls start() or stop() of admin2 in a savepoint that ends as told.
sub in_savepoint
{
	my ($call, $end) = @_;
	$node->safe_psql('postgres',
		"BEGIN; SAVEPOINT s; SELECT streamview.$call('admin2'); $end; COMMIT");
}
in_savepoint('start', 'ROLLBACK TO s');
ok(poll_until($node, $admin2, 'false stopped', 30),
	'a start rolled back to a savepoint leaves the stream stopped');
$node->safe_psql('postgres', q{
	DO $$
	BEGIN
		BEGIN
			PERFORM streamview.start('admin2');
			RAISE EXCEPTION 'changed my mind';
		EXCEPTION WHEN raise_exception THEN NULL;
		END;
	END $$});
ok(poll_until($node, $admin2, 'false stopped', 30),
	'so does a start in an exception block that caught an error');
in_savepoint('start', 'RELEASE s');
ok(poll_until($node, $admin2, 'true running', 30), 'a start in a released savepoint holds');
in_savepoint('stop', 'ROLLBACK TO s');
ok(poll_until($node, $admin2, 'true running', 30),
	'a stop rolled back to a savepoint leaves the stream running');
$node->safe_psql('postgres', q{
	BEGIN;
	SELECT streamview.stop('admin2');
	SAVEPOINT s;
	SELECT streamview.start('admin2');
	ROLLBACK TO s;
	ROLLBACK});
ok(poll_until($node, $admin2, 'true running', 30),
	'a stop and a start undone in turn leave it as it was');
$node->safe_psql('postgres', "SELECT streamview.stop('admin2')");
is($node->safe_psql('postgres', $admin2), 'false stopped', 'stopped at last');

# pg_dump keeps streams, columns, views and offsets.
my $dump = PostgreSQL::Test::Utils::tempdir() . '/dump.sql';
$node->command_ok([ 'pg_dump', '-d', $node->connstr('postgres'), '-f', $dump ], 'pg_dump runs');
my $sql = slurp_file($dump);
like($sql, qr/COPY streamview\.streams .*\n.*admin\t/, 'the dump has the stream');
like($sql, qr/COPY streamview\.stream_columns .*\n(.*\n)*admin\t1\tvendor_id\tinteger/, 'its columns');
like($sql, qr/COPY streamview\.window_views .*\n.*admin_counts\tadmin/, 'its view');
like($sql, qr/COPY streamview\.offsets .*\n(.*\n)*admin\t[01]\t\d+/, 'and its offsets');

$node->stop;
done_testing();
