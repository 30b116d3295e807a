# Across majors (issue 12): a database with running streams on this
# machine's PostgreSQL (15) is dumped with the newer major's pg_dump and
# restored into a cluster of the newer major (17) in its Debian root; the
# restored streams run again by themselves and go on exactly from the
# restored offsets, for a window view and a view defined by a SELECT.
#
# Run by test/cross-major.sh (as root: the newer server runs in the root
# with chroot), never by run-all.sh's loop over test/t. Needs SV_ROOT (the
# root's directory, mounted), SV_ROOT_PG (its major) and SV_WORK (a
# directory the postgres user may write).
use strict;
use warnings;

use Test::More;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use StreamviewTest;

# A server driven as the postgres OS user, on this machine or in a root,
# and reached with this machine's psql over TCP on 127.0.0.1.
package CrossNode;

# name, bin (the server's bindir as seen where it runs), datadir (likewise),
# prefix (the command words before a program: runuser, chroot ...)
sub new
{
	my ($class, %arg) = @_;
	my $self = bless {%arg, port => PostgreSQL::Test::Cluster::get_free_port()}, $class;
	return $self;
}

sub run
{
	my ($self, @cmd) = @_;
	my @full = (@{ $self->{prefix} }, @cmd);
	system(@full) == 0 or die "failed: @full";
	return;
}

# initdb and start with streamview preloaded.
sub start
{
	my ($self) = @_;
	my ($bin, $data) = @$self{qw(bin datadir)};
	$self->run("$bin/initdb", '-D', $data, '-A', 'trust', '-E', 'UTF8', '--locale=C', '-N');
	$self->run('sh', '-c', "cat >> $data/postgresql.conf <<'EOF'
port = $self->{port}
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
shared_preload_libraries = 'streamview'
max_worker_processes = 16
streamview.batch_max_ms = 200
fsync = off
EOF");
	$self->run("$bin/pg_ctl", '-D', $data, '-l', "$data/server.log", '-w', 'start');
	return;
}

sub stop
{
	my ($self) = @_;
	$self->run("$self->{bin}/pg_ctl", '-D', $self->{datadir}, '-m', 'fast', '-w', 'stop');
	return;
}

sub connstr
{
	my ($self, $db) = @_;
	return "host=127.0.0.1 port=$self->{port} dbname=$db user=postgres";
}

# What StreamviewTest's helpers need of a node: psql's unaligned output,
# dying on an error (safe_psql) or returning (rc, stdout) (psql).
sub psql
{
	my ($self, $db, $sql) = @_;
	my ($out, $err);
	my $rc = IPC::Run::run([ 'psql', '-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1',
		'-d', $self->connstr($db), '-f', '-' ], '<', \$sql, '>', \$out, '2>', \$err) ? 0 : $? >> 8;
	chomp $out;
	return ($rc, $out, $err);
}

sub safe_psql
{
	my ($self, $db, $sql) = @_;
	my ($rc, $out, $err) = $self->psql($db, $sql);
	die "psql failed on port $self->{port}: $err\n$sql" if $rc != 0;
	return $out;
}

package main;

my ($root, $major, $work) = @ENV{qw(SV_ROOT SV_ROOT_PG SV_WORK)};
die "SV_ROOT, SV_ROOT_PG and SV_WORK are needed" unless $root && $major && $work;
my $as_pg = [ 'runuser', '-u', 'postgres', '--' ];

my $old_bin = `pg_config --bindir`;
chomp $old_bin;
my $old = CrossNode->new(bin => $old_bin, datadir => "$work/old", prefix => $as_pg);
my $new = CrossNode->new(bin => "/usr/lib/postgresql/$major/bin", datadir => '/build/cross/new',
	prefix => [ 'chroot', $root, @$as_pg ]);
my $old_version = `pg_config --version`;
chomp $old_version;

my $broker = start_broker('xm:4');
$old->start;
$old->safe_psql('postgres', 'CREATE EXTENSION streamview');
create_rides_stream($old, $broker, 'xm', 'xm');
create_rides_stream($old, $broker, 'idle', 'xm');
$old->safe_psql('postgres', q{
	SELECT streamview.create_window_view('xm_counts', 'xm', 'tpep_pickup_datetime',
	       ARRAY['vendor_id'], '10 minutes', '5 minutes');
	SELECT streamview.create_view('xm_payments', $q$
	  SELECT window_start, payment_type AS key, count(*) AS count
	    FROM xm, streamview.tumble(tpep_pickup_datetime, '10 minutes')
	   GROUP BY 1, 2 $q$);
	SELECT streamview.start('xm');});
my @produced = (produce_rides($broker, 'xm', 3000, seed => 151, out => "$work/p1.tsv"));
# (produce_lines writes under a private temporary directory: the server
# reads a copy)
system('cp', produce_lines($broker, 'xm', 0, 'not a ride'), "$work/bad.tsv") == 0 or die;
push @produced, "$work/bad.tsv";
ok(wait_for_committed($old, 'xm', 3001), "$old_version consumed 3000 rides and a reject");

# the newer major's pg_dump reads the old server (as PostgreSQL advises for
# an upgrade); its pg_restore loads the new one, whose streams then resume
my $dump = '/build/cross/xm.dump';
$new->run("/usr/lib/postgresql/$major/bin/pg_dump", '-Fc', '-d', $old->connstr('postgres'),
	'-f', $dump);
pass("pg_dump $major of the $old_version database with a running stream");
$old->safe_psql('postgres', "SELECT streamview.stop('xm')");
$new->start;
like($new->safe_psql('postgres', 'SHOW server_version_num'), qr/^${major}\d{4}$/,
	"the new server is PostgreSQL $major");
$new->run("/usr/lib/postgresql/$major/bin/pg_restore", '-d', $new->connstr('postgres'), $dump);
is($new->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'streamview'}),
	$old->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'streamview'}),
	'the restored extension has the dumped version');
is($new->safe_psql('postgres', 'SELECT string_agg(reason, \',\') FROM streamview.rejects'),
	'expected 7 fields, found 1', 'the reject is restored with its reason');
ok(poll_until($new, "SELECT state FROM streamview.stream_status WHERE stream = 'xm'",
	'running', 60), "the restored stream runs by itself on $major");
is($new->safe_psql('postgres', "SELECT state FROM streamview.stream_status WHERE stream = 'idle'"),
	'stopped', 'the stopped one stays stopped');

push @produced, produce_rides($broker, 'xm', 2000, seed => 152, out => "$work/p2.tsv");
ok(wait_for_committed($new, 'xm', 5001), 'the restored stream goes on from the restored offsets');

# the oracle: counts computed in SQL on the old server from what was
# produced, compared with the new server's tables copied over
load_produced($old, 'produced', @produced);
expected_counts($old, 'e_vendor', 'produced', 2, 'f[1]::int', 600, 300);
expected_counts($old, 'e_payment', 'produced', 2, 'f[6]::int', 600, 600);
foreach my $t (qw(xm_counts xm_payments))
{
	my $rows = $new->safe_psql('postgres',
		"COPY (SELECT * FROM $t ORDER BY 1, 2) TO STDOUT");
	$old->safe_psql('postgres', "CREATE TABLE new_$t (LIKE $t)");
	my ($out, $err);
	IPC::Run::run([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $old->connstr('postgres'),
		'-c', "COPY new_$t FROM STDIN" ], '<', \"$rows\n", '>', \$out, '2>', \$err)
	  or die "copy of $t failed: $err";
}
isnt($old->safe_psql('postgres', 'SELECT count(*) FROM new_xm_counts'), '0',
	'the window view has rows');
is(count_mismatches($old, 'e_vendor',
	'SELECT window_start, vendor_id AS key, count FROM new_xm_counts'),
	'0', 'window view: every count exact across the dump, the restore and the new rides');
is(count_mismatches($old, 'e_payment',
	'SELECT window_start, key, count FROM new_xm_payments'),
	'0', 'view defined by a SELECT: every count exact likewise');

$new->stop;
$old->stop;
done_testing();
