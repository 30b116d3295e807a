-- pgTAP: the catalog and privileges contract that users and tests rely on.
\set QUIET on
\pset format unaligned
\pset tuples_only on
SELECT plan(47);

SELECT has_schema('streamview');
SELECT has_table('streamview', 'streams', 'streams table');
SELECT has_table('streamview', 'stream_columns', 'stream_columns table');
SELECT has_table('streamview', 'window_views', 'window_views table');
SELECT has_table('streamview', 'offsets', 'offsets table');

SELECT col_is_pk('streamview', 'streams', 'name', 'streams keyed by name');
SELECT col_type_is('streamview', 'streams', 'name', 'text', 'stream name is text');
SELECT col_type_is('streamview', 'streams', 'options', 'jsonb', 'options are jsonb');
SELECT columns_are('streamview', 'stream_columns', ARRAY['stream', 'position', 'name', 'type'],
  'stream_columns (stream, position, name, type)');
SELECT col_is_pk('streamview', 'stream_columns', ARRAY['stream', 'position'], 'stream_columns keyed by stream, position');
SELECT col_type_is('streamview', 'stream_columns', 'position', 'integer', 'position is integer');
SELECT col_type_is('streamview', 'stream_columns', 'type', 'text', 'type is text');
SELECT columns_are('streamview', 'offsets', ARRAY['stream', 'partition', 'next_offset', 'committed_at'],
  'offsets (stream, partition, next_offset, committed_at)');
SELECT col_is_pk('streamview', 'offsets', ARRAY['stream', 'partition'], 'offsets keyed by stream, partition');
SELECT col_type_is('streamview', 'offsets', 'next_offset', 'bigint', 'next_offset is bigint');
SELECT col_type_is('streamview', 'offsets', 'partition', 'integer', 'partition is integer');
SELECT col_is_pk('streamview', 'window_views', 'view', 'window_views keyed by the results table');
SELECT col_type_is('streamview', 'window_views', 'view', 'regclass', 'view is a regclass (OID kept)');
SELECT fk_ok('streamview', 'offsets', 'stream', 'streamview', 'streams', 'name');
SELECT fk_ok('streamview', 'window_views', 'stream', 'streamview', 'streams', 'name');

SELECT has_function('streamview', 'create_stream',
  ARRAY['text', 'text', 'text', 'text', 'text', 'text', 'text', 'jsonb', 'text', 'integer', 'text[]', 'jsonb']);
SELECT has_function('streamview', 'create_window_view',
  ARRAY['text', 'text', 'text', 'text[]', 'interval', 'interval', 'interval', 'boolean']);
SELECT has_function('streamview', 'alter_stream', ARRAY['text', 'text', 'jsonb']);
SELECT has_function('streamview', 'drop_stream', ARRAY['text']);
SELECT has_function('streamview', 'drop_window_view', ARRAY['text']);
SELECT has_function('streamview', 'start', ARRAY['text']);
SELECT has_function('streamview', 'stop', ARRAY['text']);
SELECT has_function('streamview', 'parse_message', ARRAY['text', 'text']);

-- The argument names are part of the contract (named notation).
SELECT is((SELECT proargnames FROM pg_proc WHERE oid = 'streamview.create_stream'::regproc),
  ARRAY['name', 'brokers', 'topic', 'columns', 'format', 'delimiter', 'start_offset', 'options', 'null', 'parallelism', 'include', 'column_paths'],
  'create_stream argument names');
SELECT is((SELECT proargnames FROM pg_proc WHERE oid = 'streamview.create_window_view'::regproc),
  ARRAY['name', 'stream', 'time_column', 'group_by', 'size', 'slide', 'allowed_lateness', 'keep_late'],
  'create_window_view argument names');

-- Not executable by PUBLIC.
CREATE ROLE sv_nobody;
SELECT function_privs_are('streamview', 'create_stream',
  ARRAY['text', 'text', 'text', 'text', 'text', 'text', 'text', 'jsonb', 'text', 'integer', 'text[]', 'jsonb'], 'sv_nobody', '{}'::text[]);
SELECT function_privs_are('streamview', 'create_window_view',
  ARRAY['text', 'text', 'text', 'text[]', 'interval', 'interval', 'interval', 'boolean'], 'sv_nobody', '{}'::text[]);
SELECT function_privs_are('streamview', 'alter_stream', ARRAY['text', 'text', 'jsonb'], 'sv_nobody', '{}'::text[]);
SELECT function_privs_are('streamview', 'drop_stream', ARRAY['text'], 'sv_nobody', '{}'::text[]);
SELECT function_privs_are('streamview', 'drop_window_view', ARRAY['text'], 'sv_nobody', '{}'::text[]);
SELECT function_privs_are('streamview', 'start', ARRAY['text'], 'sv_nobody', '{}'::text[]);
SELECT function_privs_are('streamview', 'stop', ARRAY['text'], 'sv_nobody', '{}'::text[]);
SELECT function_privs_are('streamview', 'parse_message', ARRAY['text', 'text'], 'sv_nobody', '{}'::text[]);

-- PUBLIC reads the catalog but not options, and writes nothing.
SELECT table_privs_are('streamview', 'offsets', 'sv_nobody', ARRAY['SELECT']);
SELECT table_privs_are('streamview', 'window_views', 'sv_nobody', ARRAY['SELECT']);
SELECT table_privs_are('streamview', 'stream_columns', 'sv_nobody', ARRAY['SELECT']);
SELECT table_privs_are('streamview', 'streams', 'sv_nobody', '{}'::text[]);
SELECT ok(has_column_privilege('sv_nobody', 'streamview.streams', 'topic', 'SELECT'), 'PUBLIC reads streams.topic');
SELECT ok(NOT has_column_privilege('sv_nobody', 'streamview.streams', 'options', 'SELECT'), 'PUBLIC does not read streams.options');
DROP ROLE sv_nobody;

-- stream_status (0.2): the error's time and what a starting stream waits for.
SELECT columns_are('streamview', 'stream_status',
  ARRAY['stream', 'state', 'pid', 'messages', 'batches', 'rejects', 'late', 'last_batch_at',
        'last_batch_ms', 'last_error', 'last_error_at', 'detail', 'pids'],
  'stream_status columns');
SELECT col_type_is('streamview', 'stream_status', 'last_error_at', 'timestamp with time zone',
  'last_error_at is timestamptz');
-- Everything that holds user state is dumped.
SELECT set_eq($$SELECT unnest(extconfig)::regclass::text FROM pg_extension WHERE extname = 'streamview'$$,
  ARRAY['streamview.streams', 'streamview.stream_columns', 'streamview.window_views',
        'streamview.offsets', 'streamview.rejects', 'streamview.streams_id_seq'],
  'pg_dump dumps the catalog, the rejects and the id sequence');

SELECT * FROM finish();
