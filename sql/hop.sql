-- hop(ts, size, slide) and tumble(ts, size): the windows of an event at ts
-- as rows, aligned to the epoch, [start, end), as window views count them.
-- ISO dates in UTC unless a test says otherwise (pg_regress sets others).
SET DateStyle = 'ISO';
SET TimeZone = 'UTC';

-- The contract: names, argument and column names, types, attributes.
SELECT p.oid::regprocedure AS function, p.proargnames, pg_get_function_result(p.oid) AS result,
       p.provolatile, p.proisstrict, p.proparallel, p.proretset, p.prorows
  FROM pg_proc p
 WHERE p.pronamespace = 'streamview'::regnamespace AND p.proname IN ('hop', 'tumble')
 ORDER BY p.proname, p.oid::regprocedure::text;

-- The zoomcamp ride at 00:25:32 is in two 10-minute windows sliding by 5.
SELECT * FROM streamview.hop('2020-07-01 00:25:32'::timestamp, '10 minutes', '5 minutes');
SELECT * FROM streamview.hop(ts => '2020-07-01 00:25:32'::timestamp, size => '10 minutes', slide => '5 minutes');
SELECT * FROM streamview.tumble('2020-07-01 00:25:32'::timestamp, '10 minutes');
SELECT * FROM streamview.tumble(ts => '2020-07-01 00:25:32'::timestamp, size => '10 minutes');
-- In the select list, a record per window.
SELECT streamview.hop('2020-07-01 00:25:32'::timestamp, '10 minutes', '5 minutes');

-- The result has the type of ts; an untyped literal is a timestamptz (the
-- preferred type, as for date_trunc).
SELECT pg_typeof(window_start), pg_typeof(window_end)
  FROM streamview.hop('2020-07-01 00:25:32'::timestamp, '10 minutes', '5 minutes') LIMIT 1;
SELECT pg_typeof(window_start), pg_typeof(window_end)
  FROM streamview.hop('2020-07-01 00:25:32'::timestamptz, '10 minutes', '5 minutes') LIMIT 1;
SELECT pg_typeof(window_start), pg_typeof(window_end)
  FROM streamview.tumble('2020-07-01 00:25:32'::timestamp, '10 minutes');
SELECT pg_typeof(window_start), pg_typeof(window_end)
  FROM streamview.tumble('2020-07-01 00:25:32'::timestamptz, '10 minutes');
SELECT pg_typeof(window_start) FROM streamview.tumble('2020-07-01 00:25:32', '10 minutes');

-- timestamptz windows are aligned to the epoch in UTC, whatever TimeZone
-- says: a day starts at 00:00 UTC, 20:00 in New York in summer; 3-hour
-- windows start at 00:00, 03:00, ... UTC, 23:00, 02:00, ... in New York
-- (not at local 00:00, 03:00, ...).
SET TimeZone = 'America/New_York';
SELECT * FROM streamview.tumble('2020-07-01 12:00:00+00'::timestamptz, '1 day');
SELECT * FROM streamview.tumble('2020-07-01 01:30:00-04'::timestamptz, '3 hours');
SELECT window_start AT TIME ZONE 'UTC' AS start_utc, window_end AT TIME ZONE 'UTC' AS end_utc
  FROM streamview.hop('2020-07-01 01:30:00-04'::timestamptz, '1 day', '12 hours');
-- ... and the same instants in any TimeZone.
CREATE TEMP TABLE tz_ny AS
SELECT ts, w.* FROM generate_series('2020-03-07 12:34:56.789+00'::timestamptz,
                                    '2020-03-09 12:34:56.789+00', '37 minutes') ts,
                    streamview.hop(ts, '1 day', '1 hour') w;
SET TimeZone = 'Asia/Kolkata';
SELECT count(*) AS rows, count(*) FILTER (WHERE (ts, window_start, window_end) NOT IN
         (SELECT ts, w.window_start, w.window_end FROM streamview.hop(ts, '1 day', '1 hour') w)) AS differ
  FROM tz_ny;
-- A timestamp is aligned to 00:00 of its own clock, whatever TimeZone says.
SELECT * FROM streamview.tumble('2020-07-01 01:30:00'::timestamp, '3 hours');
SET TimeZone = 'UTC';

-- An event on a boundary is in the windows starting there, not in those
-- ending there; a microsecond earlier, the other way round.
SELECT * FROM streamview.hop('2020-07-01 00:30:00'::timestamp, '10 minutes', '5 minutes');
SELECT * FROM streamview.hop('2020-07-01 00:29:59.999999'::timestamp, '10 minutes', '5 minutes');
SELECT * FROM streamview.tumble('2020-07-01 00:00:00'::timestamp, '1 hour');
SELECT * FROM streamview.tumble('1970-01-01 00:00:00'::timestamp, '1 hour');
SELECT * FROM streamview.tumble('1969-12-31 23:59:59.999999'::timestamp, '1 hour');

-- Size not a multiple of slide: three or four windows by the time.
SELECT * FROM streamview.hop('2020-07-01 00:25:32'::timestamp, '10 minutes', '3 minutes');
SELECT * FROM streamview.hop('2020-07-01 00:24:00'::timestamp, '10 minutes', '3 minutes');
SELECT * FROM streamview.hop('2020-07-01 00:25:32'::timestamp, '10 minutes', '7 minutes');

-- Before 1970 (negative epoch times) the same arithmetic holds.
SELECT * FROM streamview.hop('1969-12-31 23:58:00'::timestamp, '10 minutes', '3 minutes');
SELECT * FROM streamview.tumble('1969-07-20 20:17:40'::timestamp, '1 day');
SELECT * FROM streamview.tumble('1900-02-28 13:00:00+00'::timestamptz, '1 day');
SELECT * FROM streamview.hop('0044-03-15 12:00:00 BC'::timestamp, '2 days', '1 day');

-- Big sizes and slides: multiples of the slide from 1970, so 7-day windows
-- start on Thursdays (1970-01-01 was one).
SELECT *, to_char(window_start, 'FMDay') AS weekday
  FROM streamview.tumble('2020-07-01 00:25:32'::timestamp, '7 days');
SELECT * FROM streamview.hop('2020-07-01 00:25:32'::timestamp, '3650 days', '1000 days');
SELECT * FROM streamview.tumble('2020-07-01 00:25:32'::timestamp, '100000000 days');
SELECT * FROM streamview.tumble('2020-07-01 00:25:32.123457'::timestamp, '1 microsecond');
SELECT count(*) AS windows, min(window_start), max(window_start)
  FROM streamview.hop('2020-07-01 00:25:32'::timestamp, '1000 seconds', '1 second');
-- Near the ends of the range.
SELECT * FROM streamview.hop('4714-11-24 00:11:00 BC'::timestamp, '10 minutes', '3 minutes');
SELECT * FROM streamview.tumble('148108-07-06 14:00:27.387903'::timestamp, '1 microsecond');

-- NULL in, no rows out (the functions are strict).
SELECT count(*) FROM streamview.hop(NULL::timestamp, '10 minutes', '5 minutes');
SELECT count(*) FROM streamview.hop('2020-07-01'::timestamp, NULL, '5 minutes');
SELECT count(*) FROM streamview.hop('2020-07-01'::timestamptz, '10 minutes', NULL);
SELECT count(*) FROM streamview.tumble(NULL::timestamptz, '10 minutes');

-- On any table: rides per vendor in 10-minute windows sliding by 5.
CREATE TEMP TABLE rides (vendor_id int, pickup timestamp);
INSERT INTO rides VALUES (1, '2020-07-01 00:25:32'), (1, '2020-07-01 00:27:00'),
  (2, '2020-07-01 00:31:10'), (1, '2020-07-01 00:35:00'), (2, '2020-06-30 23:59:59.5');
SELECT w.window_start, w.window_end, r.vendor_id, count(*)
  FROM rides r, streamview.hop(r.pickup, '10 minutes', '5 minutes') w
 GROUP BY 1, 2, 3 ORDER BY 1, 3;
SELECT w.window_start, count(*)
  FROM rides r, streamview.tumble(r.pickup, '1 hour') w
 GROUP BY 1 ORDER BY 1;

-- The oracle: for n events from first, every step, the (ts, window_start,
-- window_end) rows and the windows per event equal a plain SQL computation
-- on epoch microseconds (windows start at k * slide for every k with
-- ts - size < k * slide <= ts).
CREATE FUNCTION hop_oracle(first anyelement, step interval, n int, size interval, slide interval,
                           OUT events bigint, OUT windows bigint, OUT set_differences bigint,
                           OUT count_differences bigint)
LANGUAGE sql AS $$
WITH t AS (
  SELECT first + i * step AS ts, (extract(epoch FROM first + i * step) * 1000000)::bigint AS us
    FROM generate_series(0, n - 1) i),
s AS (
  SELECT (extract(epoch FROM size) * 1000000)::bigint AS size_us,
         (extract(epoch FROM slide) * 1000000)::bigint AS slide_us),
expected AS (
  SELECT t.ts, k * slide_us AS start_us, k * slide_us + size_us AS end_us
    FROM t, s, generate_series(floor((t.us - size_us)::numeric / slide_us)::bigint + 1,
                               floor(t.us::numeric / slide_us)::bigint) k),
actual AS (
  SELECT t.ts, (extract(epoch FROM w.window_start) * 1000000)::bigint AS start_us,
         (extract(epoch FROM w.window_end) * 1000000)::bigint AS end_us
    FROM t, streamview.hop(t.ts, size, slide) w),
differences AS (
  (SELECT * FROM actual EXCEPT ALL SELECT * FROM expected)
  UNION ALL
  (SELECT * FROM expected EXCEPT ALL SELECT * FROM actual)),
count_differences AS (
  (SELECT ts, count(*) FROM actual GROUP BY ts EXCEPT SELECT ts, count(*) FROM expected GROUP BY ts)
  UNION ALL
  (SELECT ts, count(*) FROM expected GROUP BY ts EXCEPT SELECT ts, count(*) FROM actual GROUP BY ts))
SELECT (SELECT count(DISTINCT ts) FROM t), (SELECT count(*) FROM actual),
       (SELECT count(*) FROM differences), (SELECT count(*) FROM count_differences)
$$;

-- 1000 events over about three days, at a step that hits no round time.
SELECT * FROM hop_oracle('2020-06-30 18:11:07.25'::timestamp, '4 minutes 19.300007 seconds', 1000,
                         '10 minutes', '5 minutes');
SELECT * FROM hop_oracle('2020-06-30 18:11:07.25'::timestamp, '4 minutes 19.300007 seconds', 1000,
                         '10 minutes', '3 minutes');
SELECT * FROM hop_oracle('2020-06-30 18:11:07.25'::timestamp, '4 minutes 19.300007 seconds', 1000,
                         '1 hour', '10 minutes');
SELECT * FROM hop_oracle('2020-06-30 18:11:07.25'::timestamp, '4 minutes 19.300007 seconds', 1000,
                         '17 minutes 3.5 seconds', '17 minutes 3.5 seconds');
-- Events on minute boundaries, so every fifth one on a window boundary.
SELECT * FROM hop_oracle('2020-07-01 00:00:00'::timestamp, '1 minute', 1000,
                         '10 minutes', '5 minutes');
-- Across 1970 (negative epoch times), and with a big slide.
SELECT * FROM hop_oracle('1969-12-30 18:11:07.25'::timestamp, '4 minutes 19.300007 seconds', 1000,
                         '10 minutes', '3 minutes');
SELECT * FROM hop_oracle('1965-01-01 00:00:00.000001'::timestamp, '3 days 7 hours 1 minute 0.5 seconds', 1000,
                         '900 days', '100 days');
-- timestamptz in a TimeZone with summer time: the same windows in UTC.
SET TimeZone = 'America/New_York';
SELECT * FROM hop_oracle('2020-03-06 18:11:07.25-05'::timestamptz, '4 minutes 19.300007 seconds', 1000,
                         '10 minutes', '5 minutes');
SELECT * FROM hop_oracle('2020-10-30 18:11:07.25-04'::timestamptz, '1 hour 4 minutes 19.300007 seconds', 1000,
                         '1 day', '1 hour');
SET TimeZone = 'UTC';
-- Microsecond windows: every event in exactly one.
SELECT * FROM hop_oracle('2020-06-30 18:11:07.25'::timestamp, '4 minutes 19.300007 seconds', 1000,
                         '1 microsecond', '1 microsecond');

-- tumble(ts, size) is hop(ts, size, size).
SELECT count(*) AS events,
       count(*) FILTER (WHERE (SELECT array_agg(w ORDER BY w.window_start) FROM streamview.tumble(ts, '17 minutes') w)
                   IS DISTINCT FROM
                   (SELECT array_agg(w ORDER BY w.window_start) FROM streamview.hop(ts, '17 minutes', '17 minutes') w)) AS differ
  FROM generate_series('1969-12-25 03:04:05.678'::timestamp, '1970-01-05', '13 minutes 7.7 seconds') ts;

-- Rows come in window_start order.
SELECT count(*) AS events,
       count(*) FILTER (WHERE NOT ordered) AS unordered
  FROM (SELECT ts, (SELECT array_agg(w.window_start) = array_agg(w.window_start ORDER BY w.window_start)
                      FROM streamview.hop(ts, '1 hour', '7 minutes') w) AS ordered
          FROM generate_series('2020-06-30 18:11:07.25'::timestamp, '2020-07-03', '4 minutes 19.3 seconds') ts) x;

-- Parallel workers give the same counts (the functions are parallel safe).
CREATE TABLE hop_events AS
SELECT '2020-06-30 18:11:07.25'::timestamp + i * interval '4 minutes 19.300007 seconds' AS ts
  FROM generate_series(0, 9999) i;
ANALYZE hop_events;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
-- (force_parallel_mode, renamed debug_parallel_query in PostgreSQL 16)
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
  THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END, 'on', false) AS parallel;
SELECT count(*), count(DISTINCT w.window_start), sum(extract(epoch FROM w.window_start))
  FROM hop_events e, streamview.hop(e.ts, '10 minutes', '5 minutes') w;
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
  THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END, 'off', false) AS parallel;
RESET min_parallel_table_scan_size;
RESET parallel_tuple_cost;
RESET parallel_setup_cost;
SELECT count(*), count(DISTINCT w.window_start), sum(extract(epoch FROM w.window_start))
  FROM hop_events e, streamview.hop(e.ts, '10 minutes', '5 minutes') w;
DROP TABLE hop_events;

-- PUBLIC may run them.
CREATE ROLE sv_hop_user;
SET ROLE sv_hop_user;
SELECT * FROM streamview.hop('2020-07-01 00:25:32'::timestamp, '10 minutes', '5 minutes');
SELECT * FROM streamview.tumble('2020-07-01 00:25:32+00'::timestamptz, '10 minutes');
RESET ROLE;
DROP ROLE sv_hop_user;

-- Errors, with their SQLSTATEs: size and slide are checked as
-- create_window_view checks them.
SELECT sv_try($$SELECT * FROM streamview.hop('2020-07-01'::timestamp, '1 month', '1 day')$$) AS month_size;
SELECT sv_try($$SELECT * FROM streamview.hop('2020-07-01'::timestamptz, '1 day', '1 year')$$) AS year_slide;
SELECT sv_try($$SELECT * FROM streamview.tumble('2020-07-01'::timestamp, '1 mon 1 day')$$) AS tumble_month_size;
SELECT sv_try($$SELECT * FROM streamview.hop('2020-07-01'::timestamp, '0 minutes', '5 minutes')$$) AS zero_size;
SELECT sv_try($$SELECT * FROM streamview.hop('2020-07-01'::timestamp, '-10 minutes', '5 minutes')$$) AS negative_size;
SELECT sv_try($$SELECT * FROM streamview.hop('2020-07-01'::timestamp, '10 minutes', '0 minutes')$$) AS zero_slide;
SELECT sv_try($$SELECT * FROM streamview.hop('2020-07-01'::timestamp, '10 minutes', '-5 minutes')$$) AS negative_slide;
SELECT sv_try($$SELECT * FROM streamview.hop('2020-07-01'::timestamp, '1 day', '-1 day 24 hours')$$) AS zero_mixed_slide;
SELECT sv_try($$SELECT * FROM streamview.tumble('2020-07-01'::timestamptz, '0 seconds')$$) AS tumble_zero_size;
SELECT sv_try($$SELECT * FROM streamview.hop('2020-07-01'::timestamp, '10 minutes', '11 minutes')$$) AS slide_larger_than_size;
SELECT sv_try($$SELECT * FROM streamview.hop('2020-07-01'::timestamp, '1 day', '1 second')$$) AS too_many_windows;
SELECT sv_try($$SELECT * FROM streamview.hop('2020-07-01'::timestamp, '1001 seconds', '1 second')$$) AS too_many_windows_by_one;
SELECT sv_try($$SELECT * FROM streamview.hop('2020-07-01'::timestamp, '2147483647 days', '1 day')$$) AS size_out_of_range;
SELECT sv_try($$SELECT * FROM streamview.tumble('2020-07-01'::timestamp, '2147483647 days')$$) AS tumble_size_out_of_range;
-- Infinite timestamps belong to no window.
SELECT sv_try($$SELECT * FROM streamview.hop('infinity'::timestamp, '10 minutes', '5 minutes')$$) AS infinity;
SELECT sv_try($$SELECT * FROM streamview.hop('-infinity'::timestamptz, '10 minutes', '5 minutes')$$) AS minus_infinity;
SELECT sv_try($$SELECT * FROM streamview.tumble('infinity'::timestamptz, '10 minutes')$$) AS tumble_infinity;
SELECT sv_try($$SELECT count(*) FROM streamview.tumble('-infinity'::timestamp, '10 minutes')$$) AS tumble_minus_infinity;
-- Times past what the window arithmetic covers (about 146,000 years after
-- 1970), and windows that would reach past the range of timestamps.
SELECT sv_try($$SELECT * FROM streamview.tumble('148108-07-06 14:00:27.387904'::timestamp, '1 microsecond')$$) AS past_window_times;
SELECT sv_try($$SELECT * FROM streamview.hop('294276-12-31 23:59:59+00'::timestamptz, '10 minutes', '5 minutes')$$) AS last_timestamp;
SELECT sv_try($$SELECT * FROM streamview.hop('4714-11-24 00:01:00 BC'::timestamp, '10 minutes', '3 minutes')$$) AS window_before_first_timestamp;
SELECT sv_try($$SELECT * FROM streamview.tumble('148000-01-01'::timestamp, '100000000 days')$$) AS window_after_last_timestamp;
SELECT sv_try($$SELECT * FROM streamview.tumble('4714-11-24 00:00:00 BC'::timestamp, '106751991 days')$$) AS window_bounds_overflow;
-- The details.
\set VERBOSITY default
SELECT * FROM streamview.tumble('148108-07-06 14:00:27.387904'::timestamp, '1 microsecond');
SELECT * FROM streamview.tumble('148000-01-01'::timestamp, '100000000 days');
SELECT * FROM streamview.hop('2020-07-01'::timestamp, '1 day', '1 second');
SELECT * FROM streamview.hop('2020-07-01'::timestamp, '1 month', '1 day');
