/*-------------------------------------------------------------------------
 *
 * parse_bench.c
 *	  Throughput benchmark for sv_parse_message() (not a test).
 *
 * Parses 5 million copies of zoomcamp lines (cycling through a few, so the
 * branch predictor cannot learn one line) and prints messages per second,
 * overall and for the fastest tenth (less disturbed by other processes).
 *
 *	  gcc -std=gnu99 -O2 -Wall -Wextra -Werror -Isrc -o test/parse_bench \
 *		  test/parse_bench.c src/parse.c -lm
 *	  ./test/parse_bench [count]
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

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	long		count = argc > 1 ? atol(argv[1]) : 5000000;
	long		chunk;
	size_t		lens[NLINES];
	SvValue		values[7];
	SvParseError err;
	double		total = 0,
				best = 1e30;
	long		i,
				done = 0,
				failed = 0;
	int64_t		checksum = 0;
	size_t		bytes = 0;

	for (i = 0; i < (long) NLINES; i++)
		lens[i] = strlen(lines[i]);

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

			if (!sv_parse_message(&zoom, lines[k], lens[k], values, &err))
				failed++;
			checksum += values[1].v.i + values[3].v.i;
			bytes += lens[k];
		}
		t1 = now_sec();
		total += t1 - t0;
		if ((t1 - t0) / n < best)
			best = (t1 - t0) / n;
		done += n;
	}

	printf("%ld messages (%.1f bytes each) in %.3f s: %.2f M messages/s overall, "
		   "%.2f M messages/s best chunk (%.1f ns/message); failed %ld, checksum %lld\n",
		   count, (double) bytes / count, total, count / total / 1e6,
		   1e-6 / best, best * 1e9, failed, (long long) checksum);
	return failed != 0;
}
