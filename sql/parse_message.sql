-- parse_message: a message parsed exactly as the worker reads it.
SELECT streamview.create_stream('rides', 'localhost:9092', 'rides_csv',
  'vendor_id int, tpep_pickup_datetime timestamp, tpep_dropoff_datetime timestamp,
   passenger_count int, trip_distance real, payment_type int, total_amount real');
SELECT streamview.parse_message('rides', '1, 2020-07-01 00:25:32, 2020-07-01 00:33:39, 1, 1.50, 2, 9.3');
SELECT streamview.parse_message('rides', '2, 2020-06-30 23:59:59.123456, 2020-07-01T00:10:00, 6, 30.00, 4, 150');
-- Empty fields are NULL.
SELECT streamview.parse_message('rides', '1, 2020-07-01 00:25:32, , , , , ');

-- Every kind of bad input names the field and the reason.
SELECT sv_try($$SELECT streamview.parse_message('rides', '')$$) AS empty_value;
SELECT sv_try($$SELECT streamview.parse_message('rides', NULL)$$) AS null_value;
SELECT sv_try($$SELECT streamview.parse_message('rides', '1, 2020-07-01 00:25:32')$$) AS too_few_fields;
SELECT sv_try($$SELECT streamview.parse_message('rides', '1, 2020-07-01 00:25:32, 2020-07-01 00:33:39, 1, 1.50, 2, 9.3, 7')$$) AS too_many_fields;
SELECT sv_try($$SELECT streamview.parse_message('rides', 'one, 2020-07-01 00:25:32, 2020-07-01 00:33:39, 1, 1.50, 2, 9.3')$$) AS non_numeric;
SELECT sv_try($$SELECT streamview.parse_message('rides', '99999999999, 2020-07-01 00:25:32, 2020-07-01 00:33:39, 1, 1.50, 2, 9.3')$$) AS int_out_of_range;
SELECT sv_try($$SELECT streamview.parse_message('rides', '1, 2020-07-01 00:25:32, 2020-07-01 00:33:39, 1, 1e39, 2, 9.3')$$) AS real_out_of_range;
SELECT sv_try($$SELECT streamview.parse_message('rides', '1, 2021-02-29 00:25:32, 2020-07-01 00:33:39, 1, 1.50, 2, 9.3')$$) AS impossible_date;
SELECT sv_try($$SELECT streamview.parse_message('rides', '1, 2020-07-01 25:25:32, 2020-07-01 00:33:39, 1, 1.50, 2, 9.3')$$) AS impossible_time;
SELECT sv_try($$SELECT streamview.parse_message('rides', '1, now, 2020-07-01 00:33:39, 1, 1.50, 2, 9.3')$$) AS now_is_not_explicit;
SELECT sv_try($$SELECT streamview.parse_message('rides', '1, infinity, 2020-07-01 00:33:39, 1, 1.50, 2, 9.3')$$) AS infinity_is_not_explicit;
SELECT sv_try($$SELECT streamview.parse_message('rides', '1, 2020-07-01 00:25:32, 2020-07-01 00:33:39, 1, 1.50, 2, 9.3x')$$) AS trailing_garbage;
SELECT sv_try($$SELECT streamview.parse_message('rides', E'1, 2020-07-01 00:25:32, 2020-07-01 00:33:39, 1, 1.50, 2, \x01\x02')$$) AS garbage_bytes;

-- Every type with a fast path, a custom delimiter and NULL marker.
SELECT streamview.create_stream('types', 'localhost:9092', 'types_topic',
  'a int2, b int8, c float8, d numeric(10,2), e bool, f varchar(5), g date,
   h timestamptz, i text, j uuid', delimiter => '|', "null" => '\N');
SELECT streamview.parse_message('types', '-32768|9223372036854775807|1.5e10|12345678.455|yes|abc|2020-02-29|2020-07-01 00:00:00+02|héllo wörld|a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
SELECT streamview.parse_message('types', '\N|\N|NaN|NaN|off|abc  |2000-01-01|2020-07-01T12:00:00Z||\N');
SELECT sv_try($$SELECT streamview.parse_message('types', '32768|1|1|1|t|a|2020-01-01|2020-01-01 00:00:00|x|\N')$$) AS int2_out_of_range;
SELECT sv_try($$SELECT streamview.parse_message('types', '1|9223372036854775808|1|1|t|a|2020-01-01|2020-01-01 00:00:00|x|\N')$$) AS int8_out_of_range;
SELECT sv_try($$SELECT streamview.parse_message('types', '1|1|1|123456789.1|t|a|2020-01-01|2020-01-01 00:00:00|x|\N')$$) AS numeric_overflow;
SELECT sv_try($$SELECT streamview.parse_message('types', '1|1|1|1|maybe|a|2020-01-01|2020-01-01 00:00:00|x|\N')$$) AS bad_bool;
SELECT sv_try($$SELECT streamview.parse_message('types', '1|1|1|1|t|abcdef|2020-01-01|2020-01-01 00:00:00|x|\N')$$) AS varchar_too_long;
SELECT sv_try($$SELECT streamview.parse_message('types', '1|1|1|1|t|a|2020-04-31|2020-01-01 00:00:00|x|\N')$$) AS impossible_date;
SELECT sv_try($$SELECT streamview.parse_message('types', '1|1|1|1|t|a|today|2020-01-01 00:00:00|x|\N')$$) AS today_is_not_explicit;
SELECT sv_try($$SELECT streamview.parse_message('types', '1|1|1|1|t|a|2020-01-01|2020-01-01 00:00:00|x|not-a-uuid')$$) AS other_type_input_error;
-- A timestamptz without an offset is read in the server's TimeZone.
SET timezone = 'America/New_York';
SELECT streamview.parse_message('types', '1|1|1|1|t|a|2020-01-01|2020-07-01 00:00:00|x|\N') ->> 'h' AS new_york_midnight;
RESET timezone;
-- timestamp(p) rounds fractional seconds as the type's input does.
SELECT streamview.create_stream('rounded', 'localhost:9092', 't', 'ts timestamp(0), tz timestamptz(1)');
SELECT streamview.parse_message('rounded', '2020-07-01 00:00:00.7, 2020-07-01 00:00:00.26+00');
SELECT streamview.drop_stream('rounded');
SELECT streamview.drop_stream('types');
SELECT streamview.drop_stream('rides');
