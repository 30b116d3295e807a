/*-------------------------------------------------------------------------
 *
 * sv_produce.c
 *		A fast Kafka producer for streamview's tests, demo and benchmarks.
 *
 * Two modes:
 *
 *	--rides N	generate N taxi rides in the zoomcamp format, deterministic for
 *				a given --seed.  The value is seven fields joined by ", ":
 *				vendor_id, tpep_pickup_datetime, tpep_dropoff_datetime,
 *				passenger_count, trip_distance, payment_type, total_amount;
 *				the key is the vendor id as text.  Pickup times are spread
 *				at random over [--start, --start + --span-minutes), so rides
 *				arrive out of time order.  Message i goes to partition
 *				i % P, P being --partitions or the topic's partition count.
 *
 *	--stdin		one message per input line (without its newline), to
 *				--partition (default 0; -1 lets librdkafka choose by key).
 *				--key-delim C: the text before the first C is the key.
 *				--unescape: "\\" and "\xHH" in key and value are decoded, so
 *				tests can send NUL bytes and invalid UTF-8.
 *				--null-value: a value that is exactly "\N" is sent as NULL.
 *
 * --rate R throttles either mode to R messages/s.  --out FILE writes one
 * line per delivered message, in delivery order:
 *		partition <TAB> offset <TAB> key <TAB> value
 * where bytes below 0x20, 0x7f and the backslash are written as \xHH, and
 * a NULL key or value as \N.
 *
 * Exit status is 0 only if every message was delivered.
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
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#define POLL_EVERY		1000	/* serve delivery reports this often */
#define FLUSH_TIMEOUT_MS 60000
#define MAX_ERRORS_SHOWN 10

typedef enum Mode
{
	MODE_NONE,
	MODE_RIDES,
	MODE_STDIN
} Mode;

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

	/* --stdin */
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
 * splitmix64: small, fast, good enough, and the same on every platform.
 */
static uint64_t
next_random(uint64_t *state)
{
	uint64_t	z = (*state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
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
 * Produce one message (copied by librdkafka), retrying while the local
 * queue is full.  key and value may be NULL.  Returns false on error.
 */
static bool
produce_one(rd_kafka_t *rk, rd_kafka_topic_t *rkt, int32_t partition,
			const void *key, size_t key_len,
			const void *value, size_t value_len)
{
	for (;;)
	{
		rd_kafka_resp_err_t err;

		err = rd_kafka_producev(rk,
								RD_KAFKA_V_RKT(rkt),
								RD_KAFKA_V_PARTITION(partition),
								RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
								RD_KAFKA_V_KEY((void *) key, key_len),
								RD_KAFKA_V_VALUE((void *) value, value_len),
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
 * --rides: generate and produce the rides.
 */
static bool
produce_rides(const Options *opt, rd_kafka_t *rk, rd_kafka_topic_t *rkt,
			  Throttle *th)
{
	uint64_t	state = opt->seed;
	int			partitions = opt->partitions;
	int64_t		span = (int64_t) opt->span_minutes * 60;
	long		i;

	if (partitions <= 0 && (partitions = topic_partition_count(rk, rkt)) < 0)
		return false;

	for (i = 0; i < opt->rides; i++)
	{
		char		value[256];
		char		key[16];
		char		pickup_s[20];
		char		dropoff_s[20];
		char		amount_s[32];
		int64_t		vendor = random_between(&state, 1, opt->vendors);
		int64_t		pickup = opt->start + random_between(&state, 0, span - 1);
		int64_t		dropoff = pickup + random_between(&state, 60, 3600);
		int64_t		passengers = random_between(&state, 1, 6);
		int64_t		distance = random_between(&state, 10, 3000);
		int64_t		payment = random_between(&state, 1,
											 opt->keys > 0 ? opt->keys : 4);
		int64_t		amount = random_between(&state, 300, 15000);
		int			key_len;
		int			value_len;

		format_timestamp(pickup_s, pickup);
		format_timestamp(dropoff_s, dropoff);
		format_amount(amount_s, sizeof(amount_s), amount);
		key_len = snprintf(key, sizeof(key), "%" PRId64, vendor);
		value_len = snprintf(value, sizeof(value),
							 "%" PRId64 ", %s, %s, %" PRId64 ", %" PRId64
							 ".%02" PRId64 ", %" PRId64 ", %s",
							 vendor, pickup_s, dropoff_s, passengers,
							 distance / 100, distance % 100, payment,
							 amount_s);

		throttle_wait(th, rk);
		if (!produce_one(rk, rkt, (int32_t) (i % partitions),
						 key, (size_t) key_len, value, (size_t) value_len))
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
						 null_value ? 0 : value_len))
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
			"            [--span-minutes M] [--keys K]\n"
			"  --stdin [--partition P] [--key-delim C] [--unescape] "
			"[--null-value]\n");
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
		OPT_NULL_VALUE, OPT_OUT
	};
	static const struct option long_opts[] = {
		{"brokers", required_argument, NULL, 'b'},
		{"topic", required_argument, NULL, 't'},
		{"rides", required_argument, NULL, 'n'},
		{"stdin", no_argument, NULL, 's'},
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
			case OPT_UNESCAPE:
				opt.unescape = true;
				break;
			case OPT_NULL_VALUE:
				opt.null_value = true;
				break;
			case OPT_OUT:
				opt.out_path = optarg;
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
