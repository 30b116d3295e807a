-- create_view: a view defined by a SELECT over a stream. The results table
-- it makes, and every construct it refuses, with SQLSTATE and message.
SELECT streamview.create_stream('rides', 'localhost:9092', 'rides_csv',
  'vendor_id int, tpep_pickup_datetime timestamp, tpep_dropoff_datetime timestamp,
   passenger_count int, trip_distance real, payment_type int, total_amount real, note text');
SELECT streamview.create_stream('Rides Raw', 'localhost:9092', 'raw', 'ts timestamptz, amount numeric(10,2), who text');

-- The issue's example: the results table has the select list's columns in
-- order and types as PostgreSQL gives them, final, and avg's hidden state.
SELECT streamview.create_view('vendor_stats', $$
  SELECT w.window_start, w.window_end, vendor_id,
         count(*)                          AS rides,
         count(*) FILTER (WHERE passenger_count > 1) AS shared_rides,
         sum(total_amount)                 AS revenue,
         avg(trip_distance)                AS avg_distance,
         min(total_amount)                 AS min_fare,
         max(tpep_dropoff_datetime)        AS last_dropoff
  FROM rides, streamview.hop(tpep_pickup_datetime, '10 minutes', '5 minutes') AS w
  WHERE payment_type = 1 AND trip_distance > 0
  GROUP BY w.window_start, w.window_end, vendor_id
$$);
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
  FROM pg_attribute a WHERE a.attrelid = 'vendor_stats'::regclass AND a.attnum > 0 ORDER BY a.attnum;
SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'vendor_stats'::regclass
   AND contype <> 'n';  -- (PostgreSQL 18 lists NOT NULL constraints too)
SELECT obj_description('vendor_stats'::regclass, 'pg_class');
SELECT stream, time_column, group_by, size, slide, query IS NOT NULL AS has_query
  FROM streamview.window_views WHERE view = 'vendor_stats'::regclass;

-- Types as PostgreSQL's own aggregates give them; tumble; a quoted stream
-- name; no GROUP BY item but the window: a primary key.
SELECT streamview.create_view('typed', $$
  SELECT w.window_start, sum(length(who)) AS s_int, avg(length(who)) AS a_int,
         sum(amount) AS s_num, avg(amount) AS a_num, count(who) AS c, min(who) AS first_who,
         max(amount) AS top, sum(amount::float8) AS s_float
  FROM "Rides Raw", streamview.tumble(ts, '1 hour') AS w
  GROUP BY w.window_start
$$);
SELECT a.attname, format_type(a.atttypid, a.atttypmod)
  FROM pg_attribute a WHERE a.attrelid = 'typed'::regclass AND a.attnum > 0 ORDER BY a.attnum;
SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'typed'::regclass
   AND contype <> 'n';  -- (PostgreSQL 18 lists NOT NULL constraints too)

-- min/max keep the argument's type without its length (bpchar, not char(1))
-- and its collation.
SELECT streamview.create_stream('codes', 'localhost:9092', 'codes', 'ts timestamp, code char(3), label text');
SELECT streamview.create_view('code_range', $$
  SELECT window_start, min(code) AS lo, max(label COLLATE "C") AS hi
  FROM codes, streamview.tumble(ts, '1 hour') GROUP BY 1 $$);
SELECT a.attname, format_type(a.atttypid, a.atttypmod), c.collname
  FROM pg_attribute a LEFT JOIN pg_collation c ON c.oid = a.attcollation AND a.attcollation <> 100
 WHERE a.attrelid = 'code_range'::regclass AND a.attnum > 0 ORDER BY a.attnum;
SELECT streamview.drop_window_view('code_range');
-- A GROUP BY value under a nondeterministic collation is refused: the worker
-- groups keys byte for byte, which would split 'Ann' and 'ann' apart.
CREATE COLLATION case_blind (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
SELECT sv_try($$SELECT streamview.create_view('blind', 'SELECT window_start, label COLLATE case_blind AS l, count(*) FROM codes, streamview.tumble(ts, ''1 hour'') GROUP BY 1, 2')$$) AS nondeterministic_key;
DROP COLLATION case_blind;
SELECT streamview.drop_stream('codes');

-- GROUP BY expressions of the stream's columns; a NULL key is a group.
SELECT streamview.create_view('by_hour', $$
  SELECT window_start, date_part('hour', tpep_dropoff_datetime) AS dropoff_hour,
         payment_type = 1 AS card, count(*) AS n
  FROM rides r, streamview.tumble(r.tpep_pickup_datetime, '1 day')
  GROUP BY window_start, 2, 3
$$);
SELECT a.attname, format_type(a.atttypid, a.atttypmod)
  FROM pg_attribute a WHERE a.attrelid = 'by_hour'::regclass AND a.attnum > 0 ORDER BY a.attnum;

CREATE TABLE not_a_stream (a int);
-- Refused: each with SQLSTATE 0A000 and the construct named, or
-- PostgreSQL's own error.
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT 1; SELECT 2')$$) AS two_statements;
SELECT sv_try($$SELECT streamview.create_view('x', 'INSERT INTO t VALUES (1)')$$) AS not_select;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, count(*) FROM rides, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w GROUP BY 1 UNION SELECT now(), 1')$$) AS union_;
SELECT sv_try($$SELECT streamview.create_view('x', 'WITH r AS (SELECT 1) SELECT w.window_start, count(*) FROM rides, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w GROUP BY 1')$$) AS cte;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT DISTINCT w.window_start, count(*) FROM rides, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w GROUP BY 1')$$) AS distinct_;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, count(*) FROM rides, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w GROUP BY 1 HAVING count(*) > 1')$$) AS having_;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, count(*) FROM rides, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w GROUP BY 1 ORDER BY 1')$$) AS order_by;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, count(*) FROM rides, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w GROUP BY 1 LIMIT 3')$$) AS limit_;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, count(*), rank() OVER () FROM rides, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w GROUP BY 1')$$) AS window_function;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, count(*) FROM rides JOIN "Rides Raw" ON true, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w GROUP BY 1')$$) AS join_;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, count(*) FROM rides, "Rides Raw", streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w GROUP BY 1')$$) AS two_streams;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, count(*) FROM rides, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w WHERE vendor_id IN (SELECT 1) GROUP BY 1')$$) AS subquery;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, count(*) FROM (SELECT * FROM rides) r, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w GROUP BY 1')$$) AS subquery_in_from;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, count(*) FROM rides, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w WHERE random() > 0.5 GROUP BY 1')$$) AS volatile;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, count(*) FROM rides, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w WHERE tpep_pickup_datetime < now() GROUP BY 1')$$) AS stable;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, string_agg(note, '','') FROM rides, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w GROUP BY 1')$$) AS unsupported_aggregate;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, count(DISTINCT vendor_id) FROM rides, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w GROUP BY 1')$$) AS distinct_aggregate;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, sum(trip_distance) / count(*) AS d FROM rides, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w GROUP BY 1')$$) AS expression_of_aggregates;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT vendor_id, count(*) FROM rides GROUP BY 1')$$) AS no_window;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, count(*) FROM rides, generate_series(1, 2) w(window_start) GROUP BY 1')$$) AS other_function;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_end, count(*) FROM rides, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w GROUP BY 1')$$) AS no_window_start;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, count(*) FROM rides, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w GROUP BY 1, vendor_id')$$) AS key_not_selected;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, count(*) FROM rides, streamview.hop(tpep_pickup_datetime + ''1 hour'', ''10 minutes'', ''5 minutes'') w GROUP BY 1')$$) AS time_not_a_column;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, count(*) FROM rides, streamview.hop(tpep_pickup_datetime, ''1 month'', ''5 minutes'') w GROUP BY 1')$$) AS month_window;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, count(*) FROM rides, streamview.hop(tpep_pickup_datetime, ''5 minutes'', ''10 minutes'') w GROUP BY 1')$$) AS slide_larger;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, count(*) FROM not_a_stream, streamview.hop(now(), ''10 minutes'', ''5 minutes'') w GROUP BY 1')$$) AS not_a_stream;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, count(*) FROM nosuch, streamview.hop(now(), ''10 minutes'', ''5 minutes'') w GROUP BY 1')$$) AS unknown_stream;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, count(*) AS final FROM rides, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w GROUP BY 1')$$) AS reserved_name;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, count(*), count(vendor_id) AS count FROM rides, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w GROUP BY 1')$$) AS duplicate_name;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, sum(note) FROM rides, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w GROUP BY 1')$$) AS sum_of_text;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, count(*) FROM rides, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w WHERE w.window_start > ''2020-01-01'' GROUP BY 1')$$) AS window_in_where;
SELECT sv_try($$SELECT streamview.create_view('x', NULL)$$) AS null_query;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, count(*) FROM rides, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w WHERE tpep_pickup_datetime < LOCALTIMESTAMP GROUP BY 1')$$) AS sql_value_function;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, count(r) FROM rides r, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w GROUP BY 1')$$) AS whole_row;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, w.window_start AS again, count(*) FROM rides, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w GROUP BY 1, 2')$$) AS window_start_twice;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, ARRAY[vendor_id, payment_type] AS pair, count(*) FROM rides, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w GROUP BY 1, 2')$$) AS array_key;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, date_trunc(''hour'', w.window_start) AS h, count(*) FROM rides, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w GROUP BY 1, 2')$$) AS expression_of_window;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, avg(trip_distance) AS a, count(*) AS "a.sum" FROM rides, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w GROUP BY 1')$$) AS avg_state_clash;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, avg(trip_distance) AS "' || repeat('a', 60) || '" FROM rides, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w GROUP BY 1')$$) AS avg_name_too_long;
-- PostgreSQL's own errors keep their SQLSTATE, with the position in the query.
\set VERBOSITY default
SELECT streamview.create_view('x', 'SELECT w.window_start, count(nosuch) FROM rides, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w GROUP BY 1');
SELECT streamview.create_view('x', 'SELECT w.window_start, sum(vendor_id || ''x'') FROM rides, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w GROUP BY 1');
SELECT streamview.create_view('x', 'SELECT w.window_start, vendor_id, count(*) FROM rides, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w GROUP BY 1');
\set VERBOSITY terse

-- The query is analysed with the caller's privileges, and only the stream's
-- owner creates views on it.
CREATE FUNCTION secret_double(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1 * 2';
REVOKE EXECUTE ON FUNCTION secret_double(int) FROM PUBLIC;
CREATE ROLE sv_viewer;
GRANT EXECUTE ON FUNCTION streamview.create_view(text, text, interval, boolean) TO sv_viewer;
GRANT CREATE ON SCHEMA public TO sv_viewer;
SET ROLE sv_viewer;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, count(*) FROM rides, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w GROUP BY 1')$$) AS not_the_owner;
RESET ROLE;
UPDATE streamview.streams SET owner = 'sv_viewer' WHERE name = 'rides';
SET ROLE sv_viewer;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, sum(secret_double(vendor_id)) FROM rides, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w GROUP BY 1')$$) AS function_not_executable;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, sum(vendor_id * 2) AS s FROM rides, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w GROUP BY 1')$$) AS owner_may;
SELECT tableowner FROM pg_tables WHERE tablename = 'x';
RESET ROLE;

-- What a view's expressions use is recorded in pg_depend, as for a
-- PostgreSQL view: dropping a function the view calls is refused, and with
-- CASCADE takes the results table, and so the view, with it. The settings
-- that the query's literals were read under are kept for the worker, which
-- analyses the query again under them.
CREATE FUNCTION fare_band(real) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT floor($1 / 10)::int';
CREATE FUNCTION band_width() RETURNS interval LANGUAGE sql IMMUTABLE AS $$SELECT interval '1 hour'$$;
SET DateStyle = 'SQL, DMY';
SET TimeZone = 'Asia/Tokyo';
SELECT streamview.create_view('by_band', $$
  SELECT window_start, fare_band(total_amount) AS band, count(*) AS n
  FROM rides, streamview.tumble(tpep_pickup_datetime, band_width())
  WHERE tpep_pickup_datetime >= '01/07/2020 00:30' GROUP BY 1, 2 $$);
RESET DateStyle;
RESET TimeZone;
SELECT settings FROM streamview.window_views WHERE view = 'by_band'::regclass;
SELECT pg_describe_object(refclassid, refobjid, refobjsubid), deptype FROM pg_depend
 WHERE classid = 'pg_class'::regclass AND objid = 'by_band'::regclass
   AND refclassid = 'pg_proc'::regclass ORDER BY 1;
\set VERBOSITY default
DROP FUNCTION fare_band(real);
DROP FUNCTION band_width();
\set VERBOSITY terse
SELECT count(*) AS views_before FROM streamview.window_views;
DROP FUNCTION fare_band(real) CASCADE;
SELECT to_regclass('by_band') AS results_table, count(*) AS views_after FROM streamview.window_views;
DROP FUNCTION band_width();
-- Temporary functions and streamview's own are refused: the results table
-- would depend on them (and go with the session, or with DROP EXTENSION
-- ... CASCADE).
CREATE FUNCTION pg_temp.tmp_double(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1 * 2';
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, sum(pg_temp.tmp_double(vendor_id)) AS s FROM rides, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w GROUP BY 1')$$) AS temporary_function;
SELECT sv_try($$SELECT streamview.create_view('x', 'SELECT w.window_start, count(*) FROM rides, streamview.hop(tpep_pickup_datetime, ''10 minutes'', ''5 minutes'') w WHERE streamview._mask_options(''{}'') IS NOT NULL GROUP BY 1')$$) AS streamview_function;

-- drop_window_view drops views made either way.
SELECT streamview.drop_window_view('x');
SELECT streamview.drop_window_view('by_hour');
SELECT streamview.drop_window_view('typed');
SELECT streamview.drop_window_view('vendor_stats');
SELECT count(*) FROM streamview.window_views;
SELECT streamview.drop_stream('rides');
SELECT streamview.drop_stream('Rides Raw');
DROP FUNCTION secret_double(int);
REVOKE CREATE ON SCHEMA public FROM sv_viewer;
DROP ROLE sv_viewer;
DROP TABLE not_a_stream;
