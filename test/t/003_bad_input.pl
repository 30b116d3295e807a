# Bad messages and late data: exact reject rows, exact counts, the stream
# keeps running. One partition each, so the outcome does not depend on how
# partitions interleave.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use StreamviewTest;

my $broker = start_broker('bad:1', 'late:1', 'plate:2', 'wide:1');
my $node = new_node('bad', "streamview.max_message_bytes = 200\n");

create_rides_stream($node, $broker, 'bad', 'bad');
$node->safe_psql('postgres', q{
	SELECT streamview.create_window_view('by_vendor', 'bad', 'tpep_pickup_datetime',
	       ARRAY['vendor_id'], '10 minutes', '5 minutes');
	SELECT streamview.create_window_view('by_payment', 'bad', 'tpep_dropoff_datetime',
	       ARRAY['payment_type'], '1 hour');
	SELECT streamview.start('bad')});

my $ok = '2020-07-01 00:01:00, 2020-07-01 00:11:00, 1, 1.5, 2, 9.3';
produce_lines($broker, 'bad', 0,
	"1, $ok",                                          # 0 good
	'1, 2020-07-01 00:01:00',                          # 1 too few fields
	'',                                                # 2 empty value
	'\N',                                              # 3 null value
	"x, $ok",                                          # 4 non-numeric
	"99999999999, $ok",                                # 5 out of range
	'1, 2021-02-29 00:01:00, 2020-07-01 00:11:00, 1, 1.5, 2, 9.3',    # 6 impossible date
	'1, 2020-07-01 00:01:00, 2020-07-01 00:11:00, 1, 1.5, 2, 9.\xff', # 7 invalid UTF-8
	'\x01\x02\x03garbage',                             # 8 garbage bytes
	'1, 2020-07-01 00:01:00\x00, 2020-07-01 00:11:00, 1, 1.5, 2, 9.3', # 9 NUL byte
	'1, ' . ('9' x 250),                               # 10 larger than max_message_bytes
	'2, 2020-07-01 00:02:00, 2020-07-01 00:12:00, 1, 1.5, , 9.3',     # 11 NULL group key for by_payment
	'1, , 2020-07-01 00:13:00, 1, 1.5, 3, 9.3',        # 12 NULL time for by_vendor
	'1, 2020-07-01 00:03:00, 2020-07-01 00:13:00, 1, 1.5, 2, 9.3',    # 13 good
);
ok(wait_for_committed($node, 'bad', 14), 'the stream consumed every message, bad ones included');

is($node->safe_psql('postgres', q{
	SELECT string_agg(format('%s|%s|%s', partition || ':' || "offset", coalesce(view::text, '-'),
	                         CASE WHEN payload IS NULL THEN 'nopayload' ELSE 'payload' END), ',' ORDER BY "offset", view::text)
	  FROM streamview.rejects WHERE stream = 'bad'}),
	'0:1|-|payload,0:2|-|payload,0:3|-|nopayload,0:4|-|payload,0:5|-|payload,0:6|-|payload,'
	  . '0:7|-|payload,0:8|-|payload,0:9|-|payload,0:10|-|nopayload,0:11|by_payment|payload,0:12|by_vendor|payload',
	'one reject row per bad message, with its view where only one view failed');

my %reason = (
	1 => qr/expected 7 fields, found 2/,
	2 => qr/empty|expected 7 fields/,
	3 => qr/null/,
	4 => qr/vendor_id.*invalid input syntax for type integer/,
	5 => qr/vendor_id.*out of range for type integer/,
	6 => qr/tpep_pickup_datetime.*out of range/,
	7 => qr/UTF-8/,
	8 => qr/expected 7 fields|UTF-8|invalid/,
	9 => qr/NUL/,
	10 => qr/exceeds streamview.max_message_bytes \(200\)/,
	11 => qr/group_by column "payment_type" is null/,
	12 => qr/time column "tpep_pickup_datetime" is null/);
foreach my $o (sort { $a <=> $b } keys %reason)
{
	like($node->safe_psql('postgres',
		"SELECT string_agg(reason, ';') FROM streamview.rejects WHERE stream = 'bad' AND \"offset\" = $o"),
		$reason{$o}, "offset $o: the reason names the field and why");
}
is($node->safe_psql('postgres',
	q{SELECT encode(payload, 'escape') FROM streamview.rejects WHERE "offset" = 4}),
	"x, $ok", 'the payload is kept as it came');

# The good messages all count, in every view that could count them.
is($node->safe_psql('postgres', q{
	SELECT string_agg(format('%s %s %s', to_char(window_start, 'HH24:MI'), vendor_id, count), ',' ORDER BY window_start, vendor_id)
	  FROM by_vendor}),
	'23:55 1 2,23:55 2 1,00:00 1 2,00:00 2 1',
	'by_vendor counts offsets 0, 11 and 13 (12 has no pickup time)');
is($node->safe_psql('postgres', q{
	SELECT string_agg(format('%s %s %s', to_char(window_start, 'HH24:MI'), payment_type, count), ',' ORDER BY window_start, payment_type)
	  FROM by_payment}),
	'00:00 2 2,00:00 3 1', 'by_payment counts offsets 0, 12 and 13 (11 has no payment type)');
is($node->safe_psql('postgres',
	"SELECT state, messages, rejects FROM streamview.stream_status WHERE stream = 'bad'"),
	'running|14|12', 'the stream runs on and counts its rejects');

# purge_rejects removes old rows only.
$node->safe_psql('postgres',
	q{UPDATE streamview.rejects SET rejected_at = now() - interval '2 days' WHERE "offset" < 5});
is($node->safe_psql('postgres', "SELECT streamview.purge_rejects('1 day')"), '4',
	'purge_rejects deletes the rows older than its argument');
is($node->safe_psql('postgres', "SELECT count(*) FROM streamview.rejects"), '8',
	'newer rejects stay');

# Late data: a tumbling view with 10 minutes of allowed lateness keeping late
# messages, and a sliding view with no lateness at all.
create_rides_stream($node, $broker, 'late', 'late');
$node->safe_psql('postgres', q{
	SELECT streamview.create_window_view('late_tumbling', 'late', 'tpep_pickup_datetime',
	       '{}', '10 minutes', allowed_lateness => '10 minutes', keep_late => true);
	SELECT streamview.create_window_view('late_sliding', 'late', 'tpep_pickup_datetime',
	       '{}', '10 minutes', '5 minutes', allowed_lateness => '0');
	SELECT streamview.create_window_view('never_late', 'late', 'tpep_pickup_datetime',
	       '{}', '10 minutes');
	SELECT streamview.start('late')});
my @times = qw(00:00 00:25 00:05 00:21 00:40 00:19);
produce_lines($broker, 'late', 0,
	map { "1, 2020-07-01 $_:00, 2020-07-01 $_:30, 1, 1.5, 2, 9.3" } @times);
ok(wait_for_committed($node, 'late', 6), 'late messages consumed');

is($node->safe_psql('postgres', q{
	SELECT string_agg(format('%s=%s%s', to_char(window_start, 'HH24:MI'), count,
	                         CASE WHEN final THEN 'F' ELSE '' END), ' ' ORDER BY window_start)
	  FROM late_tumbling}),
	'00:00=1F 00:20=2F 00:40=1', 'tumbling: late events not counted, passed windows final');
is($node->safe_psql('postgres', q{
	SELECT string_agg(format('%s=%s%s', to_char(window_start, 'HH24:MI'), count,
	                         CASE WHEN final THEN 'F' ELSE '' END), ' ' ORDER BY window_start)
	  FROM late_sliding}),
	'23:55=1F 00:00=1F 00:20=2F 00:25=1F 00:35=1 00:40=1',
	'sliding: a late event still counts in its windows that are not final');
is($node->safe_psql('postgres', q{SELECT sum(count), bool_or(final) FROM never_late}),
	'6|f', 'without allowed lateness nothing is ever late or final');
is($node->safe_psql('postgres',
	"SELECT late FROM streamview.stream_status WHERE stream = 'late'"),
	'5', 'stream_status.late counts late events per view');
is($node->safe_psql('postgres', q{
	SELECT string_agg(format('%s %s %s', "offset", view, reason), ',' ORDER BY "offset")
	  FROM streamview.rejects WHERE stream = 'late'}),
	'2 late_tumbling late,5 late_tumbling late', 'keep_late keeps late events in rejects');
is($node->safe_psql('postgres', q{
	SELECT string_agg(format('%s %s', view, to_char(watermark AT TIME ZONE 'UTC', 'HH24:MI')), ',' ORDER BY view::text)
	  FROM streamview.window_views WHERE stream = 'late' AND allowed_lateness IS NOT NULL}),
	'late_sliding 00:40,late_tumbling 00:30', 'watermarks are stored with the batch');

# Final windows leave shared memory; the others are there.
is($node->safe_psql('postgres', q{
	SELECT string_agg(to_char(window_start AT TIME ZONE current_setting('TimeZone'), 'HH24:MI'), ' ' ORDER BY window_start)
	  FROM streamview.live_counts('late_sliding')}),
	'00:35 00:40', 'windows made final are evicted from shared memory');

# Two workers, one view with lateness: worker 0 (partition 0) moves the
# watermark past a window; worker 1 (partition 1) has seen nothing, so by its
# own watermark an event for that window is not late. It is counted as late
# all the same (not added to the final window, not lost without a trace).
create_rides_stream($node, $broker, 'plate', 'plate', parallelism => 2);
$node->safe_psql('postgres', q{
	SELECT streamview.create_window_view('plate_counts', 'plate', 'tpep_pickup_datetime',
	       '{}', '10 minutes', allowed_lateness => '10 minutes');
	SELECT streamview.start('plate')});
my $ride = sub { "1, 2020-07-01 $_[0]:00, 2020-07-01 $_[0]:30, 1, 1.5, 2, 9.3" };
produce_lines($broker, 'plate', 0, $ride->('00:05'));
ok(wait_for_committed($node, 'plate', 1), 'worker 0 counts an event in 00:00-00:10');
produce_lines($broker, 'plate', 0, $ride->('01:00'));
ok(poll_until($node, q{SELECT final FROM plate_counts WHERE window_start = '2020-07-01 00:00'}, 't'),
	'a later event makes that window final');
produce_lines($broker, 'plate', 1, $ride->('00:06'));
ok(wait_for_committed($node, 'plate', 3), 'worker 1 consumes an event for the final window');
is($node->safe_psql('postgres', q{
	SELECT string_agg(format('%s=%s', to_char(window_start, 'HH24:MI'), count), ' ' ORDER BY window_start)
	  FROM plate_counts}),
	'00:00=1 01:00=1', 'the final window does not change');
is($node->safe_psql('postgres',
	"SELECT late FROM streamview.stream_status WHERE stream = 'plate'"),
	'1', 'and the event is counted as late');

# Raising streamview.max_message_bytes by a reload: a running worker takes
# the longer messages and decodes them in full (a CSV field of doubled
# quotes longer than the setting the worker's session started with).
$node->safe_psql('postgres', qq{
	SELECT streamview.create_stream('wide', '$broker->{bootstrap}', 'wide', 'id int, note text',
	       format => 'csv', include => ARRAY['timestamp']);
	SELECT streamview.create_window_view('wide_notes', 'wide', 'kafka_timestamp',
	       ARRAY['note'], '100 days');
	SELECT streamview.start('wide')});
my $wide = '1,"' . ('a""' x 100) . '"';    # 304 bytes; the note is 200
produce_lines($broker, 'wide', 0, $wide);
ok(wait_for_committed($node, 'wide', 1), 'the long message is consumed');
is($node->safe_psql('postgres', q{SELECT reason FROM streamview.rejects WHERE stream = 'wide'}),
	'message of 304 bytes exceeds streamview.max_message_bytes (200)',
	'and set aside while the setting is 200');
$node->safe_psql('postgres',
	'ALTER SYSTEM SET streamview.max_message_bytes = 1000; SELECT pg_reload_conf()');
# The worker applies the reload between batches: send the message again
# until it is no longer refused for its size.
my $sent = 1;
my $reason = 'exceeds';
while ($reason =~ /exceeds/ && $sent < 50)
{
	produce_lines($broker, 'wide', 0, $wide);
	$sent++;
	wait_for_committed($node, 'wide', $sent) or last;
	$reason = $node->safe_psql('postgres',
		"SELECT coalesce(max(reason), 'counted') FROM streamview.rejects WHERE stream = 'wide' AND \"offset\" = $sent - 1");
}
is($reason, 'counted', 'after the reload the same message counts');
is($node->safe_psql('postgres', q{SELECT length(note), count FROM wide_notes}),
	'200|1', 'with its field decoded in full');
$node->safe_psql('postgres',
	'ALTER SYSTEM RESET streamview.max_message_bytes; SELECT pg_reload_conf()');

$node->stop;
done_testing();
