-- Formats and included Kafka metadata: create_stream's arguments and what
-- they make, parse_message with metadata, and every refusal.
SELECT streamview.create_stream('meta', 'localhost:9092', 'meta', 'vendor_id int, amount numeric(6,2)',
  include => ARRAY['headers', 'key', 'timestamp', 'offset', 'partition']);
SELECT position, name, type FROM streamview.stream_columns WHERE stream = 'meta' ORDER BY position;
SELECT format, delimiter, include, column_paths FROM streamview.streams WHERE name = 'meta';
SELECT streamview.parse_message('meta', '7, 12.50');
SELECT streamview.parse_message('meta', '7, 12.50', 'vendor-7', '{"source": "app", "trace": "a1"}');

-- Defaults per format.
SELECT streamview.create_stream('c1', 'localhost:9092', 't', 'a int, b text', format => 'csv');
SELECT streamview.create_stream('c2', 'localhost:9092', 't', 'a int, b text', format => 'csv', delimiter => ';');
SELECT streamview.create_stream('j1', 'localhost:9092', 't', 'a int, b text', format => 'json');
SELECT name, format, delimiter FROM streamview.streams WHERE name IN ('c1', 'c2', 'j1') ORDER BY name;

-- Refused.
SELECT sv_try($$SELECT streamview.create_stream('x', 'localhost:9092', 't', 'a int', format => 'csv', delimiter => ', ')$$) AS csv_long_delimiter;
SELECT sv_try($$SELECT streamview.create_stream('x', 'localhost:9092', 't', 'a int', format => 'csv', delimiter => '"')$$) AS csv_quote_delimiter;
SELECT sv_try($$SELECT streamview.create_stream('x', 'localhost:9092', 't', 'a int', format => 'json', delimiter => ',')$$) AS json_delimiter;
SELECT sv_try($$SELECT streamview.create_stream('x', 'localhost:9092', 't', 'a int', format => 'xml')$$) AS unknown_format;
SELECT sv_try($$SELECT streamview.create_stream('x', 'localhost:9092', 't', 'a int', include => ARRAY['key', 'value'])$$) AS unknown_include;
SELECT sv_try($$SELECT streamview.create_stream('x', 'localhost:9092', 't', 'a int', include => ARRAY['key', 'key'])$$) AS duplicate_include;
SELECT sv_try($$SELECT streamview.create_stream('x', 'localhost:9092', 't', 'kafka_key text', include => ARRAY['key'])$$) AS include_clash;
SELECT sv_try($$SELECT streamview.create_stream('x', 'localhost:9092', 't', 'kafka_key text', include => ARRAY['offset'])$$) AS no_clash_without_include;
SELECT sv_try($$SELECT streamview.create_stream('y', 'localhost:9092', 't', 'a int', column_paths => '{"a": "$.x"}')$$) AS paths_not_json;
SELECT sv_try($$SELECT streamview.create_stream('y', 'localhost:9092', 't', 'a int', format => 'json', column_paths => '["$.x"]')$$) AS paths_not_object;
SELECT sv_try($$SELECT streamview.create_stream('y', 'localhost:9092', 't', 'a int', format => 'json', column_paths => '{"b": "$.x"}')$$) AS paths_unknown_column;
SELECT sv_try($$SELECT streamview.create_stream('y', 'localhost:9092', 't', 'a int', format => 'json', column_paths => '{"a": 1}')$$) AS path_not_string;

-- json and jsonb columns take any JSON value as itself: a string stays a
-- JSON string (as json_populate_record has it); from a delimited or CSV
-- field, the field's text is parsed as JSON.
SELECT streamview.create_stream('jj', 'localhost:9092', 't', 'a jsonb, b json, c text', format => 'json');
SELECT streamview.parse_message('jj', '{"a": "abc", "b": "x\"y", "c": "abc"}');
SELECT streamview.parse_message('jj', '{"a": {"k": [1, "v"]}, "b": 1.50, "c": {"k": 1}}');
SELECT streamview.parse_message('jj', '{"a": true, "b": null}');
SELECT streamview.parse_message('jj', '{"a": "\u0000"}');
SELECT streamview.create_stream('cj', 'localhost:9092', 't', 'a jsonb, b int', format => 'csv');
SELECT streamview.parse_message('cj', '"{""k"": ""v""}",1');
SELECT streamview.parse_message('cj', 'abc,1');

-- A view may use the metadata like any column.
SELECT streamview.create_window_view('per_key', 'meta', 'kafka_timestamp', ARRAY['kafka_key'], '1 minute');
SELECT streamview.drop_window_view('per_key');
SELECT streamview.drop_stream(name) FROM streamview.streams WHERE name IN ('meta', 'c1', 'c2', 'j1', 'x', 'jj', 'cj') ORDER BY name;
