/*
 * streamview--0.1--0.2.sql - from 0.1 to 0.2
 *
 * A fresh install of 0.2 runs streamview--0.1.sql and then this script, so
 * an installed 0.2 and an upgraded one are the same by construction.
 *
 * - Everything that holds user state is dumped by pg_dump: the rejects and
 *   the sequence behind streams.id join the configuration tables.
 * - stream_status gains last_error_at (when last_error was set; a batch
 *   that commits clears last_error) and detail (what a stream that is not
 *   running waits for), and lists streams ordered by name.
 * - Results tables carry a comment naming the stream and view that
 *   maintain them.
 * - hop(ts, size, slide) and tumble(ts, size) return the windows of a
 *   timestamp or timestamptz as rows, for queries over any table.
 * - create_view: views defined by a SELECT, kept as their text with the
 *   search_path and literal settings it was written under; their results
 *   tables depend on what the expressions use, and a results table dropped
 *   by any command (not only DROP TABLE) takes its view with it.
 */

\echo Use "ALTER EXTENSION streamview UPDATE TO '0.2'" to load this file. \quit

SELECT pg_catalog.pg_extension_config_dump('streamview.rejects', '');
SELECT pg_catalog.pg_extension_config_dump('streamview.streams_id_seq', '');

DROP VIEW streamview.stream_status;
DROP FUNCTION streamview._stream_status();

CREATE FUNCTION streamview._stream_status(OUT stream_id int, OUT worker int, OUT state text,
	OUT pid int, OUT messages bigint, OUT batches bigint, OUT rejects bigint,
	OUT late bigint, OUT last_batch_at timestamptz, OUT last_batch_ms float8,
	OUT last_error text, OUT last_error_at timestamptz, OUT detail text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'streamview_stream_status'
LANGUAGE C STRICT;

-- One row per stream, ordered by name: what its workers are doing and have
-- done since they started (pid is worker 0's; pids lists them all). A
-- stream is retrying when any of its workers is, running when all are.
-- last_error is the error a worker is failing with now (cleared by the next
-- batch that commits); last_error_at when it was last set, kept after.
CREATE VIEW streamview.stream_status AS
SELECT s.name AS stream,
	   CASE WHEN count(st.stream_id) = 0 OR bool_and(st.state = 'stopped') THEN 'stopped'
			WHEN bool_or(st.state = 'retrying') THEN 'retrying'
			WHEN bool_and(st.state = 'running') THEN 'running'
			ELSE 'starting' END AS state,
	   min(st.pid) FILTER (WHERE st.worker = 0) AS pid,
	   coalesce(sum(st.messages), 0)::bigint AS messages,
	   coalesce(sum(st.batches), 0)::bigint AS batches,
	   coalesce(sum(st.rejects), 0)::bigint AS rejects,
	   coalesce(sum(st.late), 0)::bigint AS late,
	   max(st.last_batch_at) AS last_batch_at,
	   max(st.last_batch_ms) AS last_batch_ms,
	   (array_agg(st.last_error ORDER BY st.state = 'retrying' DESC, st.worker)
		  FILTER (WHERE st.last_error IS NOT NULL))[1] AS last_error,
	   max(st.last_error_at) AS last_error_at,
	   (array_agg(st.detail ORDER BY st.worker)
		  FILTER (WHERE st.detail IS NOT NULL))[1] AS detail,
	   array_agg(st.pid ORDER BY st.worker) FILTER (WHERE st.pid IS NOT NULL) AS pids
  FROM streamview.streams s
  LEFT JOIN streamview._stream_status() st ON st.stream_id = s.id
 GROUP BY s.name
 ORDER BY s.name;

GRANT SELECT ON streamview.stream_status TO PUBLIC;

-- The existing results tables get the comment create_window_view gives
-- new ones.
DO $$
DECLARE
	v record;
BEGIN
	FOR v IN SELECT w.view, w.stream, c.relname
			   FROM streamview.window_views w
			   JOIN pg_catalog.pg_class c ON c.oid = w.view LOOP
		EXECUTE pg_catalog.format(
			'COMMENT ON TABLE %s IS %L', v.view,
			pg_catalog.format('streamview: results of window view %s on stream %s',
							  pg_catalog.quote_ident(v.relname), pg_catalog.quote_ident(v.stream)));
	END LOOP;
END
$$;

-- The windows of an event at ts, as a window view of that size and slide
-- counts it: one row per window, in window_start order, with starts at
-- multiples of slide from 1970-01-01 00:00:00 (UTC for timestamptz) and
-- start <= ts < end. For queries over any table; they touch nothing, so
-- PUBLIC may run them.
CREATE FUNCTION streamview.hop(ts timestamp, size interval, slide interval)
RETURNS TABLE (window_start timestamp, window_end timestamp)
AS 'MODULE_PATHNAME', 'streamview_hop'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 2;

CREATE FUNCTION streamview.hop(ts timestamptz, size interval, slide interval)
RETURNS TABLE (window_start timestamptz, window_end timestamptz)
AS 'MODULE_PATHNAME', 'streamview_hop'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 2;

-- tumble(ts, size) is hop(ts, size, size): the one window of ts.
CREATE FUNCTION streamview.tumble(ts timestamp, size interval)
RETURNS TABLE (window_start timestamp, window_end timestamp)
AS 'MODULE_PATHNAME', 'streamview_tumble'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 1;

CREATE FUNCTION streamview.tumble(ts timestamptz, size interval)
RETURNS TABLE (window_start timestamptz, window_end timestamptz)
AS 'MODULE_PATHNAME', 'streamview_tumble'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 1;

-- Views defined by a SELECT over a stream (create_view): the query text,
-- from which the worker describes the view again each time it starts.
ALTER TABLE streamview.window_views ADD COLUMN query text,
	ADD COLUMN search_path text,
	ADD COLUMN settings text[];
COMMENT ON COLUMN streamview.window_views.query IS 'the SELECT of a view made by create_view; NULL for create_window_view';
COMMENT ON COLUMN streamview.window_views.search_path IS 'the search_path in which create_view analysed the query (the worker analyses it again in it)';
COMMENT ON COLUMN streamview.window_views.settings IS 'the settings under which create_view read the query''s text and literals (DateStyle, IntervalStyle, TimeZone, timezone_abbreviations, standard_conforming_strings, transform_null_equals, array_nulls), as name=value: the worker reads the query again under them';

-- A query view's results table depends on the functions, operators and
-- types its expressions use (create_view records it in pg_depend), so a
-- DROP FUNCTION ... CASCADE, DROP TYPE ... CASCADE, DROP EXTENSION ...
-- CASCADE and the like drop it too: the view goes with its table whatever
-- command dropped it, not only DROP TABLE, DROP SCHEMA and DROP OWNED.
DROP EVENT TRIGGER streamview_forget_dropped_views;
CREATE EVENT TRIGGER streamview_forget_dropped_views ON sql_drop
	EXECUTE FUNCTION streamview._forget_dropped_views();

CREATE FUNCTION streamview.create_view(
	name text,
	query text,
	allowed_lateness interval DEFAULT NULL,
	keep_late boolean DEFAULT false)
RETURNS regclass
AS 'MODULE_PATHNAME', 'streamview_create_view'
LANGUAGE C VOLATILE;

REVOKE EXECUTE ON FUNCTION streamview.create_view(text, text, interval, boolean) FROM PUBLIC;

-- Formats csv and json, Kafka metadata as columns (include), and JSON paths
-- for columns (column_paths). Existing streams keep their format and
-- delimiter; their include is empty.
ALTER TABLE streamview.streams
	DROP CONSTRAINT streams_format_check,
	ADD CONSTRAINT streams_format_check CHECK (format IN ('delimited', 'csv', 'json')),
	ADD COLUMN include text[] NOT NULL DEFAULT '{}',
	ADD COLUMN column_paths jsonb CHECK (jsonb_typeof(column_paths) = 'object');
COMMENT ON COLUMN streamview.streams.include IS 'Kafka metadata added as columns after the value''s: key, timestamp, partition, offset, headers';
COMMENT ON COLUMN streamview.streams.column_paths IS 'format json: the JSON path of a column, by column name';
GRANT SELECT (include, column_paths) ON streamview.streams TO PUBLIC;

-- create_stream gains include and column_paths, and delimiter defaults to
-- the format's own. Roles granted EXECUTE on the old one keep it.
-- (the grantees, kept in a transaction-local setting across the DROP)
SELECT pg_catalog.set_config('sv_upgrade.create_stream_grantees',
	coalesce(pg_catalog.string_agg(pg_catalog.quote_ident(a.grantee::regrole::text), ','), ''), true)
  FROM pg_catalog.pg_proc p, pg_catalog.aclexplode(p.proacl) a
 WHERE p.oid = 'streamview.create_stream(text, text, text, text, text, text, text, jsonb, text, int)'::pg_catalog.regprocedure
   AND a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner AND a.grantee <> 0;

DROP FUNCTION streamview.create_stream(text, text, text, text, text, text, text, jsonb, text, int);
CREATE FUNCTION streamview.create_stream(
	name text,
	brokers text,
	topic text,
	columns text,
	format text DEFAULT 'delimited',
	delimiter text DEFAULT NULL,
	start_offset text DEFAULT 'earliest',
	options jsonb DEFAULT '{}',
	"null" text DEFAULT '',
	parallelism int DEFAULT 1,
	include text[] DEFAULT '{}',
	column_paths jsonb DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'streamview_create_stream'
LANGUAGE C VOLATILE;
REVOKE EXECUTE ON FUNCTION streamview.create_stream(text, text, text, text, text, text, text, jsonb, text, int, text[], jsonb) FROM PUBLIC;

DO $$
DECLARE
	grantees text := pg_catalog.current_setting('sv_upgrade.create_stream_grantees');
BEGIN
	IF grantees <> '' THEN
		EXECUTE 'GRANT EXECUTE ON FUNCTION streamview.create_stream(text, text, text, text, text, text, text, jsonb, text, int, text[], jsonb) TO '
			|| grantees;
	END IF;
END
$$;

-- parse_message with the metadata a message would carry.
CREATE FUNCTION streamview.parse_message(stream text, value text, key text, headers jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'streamview_parse_message'
LANGUAGE C STABLE;
REVOKE EXECUTE ON FUNCTION streamview.parse_message(text, text, text, jsonb) FROM PUBLIC;

-- The last messages of a stream's topic, parsed as the worker would.
CREATE FUNCTION streamview.peek(stream text, messages int DEFAULT 10,
	OUT partition int, OUT "offset" bigint, OUT kafka_timestamp timestamptz,
	OUT key text, OUT fields jsonb, OUT error text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'streamview_peek'
LANGUAGE C VOLATILE;
REVOKE EXECUTE ON FUNCTION streamview.peek(text, int) FROM PUBLIC;
