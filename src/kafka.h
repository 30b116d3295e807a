/*
 * kafka.h - librdkafka: checking options, the consumer handle, batch fetch
 *
 * The only module that talks to librdkafka. A backend may check a stream's
 * options (which builds a configuration but never a handle); stream workers
 * and peek() create consumers. librdkafka's threads, and the consumer's own
 * fetch thread (sv:fetch), never run PostgreSQL code: they are created with
 * all signals blocked; logs are served from a queue of their own on the
 * calling thread, consumer errors come with the fetches sv:fetch hands over.
 */
#ifndef STREAMVIEW_KAFKA_H
#define STREAMVIEW_KAFKA_H

#include "postgres.h"

#include "lib/stringinfo.h"

#include "catalog.h"

extern void sv_kafka_check_options(Jsonb *options);
extern char *sv_kafka_is_secret_option(const char *key);

/* A stream's consumer (opaque outside kafka.c). */
typedef struct SvKafka SvKafka;

/*
 * One message as the worker sees it: its value, key and metadata, pointing
 * into librdkafka's buffers until sv_kafka_release.
 */
typedef struct SvMessage
{
	const char *value;			/* NULL: no value (a tombstone) */
	size_t		len;
	const char *key;			/* NULL: no key */
	size_t		key_len;
	int32		partition;
	int64		offset;
	int64		timestamp_ms;	/* create or log-append time; -1: none */
	void	   *raw;			/* kafka.c's own */
} SvMessage;

/* What one non-blocking fetch produced. */
typedef struct SvFetch
{
	int			nmessages;		/* messages in msgs[] (all without error) */
	SvMessage  *msgs;
	int			error_code;		/* last consumer error seen, or 0 */
	char		error[256];		/* its text */
	int32		gap_partition;	/* partition whose offset was out of range, or -1 */
} SvFetch;

extern SvKafka *sv_kafka_connect(const SvStream *stream, char *errbuf,
								 size_t errlen);
extern void sv_kafka_close(SvKafka *kafka);
extern int	sv_kafka_wait_fd(SvKafka *kafka);
extern void sv_kafka_drain_wait_fd(SvKafka *kafka);
extern List *sv_kafka_partitions(SvKafka *kafka, int timeout_ms,
								 char *errbuf, size_t errlen);
extern bool sv_kafka_watermarks(SvKafka *kafka, int32 partition, int timeout_ms,
								int64 *low, int64 *high, char *errbuf,
								size_t errlen);
extern bool sv_kafka_cached_high(SvKafka *kafka, int32 partition, int64 *high);
extern void sv_kafka_positions(SvKafka *kafka, int64 *next, int nparts);
extern void sv_kafka_assign(SvKafka *kafka, List *offsets);
extern void sv_kafka_fetch(SvKafka *kafka, int max, int wait_ms, SvFetch *fetch);
extern void sv_kafka_release(SvKafka *kafka, SvFetch *fetch);
extern bool sv_kafka_headers_json(const SvMessage *message, StringInfo buf);
extern int64 sv_kafka_fetcher_wakes(SvKafka *kafka);
extern const char *sv_kafka_version(void);
extern void sv_kafka_emit_logs(SvKafka *kafka);

#endif							/* STREAMVIEW_KAFKA_H */
