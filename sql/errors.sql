-- Every wrong call is an error with a proper SQLSTATE and a message naming the problem.
SELECT streamview.create_stream('rides', 'localhost:9092', 'rides_csv',
  'vendor_id int, pickup timestamp, dropoff timestamptz, note text, amount real, count int');

-- create_stream
SELECT sv_try($$SELECT streamview.create_stream('rides', 'localhost:9092', 't', 'a int')$$) AS duplicate_stream;
SELECT sv_try($$SELECT streamview.create_stream('s1', 'localhost:9092', 't', 'a nosuchtype')$$) AS unknown_type;
SELECT sv_try($$SELECT streamview.create_stream('s1', 'localhost:9092', 't', 'a int, a text')$$) AS duplicate_column;
SELECT sv_try($$SELECT streamview.create_stream('s1', 'localhost:9092', 't', '')$$) AS no_columns;
SELECT sv_try($$SELECT streamview.create_stream('s1', 'localhost:9092', 't', 'a')$$) AS missing_type;
SELECT sv_try($$SELECT streamview.create_stream('s1', 'localhost:9092', 't', 'a int primary key')$$) AS constraint_in_columns;
SELECT sv_try($$SELECT streamview.create_stream('s1', 'localhost:9092', 't', 'a int); DROP TABLE streamview.offsets; --')$$) AS injection;
SELECT sv_try($$SELECT streamview.create_stream('s1', 'localhost:9092', 't', 'a int) INHERITS (streamview.offsets')$$) AS inherits;
SELECT sv_try($$SELECT streamview.create_stream('s1', 'localhost:9092', 't', 'a anyelement')$$) AS pseudo_type;
SELECT sv_try($$SELECT streamview.create_stream('s1', 'localhost:9092', 't', 'a int', format => 'avro')$$) AS unknown_format;
SELECT sv_try($$SELECT streamview.create_stream('s1', 'localhost:9092', 't', 'a int', delimiter => '')$$) AS empty_delimiter;
SELECT sv_try($$SELECT streamview.create_stream('s1', 'localhost:9092', 't', 'a int', start_offset => 'beginning')$$) AS unknown_start_offset;
SELECT sv_try($$SELECT streamview.create_stream('s1', '', 't', 'a int')$$) AS empty_brokers;
SELECT sv_try($$SELECT streamview.create_stream('s1', 'localhost:9092', NULL, 'a int')$$) AS null_topic;
SELECT sv_try($$SELECT streamview.create_stream(NULL, 'localhost:9092', 't', 'a int')$$) AS null_name;
SELECT sv_try($$SELECT streamview.create_stream('s1', 'localhost:9092', 't', 'a int', options => '{"no.such.property": "1"}')$$) AS unknown_option;
SELECT sv_try($$SELECT streamview.create_stream('s1', 'localhost:9092', 't', 'a int', options => '{"fetch.wait.max.ms": "soon"}')$$) AS bad_option_value;
SELECT sv_try($$SELECT streamview.create_stream('s1', 'localhost:9092', 't', 'a int', options => '{"bootstrap.servers": "x:1"}')$$) AS owned_bootstrap;
SELECT sv_try($$SELECT streamview.create_stream('s1', 'localhost:9092', 't', 'a int', options => '{"enable.auto.commit": "true"}')$$) AS owned_auto_commit;
SELECT sv_try($$SELECT streamview.create_stream('s1', 'localhost:9092', 't', 'a int', options => '{"enable.auto.offset.store": "true"}')$$) AS owned_offset_store;
SELECT sv_try($$SELECT streamview.create_stream('s1', 'localhost:9092', 't', 'a int', options => '{"auto.offset.reset": "earliest"}')$$) AS owned_offset_reset;
SELECT sv_try($$SELECT streamview.create_stream('s1', 'localhost:9092', 't', 'a int', options => '[1, 2]')$$) AS options_not_object;
SELECT sv_try($$SELECT streamview.create_stream('s1', 'localhost:9092', 't', 'a int', options => '{"client.id": {"x": 1}}')$$) AS option_not_scalar;
SELECT sv_try($$SELECT streamview.create_stream('s1', 'localhost:9092', 't', 'a int', parallelism => 0)$$) AS parallelism_zero;
SELECT sv_try($$SELECT streamview.create_stream('s1', 'localhost:9092', 't', 'a int', parallelism => 65)$$) AS parallelism_too_large;
SELECT count(*) AS streams_after_errors FROM streamview.streams;

-- create_window_view
SELECT sv_try($$SELECT streamview.create_window_view('w', 'nosuch', 'pickup', '{}', '10 minutes')$$) AS unknown_stream;
SELECT sv_try($$SELECT streamview.create_window_view('w', 'rides', 'nosuch', '{}', '10 minutes')$$) AS unknown_time_column;
SELECT sv_try($$SELECT streamview.create_window_view('w', 'rides', 'note', '{}', '10 minutes')$$) AS time_column_not_timestamp;
SELECT sv_try($$SELECT streamview.create_window_view('w', 'rides', 'pickup', ARRAY['nosuch'], '10 minutes')$$) AS unknown_group_by;
SELECT sv_try($$SELECT streamview.create_window_view('w', 'rides', 'pickup', ARRAY['vendor_id', 'vendor_id'], '10 minutes')$$) AS duplicate_group_by;
SELECT sv_try($$SELECT streamview.create_window_view('w', 'rides', 'pickup', NULL, '10 minutes')$$) AS null_group_by;
SELECT sv_try($$SELECT streamview.create_window_view('w', 'rides', 'pickup', '{}')$$) AS missing_size;
SELECT sv_try($$SELECT streamview.create_window_view('w', 'rides', 'pickup', '{}', '0 minutes')$$) AS zero_size;
SELECT sv_try($$SELECT streamview.create_window_view('w', 'rides', 'pickup', '{}', '-10 minutes')$$) AS negative_size;
SELECT sv_try($$SELECT streamview.create_window_view('w', 'rides', 'pickup', '{}', '10 minutes', '0 seconds')$$) AS zero_slide;
SELECT sv_try($$SELECT streamview.create_window_view('w', 'rides', 'pickup', '{}', '10 minutes', '-1 minute')$$) AS negative_slide;
SELECT sv_try($$SELECT streamview.create_window_view('w', 'rides', 'pickup', '{}', '10 minutes', '11 minutes')$$) AS slide_larger_than_size;
SELECT sv_try($$SELECT streamview.create_window_view('w', 'rides', 'pickup', '{}', '1 month')$$) AS month_size;
SELECT sv_try($$SELECT streamview.create_window_view('w', 'rides', 'pickup', '{}', '1 year', '1 day')$$) AS year_size;
SELECT sv_try($$SELECT streamview.create_window_view('w', 'rides', 'pickup', '{}', '1 day', '1 second')$$) AS too_many_windows;
SELECT sv_try($$SELECT streamview.create_window_view('w', 'rides', 'pickup', '{}', '1000 seconds', '1 second')$$) AS exactly_1000_windows;
SELECT streamview.drop_window_view('w');
SELECT sv_try($$SELECT streamview.create_window_view('w', 'rides', 'pickup', '{}', '10 minutes', allowed_lateness => '-1 minute')$$) AS negative_lateness;
SELECT sv_try($$SELECT streamview.create_window_view('w', 'rides', 'pickup', ARRAY['count'], '10 minutes')$$) AS key_clashes;
SELECT streamview.create_stream('typed', 'localhost:9092', 't', 'id uuid, ts timestamp');
SELECT sv_try($$SELECT streamview.create_window_view('w', 'typed', 'ts', ARRAY['id'], '10 minutes')$$) AS unchecked_key_type;
SELECT streamview.drop_stream('typed');
SELECT streamview.create_window_view('w', 'rides', 'pickup', ARRAY['vendor_id'], '10 minutes');
SELECT sv_try($$SELECT streamview.create_window_view('w', 'rides', 'pickup', ARRAY['vendor_id'], '10 minutes')$$) AS duplicate_view;
SELECT sv_try($$SELECT streamview.create_window_view('nosuchschema.w', 'rides', 'pickup', '{}', '10 minutes')$$) AS unknown_schema;
SELECT sv_try($$SELECT streamview.create_window_view('a.b.c.d', 'rides', 'pickup', '{}', '10 minutes')$$) AS bad_name;
SELECT sv_try($$SELECT streamview.create_window_view('"w"; DROP TABLE w; --', 'rides', 'pickup', '{}', '10 minutes')$$) AS injection_name;

-- drop_window_view, drop_stream, start, stop, alter_stream
CREATE TABLE plain_table (a int);
SELECT sv_try($$SELECT streamview.drop_window_view('plain_table')$$) AS not_a_view;
SELECT sv_try($$SELECT streamview.drop_window_view('no_such_table')$$) AS unknown_view;
SELECT sv_try($$SELECT streamview.drop_stream('rides')$$) AS stream_with_views;
SELECT sv_try($$SELECT streamview.drop_stream('nosuch')$$) AS drop_unknown_stream;
SELECT sv_try($$SELECT streamview.start('nosuch')$$) AS start_unknown_stream;
SELECT sv_try($$SELECT streamview.stop('nosuch')$$) AS stop_unknown_stream;
SELECT sv_try($$SELECT streamview.alter_stream('nosuch', 'x:1')$$) AS alter_unknown_stream;
SELECT sv_try($$SELECT streamview.alter_stream('rides', options => '{"group.id": "mine"}')$$) AS alter_owned_option;
SELECT sv_try($$SELECT streamview.alter_stream('rides', brokers => '')$$) AS alter_empty_brokers;
SELECT sv_try($$SELECT streamview.parse_message('nosuch', '1')$$) AS parse_unknown_stream;
-- The results table says which stream and view maintain it.
SELECT obj_description('w'::regclass, 'pg_class') AS results_table_comment;
SELECT streamview.drop_window_view('w');
SELECT streamview.drop_stream('rides');
SELECT count(*) FROM streamview.streams;
-- Errors in the column list point into it (LINE and QUERY are the list).
SELECT streamview.create_stream('s1', 'localhost:9092', 't', 'a int, b nosuchtype');
SELECT streamview.create_stream('s1', 'localhost:9092', 't', E'a int,\n b int c');
SELECT streamview.create_stream('s1', 'localhost:9092', 't', 'a int, b varchar(0)');
