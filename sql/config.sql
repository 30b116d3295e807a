-- Creating, altering and dropping streams and window views: the happy paths.
SELECT streamview.create_stream(
  name         => 'rides',
  brokers      => 'localhost:9092',
  topic        => 'rides_csv',
  columns      => 'vendor_id int, tpep_pickup_datetime timestamp, tpep_dropoff_datetime timestamp,
                   passenger_count int, trip_distance real, payment_type int, total_amount real');

SELECT name, brokers, topic, format, delimiter, null_marker, start_offset, options, running,
       owner = current_user::regrole AS owned_by_me
  FROM streamview.streams;
SELECT stream, position, name, type FROM streamview.stream_columns ORDER BY position;

-- Types resolve as in CREATE TABLE, typmods included.
SELECT streamview.create_stream('types', 'localhost:9092', 'types_topic',
  'a int2, b int8, c float8, d numeric(10,2), e bool, f varchar(20), g date,
   h timestamptz, "Mixed Case" text, i uuid, j character varying, k double precision',
  delimiter => '|', start_offset => 'latest', "null" => '\N',
  options => '{"fetch.wait.max.ms": 50, "client.id": "sv-test", "check.crcs": true}');
SELECT position, name, type FROM streamview.stream_columns WHERE stream = 'types' ORDER BY position;
SELECT delimiter, null_marker, start_offset, options FROM streamview.streams WHERE name = 'types';

-- The zoomcamp view: 10-minute windows sliding by 5 minutes, per vendor.
SELECT streamview.create_window_view(
  name        => 'vendor_counts',
  stream      => 'rides',
  time_column => 'tpep_pickup_datetime',
  group_by    => ARRAY['vendor_id'],
  size        => '10 minutes',
  slide       => '5 minutes');
\d vendor_counts
SELECT view, stream, time_column, group_by, size, slide, allowed_lateness, keep_late
  FROM streamview.window_views;

-- Tumbling (slide defaults to size), no grouping, schema-qualified, quoted name.
CREATE SCHEMA "Results Schema";
SELECT streamview.create_window_view('"Results Schema"."Hourly Totals"', 'rides',
  'tpep_dropoff_datetime', size => '1 hour');
\d "Results Schema"."Hourly Totals"
SELECT view, slide FROM streamview.window_views ORDER BY view::text;

-- timestamptz time column and several keys with their stream types.
SELECT streamview.create_window_view('typed_counts', 'types', 'h',
  ARRAY['f', 'd', 'Mixed Case'], '1 day', '6 hours');
\d typed_counts

-- The catalog keeps the table's OID: a renamed table is still the view.
ALTER TABLE vendor_counts RENAME TO vendor_counts_renamed;
SELECT view FROM streamview.window_views WHERE stream = 'rides' ORDER BY 1;
ALTER TABLE vendor_counts_renamed RENAME TO vendor_counts;

-- A results table dropped by hand takes its view row with it.
DROP TABLE typed_counts;
SELECT count(*) FROM streamview.window_views WHERE stream = 'types';

-- alter_stream changes connection settings only.
SELECT streamview.alter_stream('rides', brokers => 'otherhost:9093');
SELECT streamview.alter_stream('rides', options => '{"socket.timeout.ms": "30000"}');
SELECT brokers, options FROM streamview.streams WHERE name = 'rides';
SELECT count(*) FROM streamview.window_views WHERE stream = 'rides';

-- Stream names are literal text keys.
SELECT streamview.create_stream('My Stream; DROP TABLE x', 'localhost:9092', 't', 'a int');
SELECT name FROM streamview.streams ORDER BY id;

-- Dropping views, then streams.
SELECT streamview.drop_window_view('"Results Schema"."Hourly Totals"');
SELECT to_regclass('"Results Schema"."Hourly Totals"');
SELECT streamview.drop_stream('types');
SELECT streamview.drop_stream('My Stream; DROP TABLE x');
SELECT name FROM streamview.streams ORDER BY id;
SELECT count(*) FROM streamview.stream_columns WHERE stream <> 'rides';

-- pg_dump keeps the catalog: the tables are extension configuration.
SELECT unnest(extconfig)::regclass FROM pg_extension WHERE extname = 'streamview' ORDER BY 1;
SELECT streamview.drop_window_view('vendor_counts');
SELECT streamview.drop_stream('rides');
DROP SCHEMA "Results Schema";
