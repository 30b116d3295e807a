/*-------------------------------------------------------------------------
 *
 * fetch_test.c
 *	  The fetch thread (src/kafka_fetch.c, sv:fetch) against librdkafka's
 *	  mock cluster, without a PostgreSQL server, under AddressSanitizer.
 *
 * A topic of NPARTS partitions gets NMSGS messages whose values say where
 * they are ("p3 o1234"). A consumer set up as a worker's (offsets assigned,
 * no group, a small prefetch queue so that it fills and the fetcher is
 * woken) is read through sv_kafka_fetch/sv_kafka_release the way the worker
 * reads it: batches of random sizes, a random pause now and then (a batch
 * commit), sv_kafka_settle at random; waiting for its next batch, the
 * "worker" fills slots and destroys messages itself, as a worker does.
 * Every offset of every partition must be handed over in order, with its
 * own value, while the "worker" holds it;
 * offsets below the next one expected are skipped, as the worker does
 * (a wake-up seek fetches some again). Races between the two threads on
 * the slots (a message destroyed early or twice, a list read after it was
 * handed back) show as a wrong or freed value, a gap, or an ASan report.
 *
 * sv_kafka_wake_fetcher is kafka.c's; here a seek of one partition to its
 * position does what it does to the queue.
 *
 *	  make test/fetch_test && test/fetch_test
 *
 * IDENTIFICATION
 *	  test/fetch_test.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "compat.h"
#include "kafka_int.h"
#include "tap.h"

#define NPARTS 16
#define NMSGS 1000000
#define QUEUE_MSGS 3000			/* queued.min.messages: fills often */
#define TOPIC "fetch_test"

static int	next_wake_part = 0;

/*
 * What sv_kafka_wake_fetcher does to the queue: seeks one partition to
 * where the consumer is in it (here each in turn), which makes its broker
 * thread look again and drops what was queued of it.
 */
void
sv_kafka_wake_fetcher(SvKafka *kafka)
{
	rd_kafka_topic_partition_list_t *assigned = NULL;
	rd_kafka_topic_partition_list_t *one;
	rd_kafka_error_t *error;

	if (rd_kafka_assignment(kafka->rk, &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return;
	if (rd_kafka_position(kafka->rk, assigned) == RD_KAFKA_RESP_ERR_NO_ERROR &&
		assigned->elems[next_wake_part].offset >= 0)
	{
		one = rd_kafka_topic_partition_list_new(1);
		rd_kafka_topic_partition_list_add(one, TOPIC, next_wake_part)->offset =
			assigned->elems[next_wake_part].offset;
		error = rd_kafka_seek_partitions(kafka->rk, one, 0);
		if (error != NULL)
			rd_kafka_error_destroy(error);
		rd_kafka_topic_partition_list_destroy(one);
		kafka->wakes++;
	}
	next_wake_part = (next_wake_part + 1) % NPARTS;
	rd_kafka_topic_partition_list_destroy(assigned);
}

/* Sets a librdkafka property or stops the test. */
static void
set(rd_kafka_conf_t *conf, const char *key, const char *value)
{
	char		errstr[512];

	if (rd_kafka_conf_set(conf, key, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
	{
		printf("Bail out! %s=%s: %s\n", key, value, errstr);
		exit(1);
	}
}

/* The value of the message at offset o of partition p. */
static int
value_of(char *buf, size_t cap, int p, long o)
{
	return snprintf(buf, cap, "p%d o%ld", p, o);
}

/*
 * Creates the mock cluster (the returned producer's own, which it talks
 * to) and produces NMSGS messages spread round-robin over the partitions.
 */
static rd_kafka_t *
produce(char *bootstraps, size_t cap)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char		errstr[512];
	rd_kafka_t *rk;
	rd_kafka_mock_cluster_t *mc;
	long		sent[NPARTS] = {0};

	set(conf, "test.mock.num.brokers", "1");
	set(conf, "log_level", "4");	/* not the notice that the mock is on */
	set(conf, "linger.ms", "20");
	set(conf, "batch.num.messages", "5000");
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (rk == NULL || (mc = rd_kafka_handle_mock_cluster(rk)) == NULL ||
		rd_kafka_mock_topic_create(mc, TOPIC, NPARTS, 1) != RD_KAFKA_RESP_ERR_NO_ERROR)
	{
		printf("Bail out! no mock cluster: %s\n", errstr);
		exit(1);
	}
	snprintf(bootstraps, cap, "%s", rd_kafka_mock_cluster_bootstraps(mc));
	for (int i = 0; i < NMSGS; i++)
	{
		int			p = i % NPARTS;
		char		v[64];
		int			len = value_of(v, sizeof(v), p, sent[p]++);
		rd_kafka_resp_err_t err;

		while ((err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(TOPIC),
										RD_KAFKA_V_PARTITION(p),
										RD_KAFKA_V_VALUE(v, len),
										RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
										RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
			rd_kafka_poll(rk, 10);
		if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
		{
			printf("Bail out! produce: %s\n", rd_kafka_err2str(err));
			exit(1);
		}
	}
	if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR)
	{
		printf("Bail out! flush timed out\n");
		exit(1);
	}
	return rk;
}

/* A consumer as a worker's, every partition assigned at offset 0. */
static SvKafka *
consumer(const char *bootstraps)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char		errstr[512];
	char		qmsgs[32];
	SvKafka    *kafka = calloc(1, sizeof(SvKafka));
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(NPARTS);

	snprintf(qmsgs, sizeof(qmsgs), "%d", QUEUE_MSGS);
	set(conf, "bootstrap.servers", bootstraps);
	set(conf, "group.id", "fetch_test");
	set(conf, "enable.auto.commit", "false");
	set(conf, "enable.auto.offset.store", "false");
	set(conf, "auto.offset.reset", "error");
	set(conf, "fetch.wait.max.ms", "50");
	set(conf, "queued.min.messages", qmsgs);
	kafka->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (kafka->rk == NULL)
	{
		printf("Bail out! consumer: %s\n", errstr);
		exit(1);
	}
	rd_kafka_poll_set_consumer(kafka->rk);
	kafka->queue = rd_kafka_queue_get_consumer(kafka->rk);
	kafka->topic = TOPIC;
	/* as kafka.c sets it up for librdkafka < 2.2; later ones need no wake */
	kafka->wake_fetcher = rd_kafka_version() < SV_RDKAFKA_QUEUE_BACKOFF_VERSION;
	kafka->queue_max_msgs = QUEUE_MSGS;
	kafka->queue_max_bytes = INT64CONST(65536) * 1024;
	for (int p = 0; p < NPARTS; p++)
		rd_kafka_topic_partition_list_add(parts, TOPIC, p)->offset = 0;
	rd_kafka_assign(kafka->rk, parts);
	rd_kafka_topic_partition_list_destroy(parts);
	return kafka;
}

int
main(void)
{
	char		bootstraps[256];
	rd_kafka_t *producer;
	SvKafka    *kafka;
	long		next[NPARTS] = {0};
	long		seen = 0;
	long		skipped = 0;
	long		wrong = 0;
	long		gaps = 0;
	long		settles = 0;
	time_t		deadline;

	srandom(20261129);
	producer = produce(bootstraps, sizeof(bootstraps));
	kafka = consumer(bootstraps);
	ok(sv_kafka_start_fetcher(kafka) == 0, "the fetch thread starts");
	deadline = time(NULL) + 120;
	while (seen < NMSGS && time(NULL) < deadline)
	{
		SvFetch		fetch;

		sv_kafka_fetch(kafka, 1 + (int) (random() % 3000), 100, &fetch);
		for (int i = 0; i < fetch.nmessages; i++)
		{
			const SvMessage *m = &fetch.msgs[i];
			char		v[64];
			int			len;

			if (m->partition < 0 || m->partition >= NPARTS || m->offset > next[m->partition])
			{
				if (gaps++ == 0)
					diag("first gap: partition %d offset %ld, expected %ld", (int) m->partition,
						 (long) m->offset, m->partition >= 0 && m->partition < NPARTS ?
						 next[m->partition] : -1L);
				continue;
			}
			if (m->offset < next[m->partition])
			{
				skipped++;
				continue;
			}
			len = value_of(v, sizeof(v), m->partition, m->offset);
			if (m->len != (size_t) len || memcmp(m->value, v, len) != 0)
			{
				if (wrong++ == 0)
					diag("first wrong value at partition %d offset %ld: \"%.*s\"",
						 (int) m->partition, (long) m->offset, (int) Min(m->len, 60),
						 m->value ? m->value : "");
			}
			next[m->partition]++;
			seen++;
		}
		if (fetch.error_code != 0 && gaps++ == 0)
			diag("consumer error: %s", fetch.error);
		/* a batch commit now and then, the fetch thread working on */
		if (random() % 10 == 0)
			usleep((useconds_t) (random() % 2000));
		sv_kafka_release(kafka, &fetch);
		if (random() % 25 == 0)
		{
			(void) sv_kafka_settle(kafka);
			settles++;
		}
	}
	ok(seen == NMSGS, "every message handed over once, in offset order (%ld of %d)",
	   seen, NMSGS);
	ok(gaps == 0, "no offset skipped and no consumer error (%ld)", gaps);
	ok(wrong == 0, "every value intact while held (%ld wrong)", wrong);
	diag("%ld handed again after a wake-up seek and skipped, %lld wakes, %ld settles",
		 skipped, (long long) kafka->wakes, settles);
	/* the test's "worker" counts nothing, so it often finds a fill not begun */
	ok(kafka->fetcher.worker_fills > 0, "the worker filled slots itself (%lld times)",
	   (long long) kafka->fetcher.worker_fills);
	diag("chunks the worker destroyed while it waited: %lld",
		 (long long) kafka->fetcher.worker_chunks);
	if (kafka->wake_fetcher)
		ok(kafka->wakes > 0, "the queue filled and the fetcher was woken (%lld times)",
		   (long long) kafka->wakes);
	else
		ok(1, "librdkafka %s wakes its fetcher by itself", rd_kafka_version_str());

	/* every message destroyed before the handle is (LeakSanitizer checks) */
	sv_kafka_stop_fetcher(kafka);
	rd_kafka_queue_destroy(kafka->queue);
	rd_kafka_destroy_flags(kafka->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
	free(kafka);
	rd_kafka_destroy(producer);
	ok(rd_kafka_wait_destroyed(10000) == 0, "every librdkafka handle destroyed");

	printf("1..%d\n", test_no);
	return failures > 0;
}
