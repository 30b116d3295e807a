/*-------------------------------------------------------------------------
 *
 * sv_produce.c
 *		A fast Kafka producer for streamview's tests, demo and benchmarks.
 *
 * Three modes:
 *
 *	--rides N	generate N taxi rides in the zoomcamp format, deterministic for
 *				a given --seed.  The key is the vendor id as text.  Pickup
 *				times are spread at random over [--start, --start +
 *				--span-minutes), so rides arrive out of time order.  Message
 *				i goes to partition i % P, P being --partitions or the
 *				topic's partition count.  The value depends on --format (the
 *				same --seed gives the same rides, in the same order and
 *				partitions, in every format):
 *
 *		delimited (the default): seven fields joined by ", ":
 *				vendor_id, tpep_pickup_datetime, tpep_dropoff_datetime,
 *				passenger_count, trip_distance, payment_type, total_amount,
 *				e.g. "1, 2020-07-01 00:25:32, 2020-07-01 00:33:39, 1, 1.50,
 *				2, 9.3".  Timestamps are 'YYYY-MM-DD HH:MM:SS', the distance
 *				has two decimals, the amount one or two (9.3, 12.75, 15.0).
 *
 *		json-compact: the paths of json below, as most producers write
 *				an object: fixed member order, no whitespace, no decoys, no
 *				note (for the benchmark), e.g. {"vendor_id":1,"trip":
 *				{"pickup":{"at":"2020-07-01 00:25:32"},"dropoff":
 *				"2020-07-01 00:33:39","distance":1.50},"passenger_count":1,
 *				"payment_type":2,"total_amount":9.3}
 *
 *		csv-compact: the seven fields of csv below, quoted as there, and
 *				no note (for the benchmark, like json-compact).
 *
 *		csv:	one RFC 4180 record, delimiter ',', no line end after it,
 *				of eight fields: the seven above, written as in delimited,
 *				then note, a text.  COPY t FROM ... (FORMAT csv) into eight
 *				columns (vendor_id int, pickup timestamp, dropoff timestamp,
 *				passengers int, distance numeric, payment int, amount
 *				numeric, note text) reads it.  Both timestamps are always
 *				quoted, each number is quoted or not at random.  The note is
 *				NULL (an unquoted empty field, the record ending in ','),
 *				the empty string (""), or text, always quoted, that may hold
 *				commas, quotes (doubled inside the quotes), LF or CR LF line
 *				breaks, tabs, backslashes, '/' and UTF-8 (U+00E9, U+00BD,
 *				U+20AC, U+1F695).
 *
 *		json:	one JSON object (sometimes with whitespace, line breaks
 *				too, before or after it).  Path (jsonb) and value:
 *				  $.vendor_id		vendor_id, a number
 *				  $.trip.pickup.at	tpep_pickup_datetime, a string
 *				  $.trip.dropoff	tpep_dropoff_datetime, a string
 *				  $.passenger_count	passenger_count, a number
 *				  $.trip.distance	trip_distance, a number
 *				  $.payment_type	payment_type, a number
 *				  $.total_amount	total_amount, a number
 *				  $.items[0].price	total_amount again
 *				  $.note			the note (as in csv), a string or null
 *				Numbers and timestamps are written as in delimited.  The
 *				members of every object come in a random order, with random
 *				whitespace (space, tab, LF, CR LF) between the tokens.  Some
 *				rides carry more members that hold none of the values: a
 *				top-level "meta", "source" or "_ignored" (an object or
 *				array, nested, with decoy members such as "vendor_id",
 *				"note" and "trip"), "tz" in trip.pickup, "rate_code" in
 *				trip, "qty" in items[0] and a second element of items.
 *				Member names and timestamps have no escapes; the note uses
 *				\" \\ \r \t, \n or \u000a, / or \/, and for other
 *				characters, at random, as they are or \uXXXX (surrogate
 *				pairs such as \ud83d\ude95 above U+FFFF); so reading the
 *				note with jsonb needs a UTF8 database.
 *
 *				The seven ride values come from the same random draws in
 *				every format; csv and json draw their extra randomness from
 *				further generators seeded from --seed: the notes from one
 *				(so a ride's note is the same in csv and json), quoting,
 *				order and whitespace from another.
 *
 *				--pickup-timestamps: each message's timestamp (CreateTime,
 *				ms since epoch) is the ride's pickup time read as UTC, so
 *				that a consumer can take event time from it; otherwise it is
 *				the time of producing.  Needs --start after 1970-01-01
 *				00:00:00.  (A real broker may soon delete messages this old
 *				by retention.ms.)
 *				--vendor-header NAME: each message carries a header NAME
 *				whose value is the vendor id as text (after any --header).
 *
 *	--stdin		one message per input line (without its newline), to
 *				--partition (default 0; -1 lets librdkafka choose by key).
 *				--key-delim C: the text before the first C is the key.
 *				--unescape: "\\" and "\xHH" in key and value are decoded, so
 *				tests can send NUL bytes and invalid UTF-8.
 *				--null-value: a value that is exactly "\N" is sent as NULL.
 *				--timestamp-ms MS: every message's timestamp (CreateTime,
 *				ms since 1970; any 64-bit value, as a producer may set it);
 *				otherwise the time of producing.
 *
 *	--marker	append one transaction control record, a COMMIT marker, to
 *				--partition P (default 0) and print "marker at offset N",
 *				N being the offset the broker gave it.  The marker takes an
 *				offset but is no message: consumers skip it, so it leaves a
 *				gap in the offsets they see (as after a committed
 *				transaction).  For librdkafka's mock cluster (sv_broker)
 *				only: no client API writes markers and the mock never writes
 *				them itself, but it stores a RecordBatch sent in a raw
 *				Produce request as it is, only setting its BaseOffset.  So
 *				this mode asks the metadata for P's leader and sends it a
 *				hand-made Produce request over a plain TCP connection.  A
 *				real Kafka broker refuses control batches from clients.
 *				--out is refused (a marker is not a message); --rate has no
 *				effect.
 *
 * --rate R throttles --rides and --stdin to R messages/s.  --header NAME=VALUE
 * (up to 16, in the order given) adds a header to every message of --rides
 * and --stdin.  --out FILE writes one line per delivered message, in delivery
 * order:
 *		partition <TAB> offset <TAB> key <TAB> value
 * where bytes below 0x20, 0x7f and the backslash are written as \xHH, and
 * a NULL key or value as \N (so COPY reads it; timestamps and headers are
 * not in it: kcat -f '%p\t%o\t%T\t%h\n' shows them).
 *
 * Exit status is 0 only if every message was delivered (--marker: if the
 * broker stored the marker); 1 on failure, 2 on a usage error.
 *
 * Build:
 *		gcc -std=gnu99 -O2 -Wall -Wextra -Werror -o sv_produce sv_produce.c \
 *			-lrdkafka -lpthread
 *
 * IDENTIFICATION
 *		test/broker/sv_produce.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "ride_notes.h"

#define POLL_EVERY		1000	/* serve delivery reports this often */
#define FLUSH_TIMEOUT_MS 60000
#define MAX_ERRORS_SHOWN 10
#define MARKER_TIMEOUT_S 10		/* connect/send/receive of the marker */
#define VALUE_MAX		4096	/* room for one ride's value, any format */
#define NOTE_MAX		256		/* room for one ride's note */
#define MAX_HEADERS		16		/* --header options */

typedef enum Mode
{
	MODE_NONE,
	MODE_RIDES,
	MODE_STDIN,
	MODE_MARKER
} Mode;

/* --format: how --rides writes a ride */
typedef enum Format
{
	FORMAT_DELIMITED,
	FORMAT_CSV,
	FORMAT_CSV_COMPACT,
	FORMAT_JSON,
	FORMAT_JSON_COMPACT
} Format;

/* --header NAME=VALUE */
typedef struct Header
{
	const char *name;
	const char *value;
} Header;

/* Command-line options */
typedef struct Options
{
	const char *brokers;
	const char *topic;
	const char *out_path;
	Mode		mode;
	double		rate;			/* messages/s, 0 = unthrottled */

	/* --rides */
	long		rides;
	uint64_t	seed;
	int			partitions;		/* 0 = from metadata */
	int			vendors;
	int64_t		start;			/* seconds since 1970-01-01 (UTC-like) */
	long		span_minutes;
	long		keys;			/* > 0: payment_type in 1..keys */
	Format		format;
	bool		pickup_timestamps;	/* message timestamp = pickup time */
	int64_t		stdin_timestamp;	/* --stdin: message timestamp; 0: now */
	const char *vendor_header;	/* header name for the vendor id, or NULL */

	/* --rides, --stdin */
	Header		headers[MAX_HEADERS];
	int			n_headers;

	/* --stdin, --marker */
	int32_t		partition;
	int			key_delim;		/* -1 = no key */
	bool		unescape;
	bool		null_value;
} Options;

/* Token bucket for --rate */
typedef struct Throttle
{
	double		rate;
	double		burst;
	double		tokens;
	double		last;
} Throttle;

static FILE *out_file = NULL;
static int64_t n_produced = 0;
static int64_t n_delivered = 0;
static int64_t n_failed = 0;

/*
 * Seconds on a monotonic clock.
 */
static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/*
 * A uniformly distributed integer in [lo, hi] (bias negligible for the
 * small ranges used here).
 */
static int64_t
random_between(uint64_t *state, int64_t lo, int64_t hi)
{
	return lo + (int64_t) (next_random(state) % (uint64_t) (hi - lo + 1));
}

/*
 * Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * algorithm), so that no time zone is ever involved.
 */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t		era;
	int64_t		yoe;
	int64_t		doy;
	int64_t		doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * The inverse of days_from_civil.
 */
static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t		era;
	int64_t		doe;
	int64_t		yoe;
	int64_t		doy;
	int64_t		mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/*
 * Parse 'YYYY-MM-DD HH:MM:SS' (or 'YYYY-MM-DD') into seconds since epoch.
 */
static bool
parse_timestamp(const char *s, int64_t *result)
{
	int			y,
				mo,
				d,
				h = 0,
				mi = 0,
				se = 0;
	int			n = -1;

	if (sscanf(s, "%4d-%2d-%2d %2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se,
			   &n) == 6 && n == (int) strlen(s))
		;
	else if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) == 3 &&
			 n == (int) strlen(s))
		h = mi = se = 0;
	else
		return false;

	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59)
		return false;
	*result = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	return true;
}

/*
 * Format seconds since epoch as 'YYYY-MM-DD HH:MM:SS' into buf (20 bytes).
 */
static void
format_timestamp(char *buf, int64_t t)
{
	int64_t		days = t / 86400;
	int64_t		secs = t % 86400;
	int64_t		y;
	int			m;
	int			d;

	if (secs < 0)
	{
		secs += 86400;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	snprintf(buf, 20, "%04d-%02d-%02d %02d:%02d:%02d",
			 (int) y, m, d, (int) (secs / 3600), (int) (secs / 60 % 60),
			 (int) (secs % 60));
}

/*
 * Format an amount given in hundredths the way Python prints a float with
 * at most two decimals: 930 -> "9.3", 1275 -> "12.75", 1500 -> "15.0".
 */
static int
format_amount(char *buf, size_t size, int64_t cents)
{
	if (cents % 10 == 0)
		return snprintf(buf, size, "%" PRId64 ".%" PRId64,
						cents / 100, cents / 10 % 10);
	return snprintf(buf, size, "%" PRId64 ".%02" PRId64,
					cents / 100, cents % 100);
}

/*
 * Write len bytes to the --out file with control bytes, DEL and backslash
 * as \xHH; NULL is written as \N.  Runs of plain bytes go out in one
 * fwrite.
 */
static void
write_escaped(FILE *f, const void *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = data;
	size_t		run = 0;		/* start of the pending run of plain bytes */
	size_t		i;

	if (data == NULL)
	{
		fputs("\\N", f);
		return;
	}
	for (i = 0; i < len; i++)
	{
		unsigned char c = p[i];
		char		esc[4];

		if (c >= 0x20 && c != 0x7f && c != '\\')
			continue;
		if (i > run)
			fwrite(p + run, 1, i - run, f);
		esc[0] = '\\';
		esc[1] = 'x';
		esc[2] = hex[c >> 4];
		esc[3] = hex[c & 0xf];
		fwrite(esc, 1, 4, f);
		run = i + 1;
	}
	if (len > run)
		fwrite(p + run, 1, len - run, f);
}

/*
 * Delivery report callback.  It runs from rd_kafka_poll()/rd_kafka_flush()
 * in the main thread, so it may write to the --out file.
 */
static void
on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
	(void) rk;
	(void) opaque;

	if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR)
	{
		if (n_failed < MAX_ERRORS_SHOWN)
			fprintf(stderr, "sv_produce: delivery failed: %s\n",
					rd_kafka_err2str(msg->err));
		n_failed++;
		return;
	}

	n_delivered++;
	if (out_file != NULL)
	{
		fprintf(out_file, "%" PRId32 "\t%" PRId64 "\t",
				msg->partition, msg->offset);
		write_escaped(out_file, msg->key, msg->key_len);
		putc('\t', out_file);
		write_escaped(out_file, msg->payload, msg->len);
		putc('\n', out_file);
	}
}

/*
 * Log callback: librdkafka's own messages, to stderr.
 */
static void
on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void) rk;
	fprintf(stderr, "sv_produce: librdkafka %d %s: %s\n", level, fac, buf);
}

/*
 * Wait until the token bucket allows one more message, serving delivery
 * reports while waiting (at most 1 ms at a time).
 */
static void
throttle_wait(Throttle *t, rd_kafka_t *rk)
{
	if (t->rate <= 0)
		return;

	for (;;)
	{
		double		now = now_seconds();

		t->tokens += (now - t->last) * t->rate;
		t->last = now;
		if (t->tokens > t->burst)
			t->tokens = t->burst;
		if (t->tokens >= 1.0)
		{
			t->tokens -= 1.0;
			return;
		}
		rd_kafka_poll(rk, 0);
		{
			struct timespec ms = {0, 1000000L};

			nanosleep(&ms, NULL);
		}
	}
}

/*
 * The headers of one message: the --header ones, then vendor_header (if
 * not NULL) with the given value.  NULL if there are none.
 */
static rd_kafka_headers_t *
make_headers(const Options *opt, const char *vendor_header,
			 const char *vendor)
{
	rd_kafka_headers_t *hdrs;
	int			i;

	if (opt->n_headers == 0 && vendor_header == NULL)
		return NULL;
	hdrs = rd_kafka_headers_new((size_t) opt->n_headers + 1);
	for (i = 0; i < opt->n_headers; i++)
		rd_kafka_header_add(hdrs, opt->headers[i].name, -1,
							opt->headers[i].value, -1);
	if (vendor_header != NULL)
		rd_kafka_header_add(hdrs, vendor_header, -1, vendor, -1);
	return hdrs;
}

/*
 * Produce one message (copied by librdkafka), retrying while the local
 * queue is full.  key and value may be NULL.  timestamp is in ms since the
 * epoch, 0 for now.  hdrs (may be NULL) passes to librdkafka, or is freed
 * here on failure.  Returns false on error.
 */
static bool
produce_one(rd_kafka_t *rk, rd_kafka_topic_t *rkt, int32_t partition,
			const void *key, size_t key_len,
			const void *value, size_t value_len,
			int64_t timestamp, rd_kafka_headers_t *hdrs)
{
	for (;;)
	{
		rd_kafka_resp_err_t err;

		/* on failure the headers stay ours, so a retry can reuse them */
		if (hdrs != NULL)
			err = rd_kafka_producev(rk,
									RD_KAFKA_V_RKT(rkt),
									RD_KAFKA_V_PARTITION(partition),
									RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
									RD_KAFKA_V_KEY((void *) key, key_len),
									RD_KAFKA_V_VALUE((void *) value,
													 value_len),
									RD_KAFKA_V_TIMESTAMP(timestamp),
									RD_KAFKA_V_HEADERS(hdrs),
									RD_KAFKA_V_END);
		else
			err = rd_kafka_producev(rk,
									RD_KAFKA_V_RKT(rkt),
									RD_KAFKA_V_PARTITION(partition),
									RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
									RD_KAFKA_V_KEY((void *) key, key_len),
									RD_KAFKA_V_VALUE((void *) value,
													 value_len),
									RD_KAFKA_V_TIMESTAMP(timestamp),
									RD_KAFKA_V_END);
		if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
		{
			n_produced++;
			if (n_produced % POLL_EVERY == 0)
				rd_kafka_poll(rk, 0);
			return true;
		}
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
		{
			fprintf(stderr, "sv_produce: produce failed: %s\n",
					rd_kafka_err2str(err));
			if (hdrs != NULL)
				rd_kafka_headers_destroy(hdrs);
			return false;
		}
		rd_kafka_poll(rk, 100);
	}
}

/*
 * The topic's partition count from the cluster's metadata (which also
 * auto-creates the topic on the mock broker).  Retries for a while, as a
 * new topic may have no leaders yet.  Returns -1 on failure.
 */
static int
topic_partition_count(rd_kafka_t *rk, rd_kafka_topic_t *rkt)
{
	double		deadline = now_seconds() + 15;
	rd_kafka_resp_err_t last = RD_KAFKA_RESP_ERR_NO_ERROR;

	while (now_seconds() < deadline)
	{
		const struct rd_kafka_metadata *md;
		rd_kafka_resp_err_t err;
		int			cnt = -1;

		err = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
		if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
		{
			if (md->topic_cnt == 1)
			{
				err = md->topics[0].err;
				if (err == RD_KAFKA_RESP_ERR_NO_ERROR &&
					md->topics[0].partition_cnt > 0)
					cnt = md->topics[0].partition_cnt;
			}
			rd_kafka_metadata_destroy(md);
			if (cnt > 0)
				return cnt;
		}
		last = err;
		rd_kafka_poll(rk, 200);
	}
	fprintf(stderr, "sv_produce: no metadata for topic \"%s\": %s\n",
			rd_kafka_topic_name(rkt), rd_kafka_err2str(last));
	return -1;
}

/*
 * --rides: one ride, its values and their text as the delimited format
 * writes them, and (csv, json) its note.
 */
typedef struct Ride
{
	int64_t		vendor;
	int64_t		pickup;			/* seconds since epoch */
	int64_t		dropoff;
	int64_t		passengers;
	int64_t		distance;		/* hundredths */
	int64_t		payment;
	int64_t		amount;			/* hundredths */
	char		vendor_s[24];
	char		pickup_s[20];
	char		dropoff_s[20];
	char		passengers_s[24];
	char		distance_s[48];
	char		payment_s[24];
	char		amount_s[32];
	bool		note_null;
	char		note[NOTE_MAX];
} Ride;

/*
 * A value being built in a fixed buffer; when it would not fit, overflow
 * is set and nothing more is added.
 */
typedef struct Buf
{
	char	   *data;
	size_t		len;
	size_t		cap;
	bool		overflow;
} Buf;

static void
buf_add(Buf *b, const void *s, size_t n)
{
	if (b->overflow || n > b->cap - b->len)
	{
		b->overflow = true;
		return;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

static void
buf_puts(Buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void
buf_putc(Buf *b, char c)
{
	buf_add(b, &c, 1);
}

/*
 * True with probability 1/n.
 */
static bool
one_in(uint64_t *x, uint64_t n)
{
	return next_random(x) % n == 0;
}


#define lengthof(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Draw a ride's note: NULL one time in ten, the empty string one time in
 * ten, else one to three pieces joined by separators.
 */
static void
make_note(Ride *r, uint64_t *x)
{
	uint64_t	kind = next_random(x) % 10;
	Buf			b = {r->note, 0, sizeof(r->note) - 1, false};
	int			pieces;
	int			i;

	r->note_null = kind == 0;
	if (kind > 1)
	{
		pieces = 1 + (int) (next_random(x) % 3);
		for (i = 0; i < pieces; i++)
		{
			if (i > 0)
				buf_puts(&b, note_separators[next_random(x) %
											 lengthof(note_separators)]);
			buf_puts(&b, note_pieces[next_random(x) % lengthof(note_pieces)]);
		}
	}
	r->note[b.len] = '\0';		/* the pieces always fit */
}

/*
 * One CSV field: quoted, its quotes doubled, or as it is.
 */
static void
csv_field(Buf *b, const char *s, bool quoted)
{
	if (!quoted)
	{
		buf_puts(b, s);
		return;
	}
	buf_putc(b, '"');
	for (; *s != '\0'; s++)
	{
		if (*s == '"')
			buf_putc(b, '"');
		buf_putc(b, *s);
	}
	buf_putc(b, '"');
}

/*
 * --format csv: the seven fields and the note, numbers quoted at random;
 * csv-compact (note false): the seven fields alone.
 */
static void
ride_csv(Buf *b, const Ride *r, uint64_t *x, bool note)
{
	csv_field(b, r->vendor_s, one_in(x, 2));
	buf_putc(b, ',');
	csv_field(b, r->pickup_s, true);
	buf_putc(b, ',');
	csv_field(b, r->dropoff_s, true);
	buf_putc(b, ',');
	csv_field(b, r->passengers_s, one_in(x, 2));
	buf_putc(b, ',');
	csv_field(b, r->distance_s, one_in(x, 2));
	buf_putc(b, ',');
	csv_field(b, r->payment_s, one_in(x, 2));
	buf_putc(b, ',');
	csv_field(b, r->amount_s, one_in(x, 2));
	if (note)
	{
		buf_putc(b, ',');
		if (!r->note_null)
			csv_field(b, r->note, true);
	}
}

/*
 * Whitespace between JSON tokens: mostly none or one space, sometimes
 * more, a tab or a line break.
 */
static void
json_ws(Buf *b, uint64_t *x)
{
	static const char *const ws[] = {
		"", "", "", "", "", "", "", "", "", "", "", "", "", "", "",
		" ", " ", " ", " ", " ", " ", " ", " ", " ", " ", " ", " ",
		"  ", "\t", "\n", "\n\t", "\r\n "
	};

	buf_puts(b, ws[next_random(x) % lengthof(ws)]);
}

/*
 * A \uXXXX escape, hex digits in lower or upper case.
 */
static void
json_u(Buf *b, uint32_t u, bool upper)
{
	char		e[8];

	snprintf(e, sizeof(e), upper ? "\\u%04X" : "\\u%04x", (unsigned) u);
	buf_puts(b, e);
}

/*
 * A JSON string of the UTF-8 text s (well formed, no NUL), escapes drawn
 * at random: non-ASCII characters as raw UTF-8 or \uXXXX (a surrogate pair
 * above U+FFFF), LF as \n or \u000a, '/' as / or \/, other ASCII
 * characters sometimes as \uXXXX.
 */
static void
json_string(Buf *b, const char *s, uint64_t *x)
{
	const unsigned char *p = (const unsigned char *) s;

	buf_putc(b, '"');
	while (*p != '\0')
	{
		unsigned int c = *p;
		bool		upper = one_in(x, 2);

		if (c >= 0x80)
		{
			int			n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
			uint32_t	cp = c & (0x7fu >> n);
			int			k;

			for (k = 1; k < n; k++)
				cp = cp << 6 | (p[k] & 0x3f);
			if (one_in(x, 2))
				buf_add(b, p, (size_t) n);
			else if (cp >= 0x10000)
			{
				json_u(b, 0xd800 + ((cp - 0x10000) >> 10), upper);
				json_u(b, 0xdc00 + ((cp - 0x10000) & 0x3ff), upper);
			}
			else
				json_u(b, cp, upper);
			p += n;
			continue;
		}
		switch (c)
		{
			case '"':
				buf_puts(b, "\\\"");
				break;
			case '\\':
				buf_puts(b, "\\\\");
				break;
			case '\n':
				if (one_in(x, 4))
					json_u(b, c, upper);
				else
					buf_puts(b, "\\n");
				break;
			case '\r':
				buf_puts(b, "\\r");
				break;
			case '\t':
				buf_puts(b, "\\t");
				break;
			case '/':
				buf_puts(b, one_in(x, 2) ? "\\/" : "/");
				break;
			default:
				if (c < 0x20 || one_in(x, 16))
					json_u(b, c, upper);
				else
					buf_putc(b, (char) c);
		}
		p++;
	}
	buf_putc(b, '"');
}

/*
 * A string with no escapes (a timestamp).
 */
static void
json_plain_string(Buf *b, const char *s)
{
	buf_putc(b, '"');
	buf_puts(b, s);
	buf_putc(b, '"');
}

/*
 * order[0..n) = a random permutation of 0..n-1 (Fisher-Yates).
 */
static void
shuffle(int *order, int n, uint64_t *x)
{
	int			i;

	for (i = 0; i < n; i++)
		order[i] = i;
	for (i = n - 1; i > 0; i--)
	{
		int			j = (int) (next_random(x) % (uint64_t) (i + 1));
		int			t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
}

/*
 * The start of an object member: a comma unless it is the first, the name
 * and the colon, whitespace around each.
 */
static void
json_member(Buf *b, uint64_t *x, bool first, const char *name)
{
	json_ws(b, x);
	if (!first)
	{
		buf_putc(b, ',');
		json_ws(b, x);
	}
	json_plain_string(b, name);
	json_ws(b, x);
	buf_putc(b, ':');
	json_ws(b, x);
}

/*
 * The end of an object or array.
 */
static void
json_close(Buf *b, uint64_t *x, char c)
{
	json_ws(b, x);
	buf_putc(b, c);
}

/*
 * trip.pickup: {"at": pickup}, sometimes with "tz".
 */
static void
json_pickup(Buf *b, const Ride *r, uint64_t *x)
{
	int			order[2];
	int			n = one_in(x, 4) ? 2 : 1;
	int			i;

	shuffle(order, n, x);
	buf_putc(b, '{');
	for (i = 0; i < n; i++)
	{
		if (order[i] == 0)
		{
			json_member(b, x, i == 0, "at");
			json_plain_string(b, r->pickup_s);
		}
		else
		{
			json_member(b, x, i == 0, "tz");
			json_plain_string(b, "UTC");
		}
	}
	json_close(b, x, '}');
}

/*
 * trip: {"pickup": ..., "dropoff": dropoff, "distance": distance},
 * sometimes with "rate_code".
 */
static void
json_trip(Buf *b, const Ride *r, uint64_t *x)
{
	int			order[4];
	int			n = one_in(x, 4) ? 4 : 3;
	int			i;

	shuffle(order, n, x);
	buf_putc(b, '{');
	for (i = 0; i < n; i++)
	{
		switch (order[i])
		{
			case 0:
				json_member(b, x, i == 0, "pickup");
				json_pickup(b, r, x);
				break;
			case 1:
				json_member(b, x, i == 0, "dropoff");
				json_plain_string(b, r->dropoff_s);
				break;
			case 2:
				json_member(b, x, i == 0, "distance");
				buf_puts(b, r->distance_s);
				break;
			default:
				json_member(b, x, i == 0, "rate_code");
				buf_putc(b, (char) ('1' + next_random(x) % 6));
				break;
		}
	}
	json_close(b, x, '}');
}

/*
 * items: [{"price": amount}], sometimes with "qty", sometimes followed by
 * a second item.
 */
static void
json_items(Buf *b, const Ride *r, uint64_t *x)
{
	int			order[2];
	int			n = one_in(x, 4) ? 2 : 1;
	int			i;

	shuffle(order, n, x);
	buf_putc(b, '[');
	json_ws(b, x);
	buf_putc(b, '{');
	for (i = 0; i < n; i++)
	{
		if (order[i] == 0)
		{
			json_member(b, x, i == 0, "price");
			buf_puts(b, r->amount_s);
		}
		else
		{
			json_member(b, x, i == 0, "qty");
			buf_putc(b, '1');
		}
	}
	json_close(b, x, '}');
	if (one_in(x, 4))
	{
		json_ws(b, x);
		buf_putc(b, ',');
		json_ws(b, x);
		buf_puts(b, "{\"price\": 0.50, \"kind\": \"toll\"}");
	}
	json_close(b, x, ']');
}

/*
 * Extra members no column reads: names, and values nested, with decoys.
 */
static const char *const json_decoy_names[] = {"meta", "source", "_ignored"};
static const char *const json_decoys[] = {
	"{\"vendor_id\": 99, \"note\": \"decoy\", \"trip\": {\"pickup\": "
	"{\"at\": \"1999-12-31 23:59:59\"}, \"distance\": -1}}",
	"[1, -2.5e3, true, false, null, \"x\\\"]}\", [], {}, "
	"[[{\"total_amount\": 0}]]]",
	"{\"list\": [{\"a\": [1, {\"b\": null}]}], \"s\": \"{\\\"not\\\": [json\","
	" \"items\": [{\"price\": -1}]}",
	"{}",
	"[]",
};

/*
 * One ride as a compact JSON object the way most producers write one: the
 * same paths as ride_json ($.trip.pickup.at, ...), members in a fixed
 * order, no whitespace, no decoys, the note without escapes (or null).
 */
static void
ride_json_compact(Buf *b, const Ride *r)
{
	buf_puts(b, "{\"vendor_id\":");
	buf_puts(b, r->vendor_s);
	buf_puts(b, ",\"trip\":{\"pickup\":{\"at\":\"");
	buf_puts(b, r->pickup_s);
	buf_puts(b, "\"},\"dropoff\":\"");
	buf_puts(b, r->dropoff_s);
	buf_puts(b, "\",\"distance\":");
	buf_puts(b, r->distance_s);
	buf_puts(b, "},\"passenger_count\":");
	buf_puts(b, r->passengers_s);
	buf_puts(b, ",\"payment_type\":");
	buf_puts(b, r->payment_s);
	buf_puts(b, ",\"total_amount\":");
	buf_puts(b, r->amount_s);
	buf_puts(b, "}");
}

/*
 * --format json: the members in a random order, one in four times with
 * an extra one.
 */
static void
ride_json(Buf *b, const Ride *r, uint64_t *x)
{
	enum
	{
		J_VENDOR, J_TRIP, J_PASSENGERS, J_PAYMENT, J_ITEMS, J_AMOUNT,
		J_NOTE, J_EXTRA, J_MEMBERS
	};
	int			order[J_MEMBERS];
	int			n = one_in(x, 4) ? J_MEMBERS : J_MEMBERS - 1;
	int			i;

	shuffle(order, n, x);
	if (one_in(x, 8))
		json_ws(b, x);
	buf_putc(b, '{');
	for (i = 0; i < n; i++)
	{
		bool		first = i == 0;

		switch (order[i])
		{
			case J_VENDOR:
				json_member(b, x, first, "vendor_id");
				buf_puts(b, r->vendor_s);
				break;
			case J_TRIP:
				json_member(b, x, first, "trip");
				json_trip(b, r, x);
				break;
			case J_PASSENGERS:
				json_member(b, x, first, "passenger_count");
				buf_puts(b, r->passengers_s);
				break;
			case J_PAYMENT:
				json_member(b, x, first, "payment_type");
				buf_puts(b, r->payment_s);
				break;
			case J_ITEMS:
				json_member(b, x, first, "items");
				json_items(b, r, x);
				break;
			case J_AMOUNT:
				json_member(b, x, first, "total_amount");
				buf_puts(b, r->amount_s);
				break;
			case J_NOTE:
				json_member(b, x, first, "note");
				if (r->note_null)
					buf_puts(b, "null");
				else
					json_string(b, r->note, x);
				break;
			default:
				json_member(b, x, first, json_decoy_names[
					next_random(x) % lengthof(json_decoy_names)]);
				buf_puts(b, json_decoys[next_random(x) %
										lengthof(json_decoys)]);
				break;
		}
	}
	json_close(b, x, '}');
	if (one_in(x, 8))
		json_ws(b, x);
}

/*
 * --rides: generate and produce the rides.
 */
static bool
produce_rides(const Options *opt, rd_kafka_t *rk, rd_kafka_topic_t *rkt,
			  Throttle *th)
{
	uint64_t	state = opt->seed;
	/*
	 * csv's and json's own draws, so that the rides stay those of state:
	 * the notes (the same in both formats), and quoting, order, whitespace
	 */
	uint64_t	notes = opt->seed ^ UINT64_C(0x2545F4914F6CDD1D);
	uint64_t	extra = opt->seed ^ UINT64_C(0x5851F42D4C957F2D);
	int			partitions = opt->partitions;
	int64_t		span = (int64_t) opt->span_minutes * 60;
	long		i;

	if (partitions <= 0 && (partitions = topic_partition_count(rk, rkt)) < 0)
		return false;

	for (i = 0; i < opt->rides; i++)
	{
		char		value[VALUE_MAX];
		char		key[16];
		Ride		r;
		int			key_len;
		size_t		value_len;

		r.vendor = random_between(&state, 1, opt->vendors);
		r.pickup = opt->start + random_between(&state, 0, span - 1);
		r.dropoff = r.pickup + random_between(&state, 60, 3600);
		r.passengers = random_between(&state, 1, 6);
		r.distance = random_between(&state, 10, 3000);
		r.payment = random_between(&state, 1, opt->keys > 0 ? opt->keys : 4);
		r.amount = random_between(&state, 300, 15000);

		format_timestamp(r.pickup_s, r.pickup);
		format_timestamp(r.dropoff_s, r.dropoff);
		format_amount(r.amount_s, sizeof(r.amount_s), r.amount);
		key_len = snprintf(key, sizeof(key), "%" PRId64, r.vendor);
		if (opt->format == FORMAT_DELIMITED)
			value_len = (size_t) snprintf(value, sizeof(value),
										  "%" PRId64 ", %s, %s, %" PRId64
										  ", %" PRId64 ".%02" PRId64
										  ", %" PRId64 ", %s",
										  r.vendor, r.pickup_s, r.dropoff_s,
										  r.passengers, r.distance / 100,
										  r.distance % 100, r.payment,
										  r.amount_s);
		else
		{
			Buf			b = {value, 0, sizeof(value), false};

			snprintf(r.vendor_s, sizeof(r.vendor_s), "%" PRId64, r.vendor);
			snprintf(r.passengers_s, sizeof(r.passengers_s), "%" PRId64,
					 r.passengers);
			snprintf(r.distance_s, sizeof(r.distance_s),
					 "%" PRId64 ".%02" PRId64, r.distance / 100,
					 r.distance % 100);
			snprintf(r.payment_s, sizeof(r.payment_s), "%" PRId64,
					 r.payment);
			make_note(&r, &notes);
			if (opt->format == FORMAT_CSV || opt->format == FORMAT_CSV_COMPACT)
				ride_csv(&b, &r, &extra, opt->format == FORMAT_CSV);
			else if (opt->format == FORMAT_JSON_COMPACT)
				ride_json_compact(&b, &r);
			else
				ride_json(&b, &r, &extra);
			if (b.overflow)
			{
				fprintf(stderr, "sv_produce: ride %ld longer than %d bytes\n",
						i, VALUE_MAX);
				return false;
			}
			value_len = b.len;
		}

		throttle_wait(th, rk);
		if (!produce_one(rk, rkt, (int32_t) (i % partitions),
						 key, (size_t) key_len, value, value_len,
						 opt->pickup_timestamps ? r.pickup * 1000 : 0,
						 make_headers(opt, opt->vendor_header, key)))
			return false;
	}
	return true;
}

/*
 * Value of one hex digit, or -1.
 */
static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decode "\\" and "\xHH" in buf[0..*len) in place.  Returns false (and
 * leaves buf undefined) on any other backslash sequence.
 */
static bool
unescape_in_place(char *buf, size_t *len)
{
	size_t		in = 0;
	size_t		out = 0;

	while (in < *len)
	{
		if (buf[in] != '\\')
		{
			buf[out++] = buf[in++];
			continue;
		}
		if (in + 1 < *len && buf[in + 1] == '\\')
		{
			buf[out++] = '\\';
			in += 2;
		}
		else if (in + 3 < *len && buf[in + 1] == 'x' &&
				 hex_value(buf[in + 2]) >= 0 && hex_value(buf[in + 3]) >= 0)
		{
			buf[out++] = (char) (hex_value(buf[in + 2]) * 16 +
								 hex_value(buf[in + 3]));
			in += 4;
		}
		else
			return false;
	}
	*len = out;
	return true;
}

/*
 * --stdin: one message per line.
 */
static bool
produce_stdin(const Options *opt, rd_kafka_t *rk, rd_kafka_topic_t *rkt,
			  Throttle *th)
{
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		got;
	long		lineno = 0;
	bool		ok = true;

	while ((got = getline(&line, &cap, stdin)) >= 0)
	{
		size_t		len = (size_t) got;
		char	   *key = NULL;
		size_t		key_len = 0;
		char	   *value = line;
		size_t		value_len;
		bool		null_value;

		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			len--;

		if (opt->key_delim >= 0)
		{
			char	   *d = memchr(line, opt->key_delim, len);

			if (d != NULL)
			{
				key = line;
				key_len = (size_t) (d - line);
				value = d + 1;
			}
		}
		value_len = len - (size_t) (value - line);

		null_value = opt->null_value && value_len == 2 &&
			value[0] == '\\' && value[1] == 'N';

		if (opt->unescape &&
			((key != NULL && !unescape_in_place(key, &key_len)) ||
			 (!null_value && !unescape_in_place(value, &value_len))))
		{
			fprintf(stderr, "sv_produce: line %ld: bad escape "
					"(only \\\\ and \\xHH are allowed)\n", lineno);
			ok = false;
			break;
		}

		throttle_wait(th, rk);
		if (!produce_one(rk, rkt, opt->partition, key, key_len,
						 null_value ? NULL : value,
						 null_value ? 0 : value_len,
						 opt->stdin_timestamp, make_headers(opt, NULL, NULL)))
		{
			ok = false;
			break;
		}
		rd_kafka_poll(rk, 0);
	}
	if (ok && ferror(stdin))
	{
		fprintf(stderr, "sv_produce: reading stdin: %s\n", strerror(errno));
		ok = false;
	}
	free(line);
	return ok;
}

/*
 * --marker: the Kafka protocol bits of one hand-made Produce request.
 *
 * Produce v3 is the oldest version with a transactional_id (sent as null,
 * so the mock skips its idempotence checks) and carries a v2 RecordBatch.
 * The batch is 78 bytes: a 61-byte header and one 17-byte control record.
 */
#define PRODUCE_API_KEY		0
#define PRODUCE_API_VERSION	3
#define MARKER_CORRELATION_ID 1
#define MARKER_PRODUCER_ID	1000	/* any id: nothing checks it */
#define MARKER_BATCH_LEN	78
#define BATCH_ATTR_TRANSACTIONAL 0x0010
#define BATCH_ATTR_CONTROL	0x0020
#define CONTROL_TYPE_COMMIT	1

/* A bounds-checked reader of a response; ok turns false on overrun */
typedef struct Reader
{
	const uint8_t *data;
	size_t		len;
	size_t		pos;
	bool		ok;
} Reader;

/*
 * Store the low size bytes of v at p, big-endian (Kafka's byte order).
 */
static void
put_be(uint8_t *p, int size, uint64_t v)
{
	int			i;

	for (i = size - 1; i >= 0; i--)
	{
		p[i] = (uint8_t) (v & 0xff);
		v >>= 8;
	}
}

/*
 * put_be at buf + *o, advancing *o past the field.
 */
static void
append_be(uint8_t *buf, size_t *o, int size, uint64_t v)
{
	put_be(buf + *o, size, v);
	*o += (size_t) size;
}

/*
 * Read a big-endian signed integer of size bytes (2, 4 or 8).  On overrun
 * returns 0 and clears r->ok.
 */
static int64_t
get_be(Reader *r, int size)
{
	uint64_t	v = 0;
	int			i;

	if (!r->ok || r->len - r->pos < (size_t) size)
	{
		r->ok = false;
		return 0;
	}
	for (i = 0; i < size; i++)
		v = (v << 8) | r->data[r->pos++];
	/* sign-extend */
	if (size < 8 && (v & (UINT64_C(1) << (size * 8 - 1))) != 0)
		v |= ~UINT64_C(0) << (size * 8);
	return (int64_t) v;
}

/*
 * CRC-32C (Castagnoli), the checksum of a v2 RecordBatch.  Bitwise: the
 * marker's 57 checksummed bytes are not worth a table.
 */
static uint32_t
crc32c(const uint8_t *p, size_t len)
{
	uint32_t	crc = 0xffffffff;

	while (len-- > 0)
	{
		int			k;

		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (UINT32_C(0x82F63B78) & (0 - (crc & 1)));
	}
	return crc ^ 0xffffffff;
}

/*
 * Build the control batch into b (MARKER_BATCH_LEN bytes): one record
 * whose key is (version 0, type COMMIT) and whose value is (version 0,
 * coordinator epoch 0), as a transaction coordinator writes it.
 *
 *	 0 BaseOffset			int64	0, the broker sets it
 *	 8 BatchLength			int32	bytes after this field
 *	12 PartitionLeaderEpoch int32	0
 *	16 Magic				int8	2
 *	17 CRC					uint32	CRC-32C of bytes 21..end
 *	21 Attributes			int16	transactional | control
 *	23 LastOffsetDelta		int32	0: one offset
 *	27 FirstTimestamp		int64	now, ms
 *	35 MaxTimestamp			int64	now, ms
 *	43 ProducerId			int64
 *	51 ProducerEpoch		int16	0
 *	53 BaseSequence			int32	-1, as for Kafka's own markers
 *	57 RecordCount			int32	1
 *	61 the record: length 16, attributes 0, timestamp and offset deltas 0,
 *	   key length 4, key, value length 6, value, 0 headers (varints are
 *	   zigzag-encoded, all of them fit in one byte)
 */
static void
make_marker_batch(uint8_t *b)
{
	struct timespec ts;
	int64_t		now_ms;

	clock_gettime(CLOCK_REALTIME, &ts);
	now_ms = (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;

	memset(b, 0, MARKER_BATCH_LEN);
	put_be(b + 8, 4, MARKER_BATCH_LEN - 12);
	b[16] = 2;
	put_be(b + 21, 2, BATCH_ATTR_TRANSACTIONAL | BATCH_ATTR_CONTROL);
	put_be(b + 27, 8, (uint64_t) now_ms);
	put_be(b + 35, 8, (uint64_t) now_ms);
	put_be(b + 43, 8, MARKER_PRODUCER_ID);
	put_be(b + 53, 4, (uint32_t) -1);
	put_be(b + 57, 4, 1);

	b[61] = 16 * 2;				/* record length, bytes 62..77 */
	/* 62 attributes, 63 timestamp delta, 64 offset delta: 0 */
	b[65] = 4 * 2;				/* key length */
	put_be(b + 66, 2, 0);		/* key: version */
	put_be(b + 68, 2, CONTROL_TYPE_COMMIT); /* key: type */
	b[70] = 6 * 2;				/* value length */
	/* 71 value: version int16 0, 73 coordinator epoch int32 0 */
	/* 77 header count: 0 */

	put_be(b + 17, 4, crc32c(b + 21, MARKER_BATCH_LEN - 21));
}

/*
 * Find the leader of the partition in the cluster's metadata (which also
 * auto-creates the topic on the mock broker): its broker id, host and
 * port.  Retries for a while, as a new topic may have no leader yet.
 * Returns false, after a message, on failure.
 */
static bool
partition_leader(rd_kafka_t *rk, rd_kafka_topic_t *rkt, int32_t partition,
				 int32_t *leader, char *host, size_t host_size, int *port)
{
	double		deadline = now_seconds() + 15;
	char		why[256];

	snprintf(why, sizeof(why), "no metadata");
	while (now_seconds() < deadline)
	{
		const struct rd_kafka_metadata *md;
		rd_kafka_resp_err_t err;
		bool		found = false;
		bool		hopeless = false;

		err = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
		if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
		{
			snprintf(why, sizeof(why), "%s", rd_kafka_err2str(err));
			rd_kafka_poll(rk, 200);
			continue;
		}
		if (md->topic_cnt != 1)
			snprintf(why, sizeof(why), "topic missing from the metadata");
		else if (md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR)
			snprintf(why, sizeof(why), "%s",
					 rd_kafka_err2str(md->topics[0].err));
		else if (md->topics[0].partition_cnt == 0)
			snprintf(why, sizeof(why), "the topic has no partitions yet");
		else if (partition >= md->topics[0].partition_cnt)
		{
			snprintf(why, sizeof(why), "the topic has %d partition%s",
					 md->topics[0].partition_cnt,
					 md->topics[0].partition_cnt == 1 ? "" : "s");
			hopeless = true;
		}
		else
		{
			const rd_kafka_metadata_topic_t *t = &md->topics[0];
			int			i;

			*leader = -1;
			for (i = 0; i < t->partition_cnt; i++)
				if (t->partitions[i].id == partition)
					*leader = t->partitions[i].leader;
			for (i = 0; i < md->broker_cnt && !found; i++)
			{
				if (md->brokers[i].id != *leader)
					continue;
				snprintf(host, host_size, "%s", md->brokers[i].host);
				*port = md->brokers[i].port;
				found = true;
			}
			if (*leader == -1)
				snprintf(why, sizeof(why), "the partition has no leader");
			else if (!found)
				snprintf(why, sizeof(why), "leader %" PRId32
						 " is not among the brokers", *leader);
		}
		rd_kafka_metadata_destroy(md);
		if (found)
			return true;
		if (hopeless)
			break;
		rd_kafka_poll(rk, 200);
	}
	fprintf(stderr, "sv_produce: cannot find the leader of partition %"
			PRId32 " of topic \"%s\": %s\n", partition,
			rd_kafka_topic_name(rkt), why);
	return false;
}

/*
 * Open a TCP connection to host:port, trying each of its addresses, with
 * send and receive timeouts of MARKER_TIMEOUT_S.  Returns the socket, or
 * -1 after a message.
 */
static int
connect_to(const char *host, int port)
{
	struct addrinfo hints;
	struct addrinfo *res;
	struct addrinfo *ai;
	char		service[16];
	int			rc;
	int			saved_errno = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(service, sizeof(service), "%d", port);
	if ((rc = getaddrinfo(host, service, &hints, &res)) != 0)
	{
		fprintf(stderr, "sv_produce: could not resolve \"%s\": %s\n", host,
				gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next)
	{
		struct timeval tv = {MARKER_TIMEOUT_S, 0};
		int			fd = socket(ai->ai_family, ai->ai_socktype,
								ai->ai_protocol);

		if (fd < 0)
		{
			saved_errno = errno;
			continue;
		}
		/* SO_SNDTIMEO also bounds connect() on Linux */
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		{
			freeaddrinfo(res);
			return fd;
		}
		saved_errno = errno;
		close(fd);
	}
	freeaddrinfo(res);
	fprintf(stderr, "sv_produce: could not connect to %s:%d: %s\n", host,
			port, strerror(saved_errno));
	return -1;
}

/*
 * Send or receive exactly len bytes (send: receiving is false).  Returns
 * false, after a message naming what, on error, timeout or end of stream.
 */
static bool
transfer_all(int fd, void *buf, size_t len, bool receiving, const char *what)
{
	uint8_t    *p = buf;

	while (len > 0)
	{
		ssize_t		n;

		if (receiving)
			n = recv(fd, p, len, 0);
		else
			n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
		{
			fprintf(stderr, "sv_produce: %s: %s\n", what,
					n == 0 ? "the broker closed the connection" :
					(errno == EAGAIN || errno == EWOULDBLOCK) ?
					"timed out" : strerror(errno));
			return false;
		}
		p += n;
		len -= (size_t) n;
	}
	return true;
}

/*
 * Send one Produce request with the control batch to the partition's
 * leader and read its response.  On success sets *offset to the base
 * offset the broker gave the marker.  Returns false, after a message, on
 * any failure, including a non-zero error code in the response.
 */
static bool
produce_marker(const Options *opt, rd_kafka_t *rk, rd_kafka_topic_t *rkt,
			   int64_t *offset)
{
	static const char client_id[] = "sv_produce";
	size_t		client_len = strlen(client_id);
	size_t		topic_len = strlen(opt->topic);
	int32_t		leader;
	char		host[256];
	int			port = 0;
	uint8_t    *req;
	uint8_t    *resp = NULL;
	size_t		o = 4;			/* the size goes first, when known */
	int			fd;
	uint8_t		size_buf[4];
	Reader		r;
	int64_t		resp_size;
	int64_t		n;
	int16_t		err;
	bool		ok = false;

	if (topic_len > 249)		/* Kafka's limit; also keeps req small */
	{
		fprintf(stderr, "sv_produce: topic name longer than 249 bytes\n");
		return false;
	}
	if (!partition_leader(rk, rkt, opt->partition, &leader, host,
						  sizeof(host), &port))
		return false;
	if ((fd = connect_to(host, port)) < 0)
		return false;

	req = malloc(64 + client_len + topic_len + MARKER_BATCH_LEN);
	if (req == NULL)
	{
		fprintf(stderr, "sv_produce: out of memory\n");
		close(fd);
		return false;
	}
	/* request header v1 */
	append_be(req, &o, 2, PRODUCE_API_KEY);
	append_be(req, &o, 2, PRODUCE_API_VERSION);
	append_be(req, &o, 4, MARKER_CORRELATION_ID);
	append_be(req, &o, 2, client_len);
	memcpy(req + o, client_id, client_len);
	o += client_len;
	/* Produce v3: transactional_id null, acks 1, timeout */
	append_be(req, &o, 2, (uint16_t) -1);
	append_be(req, &o, 2, 1);
	append_be(req, &o, 4, MARKER_TIMEOUT_S * 1000);
	/* one topic, one partition, its records */
	append_be(req, &o, 4, 1);
	append_be(req, &o, 2, topic_len);
	memcpy(req + o, opt->topic, topic_len);
	o += topic_len;
	append_be(req, &o, 4, 1);
	append_be(req, &o, 4, (uint32_t) opt->partition);
	append_be(req, &o, 4, MARKER_BATCH_LEN);
	make_marker_batch(req + o);
	o += MARKER_BATCH_LEN;
	put_be(req, 4, o - 4);		/* the size: bytes after it */

	if (!transfer_all(fd, req, o, false, "sending the marker") ||
		!transfer_all(fd, size_buf, 4, true, "reading the response"))
		goto done;
	r.data = size_buf;
	r.len = 4;
	r.pos = 0;
	r.ok = true;
	resp_size = get_be(&r, 4);
	if (resp_size < 4 || resp_size > 1 << 20)
	{
		fprintf(stderr, "sv_produce: response of bad size %" PRId64 "\n",
				resp_size);
		goto done;
	}
	resp = malloc((size_t) resp_size);
	if (resp == NULL ||
		!transfer_all(fd, resp, (size_t) resp_size, true,
					  "reading the response"))
		goto done;

	/*
	 * correlation_id, [topic name, [partition, error_code, base_offset,
	 * log_append_time]], throttle_time_ms
	 */
	r.data = resp;
	r.len = (size_t) resp_size;
	r.pos = 0;
	if (get_be(&r, 4) != MARKER_CORRELATION_ID || get_be(&r, 4) != 1 ||
		get_be(&r, 2) != (int64_t) topic_len ||
		r.len - r.pos < topic_len ||
		memcmp(r.data + r.pos, opt->topic, topic_len) != 0)
	{
		fprintf(stderr, "sv_produce: unexpected Produce response\n");
		goto done;
	}
	r.pos += topic_len;
	n = get_be(&r, 4);
	if (n != 1 || get_be(&r, 4) != opt->partition)
	{
		fprintf(stderr, "sv_produce: unexpected Produce response\n");
		goto done;
	}
	err = (int16_t) get_be(&r, 2);
	*offset = get_be(&r, 8);
	if (!r.ok)
		fprintf(stderr, "sv_produce: Produce response too short\n");
	else if (err != 0)
		fprintf(stderr, "sv_produce: broker %" PRId32 " (%s:%d) refused "
				"the marker: %s\n", leader, host, port,
				rd_kafka_err2str((rd_kafka_resp_err_t) err));
	else if (*offset < 0)
		fprintf(stderr, "sv_produce: broker gave the marker offset %"
				PRId64 "\n", *offset);
	else
		ok = true;

done:
	free(resp);
	free(req);
	close(fd);
	return ok;
}

/*
 * Print usage and exit with the given status.
 */
static void
usage(int status)
{
	fprintf(status ? stderr : stdout,
			"Usage: sv_produce --brokers B --topic T MODE [--rate R] "
			"[--out FILE] [-X prop=value ...]\n"
			"MODE is one of\n"
			"  --rides N [--seed S] [--partitions P] [--vendors V] "
			"[--start 'YYYY-MM-DD HH:MM:SS']\n"
			"            [--span-minutes M] [--keys K] "
			"[--format delimited|csv|csv-compact|json|json-compact]\n"
			"            [--pickup-timestamps] [--vendor-header NAME] "
			"[--header NAME=VALUE ...]\n"
			"  --stdin [--partition P] [--key-delim C] [--unescape] "
			"[--null-value] [--timestamp-ms MS]\n"
			"            [--header NAME=VALUE ...]\n"
			"  --marker [--partition P]   append a COMMIT control record "
			"to partition P\n"
			"            (default 0) of a librdkafka mock cluster and print "
			"\"marker at offset N\";\n"
			"            consumers skip it; no --out (it is no message), "
			"--rate has no effect\n"
			"--header NAME=VALUE (up to %d, in this order) goes on every "
			"message.\n"
			"--out FILE: partition, offset, key, value per delivered message, "
			"tab-separated,\n"
			"  bytes < 0x20, 0x7f and \\ as \\xHH, NULL as \\N.\n"
			"\n"
			"--rides: the key is the vendor id; the same --seed gives the "
			"same rides in every\n"
			"--format, whose values are:\n"
			"  delimited  (default) vendor_id, pickup, dropoff, "
			"passenger_count, trip_distance,\n"
			"             payment_type, total_amount joined by \", \", e.g.\n"
			"             1, 2020-07-01 00:25:32, 2020-07-01 00:33:39, 1, "
			"1.50, 2, 9.3\n"
			"  json-compact  json's paths in a fixed order, no whitespace, "
			"no note\n"
			"  csv-compact   csv's seven fields, quoted as there, no note\n"
			"  csv        one RFC 4180 record, ',' separated, no line end: the "
			"seven fields above\n"
			"             as written there, then a note; COPY ... (FORMAT csv) "
			"reads it into 8\n"
			"             columns.  Timestamps always quoted, numbers quoted "
			"at random; the note\n"
			"             is NULL (unquoted empty), \"\" (empty) or quoted "
			"text with commas, \"\",\n"
			"             LF, CR LF, tabs, backslashes, '/', UTF-8\n"
			"  json       one object (whitespace may surround it); jsonb paths "
			"$.vendor_id,\n"
			"             $.trip.pickup.at, $.trip.dropoff (strings), "
			"$.passenger_count,\n"
			"             $.trip.distance, $.payment_type, $.total_amount, "
			"$.items[0].price\n"
			"             (= total_amount), numbers as in delimited, and $.note "
			"(the csv note,\n"
			"             or null).  Members in random order, random "
			"whitespace, extra members\n"
			"             (with decoys) to ignore; the note with JSON escapes "
			"(\\\" \\\\ \\/ \\n\n"
			"             \\uXXXX, surrogate pairs) or raw UTF-8\n"
			"  --pickup-timestamps    each message's timestamp (CreateTime, "
			"ms) is its pickup\n"
			"                         time as UTC (needs --start after "
			"1970-01-01 00:00:00)\n"
			"  --vendor-header NAME   each message has a header NAME = the "
			"vendor id (after\n"
			"                         any --header)\n", MAX_HEADERS);
	exit(status);
}

/*
 * Parse a decimal integer within [min, max] or exit with a message.
 */
static long
int_arg(const char *name, const char *s, long min, long max)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
	{
		fprintf(stderr, "sv_produce: bad value for --%s: \"%s\"\n", name, s);
		usage(2);
	}
	return v;
}

/*
 * Set a producer property or exit with a message.
 */
static void
set_conf(rd_kafka_conf_t *conf, const char *name, const char *value)
{
	char		errstr[512];

	if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) !=
		RD_KAFKA_CONF_OK)
	{
		fprintf(stderr, "sv_produce: %s=%s: %s\n", name, value, errstr);
		exit(2);
	}
}

int
main(int argc, char **argv)
{
	enum
	{
		OPT_SEED = 256, OPT_PARTITIONS, OPT_VENDORS, OPT_START, OPT_SPAN,
		OPT_RATE, OPT_KEYS, OPT_PARTITION, OPT_KEY_DELIM, OPT_UNESCAPE,
		OPT_NULL_VALUE, OPT_OUT, OPT_MARKER, OPT_FORMAT, OPT_PICKUP_TS, OPT_TIMESTAMP_MS,
		OPT_HEADER, OPT_VENDOR_HEADER
	};
	static const struct option long_opts[] = {
		{"brokers", required_argument, NULL, 'b'},
		{"topic", required_argument, NULL, 't'},
		{"rides", required_argument, NULL, 'n'},
		{"stdin", no_argument, NULL, 's'},
		{"marker", no_argument, NULL, OPT_MARKER},
		{"seed", required_argument, NULL, OPT_SEED},
		{"partitions", required_argument, NULL, OPT_PARTITIONS},
		{"vendors", required_argument, NULL, OPT_VENDORS},
		{"start", required_argument, NULL, OPT_START},
		{"span-minutes", required_argument, NULL, OPT_SPAN},
		{"rate", required_argument, NULL, OPT_RATE},
		{"keys", required_argument, NULL, OPT_KEYS},
		{"partition", required_argument, NULL, OPT_PARTITION},
		{"key-delim", required_argument, NULL, OPT_KEY_DELIM},
		{"unescape", no_argument, NULL, OPT_UNESCAPE},
		{"null-value", no_argument, NULL, OPT_NULL_VALUE},
		{"out", required_argument, NULL, OPT_OUT},
		{"format", required_argument, NULL, OPT_FORMAT},
		{"pickup-timestamps", no_argument, NULL, OPT_PICKUP_TS},
		{"timestamp-ms", required_argument, NULL, OPT_TIMESTAMP_MS},
		{"header", required_argument, NULL, OPT_HEADER},
		{"vendor-header", required_argument, NULL, OPT_VENDOR_HEADER},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	Options		opt;
	Throttle	th;
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	rd_kafka_topic_t *rkt;
	char		errstr[512];
	double		t0;
	double		elapsed;
	bool		ok;
	int			c;

	memset(&opt, 0, sizeof(opt));
	opt.seed = 1;
	opt.vendors = 2;
	opt.span_minutes = 240;
	opt.key_delim = -1;
	parse_timestamp("2020-07-01 00:00:00", &opt.start);

	conf = rd_kafka_conf_new();
	set_conf(conf, "linger.ms", "5");
	set_conf(conf, "batch.num.messages", "10000");
	set_conf(conf, "queue.buffering.max.messages", "1000000");
	set_conf(conf, "compression.codec", "none");
	set_conf(conf, "acks", "all");
	set_conf(conf, "enable.idempotence", "false");

	while ((c = getopt_long(argc, argv, "b:t:n:sX:h", long_opts, NULL)) != -1)
	{
		switch (c)
		{
			case 'b':
				opt.brokers = optarg;
				break;
			case 't':
				opt.topic = optarg;
				break;
			case 'n':
				opt.mode = MODE_RIDES;
				opt.rides = int_arg("rides", optarg, 0, LONG_MAX);
				break;
			case 's':
				opt.mode = MODE_STDIN;
				break;
			case OPT_SEED:
				opt.seed = (uint64_t) int_arg("seed", optarg, 0, LONG_MAX);
				break;
			case OPT_PARTITIONS:
				opt.partitions = (int) int_arg("partitions", optarg, 1,
											   100000);
				break;
			case OPT_VENDORS:
				opt.vendors = (int) int_arg("vendors", optarg, 1, 1000000);
				break;
			case OPT_START:
				if (!parse_timestamp(optarg, &opt.start))
				{
					fprintf(stderr, "sv_produce: bad --start \"%s\" "
							"(want 'YYYY-MM-DD HH:MM:SS')\n", optarg);
					usage(2);
				}
				break;
			case OPT_SPAN:
				opt.span_minutes = int_arg("span-minutes", optarg, 1,
										   100L * 366 * 24 * 60);
				break;
			case OPT_RATE:
				{
					char	   *end;

					opt.rate = strtod(optarg, &end);
					if (end == optarg || *end != '\0' || opt.rate < 0)
					{
						fprintf(stderr, "sv_produce: bad --rate \"%s\"\n",
								optarg);
						usage(2);
					}
				}
				break;
			case OPT_KEYS:
				opt.keys = int_arg("keys", optarg, 0, INT32_MAX);
				break;
			case OPT_PARTITION:
				opt.partition = (int32_t) int_arg("partition", optarg, -1,
												  100000);
				break;
			case OPT_KEY_DELIM:
				if (strcmp(optarg, "\\t") == 0)
					opt.key_delim = '\t';
				else if (strlen(optarg) == 1)
					opt.key_delim = (unsigned char) optarg[0];
				else
				{
					fprintf(stderr, "sv_produce: --key-delim wants one "
							"character (or \\t)\n");
					usage(2);
				}
				break;
			case OPT_MARKER:
				opt.mode = MODE_MARKER;
				break;
			case OPT_UNESCAPE:
				opt.unescape = true;
				break;
			case OPT_NULL_VALUE:
				opt.null_value = true;
				break;
			case OPT_OUT:
				opt.out_path = optarg;
				break;
			case OPT_FORMAT:
				if (strcmp(optarg, "delimited") == 0)
					opt.format = FORMAT_DELIMITED;
				else if (strcmp(optarg, "csv") == 0)
					opt.format = FORMAT_CSV;
				else if (strcmp(optarg, "csv-compact") == 0)
					opt.format = FORMAT_CSV_COMPACT;
				else if (strcmp(optarg, "json") == 0)
					opt.format = FORMAT_JSON;
				else if (strcmp(optarg, "json-compact") == 0)
					opt.format = FORMAT_JSON_COMPACT;
				else
				{
					fprintf(stderr, "sv_produce: bad --format \"%s\" "
							"(want delimited, csv, csv-compact, json or json-compact)\n", optarg);
					usage(2);
				}
				break;
			case OPT_PICKUP_TS:
				opt.pickup_timestamps = true;
				break;
			case OPT_TIMESTAMP_MS:
				{
					char	   *end;

					errno = 0;
					opt.stdin_timestamp = strtoll(optarg, &end, 10);
					if (errno != 0 || *end != '\0' || end == optarg)
					{
						fprintf(stderr, "sv_produce: bad --timestamp-ms \"%s\"\n", optarg);
						usage(2);
					}
				}
				break;
			case OPT_HEADER:
				{
					char	   *eq = strchr(optarg, '=');

					if (eq == NULL || eq == optarg)
					{
						fprintf(stderr, "sv_produce: --header wants "
								"NAME=VALUE\n");
						usage(2);
					}
					if (opt.n_headers == MAX_HEADERS)
					{
						fprintf(stderr, "sv_produce: more than %d "
								"--header\n", MAX_HEADERS);
						usage(2);
					}
					*eq = '\0';
					opt.headers[opt.n_headers].name = optarg;
					opt.headers[opt.n_headers].value = eq + 1;
					opt.n_headers++;
				}
				break;
			case OPT_VENDOR_HEADER:
				if (optarg[0] == '\0')
				{
					fprintf(stderr, "sv_produce: --vendor-header wants a "
							"name\n");
					usage(2);
				}
				opt.vendor_header = optarg;
				break;
			case 'X':
				{
					char	   *eq = strchr(optarg, '=');

					if (eq == NULL)
					{
						fprintf(stderr, "sv_produce: -X wants prop=value\n");
						usage(2);
					}
					*eq = '\0';
					set_conf(conf, optarg, eq + 1);
				}
				break;
			case 'h':
				usage(0);
				break;
			default:
				usage(2);
		}
	}
	if (optind < argc || opt.brokers == NULL || opt.topic == NULL ||
		opt.mode == MODE_NONE)
		usage(2);
	if (opt.mode == MODE_MARKER && opt.out_path != NULL)
	{
		fprintf(stderr, "sv_produce: --marker takes no --out "
				"(a marker is not a message)\n");
		usage(2);
	}
	if (opt.mode != MODE_RIDES &&
		(opt.format != FORMAT_DELIMITED || opt.pickup_timestamps ||
		 opt.vendor_header != NULL))
	{
		fprintf(stderr, "sv_produce: --format, --pickup-timestamps and "
				"--vendor-header go with --rides only\n");
		usage(2);
	}
	if (opt.mode == MODE_MARKER && opt.n_headers > 0)
	{
		fprintf(stderr, "sv_produce: --marker takes no --header "
				"(a marker is not a message)\n");
		usage(2);
	}
	if (opt.pickup_timestamps && opt.start <= 0)
	{
		fprintf(stderr, "sv_produce: --pickup-timestamps wants --start "
				"after 1970-01-01 00:00:00\n");
		usage(2);
	}
	if (opt.mode == MODE_MARKER && opt.partition < 0)
	{
		fprintf(stderr, "sv_produce: --marker wants a partition >= 0\n");
		usage(2);
	}
	if (opt.partition == -1)
		opt.partition = RD_KAFKA_PARTITION_UA;

	set_conf(conf, "bootstrap.servers", opt.brokers);
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rd_kafka_conf_set_log_cb(conf, on_log);

	if (opt.out_path != NULL)
	{
		out_file = fopen(opt.out_path, "w");
		if (out_file == NULL)
		{
			fprintf(stderr, "sv_produce: could not open \"%s\": %s\n",
					opt.out_path, strerror(errno));
			return 1;
		}
		setvbuf(out_file, NULL, _IOFBF, 1 << 20);
	}

	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (rk == NULL)
	{
		fprintf(stderr, "sv_produce: rd_kafka_new failed: %s\n", errstr);
		return 1;
	}
	rkt = rd_kafka_topic_new(rk, opt.topic, NULL);
	if (rkt == NULL)
	{
		fprintf(stderr, "sv_produce: bad topic \"%s\": %s\n", opt.topic,
				rd_kafka_err2str(rd_kafka_last_error()));
		rd_kafka_destroy(rk);
		return 1;
	}

	if (opt.mode == MODE_MARKER)
	{
		int64_t		offset;

		ok = produce_marker(&opt, rk, rkt, &offset);
		if (ok)
			printf("marker at offset %" PRId64 "\n", offset);
		rd_kafka_topic_destroy(rkt);
		rd_kafka_destroy(rk);
		return ok ? 0 : 1;
	}

	th.rate = opt.rate;
	th.burst = opt.rate / 100.0 > 1.0 ? opt.rate / 100.0 : 1.0;	/* 10 ms */
	th.tokens = 1.0;
	th.last = now_seconds();

	t0 = now_seconds();
	if (opt.mode == MODE_RIDES)
		ok = produce_rides(&opt, rk, rkt, &th);
	else
		ok = produce_stdin(&opt, rk, rkt, &th);

	if (rd_kafka_flush(rk, FLUSH_TIMEOUT_MS) != RD_KAFKA_RESP_ERR_NO_ERROR)
	{
		fprintf(stderr, "sv_produce: %d messages not delivered after %d s\n",
				rd_kafka_outq_len(rk), FLUSH_TIMEOUT_MS / 1000);
		ok = false;
	}
	elapsed = now_seconds() - t0;

	if (n_failed > 0 || n_delivered != n_produced)
	{
		fprintf(stderr, "sv_produce: %" PRId64 " of %" PRId64
				" messages delivered, %" PRId64 " failed\n",
				n_delivered, n_produced, n_failed);
		ok = false;
	}
	fprintf(stderr, "produced %" PRId64 " messages in %.3f s (%.0f msg/s)\n",
			n_delivered, elapsed,
			elapsed > 0 ? (double) n_delivered / elapsed : 0.0);

	if (out_file != NULL && (fflush(out_file) != 0 || fclose(out_file) != 0))
	{
		fprintf(stderr, "sv_produce: writing \"%s\": %s\n",
				opt.out_path, strerror(errno));
		ok = false;
	}

	rd_kafka_topic_destroy(rkt);
	rd_kafka_destroy(rk);
	return ok ? 0 : 1;
}
