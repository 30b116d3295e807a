-- Who may do what: configuration functions are not executable by PUBLIC,
-- stream owners alone change their streams, secrets stay hidden.
CREATE ROLE sv_alice LOGIN;
CREATE ROLE sv_bob LOGIN;
GRANT CREATE ON SCHEMA public TO sv_alice, sv_bob;

SET ROLE sv_alice;
SELECT sv_try($$SELECT streamview.create_stream('a', 'localhost:9092', 't', 'a int, ts timestamp')$$) AS public_cannot_execute;
RESET ROLE;

GRANT EXECUTE ON FUNCTION streamview.create_stream, streamview.create_window_view,
  streamview.drop_window_view, streamview.drop_stream, streamview.alter_stream,
  streamview.start, streamview.stop, streamview.parse_message(text, text) TO sv_alice, sv_bob;

SET ROLE sv_alice;
SELECT streamview.create_stream('alice', 'localhost:9092', 't', 'a int, ts timestamp',
  options => '{"sasl.password": "hunter2", "sasl.username": "alice"}');
SELECT streamview.create_window_view('alice_counts', 'alice', 'ts', ARRAY['a'], '1 minute');
-- Superuser-only options: they load code, run commands or name server files.
SELECT sv_try($$SELECT streamview.create_stream('x', 'localhost:9092', 't', 'a int', options => '{"plugin.library.paths": "/tmp/evil.so"}')$$) AS plugin_paths;
SELECT sv_try($$SELECT streamview.create_stream('x', 'localhost:9092', 't', 'a int', options => '{"sasl.kerberos.kinit.cmd": "touch /tmp/pwned"}')$$) AS kinit_cmd;
SELECT sv_try($$SELECT streamview.create_stream('x', 'localhost:9092', 't', 'a int', options => '{"ssl.ca.location": "/etc/ssl"}')$$) AS file_location;
SELECT sv_try($$SELECT streamview.create_stream('x', 'localhost:9092', 't', 'a int', options => '{"ssl.engine.id": "x"}')$$) AS ssl_engine;
-- Options (which may hold passwords) are not readable; the rest is.
SELECT sv_try($$SELECT options FROM streamview.streams$$) AS read_options;
SELECT name, topic FROM streamview.streams;
-- stream_options shows options with secrets masked.
SELECT stream, options FROM streamview.stream_options ORDER BY stream;
RESET ROLE;

-- The results table belongs to the role that created the view.
SELECT tableowner FROM pg_tables WHERE tablename = 'alice_counts';

-- Another role cannot change alice's stream or view.
SET ROLE sv_bob;
SELECT sv_try($$SELECT streamview.drop_window_view('alice_counts')$$) AS drop_others_view;
SELECT sv_try($$SELECT streamview.alter_stream('alice', 'x:1')$$) AS alter_others_stream;
SELECT sv_try($$SELECT streamview.start('alice')$$) AS start_others_stream;
SELECT sv_try($$SELECT streamview.drop_stream('alice')$$) AS drop_others_stream;
SELECT sv_try($$SELECT streamview.create_window_view('bobs_view', 'alice', 'ts', '{}', '1 minute')$$) AS view_on_others_stream;
SELECT sv_try($$INSERT INTO streamview.offsets VALUES ('alice', 0, 0)$$) AS write_offsets;
SELECT sv_try($$UPDATE streamview.streams SET running = true$$) AS write_streams;
RESET ROLE;

-- A superuser may set them.
SELECT streamview.create_stream('su', 'localhost:9092', 't', 'a int',
  options => '{"ssl.ca.location": "/etc/ssl/certs"}');
SELECT streamview.drop_stream('su');

SET ROLE sv_alice;
SELECT streamview.drop_window_view('alice_counts');
SELECT streamview.drop_stream('alice');
RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM sv_alice, sv_bob;
DROP OWNED BY sv_alice, sv_bob;
DROP ROLE sv_alice;
DROP ROLE sv_bob;
