# Hostile names end to end: quotes, spaces, semicolons, upper case and
# non-ASCII letters in stream, column, schema and view names work, and
# nothing in them is executed as SQL.
use strict;
use warnings;
use utf8;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use StreamviewTest;

my $broker = start_broker('weird:2');
my $node = new_node('hostile');

$node->safe_psql('postgres', qq{
	CREATE SCHEMA "Sch""ema; DROP TABLE x";
	CREATE TABLE canary (a int);
	SELECT streamview.create_stream(\$\$Ström "quoted" 'x'; DROP TABLE canary; --\$\$,
	  '$broker->{bootstrap}', 'weird',
	  \$\$"Vendor ""ID""" int, "Zeit ü" timestamp, "drop; table" timestamp, "Pass Count" int,
	     "trip'distance" real, "Payment-Type" int, total_amount real\$\$);
	SELECT streamview.create_window_view(\$\$"Sch""ema; DROP TABLE x"."Ünïcode ""View""; --"\$\$,
	  \$\$Ström "quoted" 'x'; DROP TABLE canary; --\$\$, 'Zeit ü',
	  ARRAY['Vendor "ID"', 'Payment-Type'], '10 minutes', '5 minutes');
	SELECT streamview.create_view(\$\$"Sch""ema; DROP TABLE x"."Ünïcode ""Stats""; --"\$\$, \$q\$
	  SELECT w.window_start AS "Start; --", "Vendor ""ID""", count(*) AS "N ""quoted""",
	         avg("Pass Count") AS "avg 'x'; DROP TABLE canary; --"
	  FROM "Ström ""quoted"" 'x'; DROP TABLE canary; --" AS s,
	       streamview.hop("Zeit ü", '10 minutes', '5 minutes') AS w
	  WHERE "Payment-Type" > 0
	  GROUP BY 1, 2 \$q\$);
	SELECT streamview.start(\$\$Ström "quoted" 'x'; DROP TABLE canary; --\$\$);
});
my $f = produce_rides($broker, 'weird', 4000, seed => 61);
ok(poll_until($node,
	q{SELECT sum(next_offset) FROM streamview.offsets WHERE stream LIKE 'Ström%'}, '4000'),
	'the stream with a hostile name consumed everything');
load_produced($node, 'produced', $f);
expected_counts($node, 'expected', 'produced', 2, q{f[1] || '/' || f[6]}, 600, 300);
is(count_mismatches($node, 'expected', q{
	SELECT window_start, "Vendor ""ID""" || '/' || "Payment-Type" AS key, count
	  FROM "Sch""ema; DROP TABLE x"."Ünïcode ""View""; --"}),
	'0', 'counts exact in a view with hostile names');
is($node->safe_psql('postgres', q{
	SELECT sum("N ""quoted""") FROM "Sch""ema; DROP TABLE x"."Ünïcode ""Stats""; --"}),
	'8000', 'a query view with hostile names counts every ride in its two windows');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM "Sch""ema; DROP TABLE x"."Ünïcode ""Stats""; --" v
	  JOIN (SELECT w.window_start, f[1]::int AS vendor, avg(f[4]::int) AS a
	          FROM (SELECT string_to_array(v, ', ') AS f FROM produced) x,
	               streamview.hop(f[2]::timestamp, '10 minutes', '5 minutes') w
	         GROUP BY 1, 2) e
	    ON e.window_start = v."Start; --" AND e.vendor = v."Vendor ""ID"""
	 WHERE e.a = v."avg 'x'; DROP TABLE canary; --"}),
	$node->safe_psql('postgres', q{SELECT count(*) FROM "Sch""ema; DROP TABLE x"."Ünïcode ""Stats""; --"}),
	'and its averages are exact');
is($node->safe_psql('postgres', "SELECT count(*) FROM canary"), '0',
	'nothing in the names ran as SQL');
is($node->safe_psql('postgres', q{
	SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
	 WHERE attrelid = '"Sch""ema; DROP TABLE x"."Ünïcode ""View""; --"'::regclass AND attnum > 0}),
	'window_start,window_end,Vendor "ID",Payment-Type,count,final',
	'the results table has the columns as named');

$node->stop;
done_testing();
