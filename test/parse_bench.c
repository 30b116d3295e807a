/*-------------------------------------------------------------------------
 *
 * parse_bench.c
 *	  Throughput benchmark for sv_parse_message() (not a test).
 *
 * Parses 5 million copies of zoomcamp rides (cycling through a few, so the
 * branch predictor cannot learn one message) in each format, and prints
 * messages per second and nanoseconds per message, overall and for the
 * fastest tenth (less disturbed by other processes):
 *
 *	  delimited    1, 2020-07-01 00:25:32, 2020-07-01 00:33:39, 1, 1.50, 2, 9.3
 *	  json         {"vendor_id": 1, "tpep_pickup_datetime": "2020-07-01 00:25:32",
 *	               ..., "total_amount": 9.3}  (the same 7 columns by name)
 *	  json-wide    the ride's 18 members, as in the zoomcamp's rides.csv; the
 *	               7 columns take 7 of them, the other 11 are skipped
 *	  json-nested  {"vendor": {"id": 1}, "trip": {"pickup": {"at": "..."},
 *	               "dropoff": {"at": "..."}, "passengers": 1, "distance": 1.50},
 *	               "payment": {"type": 2, "total": 9.3}}, read by paths
 *	               ($.vendor.id, $.trip.pickup.at, ...)
 *
 *	  gcc -std=gnu99 -O2 -Wall -Wextra -Werror -Isrc -o test/parse_bench \
 *		  test/parse_bench.c src/parse.c src/csv.c src/json.c -lm
 *	  ./test/parse_bench [count [format]]
 *
 * test/parse_bench.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parse.h"
#include "zoomcamp_schema.h"


static const char *const lines[] = {
	"1, 2020-07-01 00:25:32, 2020-07-01 00:33:39, 1, 1.50, 2, 9.3",
	"2, 2020-07-01 00:55:23, 2020-07-01 01:01:10, 1, 0.85, 2, 8.3",
	"2, 2020-07-01 00:17:53, 2020-07-01 00:26:41, 1, 2.07, 1, 15.36",
	"1, 2020-07-01 00:52:09, 2020-07-01 01:19:42, 3, 11.80, 1, 47.41",
	"2, 2020-07-01 00:04:43, 2020-07-01 00:12:25, 2, 1.74, 2, 10.3",
	"1, 2020-07-01 00:44:25, 2020-07-01 00:50:12, 1, 1.20, 1, 11.15",
	"2, 2020-07-01 00:30:16, 2020-07-01 00:40:57, 1, 3.51, 2, 14.3",
	"1, 2020-07-01 00:21:50, 2020-07-01 00:27:16, 0, 0.90, 1, 9.95",
};

#define NLINES (sizeof(lines) / sizeof(lines[0]))
#define MSG_MAX 1024

/* The nested variant's paths, one per zoomcamp column. */
static const SvJsonStep st_vendor[] = {{"vendor", 6, 0}, {"id", 2, 0}};
static const SvJsonStep st_pickup[] = {{"trip", 4, 0}, {"pickup", 6, 0}, {"at", 2, 0}};
static const SvJsonStep st_dropoff[] = {{"trip", 4, 0}, {"dropoff", 7, 0}, {"at", 2, 0}};
static const SvJsonStep st_pass[] = {{"trip", 4, 0}, {"passengers", 10, 0}};
static const SvJsonStep st_dist[] = {{"trip", 4, 0}, {"distance", 8, 0}};
static const SvJsonStep st_ptype[] = {{"payment", 7, 0}, {"type", 4, 0}};
static const SvJsonStep st_total[] = {{"payment", 7, 0}, {"total", 5, 0}};
static const SvJsonPath nested_paths[NZOOM] = {
	{2, st_vendor}, {3, st_pickup}, {3, st_dropoff}, {2, st_pass},
	{2, st_dist}, {2, st_ptype}, {2, st_total}
};

static char scratch_buf[MSG_MAX];
static SvScratch scratch = {scratch_buf, sizeof(scratch_buf)};

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Splits a delimited ride into its 7 fields (each NUL-terminated in buf). */
static void
split_ride(const char *line, char *buf, char **f)
{
	int			i;

	strcpy(buf, line);
	f[0] = buf;
	for (i = 1; i < NZOOM; i++)
	{
		char	   *d = strstr(f[i - 1], ", ");

		*d = '\0';
		f[i] = d + 2;
	}
}

/* Writes ride k in the given format into out; returns its length. */
static size_t
make_message(const char *format, int k, char *out)
{
	char		buf[MSG_MAX];
	char	   *f[NZOOM];

	if (strcmp(format, "delimited") == 0)
		return (size_t) snprintf(out, MSG_MAX, "%s", lines[k]);
	split_ride(lines[k], buf, f);
	if (strcmp(format, "json") == 0)
		return (size_t) snprintf(out, MSG_MAX,
								 "{\"vendor_id\": %s, \"tpep_pickup_datetime\": \"%s\", "
								 "\"tpep_dropoff_datetime\": \"%s\", \"passenger_count\": %s, "
								 "\"trip_distance\": %s, \"payment_type\": %s, \"total_amount\": %s}",
								 f[0], f[1], f[2], f[3], f[4], f[5], f[6]);
	if (strcmp(format, "json-wide") == 0)
		return (size_t) snprintf(out, MSG_MAX,
								 "{\"vendor_id\": %s, \"tpep_pickup_datetime\": \"%s\", "
								 "\"tpep_dropoff_datetime\": \"%s\", \"passenger_count\": %s, "
								 "\"trip_distance\": %s, \"RatecodeID\": 1, \"store_and_fwd_flag\": \"N\", "
								 "\"PULocationID\": 238, \"DOLocationID\": 239, \"payment_type\": %s, "
								 "\"fare_amount\": 6.5, \"extra\": 0.5, \"mta_tax\": 0.5, "
								 "\"tip_amount\": 0, \"tolls_amount\": 0, \"improvement_surcharge\": 0.3, "
								 "\"total_amount\": %s, \"congestion_surcharge\": 2.5}",
								 f[0], f[1], f[2], f[3], f[4], f[5], f[6]);
	return (size_t) snprintf(out, MSG_MAX,
							 "{\"vendor\": {\"id\": %s}, \"trip\": {\"pickup\": {\"at\": \"%s\"}, "
							 "\"dropoff\": {\"at\": \"%s\"}, \"passengers\": %s, \"distance\": %s}, "
							 "\"payment\": {\"type\": %s, \"total\": %s}}",
							 f[0], f[1], f[2], f[3], f[4], f[5], f[6]);
}

/*
 * Parses count messages of the format and prints the rate; returns the
 * number of messages that failed (none should).
 */
static long
bench(const char *format, long count)
{
	static char msgs[NLINES][MSG_MAX];
	size_t		lens[NLINES];
	SvSchema	schema = zoom;
	SvValue		values[NZOOM];
	SvParseError err;
	long		chunk;
	double		total = 0,
				best = 1e30;
	long		i,
				done = 0,
				failed = 0;
	int64_t		checksum = 0;
	size_t		bytes = 0;

	for (i = 0; i < (long) NLINES; i++)
		lens[i] = make_message(format, (int) i, msgs[i]);
	if (strcmp(format, "delimited") != 0)
	{
		schema.format = SV_FORMAT_JSON;
		schema.scratch = &scratch;
		if (strcmp(format, "json-nested") == 0)
			schema.paths = nested_paths;
	}

	/*
	 * Time ten chunks separately: the best chunk shows what one core does
	 * when nothing else runs on it, the total includes any interference.
	 */
	chunk = count / 10 > 0 ? count / 10 : 1;
	while (done < count)
	{
		long		n = (count - done < chunk) ? count - done : chunk;
		double		t0 = now_sec(),
					t1;

		for (i = done; i < done + n; i++)
		{
			size_t		k = (size_t) i % NLINES;

			if (!sv_parse_message(&schema, msgs[k], lens[k], values, &err))
			{
				if (failed++ == 0)
					fprintf(stderr, "%s: %s\n", format, err.reason);
			}
			checksum += values[1].v.i + values[3].v.i;
			bytes += lens[k];
		}
		t1 = now_sec();
		total += t1 - t0;
		if ((t1 - t0) / n < best)
			best = (t1 - t0) / n;
		done += n;
	}

	printf("%-12s %ld messages (%.1f bytes each) in %.3f s: %.2f M messages/s overall, "
		   "%.2f M messages/s best chunk (%.1f ns/message); failed %ld, checksum %lld\n",
		   format, count, (double) bytes / count, total, count / total / 1e6,
		   1e-6 / best, best * 1e9, failed, (long long) checksum);
	return failed;
}

int
main(int argc, char **argv)
{
	static const char *const formats[] = {"delimited", "json", "json-wide", "json-nested"};
	long		count = argc > 1 ? atol(argv[1]) : 5000000;
	long		failed = 0;
	size_t		i;

	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
	{
		if (argc > 2 && strcmp(argv[2], formats[i]) != 0)
			continue;
		failed += bench(formats[i], count);
	}
	return failed != 0;
}
