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
 *	  csv-compact  the same without the note column (sv_produce --format
 *	               csv-compact, the end-to-end benchmark's "quoted CSV"):
 *	               "1","2020-07-01 00:25:32","2020-07-01 00:33:39",1,"1.50",2,9.3
 *	  json         {"vendor_id": 1, "tpep_pickup_datetime": "2020-07-01 00:25:32",
 *	               ..., "total_amount": 9.3}  (the same 7 columns by name)
 *	  json-varied  json, with a last member ("tip_amount") in every other
 *	               message: the worst case for the parser's shape (see
 *	               json_shape_parse), which misses at the end every time
 *	  json-wide    the ride's 18 members, as in the zoomcamp's rides.csv; the
 *	               7 columns take 7 of them, the other 11 are skipped
 *	  json-nested  {"vendor": {"id": 1}, "trip": {"pickup": {"at": "..."},
 *	               "dropoff": {"at": "..."}, "passengers": 1, "distance": 1.50},
 *	               "payment": {"type": 2, "total": 9.3}}, read by paths
 *	               ($.vendor.id, $.trip.pickup.at, ...)
 *	  json-compact the rides as test/broker/sv_produce --format json-compact
 *	               writes them for the end-to-end benchmark (test/bench/run.sh):
 *	               fixed member order, no whitespace, three columns read by
 *	               paths as the benchmark's column_paths say, the other four
 *	               by name:
 *	               {"vendor_id":1,"trip":{"pickup":{"at":"2020-07-01 00:25:32"},
 *	               "dropoff":"2020-07-01 00:33:39","distance":1.50},
 *	               "passenger_count":1,"payment_type":2,"total_amount":9.3}
 *	  csv          the rides as test/broker/sv_produce --format csv writes
 *	               them for the end-to-end benchmark (test/bench/run.sh, "the
 *	               same rides as quoted CSV (+ a note)"): delimiter ',', both
 *	               timestamps quoted, each number quoted or not at random, and
 *	               an eighth column, note text: NULL, "" or quoted text drawn
 *	               from sv_produce's pieces (commas, doubled quotes, LF and
 *	               CR LF, tabs, UTF-8).  64 messages (8 rides x 8 draws):
 *	               "1","2020-07-01 00:25:32","2020-07-01 00:33:39",1,"1.50",2,9.3,"late, rush hour"
 *
 *	  gcc -std=gnu99 -O2 -Wall -Wextra -Werror -Isrc -o test/parse_bench \
 *		  test/parse_bench.c src/parse.c src/parse_text.c src/csv.c src/json.c src/json_path.c -lm
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
#include "broker/ride_notes.h"


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
#define NCSV 64					/* csv messages: each ride with 8 draws */
#define MSG_MAX 1024

/* csv: the zoomcamp columns plus sv_produce's note column. */
static const SvColumn csv_cols[] = {
	{"vendor_id", SV_TYPE_INT4, -1, -1, -1},
	{"tpep_pickup_datetime", SV_TYPE_TIMESTAMP, -1, -1, -1},
	{"tpep_dropoff_datetime", SV_TYPE_TIMESTAMP, -1, -1, -1},
	{"passenger_count", SV_TYPE_INT4, -1, -1, -1},
	{"trip_distance", SV_TYPE_FLOAT4, -1, -1, -1},
	{"payment_type", SV_TYPE_INT4, -1, -1, -1},
	{"total_amount", SV_TYPE_FLOAT4, -1, -1, -1},
	{"note", SV_TYPE_TEXT, -1, -1, -1},
};

#define NCSVCOLS ((int) (sizeof(csv_cols) / sizeof(csv_cols[0])))


#define lengthof(a) (sizeof(a) / sizeof((a)[0]))

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

/*
 * The compact variant's paths, as test/bench/run.sh's column_paths:
 * tpep_pickup_datetime $.trip.pickup.at, tpep_dropoff_datetime
 * $.trip.dropoff, trip_distance $.trip.distance; no path (nsteps 0) for
 * the others, which are read by name.
 */
static const SvJsonStep st_c_dropoff[] = {{"trip", 4, 0}, {"dropoff", 7, 0}};
static const SvJsonPath compact_paths[NZOOM] = {
	{0, NULL}, {3, st_pickup}, {2, st_c_dropoff}, {0, NULL},
	{2, st_dist}, {0, NULL}, {0, NULL}
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

/*
 * Appends one CSV field to out at *n: quoted with its quotes doubled, or as
 * it is.
 */
static void
csv_field(char *out, size_t *n, const char *s, int quoted)
{
	if (quoted)
		out[(*n)++] = '"';
	for (; *s != '\0'; s++)
	{
		if (quoted && *s == '"')
			out[(*n)++] = '"';
		out[(*n)++] = *s;
	}
	if (quoted)
		out[(*n)++] = '"';
}

/*
 * Writes ride k as sv_produce --format csv does, with its draws from *x:
 * numbers quoted one time in two, then the note, as make_note() draws it
 * (NULL one time in ten, "" one time in ten, else one to three pieces).
 * Returns the length.
 */
static size_t
make_csv(const char *const *f, uint64_t *x, char *out, int note)
{
	uint64_t	kind;
	size_t		n = 0;
	int			i;

	for (i = 0; i < NZOOM; i++)
	{
		csv_field(out, &n, f[i], i == 1 || i == 2 || next_random(x) % 2 == 0);
		if (!note && i == NZOOM - 1)
		{
			out[n] = '\0';
			return n;
		}
		out[n++] = ',';
	}
	kind = next_random(x) % 10;
	if (kind > 0)
	{
		char		note[256];
		int			pieces = kind > 1 ? 1 + (int) (next_random(x) % 3) : 0;

		note[0] = '\0';
		for (i = 0; i < pieces; i++)
		{
			if (i > 0)
				strcat(note, note_separators[next_random(x) % lengthof(note_separators)]);
			strcat(note, note_pieces[next_random(x) % lengthof(note_pieces)]);
		}
		csv_field(out, &n, note, 1);
	}
	out[n] = '\0';
	return n;
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

/*
 * Writes message k in the given format into out (ride k % NLINES; csv draws
 * its quoting and note from *x); returns its length.
 */
static size_t
make_message(const char *format, int k, uint64_t *x, char *out)
{
	char		buf[MSG_MAX];
	char	   *f[NZOOM];

	k %= (int) NLINES;
	if (strcmp(format, "delimited") == 0)
		return (size_t) snprintf(out, MSG_MAX, "%s", lines[k]);
	split_ride(lines[k], buf, f);
	if (strcmp(format, "csv") == 0 || strcmp(format, "csv-compact") == 0)
		return make_csv((const char *const *) f, x, out, format[3] == '\0');
	if (strcmp(format, "json") == 0)
		return (size_t) snprintf(out, MSG_MAX,
								 "{\"vendor_id\": %s, \"tpep_pickup_datetime\": \"%s\", "
								 "\"tpep_dropoff_datetime\": \"%s\", \"passenger_count\": %s, "
								 "\"trip_distance\": %s, \"payment_type\": %s, \"total_amount\": %s}",
								 f[0], f[1], f[2], f[3], f[4], f[5], f[6]);
	if (strcmp(format, "json-compact") == 0)
		return (size_t) snprintf(out, MSG_MAX,
								 "{\"vendor_id\":%s,\"trip\":{\"pickup\":{\"at\":\"%s\"},"
								 "\"dropoff\":\"%s\",\"distance\":%s},\"passenger_count\":%s,"
								 "\"payment_type\":%s,\"total_amount\":%s}",
								 f[0], f[1], f[2], f[4], f[3], f[5], f[6]);
	if (strcmp(format, "json-varied") == 0)
		return (size_t) snprintf(out, MSG_MAX,
								 "{\"vendor_id\": %s, \"tpep_pickup_datetime\": \"%s\", "
								 "\"tpep_dropoff_datetime\": \"%s\", \"passenger_count\": %s, "
								 "\"trip_distance\": %s, \"payment_type\": %s, \"total_amount\": %s%s}",
								 f[0], f[1], f[2], f[3], f[4], f[5], f[6],
								 k % 2 ? ", \"tip_amount\": 1.5" : "");
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
	static char pool[NCSV * MSG_MAX];
	char	   *msgs[NCSV];
	size_t		lens[NCSV];
	size_t		used = 0;
	bool		is_csv = strncmp(format, "csv", 3) == 0;
	size_t		nmsgs = is_csv ? NCSV : NLINES;
	uint64_t	x = 20200701;
	SvSchema	schema = zoom;
	SvJsonPlan *plan = NULL;
	SvValue		values[NCSVCOLS];
	SvParseError err;
	long		chunk;
	double		total = 0,
				best = 1e30;
	long		i,
				done = 0,
				failed = 0;
	int64_t		checksum = 0;
	size_t		bytes = 0;

	/*
	 * The messages back to back, as in a fetched batch: at a stride of a
	 * power of two they would share a few cache sets and evict each other.
	 */
	for (i = 0; i < (long) nmsgs; i++)
	{
		char		buf[MSG_MAX];

		lens[i] = make_message(format, (int) i, &x, buf);
		msgs[i] = pool + used;
		memcpy(msgs[i], buf, lens[i]);
		used += lens[i];
	}
	if (is_csv)
	{
		schema.format = SV_FORMAT_CSV;
		schema.columns = csv_cols;
		/* csv-compact: the seven columns without the note */
		schema.ncolumns = strcmp(format, "csv") == 0 ? NCSVCOLS : NZOOM;
		schema.delimiter = ",";
		schema.delimiter_len = 1;
		schema.scratch = &scratch;
	}
	else if (strcmp(format, "delimited") != 0)
	{
		schema.format = SV_FORMAT_JSON;
		schema.scratch = &scratch;
		if (strcmp(format, "json-nested") == 0)
			schema.paths = nested_paths;
		else if (strcmp(format, "json-compact") == 0)
			schema.paths = compact_paths;
		/* the column lookup built once, as the worker does (SV_BENCH_NO_PLAN: per message) */
		if (getenv("SV_BENCH_NO_PLAN") == NULL)
		{
			plan = malloc(sv_json_plan_size(&schema));
			if (plan != NULL && sv_json_plan_build(&schema, plan))
				schema.json_plan = plan;
		}
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
			size_t		k = (size_t) i % nmsgs;

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
	free(plan);
	return failed;
}

int
main(int argc, char **argv)
{
	static const char *const formats[] = {"delimited", "csv", "csv-compact", "json", "json-varied",
	"json-wide", "json-nested", "json-compact"};
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
