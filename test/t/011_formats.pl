# Message formats and Kafka metadata: the key, timestamp, partition, offset
# and headers as columns (event time from the Kafka timestamp, a view
# grouped by the key, a filter on a header), checked window by window
# against counts computed in SQL from what the producer sent; malformed
# metadata rejected with its reason.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use POSIX ();
use StreamviewTest;

my $broker = start_broker('peeklive:2', 'fartime:1', 'meta:3', 'badkey:1', 'json:2', 'csv:2', 'badjson:1', 'badcsv:1', 'typmod:1',
	'kcat:1');
my $node = new_node('formats', '', utf8 => 1);
my $tools = $ENV{SV_TOOLS} // 'test/broker';

# Rides whose Kafka timestamp is their pickup time, with a constant header
# and the vendor as a header.
my $meta = PostgreSQL::Test::Utils::tempdir() . '/meta.tsv';
system("$tools/sv_produce", '--brokers', $broker->{bootstrap}, '--topic', 'meta',
	'--rides', '3000', '--seed', '301', '--pickup-timestamps',
	'--header', 'source=sv_produce', '--vendor-header', 'vendor', '--out', $meta) == 0
  or die 'sv_produce failed';

$node->safe_psql('postgres', qq{
	SELECT streamview.create_stream('meta', '$broker->{bootstrap}', 'meta',
	  'vendor_id int, tpep_pickup_datetime timestamp, tpep_dropoff_datetime timestamp,
	   passenger_count int, trip_distance real, payment_type int, total_amount real',
	  include => ARRAY['key', 'timestamp', 'partition', 'offset', 'headers']);
	SELECT streamview.create_window_view('by_key', 'meta', 'kafka_timestamp',
	  ARRAY['kafka_key'], '10 minutes', '5 minutes');
	SELECT streamview.create_window_view('by_partition', 'meta', 'kafka_timestamp',
	  ARRAY['kafka_partition'], '100 days');
	SELECT streamview.create_window_view('by_moment', 'meta', 'kafka_timestamp',
	  ARRAY['kafka_offset', 'kafka_timestamp'], '1 hour');
	SELECT streamview.create_view('by_header', \$q\$
	  SELECT window_start, kafka_headers ->> 'vendor' AS vendor, count(*) AS n
	  FROM meta, streamview.tumble(kafka_timestamp, '1 hour')
	  WHERE kafka_headers ->> 'source' = 'sv_produce'
	  GROUP BY 1, 2 \$q\$);
	SELECT streamview.create_view('positions', \$q\$
	  SELECT window_start, kafka_partition, count(*) AS n, min(kafka_offset) AS first,
	         max(kafka_offset) AS last
	  FROM meta, streamview.tumble(kafka_timestamp, '100 days')
	  GROUP BY 1, 2 \$q\$);
	SELECT streamview.start('meta')});
ok(wait_for_committed($node, 'meta', 3000), 'consumed the rides with metadata');
load_produced($node, 'produced', $meta);

# by_key: windows on the Kafka timestamp (the pickup time, UTC) per key.
expected_counts($node, 'exp_key', 'produced', 2, 'k', 600, 300);
is(count_mismatches($node, 'exp_key', q{
	SELECT window_start AT TIME ZONE 'UTC' AS window_start, kafka_key AS key, count FROM by_key}),
	'0', 'a count view on kafka_timestamp grouped by kafka_key: every count exact');

# by_header: hourly counts per vendor header, filtered on another header.
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM (
	  (SELECT date_trunc('hour', f[2]::timestamp) AS h, f[1] AS vendor, count(*) AS n
	     FROM (SELECT string_to_array(v, ', ') AS f FROM produced) m GROUP BY 1, 2
	   EXCEPT ALL
	   SELECT window_start AT TIME ZONE 'UTC', vendor, n FROM by_header)
	  UNION ALL
	  (SELECT window_start AT TIME ZONE 'UTC', vendor, n FROM by_header
	   EXCEPT ALL
	   SELECT date_trunc('hour', f[2]::timestamp), f[1], count(*)
	     FROM (SELECT string_to_array(v, ', ') AS f FROM produced) m GROUP BY 1, 2)) d}),
	'0', 'a query view filtering and grouping on kafka_headers: exact');

# positions: per partition, the offsets the producer got.
is($node->safe_psql('postgres', q{
	SELECT string_agg(format('%s:%s:%s:%s', kafka_partition, n, first, last), ' ' ORDER BY kafka_partition)
	  FROM (SELECT kafka_partition, sum(n) AS n, min(first) AS first, max(last) AS last
	          FROM positions GROUP BY 1) x}),
	$node->safe_psql('postgres', q{
	SELECT string_agg(format('%s:%s:%s:%s', p, n, first, last), ' ' ORDER BY p)
	  FROM (SELECT p, count(*) AS n, min(o) AS first, max(o) AS last FROM produced GROUP BY 1) x}),
	'kafka_partition and kafka_offset are the message\'s');

# Count views grouped by the integer and timestamp metadata (their keys are
# the columns' text; before, these had none, every batch failed on casting
# '' to integer and the stream stopped).
is($node->safe_psql('postgres', q{
	SELECT string_agg(format('%s:%s', kafka_partition, n), ' ' ORDER BY kafka_partition)
	  FROM (SELECT kafka_partition, sum(count) AS n FROM by_partition GROUP BY 1) x}),
	$node->safe_psql('postgres', q{
	SELECT string_agg(format('%s:%s', p, n), ' ' ORDER BY p)
	  FROM (SELECT p, count(*) AS n FROM produced GROUP BY 1) x}),
	'a count view grouped by kafka_partition');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM (
	  (SELECT o, split_part(v, ', ', 2)::timestamp AS t, count(*) AS n FROM produced GROUP BY 1, 2
	   EXCEPT ALL
	   SELECT kafka_offset, kafka_timestamp AT TIME ZONE 'UTC', count FROM by_moment)
	  UNION ALL
	  (SELECT kafka_offset, kafka_timestamp AT TIME ZONE 'UTC', count FROM by_moment
	   EXCEPT ALL
	   SELECT o, split_part(v, ', ', 2)::timestamp, count(*) FROM produced GROUP BY 1, 2)) d}),
	'0', 'and one grouped by kafka_offset and kafka_timestamp: exact');

# A producer may set any 64-bit timestamp: one past timestamptz's range is
# rejected with its reason (it used to overflow into a window thousands of
# years BC, and the batch failed on it for good); one in range but past
# what window arithmetic takes (about year 148,000) is rejected as such;
# year 100,000 is counted.
$node->safe_psql('postgres', qq{
	SELECT streamview.create_stream('fartime', '$broker->{bootstrap}', 'fartime', 'a int',
	  include => ARRAY['timestamp']);
	SELECT streamview.create_window_view('fartime_counts', 'fartime', 'kafka_timestamp',
	  '{}', '1 hour');
	SELECT streamview.start('fartime')});
foreach my $ms ('15000000000000000', '9224318015999999', '3093528000600000', '1593563132000')
{
	system("echo 1 | $tools/sv_produce --brokers $broker->{bootstrap} --topic fartime "
		  . "--stdin --partition 0 --timestamp-ms $ms >/dev/null") == 0
	  or die 'sv_produce failed';
}
ok(wait_for_committed($node, 'fartime', 4), 'consumed the messages with far timestamps');
is($node->safe_psql('postgres', q{
	SELECT string_agg(format('%s %s', "offset", reason), ',' ORDER BY "offset")
	  FROM streamview.rejects WHERE stream = 'fartime'}),
	"0 the message's timestamp (15000000000000000 ms since 1970) is out of range for timestamptz,"
	  . '1 time is out of range for windows',
	'a timestamp past the range is rejected, and one past what windows take');
is($node->safe_psql('postgres', q{
	SELECT string_agg(format('%s %s', window_start AT TIME ZONE 'UTC', count), ',' ORDER BY window_start)
	  FROM fartime_counts}),
	'2020-07-01 00:00:00 1,100000-01-01 05:00:00 1', 'the others are counted');

# A key that is not UTF-8 text is a rejection for the whole stream.
$node->safe_psql('postgres', qq{
	SELECT streamview.create_stream('badkey', '$broker->{bootstrap}', 'badkey', 'a int',
	  include => ARRAY['key']);
	SELECT streamview.start('badkey')});
open my $in, '|-', "$tools/sv_produce", '--brokers', $broker->{bootstrap}, '--topic', 'badkey',
  '--stdin', '--partition', '0', '--key-delim', '|', '--unescape'
  or die "sv_produce: $!";
print $in "good|1\n", "bad\\xff|2\n", "|3\n";
close $in or die 'sv_produce failed';
ok(wait_for_committed($node, 'badkey', 3), 'consumed the keyed messages');
is($node->safe_psql('postgres', q{
	SELECT string_agg(format('%s %s', "offset", reason), ',' ORDER BY "offset")
	  FROM streamview.rejects WHERE stream = 'badkey'}),
	"1 the message's key is not valid UTF-8 text", 'an invalid UTF-8 key is rejected with its reason');

# Windows of 10 minutes sliding by 5 per vendor from a table of (vendor,
# pickup), in plain SQL (the epoch arithmetic of expected_counts).
sub expected_windows
{
	my ($into, $from) = @_;
	$node->safe_psql('postgres', qq{
		CREATE TABLE $into AS
		SELECT ws AS window_start, vendor::text AS key, count(*) AS count
		  FROM $from,
		       LATERAL generate_series(
		           to_timestamp((floor((extract(epoch FROM pickup) - 600) / 300) + 1) * 300)
		             AT TIME ZONE 'UTC',
		           pickup, interval '5 minutes') ws
		 GROUP BY 1, 2});
	return;
}

# JSON: rides as nested objects with members in any order, escapes and
# decoys; columns by name and by path.
my $json = PostgreSQL::Test::Utils::tempdir() . '/json.tsv';
system("$tools/sv_produce", '--brokers', $broker->{bootstrap}, '--topic', 'json',
	'--rides', '3000', '--seed', '311', '--format', 'json', '--out', $json) == 0
  or die 'sv_produce failed';
$node->safe_psql('postgres', qq{
	SELECT streamview.create_stream('json_rides', '$broker->{bootstrap}', 'json',
	  'vendor_id int, pickup timestamp, dropoff timestamp, passenger_count int,
	   trip_distance real, payment_type int, total_amount real, price numeric(10,2), note text',
	  format => 'json',
	  column_paths => '{"pickup": "\$.trip.pickup.at", "dropoff": "\$.trip.dropoff",
	                    "trip_distance": "\$.trip.distance", "price": "\$.items[0].price"}');
	SELECT streamview.create_window_view('json_counts', 'json_rides', 'pickup',
	  ARRAY['vendor_id'], '10 minutes', '5 minutes');
	SELECT streamview.create_view('json_stats', \$q\$
	  SELECT window_start, vendor_id, sum(price) AS revenue, count(note) AS notes,
	         max(length(note)) AS longest, sum(passenger_count) AS passengers
	  FROM json_rides, streamview.tumble(pickup, '1 hour')
	  GROUP BY 1, 2 \$q\$);
	SELECT streamview.start('json_rides')});
ok(wait_for_committed($node, 'json_rides', 3000), 'consumed the JSON rides');
is($node->safe_psql('postgres', "SELECT count(*) FROM streamview.rejects WHERE stream = 'json_rides'"),
	'0', 'no JSON ride rejected');
load_produced($node, 'produced_json', $json);
$node->safe_psql('postgres', q{
	CREATE TABLE json_table AS
	SELECT (j ->> 'vendor_id')::int AS vendor, (j #>> '{trip,pickup,at}')::timestamp AS pickup,
	       (j #>> '{items,0,price}')::numeric(10,2) AS price, j ->> 'note' AS note,
	       (j ->> 'passenger_count')::int AS passengers
	  FROM (SELECT v::jsonb AS j FROM produced_json) m});
expected_windows('exp_json', 'json_table');
is(count_mismatches($node, 'exp_json',
	'SELECT window_start, vendor_id::text AS key, count FROM json_counts'),
	'0', 'JSON: sliding counts per vendor exact (pickup by path)');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM (
	  (SELECT date_trunc('hour', pickup), vendor, sum(price), count(note), max(length(note)), sum(passengers)
	     FROM json_table GROUP BY 1, 2
	   EXCEPT ALL
	   SELECT window_start, vendor_id, revenue, notes, longest, passengers FROM json_stats)
	  UNION ALL
	  (SELECT window_start, vendor_id, revenue, notes, longest, passengers FROM json_stats
	   EXCEPT ALL
	   SELECT date_trunc('hour', pickup), vendor, sum(price), count(note), max(length(note)), sum(passengers)
	     FROM json_table GROUP BY 1, 2)) d}),
	'0', 'JSON: a price by array path, notes with escapes and nulls, all exact');

# CSV: quoted fields with commas, doubled quotes and line breaks, NULL and
# empty notes; PostgreSQL's own COPY (FORMAT csv) is the oracle.
my $csv = PostgreSQL::Test::Utils::tempdir() . '/csv.tsv';
system("$tools/sv_produce", '--brokers', $broker->{bootstrap}, '--topic', 'csv',
	'--rides', '3000', '--seed', '321', '--format', 'csv', '--out', $csv) == 0
  or die 'sv_produce failed';
$node->safe_psql('postgres', qq{
	SELECT streamview.create_stream('csv_rides', '$broker->{bootstrap}', 'csv',
	  'vendor_id int, pickup timestamp, dropoff timestamp, passenger_count int,
	   trip_distance real, payment_type int, total_amount real, note text', format => 'csv');
	SELECT streamview.create_window_view('csv_counts', 'csv_rides', 'pickup',
	  ARRAY['vendor_id'], '10 minutes', '5 minutes');
	SELECT streamview.create_view('csv_stats', \$q\$
	  SELECT window_start, vendor_id, count(note) AS notes, count(*) FILTER (WHERE note = '') AS empty,
	         sum(length(note)) AS chars, sum(total_amount::numeric) AS revenue
	  FROM csv_rides, streamview.tumble(pickup, '1 hour')
	  GROUP BY 1, 2 \$q\$);
	SELECT streamview.start('csv_rides')});
ok(wait_for_committed($node, 'csv_rides', 3000), 'consumed the CSV rides');
is($node->safe_psql('postgres', "SELECT count(*) FROM streamview.rejects WHERE stream = 'csv_rides'"),
	'0', 'no CSV ride rejected');
# the records as they were sent, one per line (COPY's text escapes undone)
my $records = PostgreSQL::Test::Utils::tempdir() . '/records.csv';
open my $tsv, '<', $csv or die $!;
open my $rec, '>', $records or die $!;
while (my $line = <$tsv>)
{
	chomp $line;
	my $v = (split /\t/, $line, 4)[3];
	$v =~ s/\\x([0-9a-f]{2})/chr(hex($1))/ge;    # sv_produce writes \xHH only
	print $rec "$v\n";
}
close $rec;
close $tsv;
chmod 0644, $records;
$node->safe_psql('postgres', qq{
	CREATE TABLE csv_table (vendor int, pickup timestamp, dropoff timestamp, passengers int,
	  distance real, payment int, amount real, note text);
	COPY csv_table FROM '$records' (FORMAT csv)});
is($node->safe_psql('postgres', 'SELECT count(*) FROM csv_table'), '3000', 'COPY read the 3000 records');
expected_windows('exp_csv', 'csv_table');
is(count_mismatches($node, 'exp_csv',
	'SELECT window_start, vendor_id::text AS key, count FROM csv_counts'),
	'0', 'CSV: sliding counts per vendor exact');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM (
	  (SELECT date_trunc('hour', pickup), vendor, count(note), count(*) FILTER (WHERE note = ''),
	          sum(length(note)), sum(amount::numeric)
	     FROM csv_table GROUP BY 1, 2
	   EXCEPT ALL
	   SELECT window_start, vendor_id, notes, empty, chars, revenue FROM csv_stats)
	  UNION ALL
	  (SELECT window_start, vendor_id, notes, empty, chars, revenue FROM csv_stats
	   EXCEPT ALL
	   SELECT date_trunc('hour', pickup), vendor, count(note), count(*) FILTER (WHERE note = ''),
	          sum(length(note)), sum(amount::numeric)
	     FROM csv_table GROUP BY 1, 2)) d}),
	'0', 'CSV: notes (NULL, empty, quoted with commas, quotes and line breaks) exactly as COPY reads them');
cmp_ok($node->safe_psql('postgres', q{SELECT count(*) FROM csv_table WHERE note LIKE '%' || chr(10) || '%'}),
	'>', 0, 'with line breaks inside quoted fields');

# Malformed messages of each format: set aside with the exact reason, the
# good ones around them counted.
$node->safe_psql('postgres', qq{
	SELECT streamview.create_stream('badjson', '$broker->{bootstrap}', 'badjson',
	  'vendor_id int, pickup timestamp', format => 'json',
	  column_paths => '{"pickup": "\$.trip.pickup.at"}');
	SELECT streamview.create_window_view('badjson_counts', 'badjson', 'pickup', '{}', '1 hour');
	SELECT streamview.create_stream('badcsv', '$broker->{bootstrap}', 'badcsv',
	  'vendor_id int, pickup timestamp, note text', format => 'csv');
	SELECT streamview.create_window_view('badcsv_counts', 'badcsv', 'pickup', '{}', '1 hour');
	SELECT streamview.start('badjson');
	SELECT streamview.start('badcsv')});
produce_lines($broker, 'badjson', 0,
	'{"vendor_id": 1, "trip": {"pickup": {"at": "2020-07-01 00:25:32"}}}',
	'{"vendor_id": 1.5, "trip": {"pickup": {"at": "2020-07-01 00:25:32"}}}',
	'{"vendor_id": 2, "trip": {"pickup": {"at": 1593563132}}}',
	'[1, 2]',
	'{"vendor_id": 2, "trip": {"pickup": {"at": "2020-07-01 00:35:00"}}}');
produce_lines($broker, 'badcsv', 0,
	'1,"2020-07-01 00:25:32","fine, ""quoted"""',
	'2,"2020-07-01 00:25:32","unterminated',
	'3,2020-07-01 00:25:32',
	'x,"2020-07-01 00:25:32",',
	'4,"2020-07-01 00:35:00",""');
ok(wait_for_committed($node, 'badjson', 5) && wait_for_committed($node, 'badcsv', 5),
	'consumed the malformed messages');
is($node->safe_psql('postgres', q{
	SELECT string_agg(format('%s: %s', "offset", reason), E'\n' ORDER BY "offset")
	  FROM streamview.rejects WHERE stream = 'badjson'}),
	join("\n",
		'1: column "vendor_id" ($.vendor_id): invalid input syntax for type integer: "1.5"',
		'2: column "pickup" ($.trip.pickup.at): cannot convert a JSON number to type timestamp without time zone',
		'3: the message is a JSON array, not an object'),
	'JSON: each malformed message rejected with its reason');
is($node->safe_psql('postgres', 'SELECT sum(count) FROM badjson_counts'), '2',
	'and the good JSON messages counted');
is($node->safe_psql('postgres', q{
	SELECT string_agg(format('%s: %s', "offset", reason), E'\n' ORDER BY "offset")
	  FROM streamview.rejects WHERE stream = 'badcsv'}),
	join("\n",
		'1: field 3 "note": unterminated quoted field (opened at byte offset 24)',
		'2: expected 3 fields, found 2',
		'3: field 1 "vendor_id": invalid input syntax for type integer: "x"'),
	'CSV: each malformed message rejected with its reason');
is($node->safe_psql('postgres', 'SELECT sum(count) FROM badcsv_counts'), '2',
	'and the good CSV messages counted');

# A time column of type timestamp(0): rounded as PostgreSQL's input rounds
# before windows are assigned (00:04:59.6 is 00:05:00), never rejected.
$node->safe_psql('postgres', qq{
	SELECT streamview.create_stream('typmod', '$broker->{bootstrap}', 'typmod',
	  'vendor_id int, pickup timestamp(0)');
	SELECT streamview.create_window_view('typmod_counts', 'typmod', 'pickup', '{}', '5 minutes');
	SELECT streamview.start('typmod')});
produce_lines($broker, 'typmod', 0, '1, 2020-07-01 00:04:59.6', '1, 2020-07-01 00:04:59.4');
ok(wait_for_committed($node, 'typmod', 2), 'consumed the timestamp(0) rides');
is($node->safe_psql('postgres', q{
	SELECT string_agg(to_char(window_start, 'HH24:MI') || '=' || count, ' ' ORDER BY window_start)
	  FROM typmod_counts}),
	'00:00=1 00:05=1', 'timestamp(0) times rounded like PostgreSQL input');
is($node->safe_psql('postgres', "SELECT count(*) FROM streamview.rejects WHERE stream = 'typmod'"),
	'0', 'and none rejected');

# kcat as the producer: keys split off with -K, headers from -H with one
# name given twice (the last wins), and the timestamp librdkafka gave each
# message at produce time, all read back with kcat's consumer as the oracle.
$node->safe_psql('postgres', qq{
	SELECT streamview.create_stream('kc', '$broker->{bootstrap}', 'kcat', 'a int, b numeric',
	  include => ARRAY['key', 'timestamp', 'headers']);
	SELECT streamview.create_view('kc_seen', \$q\$
	  SELECT window_start, kafka_key AS key, kafka_headers::text AS headers,
	         count(*) AS n, sum(a) AS a, min(kafka_timestamp) AS first, max(kafka_timestamp) AS last
	  FROM kc, streamview.tumble(kafka_timestamp, '1000 days')
	  GROUP BY 1, 2, 3 \$q\$);
	SELECT streamview.start('kc')});
open my $kcat, '|-', 'kcat', '-P', '-b', $broker->{bootstrap}, '-t', 'kcat', '-K', ':',
  '-H', 'trace=one', '-H', 'app=kcat', '-H', 'trace=two'
  or die "kcat: $!";
print $kcat "k1:7, 1.5\nk2:8, 2.25\nk1:9, 3\n";
close $kcat or die 'kcat -P failed';
ok(wait_for_committed($node, 'kc', 3), 'consumed what kcat produced');
my $read = `kcat -C -b $broker->{bootstrap} -t kcat -e -q -f '%k|%T|%h|%s\\n'`;
die 'kcat -C failed' if $? != 0;
like($read, qr/^k1\|\d+\|trace=one,app=kcat,trace=two\|7, 1\.5$/m,
	'kcat sent the key, a timestamp and the header name twice');
$node->safe_psql('postgres', 'CREATE TABLE kc_read (k text, t bigint, h text, v text)');
$node->safe_psql('postgres', 'INSERT INTO kc_read VALUES '
	  . join(', ', map { '(' . join(', ', map { "'$_'" } split /\|/) . ')' } split /\n/, $read));
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM
	  (SELECT k, count(*) AS n, sum(split_part(v, ', ', 1)::int) AS a,
	          'epoch'::timestamptz + min(t) * interval '1 ms' AS first,
	          'epoch'::timestamptz + max(t) * interval '1 ms' AS last
	     FROM kc_read GROUP BY k) e
	  FULL JOIN kc_seen s ON s.key = e.k
	 WHERE s.n IS DISTINCT FROM e.n OR s.a IS DISTINCT FROM e.a
	    OR s.first IS DISTINCT FROM e.first OR s.last IS DISTINCT FROM e.last
	    OR s.headers IS DISTINCT FROM '{"app": "kcat", "trace": "two"}'}),
	'0', 'kafka_key, kafka_timestamp and kafka_headers (last of a repeated name) as kcat reads them');

# peek: the last messages of every partition, parsed as the worker would,
# without touching the stream's offsets.
my $offsets = committed_offsets($node, 'meta');
is($node->safe_psql('postgres', q{
	SELECT count(*) || ' ' || count(DISTINCT partition) || ' ' || count(error) || ' '
	    || bool_and(fields ->> 'kafka_key' = key AND key = fields ->> 'vendor_id'
	                AND (fields ->> 'tpep_pickup_datetime')::timestamp = kafka_timestamp AT TIME ZONE 'UTC'
	                AND (fields ->> 'kafka_offset')::bigint = "offset"
	                AND fields -> 'kafka_headers' ->> 'source' = 'sv_produce')
	  FROM streamview.peek('meta', 2)}),
	'6 3 0 true', 'peek shows the last 2 messages of each of the 3 partitions, parsed');
is(committed_offsets($node, 'meta'), $offsets, 'without moving the stream');
is($node->safe_psql('postgres', q{
	SELECT string_agg(format('%s %s %s', "offset", fields IS NULL, coalesce(error, '-')), ',' ORDER BY "offset")
	  FROM streamview.peek('badkey')}),
	"0 f -,1 t the message's key is not valid UTF-8 text,2 f -",
	'and says why a message would be rejected');
$node->safe_psql('postgres', q{
	SELECT streamview.create_stream('nowhere', '127.0.0.1:1', 'nowhere', 'a int')});
my ($rc, $out, $err) = $node->psql('postgres', "SELECT * FROM streamview.peek('nowhere')");
like($err, qr/ERROR:  could not read topic "nowhere" from brokers 127\.0\.0\.1:1: /,
	'peek with the broker down is an error naming the broker');

# peek on a live topic: while a producer keeps writing to partition 0, every
# peek still gives the last 3 messages of both partitions as they were when
# it began (before, messages past partition 0's end counted as ends, and a
# peek could stop before partition 1 was read, or give more than 3).
create_rides_stream($node, $broker, 'peeklive', 'peeklive');
produce_lines($broker, 'peeklive', 1,
	map { "2, 2020-07-01 00:0$_:00, 2020-07-01 00:1$_:00, 1, 1.5, 1, 9.3" } 0 .. 4);
# partition 0 has 3 messages before the producer starts: every peek has 3
# to read there, however late the producer's first ones arrive
produce_lines($broker, 'peeklive', 0,
	map { "1, 2020-07-01 00:0$_:00, 2020-07-01 00:1$_:00, 1, 1.5, 1, 9.3" } 0 .. 2);
my $producer = fork();
die "fork: $!" unless defined $producer;
if ($producer == 0)
{
	produce_rides($broker, 'peeklive', 20000, seed => 91, partitions => 1, rate => 4000);
	POSIX::_exit(0);
}
my @peeks;
for my $i (1 .. 5)
{
	push @peeks, $node->safe_psql('postgres', q{
		SELECT string_agg(format('%s:%s', partition, n), ' ' ORDER BY partition) || ' '
		    || (SELECT string_agg("offset"::text, ',' ORDER BY "offset")
		          FROM streamview.peek('peeklive', 3) WHERE partition = 1)
		  FROM (SELECT partition, count(*) AS n FROM streamview.peek('peeklive', 3)
		         GROUP BY partition) c});
	select(undef, undef, undef, 0.3);
}
waitpid($producer, 0);
is(join('; ', @peeks), join('; ', ('0:3 1:3 2,3,4') x 5),
	'five peeks while partition 0 grows: 3 messages of each partition, the last of partition 1');

$node->stop;
done_testing();
