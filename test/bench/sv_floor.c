/*-------------------------------------------------------------------------
 *
 * sv_floor.c
 *		The floor of streamview's benchmark: how fast a plain librdkafka
 *		consumer reads a topic from the local broker, doing nothing with
 *		the messages but count them.
 *
 * Assigns every partition of the topic at offset 0 (no group protocol, no
 * offset commits, like streamview's workers), then takes messages with
 * rd_kafka_consume_batch_queue() from the consumer queue until N have been
 * read.  librdkafka's defaults otherwise, as a user's consumer would have.
 *
 * Prints one line of key=value pairs on stdout:
 *		messages=N whole_s=S whole_rate=R steady_s=S steady_rate=R
 *		cpu_consumer_s=C cpu_librdkafka_s=L switches_consumer=V/I
 *	whole:  from before rd_kafka_new() to the Nth message (start-up included)
 *	steady: from the batch that reached 10% of N to the Nth message
 *			(rate = messages read in between / time in between)
 *	cpu:	CPU seconds until the Nth message of the consuming thread, and
 *			of all the others (librdkafka's), to set beside the worker's;
 *			the consuming thread's voluntary/involuntary context switches
 *
 * With --latency, messages are taken one at a time (rd_kafka_consume_queue)
 * with fetch.wait.max.ms = 50 (as streamview sets it), and every message's
 * age when it is read (now - its CreateTime, wall clock, ms) is kept; then
 * p50/p99/max are printed:
 *		messages=N lat_p50_ms=X lat_p99_ms=Y lat_max_ms=Z
 * (start it before producing: it is the freshness floor of the broker and
 * the producer, with no processing at all).
 *
 * Options for experiments (the defaults above are unchanged without them):
 *	-X key=value	any librdkafka consumer property, applied after sv_floor's
 *					own settings (repeatable; a later one wins)
 *	--pause-every N --pause-ms MS
 *					after every N messages consumed, sleep MS ms without
 *					calling librdkafka, as a worker's batch commit pauses
 *					consumption (the pauses count in whole and steady time)
 *	--stats			at the end, print on stderr
 *						sv_floor: peak_rss_kb=K max_wait_ms=W waits_over_100ms=C
 *					K: the process's peak RSS (VmHWM of /proc/self/status);
 *					W: the longest single call into librdkafka for messages
 *					once the first message has arrived (a stall of fetching
 *					shows here, whatever the machine's load does to rates);
 *					C: how many such calls took over 100 ms
 *	--version		print the librdkafka version and the effective values
 *					of the prefetch properties (after -X) on stdout, and exit
 *
 * Usage: sv_floor --brokers B --topic T --messages N [--timeout-s S] [--latency]
 *				   [-X key=value]... [--pause-every N --pause-ms MS] [--stats]
 *		  sv_floor --version [-X key=value]...
 *
 * Build:
 *		gcc -std=gnu99 -O2 -Wall -Wextra -o sv_floor sv_floor.c -lrdkafka
 *
 * IDENTIFICATION
 *		test/bench/sv_floor.c
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE				/* RUSAGE_THREAD */
#include <getopt.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#include <librdkafka/rdkafka.h>

#define BATCH 10000

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void
set(rd_kafka_conf_t *conf, const char *key, const char *value)
{
	char		errstr[512];

	if (rd_kafka_conf_set(conf, key, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
	{
		fprintf(stderr, "sv_floor: %s=%s: %s\n", key, value, errstr);
		exit(2);
	}
}

/* CPU seconds (user + system) of this thread, or of the whole process. */
static double
cpu_seconds(clockid_t clock)
{
	struct timespec ts;

	if (clock_gettime(clock, &ts) != 0)
		return -1;
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static double
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double) ts.tv_sec * 1000.0 + (double) ts.tv_nsec / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return x < y ? -1 : x > y;
}

static void
usage(void)
{
	fprintf(stderr, "Usage: sv_floor --brokers B --topic T --messages N [--timeout-s S] [--latency]\n"
			"                [-X key=value]... [--pause-every N --pause-ms MS] [--stats]\n"
			"       sv_floor --version [-X key=value]...\n");
	exit(2);
}

/* Applies the -X key=value options, in order. */
static void
set_extra(rd_kafka_conf_t *conf, char **extra, int nextra)
{
	for (int i = 0; i < nextra; i++)
	{
		char	   *eq = strchr(extra[i], '=');

		if (eq == NULL || eq == extra[i])
		{
			fprintf(stderr, "sv_floor: -X %s: expected key=value\n", extra[i]);
			exit(2);
		}
		*eq = '\0';
		set(conf, extra[i], eq + 1);
		*eq = '=';
	}
}

/* The librdkafka version and the prefetch properties' effective values. */
static void
print_version(rd_kafka_conf_t *conf)
{
	static const char *const props[] = {
		"queued.min.messages", "queued.max.messages.kbytes",
		"fetch.error.backoff.ms", "fetch.queue.backoff.ms",
		"fetch.wait.max.ms", "fetch.max.bytes", "max.partition.fetch.bytes"
	};

	printf("librdkafka=%s", rd_kafka_version_str());
	for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++)
	{
		char		value[256];
		size_t		len = sizeof(value);

		if (rd_kafka_conf_get(conf, props[i], value, &len) == RD_KAFKA_CONF_OK)
			printf(" %s=%s", props[i], value);
		else
			printf(" %s=n/a", props[i]);
	}
	printf("\n");
}

/* VmHWM of this process in kB, or -1. */
static long
peak_rss_kb(void)
{
	FILE	   *f = fopen("/proc/self/status", "r");
	char		line[256];
	long		kb = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmHWM: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void
sleep_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0)
		;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"brokers", required_argument, NULL, 'b'},
		{"topic", required_argument, NULL, 't'},
		{"messages", required_argument, NULL, 'n'},
		{"timeout-s", required_argument, NULL, 'T'},
		{"latency", no_argument, NULL, 'L'},
		{"pause-every", required_argument, NULL, 'P'},
		{"pause-ms", required_argument, NULL, 'M'},
		{"stats", no_argument, NULL, 'R'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0}
	};
	const char *brokers = NULL;
	const char *topic = NULL;
	long long	want = 0;
	double		timeout_s = 300;
	char		errstr[512];
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	rd_kafka_queue_t *queue;
	const struct rd_kafka_metadata *md;
	rd_kafka_topic_t *rkt;
	rd_kafka_topic_partition_list_t *parts;
	rd_kafka_message_t **msgs;
	long long	got = 0;
	long long	tenth;
	long long	got10 = 0;
	long long	errors = 0;
	double		t0,
				t10 = 0,
				t100,
				cpu_consumer,
				cpu_process,
				deadline;
	struct rusage ru;
	int			c;
	bool		latency = false;
	double	   *lat = NULL;
	char	  **extra = calloc(argc, sizeof(char *));
	int			nextra = 0;
	long long	pause_every = 0;
	long		pause_ms = 0;
	long long	next_pause = 0;
	bool		want_stats = false;
	double		max_wait = 0;
	long		slow_waits = 0;
	bool		version = false;

	while ((c = getopt_long(argc, argv, "b:t:n:T:X:", opts, NULL)) != -1)
	{
		switch (c)
		{
			case 'b':
				brokers = optarg;
				break;
			case 't':
				topic = optarg;
				break;
			case 'n':
				want = atoll(optarg);
				break;
			case 'T':
				timeout_s = atof(optarg);
				break;
			case 'L':
				latency = true;
				break;
			case 'X':
				extra[nextra++] = optarg;
				break;
			case 'P':
				pause_every = atoll(optarg);
				break;
			case 'M':
				pause_ms = atol(optarg);
				break;
			case 'R':
				want_stats = true;
				break;
			case 'V':
				version = true;
				break;
			default:
				usage();
		}
	}
	if (version)
	{
		conf = rd_kafka_conf_new();
		set_extra(conf, extra, nextra);
		print_version(conf);
		rd_kafka_conf_destroy(conf);
		return 0;
	}
	if (brokers == NULL || topic == NULL || want <= 0 || optind < argc ||
		pause_every < 0 || pause_ms < 0 || (pause_every > 0) != (pause_ms > 0))
		usage();
	next_pause = pause_every;
	tenth = want / 10 > 0 ? want / 10 : 1;

	t0 = now_seconds();
	deadline = t0 + timeout_s;
	conf = rd_kafka_conf_new();
	set(conf, "bootstrap.servers", brokers);
	set(conf, "group.id", "sv_floor");
	set(conf, "enable.auto.commit", "false");
	set(conf, "enable.partition.eof", "false");
	if (latency)
		set(conf, "fetch.wait.max.ms", "50");	/* as streamview sets it */
	set_extra(conf, extra, nextra);
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (rk == NULL)
	{
		fprintf(stderr, "sv_floor: %s\n", errstr);
		return 1;
	}
	rd_kafka_poll_set_consumer(rk);
	queue = rd_kafka_queue_get_consumer(rk);

	rkt = rd_kafka_topic_new(rk, topic, NULL);
	if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR ||
		md->topic_cnt != 1 || md->topics[0].partition_cnt == 0)
	{
		fprintf(stderr, "sv_floor: no metadata for topic %s\n", topic);
		return 1;
	}
	parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
	for (int i = 0; i < md->topics[0].partition_cnt; i++)
		rd_kafka_topic_partition_list_add(parts, topic,
										  md->topics[0].partitions[i].id)->offset = 0;
	rd_kafka_metadata_destroy(md);
	if (rd_kafka_assign(rk, parts) != RD_KAFKA_RESP_ERR_NO_ERROR)
	{
		fprintf(stderr, "sv_floor: assign failed\n");
		return 1;
	}
	rd_kafka_topic_partition_list_destroy(parts);

	msgs = malloc(sizeof(*msgs) * BATCH);
	if (latency)
		lat = malloc(sizeof(double) * want);
	while (got < want)
	{
		ssize_t		n;
		double		w0 = now_seconds(),
					wait;

		if (latency)
		{
			/* one at a time: a batch call waits to fill its batch */
			msgs[0] = rd_kafka_consume_queue(queue, 100);
			n = msgs[0] != NULL;
		}
		else
			n = rd_kafka_consume_batch_queue(queue, 1000, msgs, BATCH);
		wait = now_seconds() - w0;
		if (got > 0)
		{
			if (wait > max_wait)
				max_wait = wait;
			if (wait > 0.1)
				slow_waits++;
		}

		for (ssize_t i = 0; i < n; i++)
		{
			if (msgs[i]->err == RD_KAFKA_RESP_ERR_NO_ERROR)
			{
				if (latency && got < want)
				{
					rd_kafka_timestamp_type_t tstype;
					int64_t		ts = rd_kafka_message_timestamp(msgs[i], &tstype);

					lat[got] = wall_ms() - (double) ts;
				}
				got++;
			}
			else if (errors++ < 10)
				fprintf(stderr, "sv_floor: %s\n", rd_kafka_message_errstr(msgs[i]));
			rd_kafka_message_destroy(msgs[i]);
		}
		/* a batch commit's pause: librdkafka's threads go on fetching */
		while (pause_every > 0 && got >= next_pause && got < want)
		{
			sleep_ms(pause_ms);
			next_pause += pause_every;
		}
		if (t10 == 0 && got >= tenth)
		{
			t10 = now_seconds();
			got10 = got;
		}
		if (now_seconds() > deadline)
		{
			fprintf(stderr, "sv_floor: timeout after %lld of %lld messages\n", got, want);
			return 1;
		}
	}
	t100 = now_seconds();
	cpu_consumer = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
	cpu_process = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
	if (getrusage(RUSAGE_THREAD, &ru) != 0)
		memset(&ru, 0, sizeof(ru));
	if (want_stats)
		fprintf(stderr, "sv_floor: peak_rss_kb=%ld max_wait_ms=%.0f waits_over_100ms=%ld\n",
				peak_rss_kb(), max_wait * 1000, slow_waits);
	if (latency)
	{
		qsort(lat, want, sizeof(double), cmp_double);
		printf("messages=%lld lat_p50_ms=%.0f lat_p99_ms=%.0f lat_max_ms=%.0f\n",
			   got, lat[want / 2], lat[(long long) (want * 0.99)], lat[want - 1]);
		return 0;
	}
	printf("messages=%lld whole_s=%.3f whole_rate=%.0f steady_s=%.3f steady_rate=%.0f"
		   " cpu_consumer_s=%.2f cpu_librdkafka_s=%.2f switches_consumer=%ld/%ld\n",
		   got, t100 - t0, (double) got / (t100 - t0), t100 - t10,
		   (double) (got - got10) / (t100 - t10),
		   cpu_consumer, cpu_process - cpu_consumer, ru.ru_nvcsw, ru.ru_nivcsw);

	free(msgs);
	free(extra);
	rd_kafka_queue_destroy(queue);
	rd_kafka_topic_destroy(rkt);
	rd_kafka_assign(rk, NULL);
	rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
	return 0;
}
