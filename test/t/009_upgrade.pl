# Upgrades: a database with version 0.1 (the frozen install script) and a
# running stream is updated with ALTER EXTENSION streamview UPDATE; nothing
# is lost or counted twice and the stream goes on running, also after a
# restart. A fresh install of the default version has exactly the objects
# of an upgraded one.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use StreamviewTest;

my $broker = start_broker('upgrade:2');

my $old = new_node('old', '', no_extension => 1);
$old->safe_psql('postgres', "CREATE EXTENSION streamview VERSION '0.1'");
is($old->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'streamview'"),
	'0.1', 'version 0.1 installs from the frozen script');
create_rides_stream($old, $broker, 'upgrade', 'upgrade');
$old->safe_psql('postgres', q{
	SELECT streamview.create_window_view('upgrade_counts', 'upgrade', 'tpep_pickup_datetime',
	       ARRAY['vendor_id'], '10 minutes', '5 minutes');
	SELECT streamview.start('upgrade')});
my @files = (produce_rides($broker, 'upgrade', 3000, seed => 101));
ok(wait_for_committed($old, 'upgrade', 3000), 'consumed under 0.1');
my $pid = $old->safe_psql('postgres',
	"SELECT pid FROM streamview.stream_status WHERE stream = 'upgrade'");

# Rides arrive while the extension is updated.
my $during = produce_rides($broker, 'upgrade', 2000, seed => 102, rate => 4000);
$old->safe_psql('postgres', 'ALTER EXTENSION streamview UPDATE');
push @files, $during;
is($old->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'streamview'"),
	'0.2', 'ALTER EXTENSION UPDATE moves to 0.2');
ok(wait_for_committed($old, 'upgrade', 5000), 'the stream goes on through the update');
is($old->safe_psql('postgres', q{
	SELECT state || ' ' || pid || ' ' || (last_error_at IS NULL)
	  FROM streamview.stream_status WHERE stream = 'upgrade'}),
	"running $pid true", 'with the same worker, and stream_status has the 0.2 columns');
is($old->safe_psql('postgres', "SELECT obj_description('upgrade_counts'::regclass, 'pg_class')"),
	'streamview: results of window view upgrade_counts on stream upgrade',
	'the update comments existing results tables');
check_vendor_view($old, 'upgrade_counts', 'across the update', @files);

$old->restart;
push @files, produce_rides($broker, 'upgrade', 1000, seed => 103);
ok(wait_for_committed($old, 'upgrade', 6000), 'after a restart the updated stream runs again');
$old->safe_psql('postgres', 'DROP TABLE p_upgrade_counts, e_upgrade_counts');
check_vendor_view($old, 'upgrade_counts', 'after the restart', @files);
$old->stop;

# A fresh install and an upgraded one: the same objects. A plain dump shows
# only CREATE EXTENSION; --binary-upgrade dumps every member, whose OIDs and
# LSNs (and pg_dump's random \restrict key) differ from cluster to cluster.
sub extension_objects
{
	my ($node) = @_;
	my $dump = PostgreSQL::Test::Utils::tempdir() . '/schema.sql';
	$node->command_ok([ 'pg_dump', '--schema-only', '--binary-upgrade',
		'-d', $node->connstr('postgres'), '-f', $dump ], 'pg_dump --binary-upgrade');
	my @lines = grep { !/^\\(un)?restrict |binary_upgrade_set_next_|^--/ && /\S/ }
	  split /\n/, slurp_file($dump);
	s/'\{[0-9,]+\}'/'{OIDS}'/g foreach @lines;
	return join("\n", @lines) . "\n";
}

my $upgraded = new_node('upgraded', '', no_extension => 1);
$upgraded->safe_psql('postgres', "CREATE EXTENSION streamview VERSION '0.1'");
$upgraded->safe_psql('postgres', 'ALTER EXTENSION streamview UPDATE');
my $fresh = new_node('fresh');
my $up = extension_objects($upgraded);
my $new = extension_objects($fresh);
like($new, qr/ALTER EXTENSION streamview ADD VIEW streamview\.stream_status;/,
	'the comparison sees the extension\'s members');
is($up, $new, 'a fresh install of the default version equals an upgraded 0.1');
$upgraded->stop;
$fresh->stop;

done_testing();
