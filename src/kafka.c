/*
 * kafka.c - librdkafka: checking options, the consumer handle, metadata
 *
 * The consumer's messages reach the worker through the fetch thread of
 * kafka_fetch.c; this file creates and closes the consumer, reads metadata,
 * watermarks and positions, and wakes librdkafka < 2.2's fetcher.
 *
 * Options are librdkafka properties passed through from the stream's
 * `options`. Some act the moment they are set (plugin.library.paths loads a
 * shared library), so every key is judged before anything is handed to
 * librdkafka: keys streamview owns are refused, keys that load code, run
 * commands or name server files are for superusers only.
 */
#include "postgres.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <fcntl.h>

#include <librdkafka/rdkafka.h>

#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "compat.h"
#include "kafka_int.h"

/* Keys streamview sets itself; a user setting them would break exactly-once. */
static const char *const sv_owned_keys[] = {
	"bootstrap.servers", "metadata.broker.list", "enable.auto.commit",
	"enable.auto.offset.store", "auto.offset.reset", "group.id",
	"enable.partition.eof", "log.queue", "group.instance.id", NULL
};

/* Keys that load code, run commands or name files on the server. */
static const char *const sv_superuser_keys[] = {
	"plugin.library.paths", "sasl.kerberos.kinit.cmd", "sasl.kerberos.keytab",
	"ssl.ca.certificate.stores", NULL
};

/* Keys whose values are secrets: never shown to roles that are not superusers. */
static const char *const sv_secret_keys[] = {
	"sasl.password", "ssl.key.password", "ssl.keystore.password",
	"sasl.oauthbearer.client.secret", "ssl.key.pem", "ssl_key",
	"sasl.oauthbearer.config", NULL
};

/* Whether key is one of a NULL-terminated list. */
static bool
sv_key_in(const char *key, const char *const *list)
{
	for (int i = 0; list[i] != NULL; i++)
	{
		if (strcmp(key, list[i]) == 0)
			return true;
	}
	return false;
}

/* Whether a key ends with the given suffix. */
static bool
sv_key_ends_with(const char *key, const char *suffix)
{
	size_t		klen = strlen(key);
	size_t		slen = strlen(suffix);

	return klen >= slen && strcmp(key + klen - slen, suffix) == 0;
}

/*
 * Returns the key itself when its value must be hidden from roles that are
 * not superusers (passwords, secrets, private keys), else NULL.
 */
char *
sv_kafka_is_secret_option(const char *key)
{
	if (sv_key_in(key, sv_secret_keys) || sv_key_ends_with(key, ".password") ||
		sv_key_ends_with(key, ".secret"))
		return (char *) key;
	return NULL;
}

/* Refuses a key the current role may not set, before librdkafka sees it. */
static void
sv_kafka_check_key(const char *key)
{
	if (sv_key_in(key, sv_owned_keys))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" is set by streamview and cannot be changed",
						key),
				 strcmp(key, "bootstrap.servers") == 0 ||
				 strcmp(key, "metadata.broker.list") == 0 ?
				 errhint("Use the brokers argument.") :
				 errhint("Consumed offsets are kept in streamview.offsets, for exactly-once counting.")));
	if ((sv_key_in(key, sv_superuser_keys) ||
		 sv_key_ends_with(key, ".location") ||
		 strncmp(key, "ssl.engine.", 11) == 0) && !superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only superusers may set option \"%s\"", key),
				 errdetail("This option loads code, runs a command or names a file on the database server.")));
}

/*
 * Returns an option's value as text: strings as they are, numbers and
 * booleans in their JSON form. Objects, arrays and null are refused.
 */
static char *
sv_kafka_option_value(const char *key, JsonbValue *v)
{
	switch (v->type)
	{
		case jbvString:
			return pnstrdup(v->val.string.val, v->val.string.len);
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out,
													   NumericGetDatum(v->val.numeric)));
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		default:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"%s\" must be a string, number or boolean", key)));
	}
	return NULL;				/* keep compiler quiet */
}

/*
 * Calls fn(key, value, arg) for every option of a jsonb object, after
 * refusing keys the current role may not set.
 */
static void
sv_kafka_foreach_option(Jsonb *options,
						void (*fn) (const char *key, const char *value, void *arg),
						void *arg)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;

	if (options == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(options))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be a JSON object"),
				 errhint("For example '{\"security.protocol\": \"ssl\"}'.")));
	it = JsonbIteratorInit(&options->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			key = pnstrdup(v.val.string.val, v.val.string.len);
			sv_kafka_check_key(key);
		}
		else if (tok == WJB_VALUE)
			fn(key, sv_kafka_option_value(key, &v), arg);
	}
}

/* Hands one option to librdkafka during validation; errors name the key. */
static void
sv_kafka_check_one(const char *key, const char *value, void *arg)
{
	rd_kafka_conf_t *conf = arg;
	char		errstr[512];

	/* Loading a plugin is a side effect; validation must not have one. */
	if (strcmp(key, "plugin.library.paths") == 0)
		return;
	if (rd_kafka_conf_set(conf, key, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
	{
		rd_kafka_conf_destroy(conf);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid Kafka option \"%s\"", key),
				 errdetail("Reported by librdkafka: %s.", errstr),
				 errhint("Options are librdkafka configuration properties; see its CONFIGURATION.md.")));
	}
}

/*
 * Checks a stream's options as librdkafka would take them, without creating
 * a handle (no thread, no connection).
 */
void
sv_kafka_check_options(Jsonb *options)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();

	sv_kafka_foreach_option(options, sv_kafka_check_one, conf);
	rd_kafka_conf_destroy(conf);
}

/* ---- the consumer (stream workers only) ----------------------------- */

#define SV_WAKE_MAX_BROKERS 16

/*
 * librdkafka's log callback. With log.queue the logs are served from a
 * queue of their own, on the worker's thread in sv_kafka_emit_logs; even so
 * it only copies the line, never calls PostgreSQL, since librdkafka may be
 * deep in its own code.
 */
static void
sv_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac,
				const char *buf)
{
	SvKafka    *kafka = rd_kafka_opaque(rk);

	if (kafka == NULL || kafka->nlogs >= SV_LOG_RING)
		return;
	snprintf(kafka->logs[kafka->nlogs++], 256, "%s: %s", fac, buf);
}

/*
 * librdkafka's error callback, served inside a consume: on the thread that
 * fills the slot (the fetch thread or the worker's, never both at once),
 * which copies it into the fetched slot.
 */
static void
sv_kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	SvKafka    *kafka = opaque;

	kafka->last_error_code = err;
	snprintf(kafka->last_error, sizeof(kafka->last_error), "%s: %s",
			 rd_kafka_err2name(err), reason);
}

/* Sets one of streamview's own properties; they are known to be valid. */
static void
sv_kafka_set(rd_kafka_conf_t *conf, const char *key, const char *value)
{
	char		errstr[512];

	if (rd_kafka_conf_set(conf, key, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
		elog(ERROR, "could not set Kafka property %s: %s", key, errstr);
}

/* Sets one of the user's options (checked when the stream was created). */
static void
sv_kafka_set_user(const char *key, const char *value, void *arg)
{
	rd_kafka_conf_t *conf = arg;
	char		errstr[512];

	if (rd_kafka_conf_set(conf, key, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid Kafka option \"%s\"", key),
				 errdetail("Reported by librdkafka: %s.", errstr)));
}

/*
 * The prefetch queue. librdkafka fetches ahead into it up to
 * queued.min.messages (ours: 50,000) or queued.max.messages.kbytes (64 MB).
 * At about 440 bytes per queued zoomcamp ride (the fetch buffers they keep
 * alive), librdkafka's 100,000 would make 44 MB of a worker's memory; half
 * a batch is enough to keep the worker busy while the fetcher refills it.
 * When the queue reaches its limits while the worker commits a batch,
 * librdkafka stops fetching until its broker thread looks again, up to a
 * second later. From librdkafka 2.2 that wait can be set
 * (fetch.queue.backoff.ms): 20 ms. librdkafka 2.0.2 (Debian 12) has no such
 * setting; there the worker wakes the broker thread itself
 * (sv_kafka_wake_fetcher). test/bench/prefetch.sh measured the stall
 * (README, Performance): with the defaults and nothing else, a consumer
 * pausing like a worker drained at 0.2-0.3M messages/s on 2.0.2, 2.8 and
 * 2.14. A stream's options override all of this.
 */
static void
sv_kafka_set_prefetch(rd_kafka_conf_t *conf, SvKafka *kafka)
{
	sv_kafka_set(conf, "queued.min.messages", "50000");
	if (rd_kafka_version() >= SV_RDKAFKA_QUEUE_BACKOFF_VERSION)
		sv_kafka_set(conf, "fetch.queue.backoff.ms", "20");
	else
		kafka->wake_fetcher = true;
}

/*
 * Reads back the prefetch queue's limits once the user's options are in,
 * for sv_kafka_fetch to tell when the queue was full.
 */
static void
sv_kafka_read_queue_limits(rd_kafka_conf_t *conf, SvKafka *kafka)
{
	char		value[64];
	size_t		len = sizeof(value);

	kafka->queue_max_msgs = 100000;
	kafka->queue_max_bytes = INT64CONST(65536) * 1024;
	if (rd_kafka_conf_get(conf, "queued.min.messages", value, &len) == RD_KAFKA_CONF_OK)
		kafka->queue_max_msgs = strtol(value, NULL, 10);
	len = sizeof(value);
	if (rd_kafka_conf_get(conf, "queued.max.messages.kbytes", value, &len) == RD_KAFKA_CONF_OK)
		kafka->queue_max_bytes = strtol(value, NULL, 10) * INT64CONST(1024);
}

/* Builds the consumer configuration: ours first, then the user's options. */
static rd_kafka_conf_t *
sv_kafka_conf(const SvStream *stream, SvKafka *kafka)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char		group[NAMEDATALEN + 64];

	snprintf(group, sizeof(group), "streamview-%d", stream->id);
	/* defaults tuned for fresh counts; the user's options may override */
	sv_kafka_set(conf, "fetch.wait.max.ms", "50");
	sv_kafka_set_prefetch(conf, kafka);
	sv_kafka_set(conf, "reconnect.backoff.max.ms", "2000");
	sv_kafka_set(conf, "client.id", "streamview");
	sv_kafka_foreach_option(stream->options, sv_kafka_set_user, conf);
	if (kafka->wake_fetcher)
		sv_kafka_read_queue_limits(conf, kafka);
	/* streamview's own: exactly-once needs offsets kept in PostgreSQL */
	sv_kafka_set(conf, "bootstrap.servers", stream->brokers);
	sv_kafka_set(conf, "group.id", group);
	sv_kafka_set(conf, "enable.auto.commit", "false");
	sv_kafka_set(conf, "enable.auto.offset.store", "false");
	sv_kafka_set(conf, "auto.offset.reset", "error");
	sv_kafka_set(conf, "enable.partition.eof", "false");
	sv_kafka_set(conf, "log.queue", "true");
	rd_kafka_conf_set_log_cb(conf, sv_kafka_log_cb);
	rd_kafka_conf_set_error_cb(conf, sv_kafka_error_cb);
	rd_kafka_conf_set_opaque(conf, kafka);
	return conf;
}

/*
 * Creates a stream's consumer. librdkafka's threads and the fetch thread are
 * created with every signal blocked, so PostgreSQL's handlers only ever run
 * on the caller's thread.
 * Returns NULL with errbuf set when librdkafka refuses.
 */
SvKafka *
sv_kafka_connect(const SvStream *stream, char *errbuf, size_t errlen)
{
	SvKafka    *kafka = palloc0(sizeof(SvKafka));
	rd_kafka_conf_t *conf;
	sigset_t	all;
	sigset_t	old;
	int			rc;

	conf = sv_kafka_conf(stream, kafka);
	/* before the handle: once it exists, nothing may fail until returned */
	if (pipe(kafka->pipefd) != 0)
	{
		int			save_errno = errno;

		rd_kafka_conf_destroy(conf);
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create a pipe for the Kafka consumer: %m")));
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	kafka->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errbuf, errlen);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (kafka->rk == NULL)
	{
		rd_kafka_conf_destroy(conf);
		close(kafka->pipefd[0]);
		close(kafka->pipefd[1]);
		pfree(kafka);
		return NULL;
	}
	rd_kafka_poll_set_consumer(kafka->rk);
	/* a queue of its own: logs on the consumer queue slow fetching 4x */
	kafka->log_queue = rd_kafka_queue_new(kafka->rk);
	rd_kafka_set_log_queue(kafka->rk, kafka->log_queue);
	kafka->queue = rd_kafka_queue_get_consumer(kafka->rk);
	kafka->topic = pstrdup(stream->topic);
	fcntl(kafka->pipefd[0], F_SETFL, O_NONBLOCK);
	fcntl(kafka->pipefd[1], F_SETFL, O_NONBLOCK);
	rd_kafka_queue_io_event_enable(kafka->queue, kafka->pipefd[1], "1", 1);
	/* last: nothing fails after it, so sv_kafka_close always ends it */
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = sv_kafka_start_fetcher(kafka);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
	{
		errno = rc;
		ereport(LOG,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not start a thread to fetch Kafka messages: %m"),
				 errdetail("The worker fetches them itself, which is slower.")));
	}
	return kafka;
}

/* Closes the consumer without committing anything to the broker. */
void
sv_kafka_close(SvKafka *kafka)
{
	if (kafka == NULL)
		return;
	/* every message is destroyed before the handle is */
	sv_kafka_stop_fetcher(kafka);
	rd_kafka_queue_io_event_enable(kafka->queue, -1, NULL, 0);
	if (kafka->topic_handle)
		rd_kafka_topic_destroy(kafka->topic_handle);
	rd_kafka_queue_destroy(kafka->queue);
	rd_kafka_set_log_queue(kafka->rk, NULL);
	rd_kafka_queue_destroy(kafka->log_queue);
	rd_kafka_assign(kafka->rk, NULL);
	rd_kafka_destroy_flags(kafka->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
	close(kafka->pipefd[0]);
	close(kafka->pipefd[1]);
	if (kafka->leaders)
		pfree(kafka->leaders);
	pfree(kafka);
}

/* The descriptor that becomes readable when messages or events arrive. */
int
sv_kafka_wait_fd(SvKafka *kafka)
{
	return kafka->pipefd[0];
}

/* Empties the wake-up pipe after a wait. */
void
sv_kafka_drain_wait_fd(SvKafka *kafka)
{
	char		buf[64];

	while (read(kafka->pipefd[0], buf, sizeof(buf)) > 0)
		;
}

/* Keeps each partition's leader, for sv_kafka_wake_fetcher. */
static void
sv_kafka_note_leaders(SvKafka *kafka, const rd_kafka_metadata_topic_t *topic)
{
	int			n = 0;
	int32	   *leaders;

	for (int i = 0; i < topic->partition_cnt; i++)
		n = Max(n, topic->partitions[i].id + 1);
	leaders = MemoryContextAlloc(GetMemoryChunkContext(kafka),
								 Max(n, 1) * sizeof(int32));
	/* the old one is freed only now: an error leaves kafka's pointer valid */
	if (kafka->leaders)
		pfree(kafka->leaders);
	kafka->leaders = leaders;
	kafka->nleaders = n;
	for (int p = 0; p < n; p++)
		kafka->leaders[p] = -1;
	for (int i = 0; i < topic->partition_cnt; i++)
		kafka->leaders[topic->partitions[i].id] = topic->partitions[i].leader;
}

/*
 * Returns the topic's partitions (an int List) from the broker's metadata,
 * or NIL with errbuf set (unknown topic, unreachable broker).
 */
List *
sv_kafka_partitions(SvKafka *kafka, int timeout_ms, char *errbuf, size_t errlen)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t err;
	List	   *parts = NIL;

	if (kafka->topic_handle == NULL)
		kafka->topic_handle = rd_kafka_topic_new(kafka->rk, kafka->topic, NULL);
	err = rd_kafka_metadata(kafka->rk, 0, kafka->topic_handle, &md, timeout_ms);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
	{
		snprintf(errbuf, errlen, "could not read metadata of topic \"%s\": %s",
				 kafka->topic, rd_kafka_err2str(err));
		return NIL;
	}
	if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR ||
		md->topics[0].partition_cnt == 0)
	{
		snprintf(errbuf, errlen, "topic \"%s\" is not available: %s", kafka->topic,
				 md->topic_cnt == 1 ? rd_kafka_err2str(md->topics[0].err) : "no metadata");
		rd_kafka_metadata_destroy(md);
		return NIL;
	}
	for (int i = 0; i < md->topics[0].partition_cnt; i++)
		parts = lappend_int(parts, md->topics[0].partitions[i].id);
	if (kafka->wake_fetcher)
		sv_kafka_note_leaders(kafka, &md->topics[0]);
	rd_kafka_metadata_destroy(md);
	list_sort(parts, list_int_cmp);
	return parts;
}

/* Asks the broker for a partition's low and high watermarks. */
bool
sv_kafka_watermarks(SvKafka *kafka, int32 partition, int timeout_ms,
					int64 *low, int64 *high, char *errbuf, size_t errlen)
{
	rd_kafka_resp_err_t err;
	int64_t		lo;
	int64_t		hi;

	err = rd_kafka_query_watermark_offsets(kafka->rk, kafka->topic, partition,
										   &lo, &hi, timeout_ms);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
	{
		snprintf(errbuf, errlen, "could not read offsets of partition %d: %s",
				 partition, rd_kafka_err2str(err));
		return false;
	}
	*low = lo;
	*high = hi;
	return true;
}

/* The high watermark from the last fetch response, without a request. */
bool
sv_kafka_cached_high(SvKafka *kafka, int32 partition, int64 *high)
{
	int64_t		lo;
	int64_t		hi;

	if (rd_kafka_get_watermark_offsets(kafka->rk, kafka->topic, partition,
									   &lo, &hi) != RD_KAFKA_RESP_ERR_NO_ERROR ||
		hi < 0)
		return false;
	*high = hi;
	return true;
}

/*
 * Moves next[p] of each partition in [0, nparts) with next[p] >= 0 to the
 * consumer's position where that is ahead: the offset after the last
 * record librdkafka handed us, which counts records never delivered, such
 * as the control records that end transactions. A position is taken only
 * up to the partition's cached high watermark (a position left over from
 * before a reassignment past a truncated log never moves us), and
 * librdkafka's sentinels (negative) never are. Nothing moves while the
 * fetch thread holds messages the worker has not had: the positions are
 * past them.
 */
void
sv_kafka_positions(SvKafka *kafka, int64 *next, int nparts)
{
	rd_kafka_topic_partition_list_t *parts;

	/* positions count what was fetched ahead: wait until it is counted */
	if (sv_kafka_settle(kafka))
		return;
	parts = rd_kafka_topic_partition_list_new(nparts);

	for (int p = 0; p < nparts; p++)
	{
		if (next[p] >= 0)
			rd_kafka_topic_partition_list_add(parts, kafka->topic, p);
	}
	if (parts->cnt > 0 &&
		rd_kafka_position(kafka->rk, parts) == RD_KAFKA_RESP_ERR_NO_ERROR)
	{
		for (int i = 0; i < parts->cnt; i++)
		{
			rd_kafka_topic_partition_t *tp = &parts->elems[i];
			int64		high;

			if (tp->err == RD_KAFKA_RESP_ERR_NO_ERROR && tp->offset > next[tp->partition] &&
				sv_kafka_cached_high(kafka, tp->partition, &high) && tp->offset <= high)
				next[tp->partition] = tp->offset;
		}
	}
	rd_kafka_topic_partition_list_destroy(parts);
}


/*
 * Appends a message's headers as a JSON object of name to value (text; a
 * header without a value is JSON null; a repeated name keeps the last).
 * Returns false, appending nothing, when it has none.
 */
bool
sv_kafka_headers_json(const SvMessage *message, StringInfo buf)
{
	rd_kafka_headers_t *hdrs;
	size_t		n;

	if (rd_kafka_message_headers(message->raw, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR ||
		(n = rd_kafka_header_cnt(hdrs)) == 0)
		return false;
	appendStringInfoChar(buf, '{');
	for (size_t i = 0; i < n; i++)
	{
		const char *name;
		const void *value;
		size_t		size;
		bool		later = false;

		if (rd_kafka_header_get_all(hdrs, i, &name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR)
			continue;
		/* a repeated name keeps the last: skip all but its last occurrence */
		for (size_t j = i + 1; j < n && !later; j++)
		{
			const char *other;
			const void *v;
			size_t		s;

			later = rd_kafka_header_get_all(hdrs, j, &other, &v, &s) == RD_KAFKA_RESP_ERR_NO_ERROR &&
				strcmp(other, name) == 0;
		}
		if (later)
			continue;
		if (buf->data[buf->len - 1] != '{')
			appendStringInfoString(buf, ", ");
		escape_json(buf, name);
		appendStringInfoString(buf, ": ");
		if (value == NULL)
			appendStringInfoString(buf, "null");
		else
			escape_json(buf, pnstrdup(value, size));
	}
	appendStringInfoChar(buf, '}');
	return true;
}

/*
 * How far the consumer's position next in partition p is from its log
 * start, if sv_kafka_wake_fetcher may seek it there (it has more on the
 * broker, by the watermarks of the last fetch), else -1.
 */
static int64
sv_kafka_seek_distance(SvKafka *kafka, int32 p, int64 next)
{
	int64_t		lo;
	int64_t		hi;

	if (next < 0 ||
		rd_kafka_get_watermark_offsets(kafka->rk, kafka->topic, p, &lo, &hi) !=
		RD_KAFKA_RESP_ERR_NO_ERROR || hi <= next)
		return -1;
	return next - Max(lo, 0);
}

/*
 * librdkafka < 2.2 only. Once the prefetch queue has reached its limits, a
 * broker thread stops fetching and sleeps up to a second, and nothing the
 * consumer does wakes it but a seek. So once the worker has taken half of a
 * queue that was full, one partition with more on the broker per leader
 * broker is sought to where the consumer is in it: the broker thread wakes,
 * finds the queue below its limits and fetches every partition it leads.
 * What was queued of the partition sought, and a fetch of it under way, is
 * fetched again (the worker never counts an offset twice). Of a broker's
 * partitions, the one farthest from its log start is sought: retention
 * deletes from there, and must not delete what the seek dropped from the
 * queue before it is fetched again (the worker would report a gap of
 * messages it had). Called by kafka_fetch.c between two consumes of the
 * fetch thread: a seek drops what a consume under way took.
 */
void
sv_kafka_wake_fetcher(SvKafka *kafka)
{
	rd_kafka_topic_partition_list_t *assigned = NULL;
	rd_kafka_topic_partition_list_t *parts;
	rd_kafka_error_t *error;
	int32		leader[SV_WAKE_MAX_BROKERS];
	int			best[SV_WAKE_MAX_BROKERS];
	int64		dist[SV_WAKE_MAX_BROKERS];
	int			nleaders = 0;

	/* the positions: after the last message librdkafka handed us */
	if (rd_kafka_assignment(kafka->rk, &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return;
	if (rd_kafka_position(kafka->rk, assigned) != RD_KAFKA_RESP_ERR_NO_ERROR)
		assigned->cnt = 0;
	for (int i = 0; i < assigned->cnt; i++)
	{
		rd_kafka_topic_partition_t *tp = &assigned->elems[i];
		int32		p = tp->partition;
		int32		l = p < kafka->nleaders ? kafka->leaders[p] : -1;
		int64		d = tp->err ? -1 : sv_kafka_seek_distance(kafka, p, tp->offset);
		int			j = 0;

		if (d < 0)
			continue;
		while (j < nleaders && leader[j] != l)
			j++;
		if (j == nleaders)
		{
			if (nleaders == SV_WAKE_MAX_BROKERS)
				continue;
			leader[nleaders++] = l;
			dist[j] = -1;
		}
		if (d > dist[j])
		{
			best[j] = i;
			dist[j] = d;
		}
	}
	if (nleaders > 0)
	{
		parts = rd_kafka_topic_partition_list_new(nleaders);
		for (int j = 0; j < nleaders; j++)
			rd_kafka_topic_partition_list_add(parts, kafka->topic,
											  assigned->elems[best[j]].partition)->offset =
				assigned->elems[best[j]].offset;
		error = rd_kafka_seek_partitions(kafka->rk, parts, 0);
		if (error != NULL)
			rd_kafka_error_destroy(error);
		rd_kafka_topic_partition_list_destroy(parts);
		kafka->wakes++;
	}
	rd_kafka_topic_partition_list_destroy(assigned);
}




/* Assigns the stream's partitions at the given next offsets (SvOffset List). */
void
sv_kafka_assign(SvKafka *kafka, List *offsets)
{
	rd_kafka_topic_partition_list_t *parts;
	ListCell   *lc;
	rd_kafka_resp_err_t err;

	/*
	 * Not during a consume. What was fetched before stays and is handed
	 * over first: the worker skips what lies below its offsets, and what
	 * librdkafka delivers again from the new ones. Dropping it would leave
	 * librdkafka's positions past messages never counted until its broker
	 * thread resets them, which sv_kafka_positions could take.
	 */
	(void) sv_kafka_settle(kafka);
	parts = rd_kafka_topic_partition_list_new(list_length(offsets));
	foreach(lc, offsets)
	{
		SvOffset   *o = lfirst(lc);

		rd_kafka_topic_partition_list_add(parts, kafka->topic, o->partition)->offset =
			o->next_offset;
	}
	err = rd_kafka_assign(kafka->rk, parts);
	rd_kafka_topic_partition_list_destroy(parts);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
		elog(ERROR, "could not assign partitions: %s", rd_kafka_err2str(err));
	kafka->queue_was_full = false;
}













/*
 * How often a fetcher was woken after a full queue, or -1 where the worker
 * never does (librdkafka 2.2 and later).
 */
int64
sv_kafka_fetcher_wakes(SvKafka *kafka)
{
	return kafka->wake_fetcher ? kafka->wakes : -1;
}

/* The version of the librdkafka the worker runs with (not built with). */
const char *
sv_kafka_version(void)
{
	return rd_kafka_version_str();
}

/* Writes the log lines gathered during fetches to the server log. */
void
sv_kafka_emit_logs(SvKafka *kafka)
{
	/* serve the log queue: runs sv_kafka_log_cb here, on our thread */
	while (kafka->nlogs < SV_LOG_RING && rd_kafka_queue_poll_callback(kafka->log_queue, 0) > 0)
		;
	for (int i = 0; i < kafka->nlogs; i++)
		ereport(LOG,
				(errcode(ERRCODE_SUCCESSFUL_COMPLETION),
				 errmsg("librdkafka: %s", kafka->logs[i])));
	kafka->nlogs = 0;
}
