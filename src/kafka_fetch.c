/*
 * kafka_fetch.c - the fetch thread (sv:fetch) and the batches it hands over
 *
 * The worker's thread counts while sv:fetch takes the next messages from
 * librdkafka's consumer queue and gives back those counted; see the top of
 * kafka_int.h for the slots they take turns on, and kafka.c for the
 * consumer itself.
 */
#include "postgres.h"

#include <errno.h>
#include <pthread.h>

#include <librdkafka/rdkafka.h>

#include "kafka_int.h"

static void sv_kafka_await(SvKafka *kafka, SvSlot *s);

/* What the worker sees of a message (librdkafka's types stay here). */
static void
sv_kafka_message(rd_kafka_message_t *m, SvMessage *out)
{
	rd_kafka_timestamp_type_t tstype;

	out->value = m->payload;
	out->len = m->payload ? m->len : 0;
	out->key = m->key;
	out->key_len = m->key ? m->key_len : 0;
	out->partition = m->partition;
	out->offset = m->offset;
	out->timestamp_ms = rd_kafka_message_timestamp(m, &tstype);
	if (tstype == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE)
		out->timestamp_ms = -1;
	out->raw = m;
}

/*
 * Before a consume, on the thread that consumes: whether the prefetch
 * queue is at librdkafka's limits, by count or (with the mean size of the
 * messages so far) by bytes. Only that thread takes from the queue, so it
 * finds the queue at its fullest.
 */
static bool
sv_kafka_queue_full(SvKafka *kafka)
{
	int64		queued = rd_kafka_queue_length(kafka->queue);

	return queued >= kafka->queue_max_msgs ||
		queued * kafka->msg_bytes >= 0.9 * kafka->queue_max_bytes;
}

/* After a consume of n messages of the given bytes: their mean size. */
static void
sv_kafka_note_sizes(SvKafka *kafka, int n, size_t bytes)
{
	if (n > 0)
		kafka->msg_bytes = kafka->msg_bytes == 0 ? (double) bytes / n :
			0.75 * kafka->msg_bytes + 0.25 * ((double) bytes / n);
}

/*
 * On the worker's thread, after it took messages: wakes the fetcher once
 * half of a queue that was full is gone (msg_bytes: the mean message size
 * as the consuming thread last knew it).
 */
static void
sv_kafka_after_fetch(SvKafka *kafka, double msg_bytes)
{
	int64		queued;

	if (!kafka->queue_was_full)
		return;
	queued = rd_kafka_queue_length(kafka->queue);
	if (queued <= kafka->queue_max_msgs / 2 &&
		queued * msg_bytes <= 0.5 * kafka->queue_max_bytes)
	{
		SvFetcher  *f = &kafka->fetcher;

		/*
		 * Not while the fetch thread consumes: a seek makes librdkafka drop
		 * what a consume under way took of the partition, also below the
		 * position sought to, and those messages would be lost. Between
		 * consumes, all below it are in a slot or counted.
		 */
		pthread_mutex_lock(&f->lock);
		for (int i = 0; i < 2; i++)
			sv_kafka_await(kafka, &f->slots[i]);
		sv_kafka_wake_fetcher(kafka);
		pthread_mutex_unlock(&f->lock);
		kafka->queue_was_full = false;
	}
}

/*
 * Gives messages back to librdkafka: those of an earlier fetch that the
 * worker is done with. On the fetch thread, or the worker's (without the
 * thread, or while it waits for a fill: see sv_kafka_await).
 */
static void
sv_kafka_destroy_messages(rd_kafka_message_t **msgs, int n)
{
	for (int i = 0; i < n; i++)
		rd_kafka_message_destroy(msgs[i]);
}

/*
 * Fills a slot: takes up to SV_FETCH_MAX messages from the consumer queue,
 * waiting up to wait_ms inside librdkafka for them, and keeps the last
 * consumer error (an offset out of range names its partition in
 * gap_partition). First destroys what is left in to_destroy: the caller
 * has made sure no chunk of them is being destroyed (the fetch thread
 * finishes its own first; the worker fills no slot with burying > 0).
 * Runs on the fetch thread, or on the worker's (without the thread, or
 * when the thread has not begun: see sv_kafka_await), one at a time;
 * touches nothing of the worker's but the slot.
 */
static void
sv_kafka_fill_slot(SvKafka *kafka, SvSlot *s, int wait_ms)
{
	ssize_t		n;
	int			kept = 0;
	size_t		bytes = 0;		/* of the values and keys kept */

	sv_kafka_destroy_messages(s->msgs, s->to_destroy);
	s->to_destroy = 0;
	s->error_code = 0;
	s->error[0] = '\0';
	s->gap_partition = -1;
	kafka->last_error_code = 0;
	s->queue_full = kafka->wake_fetcher && sv_kafka_queue_full(kafka);
	n = rd_kafka_consume_batch_queue(kafka->queue, wait_ms, s->msgs, SV_FETCH_MAX);
	if (n == 0)
	{
		/*
		 * And a single-message pop, as before the fetch thread: without
		 * it, a worker was once seen sleeping through arriving messages
		 * until its timeout. (librdkafka writes the wake-up pipe when the
		 * queue goes from empty to not, once after each time it is served.)
		 */
		rd_kafka_message_t *m = rd_kafka_consume_queue(kafka->queue, 0);

		if (m != NULL)
		{
			s->msgs[0] = m;
			n = 1;
		}
	}
	for (ssize_t i = 0; i < n; i++)
	{
		rd_kafka_message_t *m = s->msgs[i];

		if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
		{
			sv_kafka_message(m, &s->messages[kept]);
			s->msgs[kept++] = m;
			bytes += m->len + m->key_len;
			continue;
		}
		s->error_code = m->err;
		snprintf(s->error, sizeof(s->error), "%s: %s",
				 rd_kafka_err2name(m->err), rd_kafka_message_errstr(m));
		if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
			m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE)
			s->gap_partition = m->partition;
		rd_kafka_message_destroy(m);
	}
	s->n = kept;
	sv_kafka_note_sizes(kafka, kept, bytes);
	s->msg_bytes = kafka->msg_bytes;
	if (s->error_code == 0 && kafka->last_error_code != 0)
	{
		s->error_code = kafka->last_error_code;
		strlcpy(s->error, kafka->last_error, sizeof(s->error));
	}
}

/*
 * Destroys up to SV_DESTROY_CHUNK of the messages given back, from the end
 * of a list, so that a fill asked for meanwhile waits for one chunk at
 * most: of a slot's dead list, or (to_destroy) of a free slot's msgs. On
 * the fetch thread with nothing to fill, or on the worker's while it waits
 * for a fill (sv_kafka_await). The chunk is the caller's once the
 * count is lowered under the lock, so two threads never destroy the same
 * message. The slot's burying counts its chunks still being destroyed:
 * while there are any, the worker neither fills the slot nor swaps its
 * msgs and dead pointers (a fill must not write into an array being read;
 * the fetch thread finishes its own chunk before it fills). Under the
 * lock.
 */
static void
sv_kafka_destroy_chunk(SvFetcher *f, SvSlot *s, bool dead)
{
	int		   *count = dead ? &s->ndead : &s->to_destroy;
	int			k = Min(*count, SV_DESTROY_CHUNK);
	rd_kafka_message_t **list = (dead ? s->dead : s->msgs) + *count - k;

	/* lower the count before unlocking: the chunk is ours alone */
	*count -= k;
	s->burying++;
	pthread_mutex_unlock(&f->lock);
	sv_kafka_destroy_messages(list, k);
	pthread_mutex_lock(&f->lock);
	s->burying--;
}

/*
 * Fills a WANTED slot (on either thread: see sv_kafka_await), with the lock
 * released while librdkafka is called; the slot is FETCHING meanwhile, so
 * no other thread takes it. Under the lock.
 */
static void
sv_kafka_fill_wanted(SvKafka *kafka, SvSlot *s)
{
	SvFetcher  *f = &kafka->fetcher;
	int			wait_ms = s->wait_ms;

	s->state = SV_SLOT_FETCHING;
	pthread_mutex_unlock(&f->lock);
	sv_kafka_fill_slot(kafka, s, wait_ms);
	pthread_mutex_lock(&f->lock);
	s->state = SV_SLOT_READY;
}

/* A slot with given-back messages left to destroy, or NULL. Under the lock. */
static SvSlot *
sv_kafka_dead_slot(SvFetcher *f)
{
	for (int i = 0; i < 2; i++)
	{
		if (f->slots[i].ndead > 0)
			return &f->slots[i];
	}
	return NULL;
}

/* The fetch thread: fills the slots asked for, destroys those given back. */
static void *
sv_kafka_fetcher_main(void *arg)
{
	SvKafka    *kafka = arg;
	SvFetcher  *f = &kafka->fetcher;

	pthread_mutex_lock(&f->lock);
	for (;;)
	{
		SvSlot	   *fill = NULL;
		SvSlot	   *give = NULL;
		SvSlot	   *bury = sv_kafka_dead_slot(f);

		for (int i = 0; i < 2; i++)
		{
			if (f->slots[i].state == SV_SLOT_WANTED)
				fill = &f->slots[i];
			else if (f->slots[i].state == SV_SLOT_FREE && f->slots[i].to_destroy > 0)
				give = &f->slots[i];
		}
		if (fill != NULL)
		{
			sv_kafka_fill_wanted(kafka, fill);
			pthread_cond_signal(&f->done);
		}
		else if (give != NULL)
			sv_kafka_destroy_chunk(f, give, false);
		else if (bury != NULL)
			sv_kafka_destroy_chunk(f, bury, true);
		else if (f->stop)
			break;
		else
			pthread_cond_wait(&f->work, &f->lock);
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

/*
 * Starts the fetch thread (the caller has blocked every signal); returns 0
 * or pthread_create's error. Without it the worker's thread consumes and
 * destroys messages itself, one fetch at a time.
 */
int
sv_kafka_start_fetcher(SvKafka *kafka)
{
	SvFetcher  *f = &kafka->fetcher;
	int			rc;

	for (int i = 0; i < 2; i++)
	{
		f->slots[i].msgs = f->slots[i].bufs[0];
		f->slots[i].dead = f->slots[i].bufs[1];
	}
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->work, NULL);
	pthread_cond_init(&f->done, NULL);
	rc = pthread_create(&f->thread, NULL, sv_kafka_fetcher_main, kafka);
	f->running = rc == 0;
#ifdef __linux__
	if (f->running)
		pthread_setname_np(f->thread, "sv:fetch");	/* as top -H shows it */
#endif
	return rc;
}

/*
 * Ends the fetch thread, and gives back every message still in a slot:
 * every message is destroyed before the handle is.
 */
void
sv_kafka_stop_fetcher(SvKafka *kafka)
{
	SvFetcher  *f = &kafka->fetcher;

	if (f->running)
	{
		pthread_mutex_lock(&f->lock);
		f->stop = true;
		pthread_cond_signal(&f->work);
		pthread_mutex_unlock(&f->lock);
		pthread_join(f->thread, NULL);
		f->running = false;
	}
	pthread_cond_destroy(&f->done);
	pthread_cond_destroy(&f->work);
	pthread_mutex_destroy(&f->lock);
	for (int i = 0; i < 2; i++)
	{
		SvSlot	   *s = &f->slots[i];

		sv_kafka_destroy_messages(s->msgs, s->state == SV_SLOT_FREE ? s->to_destroy : s->n);
		sv_kafka_destroy_messages(s->dead, s->ndead);
		s->state = SV_SLOT_FREE;
		s->to_destroy = s->n = s->ndead = 0;
	}
	f->taken = NULL;
}

/*
 * Asks for a fetch into a free slot, waiting up to wait_ms for messages
 * (ahead: while the worker counts the other slot's). The thread is woken
 * for fetches ahead only: one not ahead, the worker awaits at once and
 * so does itself (sv_kafka_await), unless the thread is destroying a
 * chunk of the slot, after which it fills the slot without being woken.
 * Without the thread, the worker's own fetches are done here and now;
 * none are done ahead. Under the lock.
 */
static void
sv_kafka_want(SvKafka *kafka, SvSlot *s, int wait_ms, bool ahead)
{
	SvFetcher  *f = &kafka->fetcher;

	s->wait_ms = wait_ms;
	if (f->running)
	{
		s->state = SV_SLOT_WANTED;
		if (ahead)
			pthread_cond_signal(&f->work);
	}
	else if (!ahead)
	{
		sv_kafka_fill_slot(kafka, s, wait_ms);
		s->state = SV_SLOT_READY;
	}
}

/*
 * On the worker's thread: waits for a slot asked for to be READY. A fill
 * the fetch thread has not begun, the worker does itself: one asked for
 * ahead, while the worker counted the slot before, is late, and waiting
 * for the thread to be scheduled would add more; one asked for just now,
 * the thread was not even woken for. While the thread fills, the worker
 * destroys dead messages, a chunk at a time: the work that would hold
 * back the thread's next fill (only dead lists: a to_destroy chunk in
 * flight would be overwritten by the thread's next fill of that slot,
 * which does not look at burying). Only one thread consumes at a time: a
 * fill takes a WANTED slot to FETCHING under the lock, and at most one
 * slot is ever WANTED or FETCHING (the other is the worker's, READY or
 * FREE). Under the lock.
 */
static void
sv_kafka_await(SvKafka *kafka, SvSlot *s)
{
	SvFetcher  *f = &kafka->fetcher;

	while (s->state == SV_SLOT_WANTED || s->state == SV_SLOT_FETCHING)
	{
		SvSlot	   *bury;

		if (s->state == SV_SLOT_WANTED && s->burying == 0)
		{
			sv_kafka_fill_wanted(kafka, s);
			f->worker_fills++;
			break;
		}
		bury = sv_kafka_dead_slot(f);
		if (bury != NULL)
		{
			sv_kafka_destroy_chunk(f, bury, true);
			f->worker_chunks++;
		}
		else
			pthread_cond_wait(&f->done, &f->lock);
	}
}

/*
 * Gives back a slot the worker is done with (or has no use for). With the
 * fetch thread, its messages are set aside as dead, so that the slot can
 * be filled before they are destroyed (or left in to_destroy, for the next
 * fill to destroy first, while the last ones set aside are still there or
 * a chunk of the slot is being destroyed); without it, they are destroyed
 * here. Under the lock.
 */
static void
sv_kafka_free_slot(SvKafka *kafka, SvSlot *s)
{
	SvFetcher  *f = &kafka->fetcher;

	if (f->running && s->ndead == 0 && s->burying == 0)
	{
		rd_kafka_message_t **dead = s->msgs;

		s->msgs = s->dead;
		s->dead = dead;
		s->ndead = s->n;
		s->to_destroy = 0;
	}
	else
		s->to_destroy = s->n;
	s->n = s->first = 0;
	s->state = SV_SLOT_FREE;
	if (f->taken == s)
		f->taken = NULL;
	if (f->running)
		pthread_cond_signal(&f->work);
	else
	{
		sv_kafka_destroy_messages(s->msgs, s->to_destroy);
		s->to_destroy = 0;
	}
}

/*
 * The next fetch for the worker: the one fetched ahead if it found
 * messages or an error, else a new one that may wait wait_ms. Then the
 * next is asked for ahead, into the other slot, unless this one was
 * empty (the stream is idle). Under the lock.
 */
static SvSlot *
sv_kafka_take(SvKafka *kafka, int wait_ms)
{
	SvFetcher  *f = &kafka->fetcher;
	SvSlot	   *s = NULL;
	SvSlot	   *other;

	for (int i = 0; i < 2 && s == NULL; i++)
	{
		if (f->slots[i].state != SV_SLOT_FREE)
			s = &f->slots[i];
	}
	if (s == NULL)
	{
		s = &f->slots[0];
		sv_kafka_want(kafka, s, wait_ms, false);
	}
	sv_kafka_await(kafka, s);
	if (s->n == 0 && s->error_code == 0 && s->wait_ms != wait_ms)
	{
		/* empty ahead: the stream went quiet; look again, waiting as asked */
		sv_kafka_want(kafka, s, wait_ms, false);
		sv_kafka_await(kafka, s);
	}
	s->state = SV_SLOT_TAKEN;
	s->first = 0;
	f->taken = s;
	if (s->queue_full)
		kafka->queue_was_full = true;
	other = s == &f->slots[0] ? &f->slots[1] : &f->slots[0];
	if (s->n > 0 && other->state == SV_SLOT_FREE)
		sv_kafka_want(kafka, other, 0, true);
	return s;
}

/*
 * Hands the worker up to max messages, and any consumer errors (kept in
 * fetch->error; an offset out of range names its partition in
 * gap_partition), from what the fetch thread took from the consumer queue
 * ahead of it. With wait_ms > 0, when nothing was there, it waits inside
 * librdkafka until messages come or wait_ms has passed: while messages
 * flow this wakes the moment the fetcher delivers, which the queue's
 * descriptor does not. The caller keeps wait_ms short: signals and the
 * latch are not seen meanwhile.
 */
void
sv_kafka_fetch(SvKafka *kafka, int max, int wait_ms, SvFetch *fetch)
{
	SvFetcher  *f = &kafka->fetcher;
	SvSlot	   *s;
	int			n;
	double		msg_bytes;

	fetch->error_code = 0;
	fetch->error[0] = '\0';
	fetch->gap_partition = -1;
	pthread_mutex_lock(&f->lock);
	s = f->taken != NULL ? f->taken : sv_kafka_take(kafka, wait_ms);
	n = Min(Max(max, 0), s->n - s->first);
	fetch->msgs = &s->messages[s->first];
	fetch->nmessages = n;
	/* an error with the slot's last messages: those before it are counted */
	if (s->first + n == s->n && s->error_code != 0)
	{
		fetch->error_code = s->error_code;
		strlcpy(fetch->error, s->error, sizeof(fetch->error));
		fetch->gap_partition = s->gap_partition;
	}
	s->first += n;
	msg_bytes = s->msg_bytes;
	pthread_mutex_unlock(&f->lock);
	if (kafka->wake_fetcher)
		sv_kafka_after_fetch(kafka, msg_bytes);
}

/*
 * Gives the messages of the last fetch back to librdkafka: once the worker
 * has had all of a slot's, they are destroyed later (sv_kafka_free_slot).
 */
void
sv_kafka_release(SvKafka *kafka, SvFetch *fetch)
{
	SvFetcher  *f = &kafka->fetcher;

	pthread_mutex_lock(&f->lock);
	if (f->taken != NULL && f->taken->first == f->taken->n)
		sv_kafka_free_slot(kafka, f->taken);
	pthread_mutex_unlock(&f->lock);
	fetch->nmessages = 0;
}

/*
 * Waits until the fetch thread is not consuming, and returns whether it
 * holds anything the worker has not had: messages fetched ahead or left in
 * the worker's slot, or a consumer error not handed over (librdkafka 2.8
 * moves the position past the offset an out-of-range error names).
 */
bool
sv_kafka_settle(SvKafka *kafka)
{
	SvFetcher  *f = &kafka->fetcher;
	bool		held = false;

	pthread_mutex_lock(&f->lock);
	for (int i = 0; i < 2; i++)
	{
		SvSlot	   *s = &f->slots[i];

		sv_kafka_await(kafka, s);
		if (s->state == SV_SLOT_READY || s->state == SV_SLOT_TAKEN)
			held |= s->first < s->n || (s->state == SV_SLOT_READY && s->error_code != 0);
	}
	pthread_mutex_unlock(&f->lock);
	return held;
}
