/*
 * kafka_int.h - what kafka.c and kafka_fetch.c share: the consumer's state
 *
 * Private to the two files that talk to librdkafka (kafka.c: options, the
 * consumer handle, metadata and the librdkafka < 2.2 fetcher wake;
 * kafka_fetch.c: the fetch thread and the batches it hands the worker).
 * Nothing else includes it: librdkafka's types stay behind kafka.h.
 */
#ifndef STREAMVIEW_KAFKA_INT_H
#define STREAMVIEW_KAFKA_INT_H

#include "postgres.h"

#include <pthread.h>

#include <librdkafka/rdkafka.h>

#include "kafka.h"

#define SV_LOG_RING 32
#define SV_FETCH_MAX 5000

/*
 * Consuming on a thread of our own. Taking a message from librdkafka's queue
 * (two mutexes, a reference on the topic) and destroying it (which frees
 * what librdkafka's fetcher allocated, under that thread's malloc arena
 * lock) cost the worker's thread about 130 ns of its ~360 per zoomcamp ride.
 * A fetch thread (sv:fetch) does both, and turns messages into SvMessages,
 * while the worker counts the previous fetch. It only ever calls librdkafka
 * and pthreads, and runs with every signal blocked, like librdkafka's own.
 *
 * Two slots of up to SV_FETCH_MAX messages take turns: the worker counts
 * the messages of one (TAKEN) while the thread fills the other ahead
 * (WANTED, FETCHING, READY). A slot the worker is done with is FREE, its
 * messages destroyed by the thread as soon as it is idle (or by the
 * worker, see below). Destroying frees, under the lock of librdkafka's
 * fetcher's malloc arena, what that thread allocates, and took 50 ns to
 * 1 us a message while the fetcher ran: so a slot given back keeps its
 * messages aside (dead) and can be filled again at once; the thread
 * destroys them when it has nothing to fill, SV_DESTROY_CHUNK at a time.
 * So at most two fetches of messages are out of librdkafka's queue and
 * two more await their destruction.
 *
 * The worker does not sit idle while it waits for its next slot: on two
 * cores shared with librdkafka's broker thread, sv:fetch was seen to start
 * a fill about 1 ms after it was asked (the time the worker takes to count
 * 5,000 rides), so the worker fills a slot itself when the thread has not
 * begun, and destroys dead messages while the thread fills.
 */
#define SV_DESTROY_CHUNK 500
typedef enum SvSlotState
{
	SV_SLOT_FREE,				/* nothing for the worker (maybe to destroy) */
	SV_SLOT_WANTED,				/* the worker asked for a fetch into it */
	SV_SLOT_FETCHING,			/* a thread is consuming into it */
	SV_SLOT_READY,				/* fetched, not yet handed to the worker */
	SV_SLOT_TAKEN				/* the worker is counting its messages */
} SvSlotState;

typedef struct SvSlot
{
	SvSlotState state;
	int			wait_ms;		/* WANTED: how long the consume may block */
	int			n;				/* messages in it (errors are split out) */
	int			first;			/* TAKEN: the next one to hand out */
	int			to_destroy;		/* FREE: msgs[0, to_destroy) to give back */
	int			ndead;			/* dead[0, ndead): given back, to destroy */
	int			burying;		/* its chunks being destroyed, unlocked */
	int			error_code;		/* last consumer error of the fetch, or 0 */
	char		error[256];
	int32		gap_partition;	/* offset out of range there, or -1 */
	bool		queue_full;		/* librdkafka's queue was full before it */
	double		msg_bytes;		/* the mean message size after it */
	rd_kafka_message_t **msgs;	/* one of bufs, the other is dead */
	rd_kafka_message_t **dead;
	rd_kafka_message_t *bufs[2][SV_FETCH_MAX];
	SvMessage	messages[SV_FETCH_MAX];	/* what the worker sees of msgs */
} SvSlot;

typedef struct SvFetcher
{
	pthread_t	thread;
	bool		running;		/* false: the worker's thread does it all */
	pthread_mutex_t lock;		/* guards everything below but the message
								 * arrays' contents (a FETCHING slot's msgs
								 * are its filler's until READY; a chunk
								 * being destroyed is its destroyer's) */
	pthread_cond_t work;		/* a slot wanted ahead or to destroy, or
								 * stop */
	pthread_cond_t done;		/* a slot became READY */
	bool		stop;
	SvSlot	   *taken;			/* the worker's slot, or NULL */
	int64		worker_fills;	/* fills the worker did itself (for tests) */
	int64		worker_chunks;	/* chunks it destroyed while it waited */
	SvSlot		slots[2];
} SvFetcher;


/* A stream's consumer: handle, its queue, and the queue's wake-up pipe. */
struct SvKafka
{
	rd_kafka_t *rk;
	rd_kafka_queue_t *queue;
	rd_kafka_queue_t *log_queue;	/* served on our thread between fetches */
	rd_kafka_topic_t *topic_handle;
	char	   *topic;
	int			pipefd[2];
	/* log lines gathered on the worker's thread, emitted later */
	char		logs[SV_LOG_RING][256];
	int			nlogs;
	/* the last error callback's, set on the thread that consumes */
	int			last_error_code;
	char		last_error[256];
	/* librdkafka < 2.2: waking a fetcher that a full queue put to sleep */
	bool		wake_fetcher;	/* on for those versions only */
	int64		queue_max_msgs; /* queued.min.messages in effect */
	int64		queue_max_bytes;	/* queued.max.messages.kbytes, in bytes */
	double		msg_bytes;		/* consuming thread's: mean size of messages */
	bool		queue_was_full; /* worker's: the fetcher may be asleep */
	int64		wakes;			/* times sv_kafka_wake_fetcher sought */
	int			nleaders;
	int32	   *leaders;		/* per partition: its leader, by metadata */
	SvFetcher	fetcher;
};

/* kafka_fetch.c */
extern int	sv_kafka_start_fetcher(SvKafka *kafka);
extern void sv_kafka_stop_fetcher(SvKafka *kafka);
extern bool sv_kafka_settle(SvKafka *kafka);

/* kafka.c */
extern void sv_kafka_wake_fetcher(SvKafka *kafka);

#endif							/* STREAMVIEW_KAFKA_INT_H */
