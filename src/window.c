/*
 * window.c - window arithmetic, a batch's counts, and the shared window hash
 *
 * The worker counts a batch into a local hash (no lock, no allocation per
 * message), the sink writes it to the results tables, and only after the
 * commit are the committed counts published to the shared hash. A crash
 * between commit and publication costs nothing: any crash of a worker
 * restarts the cluster and shared memory starts empty, and what is not in
 * the shared hash is in the tables.
 */
#include "postgres.h"

#include "access/xact.h"
#include "common/hashfn.h"
#include "common/int.h"
#include "miscadmin.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "streamview.h"
#include "window.h"

/* Floor division for a possibly negative dividend and a positive divisor. */
static inline int64
sv_floor_div(int64 a, int64 b)
{
	int64		q = a / b;

	if (a % b != 0 && a < 0)
		q--;
	return q;
}

/*
 * Returns a window interval (a size, slide or allowed lateness, named
 * argname in errors) as microseconds, refusing months and years (no fixed
 * length) and values not positive (or negative, with allow_zero). Window
 * views and the SQL window functions check their arguments alike.
 */
int64
sv_window_interval(const Interval *iv, const char *argname, bool allow_zero)
{
	int64		usec;

	if (iv->month != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a fixed-length interval", argname),
				 errdetail("Months and years have no fixed length."),
				 errhint("Use days, hours, minutes or seconds, for example '30 days'.")));
	if (pg_mul_s64_overflow((int64) iv->day, USECS_PER_DAY, &usec) ||
		pg_add_s64_overflow(usec, iv->time, &usec))
		ereport(ERROR,
				(errcode(ERRCODE_INTERVAL_FIELD_OVERFLOW),
				 errmsg("%s is out of range", argname)));
	if (usec < 0 || (usec == 0 && !allow_zero))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be %s", argname,
						allow_zero ? "zero or positive" : "positive")));
	return usec;
}

/*
 * Checks a size and a slide (both positive) together: the slide may not be
 * larger than the size, and one event may fall into at most
 * SV_MAX_WINDOWS_PER_EVENT windows.
 */
void
sv_window_check(int64 size, int64 slide)
{
	/* size / slide rounded up, without overflowing near PG_INT64_MAX */
	int64		nwindows = size / slide + (size % slide != 0);

	if (slide > size)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("slide must not be larger than size"),
				 errhint("Events between windows would not be counted; use a slide up to the size.")));
	if (nwindows > SV_MAX_WINDOWS_PER_EVENT)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many windows per event"),
				 errdetail("The size divided by the slide is %lld; an event may fall into at most %d windows.",
						   (long long) nwindows, SV_MAX_WINDOWS_PER_EVENT),
				 errhint("Use a larger slide.")));
}

/*
 * The window arithmetic works on microseconds since 1970 (*u), within half
 * the int64 range so that adding a window size cannot overflow. False when
 * t is too close to the ends of the timestamp range for that.
 */
static inline bool
sv_window_time(int64 t, int64 *u)
{
	return !pg_sub_s64_overflow(t, SV_UNIX_EPOCH_USEC, u) &&
		*u >= PG_INT64_MIN / 2 && *u <= PG_INT64_MAX / 2;
}

/*
 * Finds the windows an event at t belongs to: the earliest start and how
 * many (consecutive starts, slide apart). Returns false when t is too close
 * to the ends of the timestamp range to compute windows for.
 */
bool
sv_window_range(int64 t, int64 size, int64 slide, int64 *first, int *nwindows)
{
	int64		u;
	int64		last;
	int64		k;

	if (!sv_window_time(t, &u))
		return false;
	last = sv_floor_div(u, slide) * slide;
	k = (last - (u - size) - 1) / slide;
	*first = last - k * slide + SV_UNIX_EPOCH_USEC;
	*nwindows = (int) (k + 1);
	return true;
}

/* Sets up a memo for windows of the given size and slide (both > 0). */
void
sv_window_memo_init(SvWindowMemo *memo, int64 size, int64 slide)
{
	memo->size = size;
	memo->slide = slide;
	memo->aligned_n = (size % slide == 0 && size / slide <= PG_INT32_MAX) ?
		(int) (size / slide) : 0;
	memo->lo = 1;
	memo->hi = 0;
	memo->first = 0;
	memo->nwindows = 0;
}

/*
 * sv_window_range() through a memo. When size is a multiple of slide, an
 * event at t is in the aligned_n windows ending with the latest start <= t,
 * and every time in [latest, latest + slide) has those same windows, so that
 * interval is remembered.
 */
bool
sv_window_range_memo(SvWindowMemo *memo, int64 t, int64 *first, int *nwindows)
{
	int64		u;
	int64		latest;
	int64		hi;

	if (t >= memo->lo && t < memo->hi)
	{
		*first = memo->first;
		*nwindows = memo->nwindows;
		return true;
	}
	if (memo->aligned_n == 0)
		return sv_window_range(t, memo->size, memo->slide, first, nwindows);
	if (!sv_window_time(t, &u))
		return false;
	latest = sv_floor_div(u, memo->slide) * memo->slide + SV_UNIX_EPOCH_USEC;
	*first = latest - (int64) (memo->aligned_n - 1) * memo->slide;
	*nwindows = memo->aligned_n;
	/* remember only an interval wholly inside sv_window_range()'s limits */
	if (pg_add_s64_overflow(latest, memo->slide, &hi) ||
		!sv_window_time(latest, &u) || !sv_window_time(hi - 1, &u))
		return true;
	memo->lo = latest;
	memo->hi = hi;
	memo->first = *first;
	memo->nwindows = *nwindows;
	return true;
}

/* ---- a batch's counts ---------------------------------------------- */

#define SV_COUNTS_INITIAL 1024
#define SV_ARENA_BLOCK (64 * 1024)

/* Sets up an empty batch hash in the given (long-lived) context. */
void
sv_counts_init(SvCounts *counts, MemoryContext cxt)
{
	counts->cxt = cxt;
	counts->mask = SV_COUNTS_INITIAL - 1;
	counts->used = 0;
	counts->entries = MemoryContextAllocZero(cxt, sizeof(SvCount) * SV_COUNTS_INITIAL);
	counts->arena = NULL;
	counts->arena_left = 0;
}

/* Empties the hash for the next batch; keys' memory goes with the context. */
void
sv_counts_reset(SvCounts *counts)
{
	MemoryContextReset(counts->cxt);
	sv_counts_init(counts, counts->cxt);
}

/* Copies a key into the arena (allocation per new window, not per message). */
static const char *
sv_counts_keep_key(SvCounts *counts, const char *key, int keylen)
{
	char	   *copy;

	if (keylen == 0)
		return "";
	if ((Size) keylen > counts->arena_left)
	{
		Size		block = Max(SV_ARENA_BLOCK, (Size) keylen);

		counts->arena = MemoryContextAlloc(counts->cxt, block);
		counts->arena_left = block;
	}
	copy = counts->arena;
	memcpy(copy, key, keylen);
	counts->arena += keylen;
	counts->arena_left -= keylen;
	return copy;
}

/*
 * Doubles the table when it is three quarters full (a batch of 200k window
 * rows then takes 10 MB of slots, not 20: the worker's memory counts, and
 * linear probing at that load still finds a row in a few probes).
 */
static void
sv_counts_grow(SvCounts *counts)
{
	SvCount    *old = counts->entries;
	uint32		oldsize = counts->mask + 1;
	uint32		newsize = oldsize * 2;

	/* a batch of many groups and windows may need more than 1 GB of slots */
	counts->entries = MemoryContextAllocExtended(counts->cxt, sizeof(SvCount) * newsize,
												 MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	counts->mask = newsize - 1;
	for (uint32 i = 0; i < oldsize; i++)
	{
		uint32		pos;

		if (old[i].count == 0)
			continue;
		pos = old[i].hash & counts->mask;
		while (counts->entries[pos].count != 0)
			pos = (pos + 1) & counts->mask;
		counts->entries[pos] = old[i];
	}
	pfree(old);
}

/*
 * Whether two keys of keylen bytes are equal. A few-key view's keys are a
 * few bytes (vendor_id's is 3): compared inline, where memcmp() was a call
 * per message and window (1.3% of a few-key drain's CPU samples).
 */
static inline bool
sv_counts_key_equal(const char *a, const char *b, int keylen)
{
	if (keylen > 16)
		return memcmp(a, b, keylen) == 0;
	for (int i = 0; i < keylen; i++)
	{
		if (a[i] != b[i])
			return false;
	}
	return true;
}

/* Adds one to the count of (view, window_start, key) in this batch. */
void
sv_counts_add(SvCounts *counts, int view, int64 window_start, const char *key,
			  int keylen, uint32 keyhash)
{
	(void) sv_counts_entry(counts, view, window_start, key, keylen, keyhash, 0);
}

/* Carves zeroed, MAXALIGNed memory for a new entry's state out of the arena. */
static void *
sv_counts_new_state(SvCounts *counts, Size size)
{
	char	   *aligned;
	Size		skip;

	if (size == 0)
		return NULL;
	skip = counts->arena ? (char *) MAXALIGN(counts->arena) - counts->arena : 0;
	if (counts->arena == NULL || size + skip > counts->arena_left)
	{
		Size		block = Max(SV_ARENA_BLOCK, size);

		counts->arena = MemoryContextAlloc(counts->cxt, block);
		counts->arena_left = block;
		skip = 0;
	}
	aligned = counts->arena + skip;
	memset(aligned, 0, size);
	counts->arena = aligned + size;
	counts->arena_left -= skip + size;
	return aligned;
}

/*
 * Adds one to the count of (view, window_start, key) in this batch and
 * returns its entry; a new entry gets state_size zeroed bytes of state
 * (aggregates: aggregate.h), which the caller then updates.
 */
SvCount *
sv_counts_entry(SvCounts *counts, int view, int64 window_start, const char *key,
				int keylen, uint32 keyhash, Size state_size)
{
	uint32		hash;
	uint32		pos;
	SvCount    *e;

	hash = murmurhash32(keyhash ^ (uint32) view ^
						(uint32) ((uint64) window_start * UINT64CONST(0x9E3779B97F4A7C15) >> 32));
	pos = hash & counts->mask;
	for (;;)
	{
		e = &counts->entries[pos];
		if (e->count == 0)
			break;
		if (e->hash == hash && e->window_start == window_start &&
			e->view == view && e->keylen == keylen &&
			sv_counts_key_equal(e->key, key, keylen))
		{
			e->count++;
			return e;
		}
		pos = (pos + 1) & counts->mask;
	}
	e->hash = hash;
	e->view = (uint16) view;
	e->keylen = (uint16) keylen;
	e->window_start = window_start;
	e->key = sv_counts_keep_key(counts, key, keylen);
	e->state = sv_counts_new_state(counts, state_size);
	e->count = 1;
	if ((uint64) ++counts->used * 4 > (uint64) (counts->mask + 1) * 3)
	{
		SvCount		copy = *e;

		sv_counts_grow(counts);
		/* the entry moved: find it again */
		pos = copy.hash & counts->mask;
		while (counts->entries[pos].state != copy.state ||
			   counts->entries[pos].key != copy.key ||
			   counts->entries[pos].window_start != copy.window_start ||
			   counts->entries[pos].view != copy.view)
			pos = (pos + 1) & counts->mask;
		e = &counts->entries[pos];
	}
	return e;
}

/* How many (view, window, key) entries the batch holds, of all views. */
uint32
sv_counts_size(const SvCounts *counts)
{
	return counts->used;
}

/* Starts a walk over one view's entries of a batch (view -1: all views). */
void
sv_counts_iter_init(SvCountsIter *iter, const SvCounts *counts, int view)
{
	iter->counts = counts;
	iter->pos = 0;
	iter->view = view;
}

/* The next entry of the walk, or NULL at the end. */
const SvCount *
sv_counts_iter_next(SvCountsIter *iter)
{
	while (iter->pos <= iter->counts->mask)
	{
		const SvCount *e = &iter->counts->entries[iter->pos++];

		if (e->count != 0 && (iter->view < 0 || e->view == iter->view))
			return e;
	}
	return NULL;
}

/*
 * Reads the next segment of a group key at *pos: returns its length and
 * sets *val, or returns SV_KEY_NULL for a NULL value, or -1 past the end.
 */
int
sv_key_segment(const char *key, int keylen, int *pos, const char **val)
{
	uint16		len;

	if (*pos + 2 > keylen)
		return -1;
	memcpy(&len, key + *pos, 2);
	*pos += 2;
	if (len == SV_KEY_NULL)
		return SV_KEY_NULL;
	*val = key + *pos;
	*pos += len;
	return len;
}

/* Appends a NULL segment to a group key; -1 when it would not fit. */
int
sv_key_append_null(char *buf, int used, int cap)
{
	uint16		l = SV_KEY_NULL;

	if (used + 2 > cap)
		return -1;
	memcpy(buf + used, &l, 2);
	return used + 2;
}

/*
 * Appends one segment (2-byte length, then the bytes) to a group key being
 * built in buf. Returns the new length, or -1 when it would not fit.
 */
int
sv_key_append(char *buf, int used, int cap, const char *val, int len)
{
	uint16		l = (uint16) len;

	if (len >= SV_KEY_NULL || used + 2 + len > cap)
		return -1;
	memcpy(buf + used, &l, 2);
	memcpy(buf + used + 2, val, len);
	return used + 2 + len;
}

/* ---- the shared window hash ----------------------------------------- */

/*
 * An entry is laid out as its key (view, window start, key length, key bytes
 * padded to streamview.max_key_bytes) followed by the count and a touch
 * stamp for least-recently-used eviction.
 */
typedef struct SvWindowKeyHead
{
	Oid			view;
	int32		keylen;
	int64		window_start;
	char		key[FLEXIBLE_ARRAY_MEMBER];
} SvWindowKeyHead;

typedef struct SvWindowShared
{
	LWLock	   *lock;
	LWLock	   *views_lock;		/* protects sv_window_views */
	uint64		clock;			/* touch stamps */
	pg_atomic_uint64 invalidations; /* views forgotten for user DML, ever */
} SvWindowShared;

static SvWindowShared *sv_window_shared = NULL;
static HTAB *sv_window_hash = NULL;
/* The results tables whose windows may be published (keys: OIDs). */
static HTAB *sv_window_views = NULL;

/* Results tables the shared memory can know at once. */
#define SV_MAX_VIEWS 4096

static Size
sv_window_keysize(void)
{
	return MAXALIGN(offsetof(SvWindowKeyHead, key) + sv_max_key_bytes);
}

static Size
sv_window_entrysize(void)
{
	return sv_window_keysize() + 2 * sizeof(int64);
}

/*
 * Hashes and compares only the bytes of a key in use (a key is mostly
 * padding up to streamview.max_key_bytes): a batch of many keys publishes
 * every one of its windows.
 */
static uint32
sv_window_key_hash(const void *key, Size keysize)
{
	const SvWindowKeyHead *k = key;

	return hash_bytes((const unsigned char *) k,
					  offsetof(SvWindowKeyHead, key) + k->keylen);
}

static int
sv_window_key_match(const void *a, const void *b, Size keysize)
{
	const SvWindowKeyHead *x = a;
	const SvWindowKeyHead *y = b;

	if (x->view != y->view || x->keylen != y->keylen ||
		x->window_start != y->window_start)
		return 1;
	return memcmp(x->key, y->key, x->keylen);
}

#define SV_ENTRY_COUNT(e) ((int64 *) ((char *) (e) + sv_window_keysize()))
#define SV_ENTRY_TOUCHED(e) ((uint64 *) ((char *) (e) + sv_window_keysize() + sizeof(int64)))

/* Reserves the window hash, sized by streamview.max_windows. */
void
sv_window_shmem_request(void)
{
	RequestAddinShmemSpace(MAXALIGN(sizeof(SvWindowShared)));
	RequestAddinShmemSpace(hash_estimate_size(sv_max_windows,
											  sv_window_entrysize()));
	RequestAddinShmemSpace(hash_estimate_size(SV_MAX_VIEWS, sizeof(Oid)));
	RequestNamedLWLockTranche("streamview windows", 2);
}

/* Creates or attaches to the window hash (caller holds AddinShmemInitLock). */
void
sv_window_shmem_startup(void)
{
	bool		found;
	HASHCTL		info;

	sv_window_shared = ShmemInitStruct("streamview windows",
									   sizeof(SvWindowShared), &found);
	if (!found)
	{
		sv_window_shared->lock = &(GetNamedLWLockTranche("streamview windows"))[0].lock;
		sv_window_shared->views_lock = &(GetNamedLWLockTranche("streamview windows"))[1].lock;
		sv_window_shared->clock = 0;
		pg_atomic_init_u64(&sv_window_shared->invalidations, 0);
	}
	memset(&info, 0, sizeof(info));
	info.keysize = sv_window_keysize();
	info.entrysize = sv_window_entrysize();
	info.hash = sv_window_key_hash;
	info.match = sv_window_key_match;
	sv_window_hash = ShmemInitHash("streamview window hash",
								   sv_max_windows, sv_max_windows,
								   &info, HASH_ELEM | HASH_FUNCTION | HASH_COMPARE);
	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(Oid);
	info.entrysize = sizeof(Oid);
	sv_window_views = ShmemInitHash("streamview window views",
									SV_MAX_VIEWS, SV_MAX_VIEWS,
									&info, HASH_ELEM | HASH_BLOBS);
}

/*
 * Registers a results table whose windows a sink is about to publish, so
 * that a user's statement on it is noticed (sv_window_table_changed).
 * Returns false when SV_MAX_VIEWS tables are registered: the sink then
 * publishes nothing of this view.
 */
bool
sv_window_register_view(Oid view)
{
	void	   *e;

	LWLockAcquire(sv_window_shared->views_lock, LW_EXCLUSIVE);
	e = hash_search(sv_window_views, &view, HASH_ENTER_NULL, NULL);
	LWLockRelease(sv_window_shared->views_lock);
	return e != NULL;
}

/*
 * Makes room when the hash is full: removes the windows not touched in the
 * last n / 2 publications. Each publication touches one window, so at most
 * n / 2 windows were touched since and at least half go, in one scan and
 * without sorting (so a batch of many keys scans the hash once per n / 2 of
 * its windows). Their counts are in the tables already.
 */
static void
sv_window_evict_lru(void)
{
	uint64		n = (uint64) hash_get_num_entries(sv_window_hash);
	uint64		keep = n / 2;
	uint64		cutoff;
	HASH_SEQ_STATUS seq;
	void	   *e;

	cutoff = sv_window_shared->clock > keep ? sv_window_shared->clock - keep : 0;
	hash_seq_init(&seq, sv_window_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		if (*SV_ENTRY_TOUCHED(e) <= cutoff)
			hash_search(sv_window_hash, e, HASH_REMOVE, NULL);
	}
}

/*
 * How many times a user's statement changed a results table so far: a
 * worker reads it after its upserts and before its commit, and publishes
 * only if it is unchanged (sv_window_publish_begin).
 */
uint64
sv_window_invalidations(void)
{
	return pg_atomic_read_u64(&sv_window_shared->invalidations);
}

/*
 * Takes the window lock for a batch's publication, unless a user's
 * statement changed a results table since the batch read as_of (from
 * sv_window_invalidations): its counts may then be older than the table's,
 * and it returns false without the lock.
 *
 * Why that is enough: a statement that changes a row the batch upserted
 * waits for the batch's commit (row locks), so the invalidation it counts
 * once it has changed its rows comes after as_of was read. Either it comes
 * before this publication, which then sees the new count and stands back,
 * or after, and forgets what was published. A statement that changed a row
 * before the batch upserted it made the batch wait for its commit, so the
 * batch's count includes the change.
 */
bool
sv_window_publish_begin(uint64 as_of)
{
	LWLockAcquire(sv_window_shared->lock, LW_EXCLUSIVE);
	if (pg_atomic_read_u64(&sv_window_shared->invalidations) == as_of)
		return true;
	LWLockRelease(sv_window_shared->lock);
	return false;
}

void
sv_window_publish_end(void)
{
	LWLockRelease(sv_window_shared->lock);
}

/*
 * Publishes a committed count (lock held). Counts only grow, so the larger
 * of the held and the given count is the newest committed one, whatever
 * order concurrent workers publish in. Keys longer than
 * streamview.max_key_bytes are not held.
 */
void
sv_window_publish(Oid view, int64 window_start, const char *key, int keylen,
				  int64 count)
{
	char		buf[offsetof(SvWindowKeyHead, key) + 1024 + MAXIMUM_ALIGNOF];
	SvWindowKeyHead *k = (SvWindowKeyHead *) buf;
	void	   *e;
	bool		found;

	if (keylen > sv_max_key_bytes)
		return;
	memset(buf, 0, sv_window_keysize());
	k->view = view;
	k->keylen = keylen;
	k->window_start = window_start;
	memcpy(k->key, key, keylen);

	/* one lookup, not two: room is made first, even if the window is held */
	if (hash_get_num_entries(sv_window_hash) >= sv_max_windows)
		sv_window_evict_lru();
	e = hash_search(sv_window_hash, k, HASH_ENTER_NULL, &found);
	if (e == NULL)
		return;
	if (!found)
		*SV_ENTRY_COUNT(e) = 0;
	*SV_ENTRY_COUNT(e) = Max(*SV_ENTRY_COUNT(e), count);
	*SV_ENTRY_TOUCHED(e) = ++sv_window_shared->clock;
}

/* Removes every window of a view (dropped, or reloaded). */
void
sv_window_forget_view(Oid view)
{
	sv_window_forget_before(view, PG_INT64_MAX, 0);
}

/*
 * Results tables this transaction dropped, each with the subtransaction
 * that dropped it (on its commit, its parent): their registrations go when
 * the transaction commits. Until then the drop may still be undone, and
 * the table's DML must go on forgetting its windows.
 */
typedef struct SvDroppedView
{
	Oid			view;
	SubTransactionId subid;
} SvDroppedView;

static List *sv_window_dropped = NIL;
static bool sv_window_callbacks = false;

/* Whether a results table is registered. */
static bool
sv_window_registered(Oid view)
{
	bool		known;

	LWLockAcquire(sv_window_shared->views_lock, LW_SHARED);
	known = hash_search(sv_window_views, &view, HASH_FIND, NULL) != NULL;
	LWLockRelease(sv_window_shared->views_lock);
	return known;
}

/* At a transaction's end: on commit, unregisters the tables it dropped. */
static void
sv_window_xact_callback(XactEvent event, void *arg)
{
	ListCell   *lc;

	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PREPARE)
		return;
	/* a prepared drop keeps the registration: a leak, not a wrong count */
	if (event == XACT_EVENT_COMMIT && sv_window_shared != NULL &&
		sv_window_dropped != NIL)
	{
		LWLockAcquire(sv_window_shared->views_lock, LW_EXCLUSIVE);
		foreach(lc, sv_window_dropped)
		{
			SvDroppedView *d = lfirst(lc);

			(void) hash_search(sv_window_views, &d->view, HASH_REMOVE, NULL);
		}
		LWLockRelease(sv_window_shared->views_lock);
	}
	list_free_deep(sv_window_dropped);
	sv_window_dropped = NIL;
}

/*
 * At a subtransaction's end: its drops are forgotten if it aborts, its
 * parent's if it commits.
 */
static void
sv_window_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						   SubTransactionId parentSubid, void *arg)
{
	ListCell   *lc;

	if (event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB)
		return;
	foreach(lc, sv_window_dropped)
	{
		SvDroppedView *d = lfirst(lc);

		if (d->subid != mySubid)
			continue;
		if (event == SUBXACT_EVENT_COMMIT_SUB)
			d->subid = parentSubid;
		else
		{
			sv_window_dropped = foreach_delete_current(sv_window_dropped, lc);
			pfree(d);
		}
	}
}

/*
 * A relation is being dropped (the object access hook, for DROP TABLE,
 * DROP SCHEMA ... CASCADE, DROP OWNED and drop_window_view alike). If it is
 * a registered results table: forgets its windows now (a cache: evicting
 * early is harmless) and its registration when the transaction commits.
 */
void
sv_window_drop_view(Oid view)
{
	MemoryContext old;
	SvDroppedView *d;

	if (sv_window_shared == NULL || !sv_window_registered(view))
		return;
	sv_window_forget_view(view);
	if (!sv_window_callbacks)
	{
		RegisterXactCallback(sv_window_xact_callback, NULL);
		RegisterSubXactCallback(sv_window_subxact_callback, NULL);
		sv_window_callbacks = true;
	}
	old = MemoryContextSwitchTo(TopMemoryContext);
	d = palloc(sizeof(SvDroppedView));
	d->view = view;
	d->subid = GetCurrentSubTransactionId();
	sv_window_dropped = lappend(sv_window_dropped, d);
	MemoryContextSwitchTo(old);
}

/*
 * A statement other than the sink's changed a table (called once it has
 * changed its rows). If it is a registered results table: forgets its
 * windows and counts an invalidation, so that no batch committed before
 * publishes counts the table may no longer hold. Both happen under the lock
 * that publication takes.
 */
void
sv_window_table_changed(Oid view)
{
	HASH_SEQ_STATUS seq;
	SvWindowKeyHead *e;

	if (sv_window_shared == NULL)
		return;
	/* a lock of its own: every DML statement of the cluster looks here */
	if (!sv_window_registered(view))
		return;
	LWLockAcquire(sv_window_shared->lock, LW_EXCLUSIVE);
	pg_atomic_fetch_add_u64(&sv_window_shared->invalidations, 1);
	hash_seq_init(&seq, sv_window_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		if (e->view == view)
			hash_search(sv_window_hash, e, HASH_REMOVE, NULL);
	}
	LWLockRelease(sv_window_shared->lock);
}

/* Removes every window and view (the extension was dropped). */
void
sv_window_forget_all(void)
{
	HASH_SEQ_STATUS seq;
	void	   *e;

	LWLockAcquire(sv_window_shared->lock, LW_EXCLUSIVE);
	pg_atomic_fetch_add_u64(&sv_window_shared->invalidations, 1);
	hash_seq_init(&seq, sv_window_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
		hash_search(sv_window_hash, e, HASH_REMOVE, NULL);
	LWLockRelease(sv_window_shared->lock);
	LWLockAcquire(sv_window_shared->views_lock, LW_EXCLUSIVE);
	hash_seq_init(&seq, sv_window_views);
	while ((e = hash_seq_search(&seq)) != NULL)
		hash_search(sv_window_views, e, HASH_REMOVE, NULL);
	LWLockRelease(sv_window_shared->views_lock);
}

/* Removes a view's windows that end at or before end_before (lock held). */
static void
sv_window_remove(Oid view, int64 end_before, int64 size)
{
	HASH_SEQ_STATUS seq;
	SvWindowKeyHead *e;

	hash_seq_init(&seq, sv_window_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		if (e->view == view &&
			(end_before == PG_INT64_MAX || e->window_start + size <= end_before))
			hash_search(sv_window_hash, e, HASH_REMOVE, NULL);
	}
}

/* Removes a view's windows that end at or before end_before. */
void
sv_window_forget_before(Oid view, int64 end_before, int64 size)
{
	LWLockAcquire(sv_window_shared->lock, LW_EXCLUSIVE);
	sv_window_remove(view, end_before, size);
	LWLockRelease(sv_window_shared->lock);
}

/*
 * During a publication (lock held): removes every window of a view, whose
 * batch then publishes only some of its windows. Only for a view with one
 * publisher: another worker's publication, coming later, could otherwise
 * leave an older count of a window this one no longer publishes.
 */
void
sv_window_publish_forget_view(Oid view)
{
	sv_window_remove(view, PG_INT64_MAX, 0);
}

/* Splits a stored group key back into a text[] of its values. */
static Datum
sv_key_to_array(const char *key, int keylen)
{
	Datum	   *elems = palloc(sizeof(Datum) * (keylen / 2 + 1));
	int			n = 0;
	int			pos = 0;

	bool	   *nulls = palloc0(sizeof(bool) * (keylen / 2 + 1));
	int			dims[1];
	int			lbs[1] = {1};
	const char *val = NULL;
	int			len;

	while ((len = sv_key_segment(key, keylen, &pos, &val)) >= 0)
	{
		nulls[n] = len == SV_KEY_NULL;
		elems[n] = nulls[n] ? (Datum) 0 :
			PointerGetDatum(cstring_to_text_with_len(val, len));
		n++;
	}
	dims[0] = n;
	return PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs, TEXTOID,
											  -1, false, TYPALIGN_INT));
}

/* One window of live_counts(), copied out of the shared hash. */
typedef struct SvLiveWindow
{
	int64		start;
	int64		count;
	int			keylen;
	char	   *key;
} SvLiveWindow;

/*
 * Copies a view's windows out of the shared hash (lock held only for that:
 * publication and the invalidations of users' DML wait for it).
 */
static SvLiveWindow *
sv_window_copy_view(Oid view, int *n)
{
	HASH_SEQ_STATUS seq;
	SvWindowKeyHead *e;
	int			cap = 64;
	SvLiveWindow *out = palloc(sizeof(SvLiveWindow) * cap);

	*n = 0;
	LWLockAcquire(sv_window_shared->lock, LW_SHARED);
	hash_seq_init(&seq, sv_window_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		if (e->view != view)
			continue;
		if (*n == cap)
		{
			cap *= 2;
			out = repalloc_huge(out, sizeof(SvLiveWindow) * cap);
		}
		out[*n].start = e->window_start;
		out[*n].count = *SV_ENTRY_COUNT(e);
		out[*n].keylen = e->keylen;
		out[*n].key = e->keylen > 0 ? palloc(e->keylen) : NULL;
		if (e->keylen > 0)
			memcpy(out[*n].key, e->key, e->keylen);
		(*n)++;
	}
	LWLockRelease(sv_window_shared->lock);
	return out;
}

/*
 * Puts a view's windows, as the shared hash holds them, into a tuplestore:
 * (window_start, window_end, group_key, count). timestamp windows are shown
 * as timestamptz in the session's TimeZone, as a cast would.
 */
void
sv_window_live_counts(Oid view, int64 size, bool timestamptz,
					  ReturnSetInfo *rsinfo)
{
	int			n;
	SvLiveWindow *w = sv_window_copy_view(view, &n);

	for (int i = 0; i < n; i++)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};
		int64		start = w[i].start;
		int64		end = w[i].start + size;

		CHECK_FOR_INTERRUPTS();
		if (!timestamptz)
		{
			start = DatumGetTimestampTz(DirectFunctionCall1(timestamp_timestamptz,
															TimestampGetDatum(start)));
			end = DatumGetTimestampTz(DirectFunctionCall1(timestamp_timestamptz,
														  TimestampGetDatum(end)));
		}
		values[0] = TimestampTzGetDatum(start);
		values[1] = TimestampTzGetDatum(end);
		values[2] = sv_key_to_array(w[i].key, w[i].keylen);
		values[3] = Int64GetDatum(w[i].count);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/* Windows held, capacity, and the shared memory the hash reserves. */
void
sv_window_usage(int64 *windows, int64 *capacity, int64 *bytes)
{
	LWLockAcquire(sv_window_shared->lock, LW_SHARED);
	*windows = hash_get_num_entries(sv_window_hash);
	LWLockRelease(sv_window_shared->lock);
	*capacity = sv_max_windows;
	*bytes = hash_estimate_size(sv_max_windows, sv_window_entrysize());
}
