# Views defined by a SELECT (create_view): batch = stream. The same query
# text, run by PostgreSQL over a table holding the produced rides under the
# stream's name, gives the results table row for row (float sums to the
# last bits). A message whose expressions fail is set aside for that view
# only, with the error's message.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use StreamviewTest;

my $broker = start_broker('views:4', 'vlate:1', 'vbig:1');
my $node = new_node('views');
create_rides_stream($node, $broker, 'rides', 'views');

my %query = (
	vendor_stats => q{
  SELECT w.window_start, w.window_end, vendor_id,
         count(*)                          AS rides,
         count(*) FILTER (WHERE passenger_count > 1) AS shared_rides,
         sum(total_amount)                 AS revenue,
         avg(trip_distance)                AS avg_distance,
         min(total_amount)                 AS min_fare,
         max(tpep_dropoff_datetime)        AS last_dropoff
  FROM rides, streamview.hop(tpep_pickup_datetime, '10 minutes', '5 minutes') AS w
  WHERE payment_type = 1 AND trip_distance > 0
  GROUP BY w.window_start, w.window_end, vendor_id},
	exact_stats => q{
  SELECT window_start, CASE WHEN payment_type = 3 THEN NULL ELSE payment_type END AS pt,
         passenger_count > 2 AS group_ride,
         sum(passenger_count) AS passengers, avg(passenger_count) AS avg_passengers,
         sum(total_amount::numeric) AS revenue, avg(total_amount::numeric(10,2)) AS avg_fare,
         count(trip_distance) FILTER (WHERE vendor_id = 2) AS vendor2,
         min(tpep_dropoff_datetime) AS first_dropoff, max(total_amount) AS top_fare
  FROM rides r, streamview.tumble(r.tpep_pickup_datetime, '1 hour')
  GROUP BY window_start, 2, 3},
	div_view => q{
  SELECT w.window_start, count(*) AS n, sum(100 / (passenger_count - 1)) AS inverse
  FROM rides, streamview.hop(tpep_pickup_datetime, '30 minutes', '10 minutes') w
  WHERE trip_distance > 1
  GROUP BY 1},
);
foreach my $view (sort keys %query)
{
	$node->safe_psql('postgres',
		"SELECT streamview.create_view('$view', \$q\$$query{$view}\$q\$)");
}
# A view created under other settings than the worker's: its literal is
# 1 July 05:00 as DateStyle DMY reads it (MDY, the worker's default, would
# read 7 January, before every ride, and count them all).
my $dmy = q{SET DateStyle = 'SQL, DMY'; SET TimeZone = 'Asia/Tokyo';};
$query{dmy_view} = q{
  SELECT window_start, vendor_id, count(*) AS n
  FROM rides, streamview.tumble(tpep_pickup_datetime, '1 hour')
  WHERE tpep_pickup_datetime >= '01/07/2020 05:00'
  GROUP BY 1, 2};
$node->safe_psql('postgres',
	"$dmy SELECT streamview.create_view('dmy_view', \$q\$$query{dmy_view}\$q\$)");
$node->safe_psql('postgres', q{
	SELECT streamview.create_window_view('vendor_counts', 'rides', 'tpep_pickup_datetime',
	       ARRAY['vendor_id'], '10 minutes', '5 minutes');
	SELECT streamview.start('rides')});
my @files = (produce_rides($broker, 'views', 10000, seed => 201, span => 600));
push @files, produce_rides($broker, 'views', 10000, seed => 202, span => 600);
ok(wait_for_committed($node, 'rides', 20000), 'consumed');

# The produced rides as a table named like the stream, in schema batch.
load_produced($node, 'produced', @files);
$node->safe_psql('postgres', q{
	CREATE SCHEMA batch;
	CREATE TABLE batch.rides AS
	SELECT f[1]::int AS vendor_id, f[2]::timestamp AS tpep_pickup_datetime,
	       f[3]::timestamp AS tpep_dropoff_datetime, f[4]::int AS passenger_count,
	       f[5]::real AS trip_distance, f[6]::int AS payment_type, f[7]::real AS total_amount
	  FROM (SELECT string_to_array(v, ', ') AS f FROM produced) m;
	-- what div_view can count: its division fails for one passenger
	CREATE SCHEMA batch_div;
	CREATE TABLE batch_div.rides AS
	SELECT * FROM batch.rides WHERE passenger_count <> 1 OR trip_distance <= 1});

# Runs a view's own query text over schema $schema's rides into table $into
# (after the statements $set, if given).
sub batch_query
{
	my ($view, $schema, $into, $set) = @_;
	my $text = $node->safe_psql('postgres',
		"SELECT query FROM streamview.window_views WHERE view = '$view'::regclass");
	is($text, $query{$view}, "$view keeps its query text");
	$node->safe_psql('postgres',
		($set // '') . "SET search_path = $schema, public; CREATE TABLE public.$into AS $text");
	return;
}

# Rows of two relations over the given columns that are not in the other.
sub differences
{
	my ($a, $b, $cols) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT count(*) FROM ((SELECT $cols FROM $a EXCEPT ALL SELECT $cols FROM $b)
		              UNION ALL (SELECT $cols FROM $b EXCEPT ALL SELECT $cols FROM $a)) d});
}

# exact_stats: integers, numerics, timestamps and NULL keys, all exact.
batch_query('exact_stats', 'batch', 'b_exact');
cmp_ok($node->safe_psql('postgres', 'SELECT count(*) FROM b_exact'), '>', 20, 'exact_stats has rows');
cmp_ok($node->safe_psql('postgres', 'SELECT count(*) FROM exact_stats WHERE pt IS NULL'), '>', 0,
	'with NULL keys as groups of their own');
is(differences('b_exact', 'exact_stats',
	'window_start, pt, group_ride, passengers, avg_passengers, revenue, avg_fare, vendor2, first_dropoff, top_fare'),
	'0', 'exact_stats: batch = stream, row for row and exactly');

# live_counts shows a query view's groups with the rows each counted (the
# hidden column "streamview.rows"), never a count the table does not hold.
cmp_ok($node->safe_psql('postgres', "SELECT count(*) FROM streamview.live_counts('exact_stats')"),
	'>', 0, 'live_counts shows a query view');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM streamview.live_counts('exact_stats') l
	  LEFT JOIN exact_stats t ON t.window_start = l.window_start::timestamp
	   AND t.pt::text IS NOT DISTINCT FROM l.group_key[1] AND t.group_ride::text = l.group_key[2]
	 WHERE t."streamview.rows" IS DISTINCT FROM l.count}),
	'0', 'with the rows of each group as the table holds them, NULL keys included');
is($node->safe_psql('postgres', 'SELECT sum(rides) = sum("streamview.rows") FROM vendor_stats'),
	't', '"streamview.rows" is the count of rows of each group');

# vendor_stats (the issue's example): exact but for the float sums.
batch_query('vendor_stats', 'batch', 'b_vendor');
is(differences('b_vendor', 'vendor_stats',
	'window_start, window_end, vendor_id, rides, shared_rides, min_fare, last_dropoff'),
	'0', 'vendor_stats: batch = stream for every exact column');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM b_vendor b JOIN vendor_stats v USING (window_start, vendor_id)
	 WHERE abs(b.revenue - v.revenue) > 1e-5 * abs(b.revenue)
	    OR abs(b.avg_distance - v.avg_distance) > 1e-12 * abs(b.avg_distance)}),
	'0', 'and for revenue (real) and avg_distance to the last bits');

# div_view: a division by zero rejects the message for this view only.
batch_query('div_view', 'batch_div', 'b_div');
is(differences('b_div', 'div_view', 'window_start, n, inverse'), '0',
	'div_view: batch = stream over the rides it can count');
is($node->safe_psql('postgres', q{
	SELECT count(*) || ' ' || min(reason) || ' ' || max(reason) FROM streamview.rejects
	 WHERE view = 'div_view'::regclass}),
	$node->safe_psql('postgres',
		'SELECT count(*) FROM batch.rides WHERE passenger_count = 1 AND trip_distance > 1')
	  . ' division by zero division by zero',
	'each failing ride is rejected for div_view with the error as reason');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM streamview.rejects WHERE view IS DISTINCT FROM 'div_view'::regclass"),
	'0', 'and for no other view');
check_vendor_view($node, 'vendor_counts', 'a count view beside query views', @files);

# dmy_view: its literal read as when it was created, not as the worker's
# settings would read it.
batch_query('dmy_view', 'batch', 'b_dmy', $dmy);
is($node->safe_psql('postgres', q{
	SELECT sum(n) > 0 AND sum(n) < (SELECT count(*) FROM batch.rides) FROM dmy_view}),
	't', 'dmy_view counts some rides, not all');
is(differences('b_dmy', 'dmy_view', 'window_start, vendor_id, n'), '0',
	'dmy_view: batch = stream, its literal read under DateStyle DMY');

# A restart: the worker analyses the queries again and goes on exactly.
$node->restart;
push @files, produce_rides($broker, 'views', 5000, seed => 203, span => 600);
ok(wait_for_committed($node, 'rides', 25000), 'consumed after a restart');
load_produced($node, 'produced2', $files[2]);
$node->safe_psql('postgres', q{
	INSERT INTO batch.rides
	SELECT f[1]::int, f[2]::timestamp, f[3]::timestamp, f[4]::int, f[5]::real, f[6]::int, f[7]::real
	  FROM (SELECT string_to_array(v, ', ') AS f FROM produced2) m;
	DROP TABLE b_exact});
batch_query('exact_stats', 'batch', 'b_exact');
is(differences('b_exact', 'exact_stats',
	'window_start, pt, group_ride, passengers, avg_passengers, revenue, avg_fare, vendor2, first_dropoff, top_fare'),
	'0', 'exact_stats after the restart: batch = stream');
$node->safe_psql('postgres', 'DROP TABLE b_dmy');
batch_query('dmy_view', 'batch', 'b_dmy', $dmy);
is(differences('b_dmy', 'dmy_view', 'window_start, vendor_id, n'), '0',
	'dmy_view after the restart: batch = stream');

# Sketches: hll_add_agg of the hll extension (installed by test/setup.sh):
# each batch builds a group's hll and the table unions them; the hll equals
# the one the batch query builds from all rides at once.
$node->safe_psql('postgres', q{
	CREATE EXTENSION hll;
	SELECT streamview.create_stream('sketch', (SELECT brokers FROM streamview.streams WHERE name = 'rides'),
	  'views', (SELECT string_agg(name || ' ' || type, ', ' ORDER BY position)
	              FROM streamview.stream_columns WHERE stream = 'rides'));
	SELECT streamview.create_view('distinct_stats', $q$
	  SELECT window_start, vendor_id,
	         hll_add_agg(hll_hash_integer(payment_type)) AS payment_types,
	         hll_add_agg(hll_hash_bigint(passenger_count * 1000 + payment_type))
	           FILTER (WHERE trip_distance > 10) AS long_mixes,
	         count(*) AS n
	  FROM sketch, streamview.tumble(tpep_pickup_datetime, '1 hour')
	  GROUP BY 1, 2 $q$);
	SELECT streamview.start('sketch')});
ok(wait_for_committed($node, 'sketch', 25000), 'the sketch stream consumed the topic');
$node->safe_psql('postgres', q{
	SET search_path = batch, public;
	CREATE TABLE public.b_sketch AS
	  SELECT window_start, vendor_id,
	         hll_add_agg(hll_hash_integer(payment_type)) AS payment_types,
	         hll_add_agg(hll_hash_bigint(passenger_count * 1000 + payment_type))
	           FILTER (WHERE trip_distance > 10) AS long_mixes,
	         count(*) AS n
	  FROM rides, streamview.tumble(tpep_pickup_datetime, '1 hour')
	  GROUP BY 1, 2});
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM b_sketch b FULL JOIN distinct_stats v USING (window_start, vendor_id)
	 WHERE b.n IS DISTINCT FROM v.n
	    OR hll_cardinality(b.payment_types) IS DISTINCT FROM hll_cardinality(v.payment_types)
	    OR hll_cardinality(b.long_mixes) IS DISTINCT FROM hll_cardinality(v.long_mixes)
	    OR NOT (b.payment_types = v.payment_types)}),
	'0', 'hll sketches: batch = stream, the same hll in every window');
cmp_ok($node->safe_psql('postgres', 'SELECT max(hll_cardinality(long_mixes)) FROM distinct_stats'),
	'>', 5, 'with real distinct counts');

# A view of a non-superuser runs its code as that user: constant calls
# folded when the worker compiles the view, per-message expressions, and a
# domain's CHECK when a column's value is converted. Each would fail here
# if it ran as the worker's superuser.
$node->safe_psql('postgres', q{
	CREATE ROLE mallory LOGIN;
	GRANT EXECUTE ON FUNCTION streamview.create_stream(text, text, text, text, text, text, text, jsonb, text, integer, text[], jsonb),
	      streamview.create_view(text, text, interval, boolean), streamview.start(text) TO mallory;
	CREATE SCHEMA mallory AUTHORIZATION mallory;
	SET ROLE mallory;
	CREATE FUNCTION mallory.not_super(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $f$
	BEGIN
		IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
			RAISE EXCEPTION 'ran as superuser %', current_user;
		END IF;
		RETURN $1;
	END $f$;
	CREATE DOMAIN mallory.checked_int AS int CHECK (mallory.not_super(VALUE) = VALUE);
	SET search_path = mallory, public;
	SELECT streamview.create_stream('owned', (SELECT brokers FROM streamview.streams WHERE name = 'rides'),
	  'views', 'vendor_id checked_int, tpep_pickup_datetime timestamp, tpep_dropoff_datetime timestamp,
	            passenger_count int, trip_distance real, payment_type int, total_amount real');
	SELECT streamview.create_view('mallory.owned_counts', $q$
	  SELECT window_start, count(*) AS n, sum(not_super(passenger_count)) AS p
	  FROM owned, streamview.tumble(tpep_pickup_datetime, '1 hour')
	  WHERE not_super(1) = 1 AND vendor_id > 0
	  GROUP BY 1 $q$);
	SELECT streamview.start('owned')});
ok(wait_for_committed($node, 'owned', 25000), "a non-superuser's stream consumed the topic");
is($node->safe_psql('postgres', q{
	SELECT (SELECT sum(n) FROM mallory.owned_counts) || ' '
	    || (SELECT count(*) FROM streamview.rejects WHERE stream = 'owned') || ' '
	    || coalesce((SELECT last_error FROM streamview.stream_status WHERE stream = 'owned'), 'none')}),
	'25000 0 none', 'every ride counted, none rejected: nothing ran as superuser');

# Late data in a query view: a tumbling view with 10 minutes of allowed
# lateness keeping late messages (as 003's count view), its window_start
# under another name.
create_rides_stream($node, $broker, 'vlate', 'vlate');
$node->safe_psql('postgres', q{
	SELECT streamview.create_view('late_stats', $q$
	  SELECT w.window_start AS ws, count(*) AS n, sum(passenger_count) AS p
	  FROM vlate, streamview.tumble(tpep_pickup_datetime, '10 minutes') w
	  GROUP BY 1 $q$, allowed_lateness => '10 minutes', keep_late => true);
	SELECT streamview.start('vlate')});
my @times = qw(00:00 00:25 00:05 00:21 00:40 00:19);
produce_lines($broker, 'vlate', 0,
	map { "1, 2020-07-01 $_:00, 2020-07-01 $_:30, 2, 1.5, 2, 9.3" } @times);
ok(wait_for_committed($node, 'vlate', 6), 'late rides consumed');
is($node->safe_psql('postgres', q{
	SELECT string_agg(format('%s=%s/%s%s', to_char(ws, 'HH24:MI'), n, p,
	                         CASE WHEN final THEN 'F' ELSE '' END), ' ' ORDER BY ws)
	  FROM late_stats}),
	'00:00=1/2F 00:20=2/4F 00:40=1/2', 'late events not counted, passed windows final');
is($node->safe_psql('postgres', q{
	SELECT string_agg(format('%s %s', "offset", reason), ',' ORDER BY "offset")
	  FROM streamview.rejects WHERE view = 'late_stats'::regclass}),
	'2 late,5 late', 'keep_late keeps the late events in rejects');
is($node->safe_psql('postgres', "SELECT late FROM streamview.stream_status WHERE stream = 'vlate'"),
	'2', 'and stream_status counts them');

# What a view's owner wrote runs in a security-restricted operation
# (sv_as_owner_begin), superusers' too: a trigger on a results table that
# creates a temporary table fails there with PostgreSQL's own error, the
# batch is not committed (nothing counted, offsets where they were), and
# once the trigger is gone the stream counts every ride exactly once.
# Without the restriction the trigger would run and the rides count at once.
create_rides_stream($node, $broker, 'vrestricted', 'vlate');
$node->safe_psql('postgres', q{
	SELECT streamview.create_window_view('restricted_counts', 'vrestricted',
	  'tpep_pickup_datetime', ARRAY['vendor_id'], '1 hour');
	CREATE FUNCTION make_temp() RETURNS trigger LANGUAGE plpgsql AS $f$
	BEGIN
		CREATE TEMP TABLE IF NOT EXISTS sv_scratch (x int);
		RETURN NEW;
	END $f$;
	CREATE TRIGGER make_temp BEFORE INSERT OR UPDATE ON restricted_counts
	  FOR EACH ROW EXECUTE FUNCTION make_temp();
	SELECT streamview.start('vrestricted')});
ok(poll_until($node, q{
	SELECT last_error FROM streamview.stream_status WHERE stream = 'vrestricted'},
	'cannot create temporary table within security-restricted operation', 60),
	'a results-table trigger cannot create a temporary table: the error is in stream_status');
is($node->safe_psql('postgres', q{
	SELECT (SELECT count(*) FROM restricted_counts) || ' '
	    || (SELECT coalesce(sum(next_offset), 0) FROM streamview.offsets WHERE stream = 'vrestricted')}),
	'0 0', 'nothing of the failed batch committed');
$node->safe_psql('postgres', 'DROP TRIGGER make_temp ON restricted_counts');
ok(wait_for_committed($node, 'vrestricted', 6), 'without the trigger the stream goes on');
is($node->safe_psql('postgres', q{
	SELECT string_agg(format('%s/%s=%s', to_char(window_start, 'HH24:MI'), vendor_id, count), ' '
	                  ORDER BY window_start, vendor_id)
	  FROM restricted_counts}),
	'00:00/1=6', 'and counts each ride once');

# A message whose GROUP BY values exceed the key limit (8192 bytes) is
# rejected for that view with the count views' reason; the stream goes on.
# (It used to raise 54000, which the worker took for its own fault: the
# batch failed and was retried from the same offsets forever.)
create_rides_stream($node, $broker, 'vlongkey', 'vlate');
$node->safe_psql('postgres', q{
	SELECT streamview.create_view('longkey_counts', $q$
	  SELECT window_start, count(*) AS n,
	         repeat('k', CASE WHEN extract(minute FROM tpep_pickup_datetime) >= 20
	                          THEN 9000 ELSE 1 END) AS pad
	  FROM vlongkey, streamview.tumble(tpep_pickup_datetime, '1 hour')
	  GROUP BY 1, 3 $q$);
	SELECT streamview.start('vlongkey')});
ok(wait_for_committed($node, 'vlongkey', 6), 'rides with a too long group key do not stop the stream');
is($node->safe_psql('postgres', q{
	SELECT string_agg(format('%s %s=%s', to_char(window_start, 'HH24:MI'), pad, n), ' ')
	  FROM longkey_counts}),
	'00:00 k=3', 'the rides with a short key are counted');
is($node->safe_psql('postgres', q{
	SELECT string_agg(format('%s %s', "offset", reason), ',' ORDER BY "offset")
	  FROM streamview.rejects WHERE stream = 'vlongkey'}),
	'1 group key too long,3 group key too long,4 group key too long',
	'the others are rejected with the reason');

# A results table dropped where the event trigger that removes its view
# does not fire (session_replication_role = replica) leaves the view in the
# catalog: the worker says so in stream_status instead of crashing the
# server on the missing table's name, and goes on once the view is gone.
create_rides_stream($node, $broker, 'vdropped', 'vlate');
$node->safe_psql('postgres', q{
	SELECT streamview.create_window_view('dropped_counts', 'vdropped',
	  'tpep_pickup_datetime', ARRAY['vendor_id'], '1 hour');
	SELECT streamview.start('vdropped')});
ok(wait_for_committed($node, 'vdropped', 6), 'vdropped consumed');
my $started = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');
$node->safe_psql('postgres', q{
	SELECT streamview.stop('vdropped');
	SET session_replication_role = replica;
	DROP TABLE dropped_counts});
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM streamview.window_views WHERE stream = 'vdropped'}),
	'1', 'without the event trigger the view stays');
$node->safe_psql('postgres', "SELECT streamview.start('vdropped')");
ok(poll_until($node, q{
	SELECT last_error FROM streamview.stream_status WHERE stream = 'vdropped'},
	'results table of a view of stream "vdropped" does not exist', 60),
	'the worker reports the missing results table');
is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'), $started,
	'and the server did not restart');
$node->safe_psql('postgres', q{
	DELETE FROM streamview.window_views WHERE stream = 'vdropped'});
produce_lines($broker, 'vlate', 0, '1, 2020-07-01 00:50:00, 2020-07-01 00:55:00, 2, 1.5, 2, 9.3');
ok(wait_for_committed($node, 'vdropped', 7), 'once the view is deleted the stream goes on');
is($node->safe_psql('postgres', q{
	SELECT state || ' ' || (last_error IS NULL) FROM streamview.stream_status
	 WHERE stream = 'vdropped'}), 'running true', 'and its error is cleared');

# A view handed to another role (ALTER TABLE ... OWNER TO) is written as its
# new owner: the old one lost its rights to the table with it, and the sink,
# which wrote as the owner recorded at creation, failed every batch.
$node->safe_psql('postgres', q{
	CREATE ROLE ada LOGIN;
	CREATE ROLE bo;
	GRANT EXECUTE ON FUNCTION streamview.create_stream(text, text, text, text, text, text, text, jsonb, text, integer, text[], jsonb),
	      streamview.create_window_view(text, text, text, text[], interval, interval, interval, boolean)
	  TO ada;
	CREATE SCHEMA ada AUTHORIZATION ada;
	GRANT USAGE, CREATE ON SCHEMA ada TO bo;
	SET ROLE ada;
	SELECT streamview.create_stream('handed', (SELECT brokers FROM streamview.streams WHERE name = 'rides'),
	  'vlate', 'vendor_id int, tpep_pickup_datetime timestamp, tpep_dropoff_datetime timestamp,
	            passenger_count int, trip_distance real, payment_type int, total_amount real');
	SELECT streamview.create_window_view('ada.handed_counts', 'handed', 'tpep_pickup_datetime',
	  ARRAY['vendor_id'], '1 hour');
	RESET ROLE;
	ALTER TABLE ada.handed_counts OWNER TO bo;
	SELECT streamview.start('handed')});
ok(wait_for_committed($node, 'handed', 7), 'a view handed to another role is written');
is($node->safe_psql('postgres', q{
	SELECT sum(count) || ' ' || coalesce((SELECT last_error FROM streamview.stream_status
	                                      WHERE stream = 'handed'), 'none')
	  FROM ada.handed_counts}),
	'7 none', 'as its new owner');

# Float sums past their type's range are +/-Infinity, in a batch and when a
# batch adds to the table (PostgreSQL's sum() would raise 22003; that error
# has no message to blame, and stopped the stream at every retry); sums in
# range are as before.
$node->safe_psql('postgres', qq{
	SELECT streamview.create_stream('vbig', (SELECT brokers FROM streamview.streams WHERE name = 'rides'),
	  'vbig', 'ts timestamp, r real, d double precision');
	SELECT streamview.create_view('big_sums', \$q\$
	  SELECT window_start, sum(r) AS sr, sum(d) AS sd, avg(d) AS ad, count(*) AS n
	  FROM vbig, streamview.tumble(ts, '1 hour') GROUP BY 1 \$q\$);
	SELECT streamview.start('vbig')});
produce_lines($broker, 'vbig', 0, '2020-07-01 00:00:00, 3e38, 1e308',
	'2020-07-01 00:01:00, 3e38, 1', '2020-07-01 01:00:00, 1.5, 2.5');
ok(wait_for_committed($node, 'vbig', 3), 'a batch whose real sum overflows commits');
produce_lines($broker, 'vbig', 0, '2020-07-01 00:02:00, 1, 1e308',
	'2020-07-01 01:10:00, 2.5, -0.5');
ok(wait_for_committed($node, 'vbig', 5), 'and so does one whose double sum overflows with the table');
is($node->safe_psql('postgres', q{
	SELECT string_agg(format('%s %s %s %s %s', to_char(window_start, 'HH24:MI'), sr, sd, ad, n),
	                  ', ' ORDER BY window_start)
	  FROM big_sums}),
	'00:00 Infinity Infinity Infinity 3, 01:00 4 2 1 2', 'overflowing sums are infinite, the others exact');

# The sink's own SQL takes no operator from the worker's search_path: a role
# that may create in public defines =(regclass, regclass), which the
# worker's watermark update ("view = $1::regclass") used to call as the
# bootstrap superuser.
$node->safe_psql('postgres', q{
	CREATE ROLE eve LOGIN;
	GRANT CREATE ON SCHEMA public TO eve;
	SET ROLE eve;
	CREATE TABLE public.op_calls (who text, backend text);
	GRANT INSERT ON public.op_calls TO PUBLIC;
	CREATE FUNCTION public.regclass_eq(a regclass, b regclass) RETURNS boolean
	LANGUAGE plpgsql AS $f$
	BEGIN
		INSERT INTO public.op_calls
		  SELECT current_user, backend_type FROM pg_stat_activity WHERE pid = pg_backend_pid();
		RETURN a::oid = b::oid;
	END $f$;
	CREATE OPERATOR public.= (LEFTARG = regclass, RIGHTARG = regclass,
	                          FUNCTION = public.regclass_eq);
	RESET ROLE});
create_rides_stream($node, $broker, 'vop', 'vlate');
$node->safe_psql('postgres', q{
	SELECT streamview.create_window_view('vop_counts', 'vop', 'tpep_pickup_datetime',
	  '{}', '10 minutes', allowed_lateness => '10 minutes');
	SELECT streamview.start('vop')});
ok(wait_for_committed($node, 'vop', 7), 'a stream with a lateness view consumed');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM public.op_calls WHERE backend = 'streamview worker'}),
	'0', "the worker did not call eve's operator");
$node->safe_psql('postgres', q{
	SELECT streamview.stop('vop');
	DROP OPERATOR public.= (regclass, regclass)});

$node->stop;
done_testing();
