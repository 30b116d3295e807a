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
 *	whole:  from before rd_kafka_new() to the Nth message (start-up included)
 *	steady: from the batch that reached 10% of N to the Nth message
 *			(rate = messages read in between / time in between)
 *
 * With --latency, messages are taken one at a time (rd_kafka_consume_queue)
 * with fetch.wait.max.ms = 50 (as streamview sets it), and every message's
 * age when it is read (now - its CreateTime, wall clock, ms) is kept; then
 * p50/p99/max are printed:
 *		messages=N lat_p50_ms=X lat_p99_ms=Y lat_max_ms=Z
 * (start it before producing: it is the freshness floor of the broker and
 * the producer, with no processing at all).
 *
 * Usage: sv_floor --brokers B --topic T --messages N [--timeout-s S] [--latency]
 *
 * Build:
 *		gcc -std=gnu99 -O2 -Wall -Wextra -o sv_floor sv_floor.c -lrdkafka
 *
 * IDENTIFICATION
 *		test/bench/sv_floor.c
 *
 *-------------------------------------------------------------------------
 */
#include <getopt.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
	fprintf(stderr, "Usage: sv_floor --brokers B --topic T --messages N [--timeout-s S] [--latency]\n");
	exit(2);
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
				deadline;
	int			c;
	bool		latency = false;
	double	   *lat = NULL;

	while ((c = getopt_long(argc, argv, "b:t:n:T:", opts, NULL)) != -1)
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
			default:
				usage();
		}
	}
	if (brokers == NULL || topic == NULL || want <= 0)
		usage();
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

		if (latency)
		{
			/* one at a time: a batch call waits to fill its batch */
			msgs[0] = rd_kafka_consume_queue(queue, 100);
			n = msgs[0] != NULL;
		}
		else
			n = rd_kafka_consume_batch_queue(queue, 1000, msgs, BATCH);

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
	if (latency)
	{
		qsort(lat, want, sizeof(double), cmp_double);
		printf("messages=%lld lat_p50_ms=%.0f lat_p99_ms=%.0f lat_max_ms=%.0f\n",
			   got, lat[want / 2], lat[(long long) (want * 0.99)], lat[want - 1]);
		return 0;
	}
	printf("messages=%lld whole_s=%.3f whole_rate=%.0f steady_s=%.3f steady_rate=%.0f\n",
		   got, t100 - t0, (double) got / (t100 - t0), t100 - t10,
		   (double) (got - got10) / (t100 - t10));

	free(msgs);
	rd_kafka_queue_destroy(queue);
	rd_kafka_topic_destroy(rkt);
	rd_kafka_assign(rk, NULL);
	rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
	return 0;
}
