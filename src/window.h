/*
 * window.h - window arithmetic, a batch's counts, and the shared window hash
 *
 * Windows are [start, start + size), with starts at multiples of the slide
 * from the Unix epoch, as Spark's window() does; an event at t belongs to
 * every window with start <= t < start + size.
 *
 * A batch's counts are kept per (view, window start, group key) in a
 * worker-local hash. The shared hash holds the committed count of recently
 * touched windows, so live_counts() can show them without a table scan; it
 * is only ever written after the batch that produced a count committed, so
 * it never holds a count the tables do not.
 *
 * A group key is a sequence of segments, each a 2-byte length and the
 * value's text, one per group_by column.
 */
#ifndef STREAMVIEW_WINDOW_H
#define STREAMVIEW_WINDOW_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "funcapi.h"

/* One event may fall into at most this many windows (size / slide). */
#define SV_MAX_WINDOWS_PER_EVENT 1000

/* 1970-01-01 00:00:00 in PostgreSQL's microseconds since 2000-01-01. */
#define SV_UNIX_EPOCH_USEC INT64CONST(-946684800000000)

extern int64 sv_window_interval(const Interval *iv, const char *argname,
								bool allow_zero);
extern void sv_window_check(int64 size, int64 slide);
extern bool sv_window_range(int64 t, int64 size, int64 slide, int64 *first,
							int *nwindows);

/*
 * A view's window arithmetic made cheap for the hot path: the windows of the
 * last slide interval looked up (events close together in time skip the
 * arithmetic), and when size is a multiple of slide, the fixed number of
 * windows per event (one division per lookup instead of two).
 */
typedef struct SvWindowMemo
{
	int64		size;
	int64		slide;
	int			aligned_n;		/* size / slide if that divides; else 0 */
	int64		lo;				/* the interval [lo, hi) of event times; */
	int64		hi;				/* lo > hi: none yet */
	int64		first;			/* its windows */
	int			nwindows;
} SvWindowMemo;

extern void sv_window_memo_init(SvWindowMemo *memo, int64 size, int64 slide);
extern bool sv_window_range_memo(SvWindowMemo *memo, int64 t, int64 *first,
								 int *nwindows);

/* One (view, window, group key) of a batch and its count. */
typedef struct SvCount
{
	uint32		hash;
	uint16		view;			/* index into the worker's views */
	uint16		keylen;
	int64		window_start;
	const char *key;
	int64		count;			/* 0: empty slot */
	void	   *state;			/* aggregates of a query view, or NULL */
} SvCount;

/*
 * A batch's counts: an open-addressing hash with keys in an arena. Its
 * fields are window.c's: other modules use the functions below.
 */
typedef struct SvCounts
{
	MemoryContext cxt;
	SvCount    *entries;
	uint32		mask;
	uint32		used;
	char	   *arena;
	Size		arena_left;
} SvCounts;

extern void sv_counts_init(SvCounts *counts, MemoryContext cxt);
extern void sv_counts_reset(SvCounts *counts);
extern void sv_counts_add(SvCounts *counts, int view, int64 window_start,
						  const char *key, int keylen, uint32 keyhash);
extern SvCount *sv_counts_entry(SvCounts *counts, int view, int64 window_start,
								const char *key, int keylen, uint32 keyhash,
								Size state_size);
extern uint32 sv_counts_size(const SvCounts *counts);

/* A walk over a batch's entries (of one view, or all with view -1). */
typedef struct SvCountsIter
{
	const SvCounts *counts;
	uint32		pos;
	int			view;
} SvCountsIter;

extern void sv_counts_iter_init(SvCountsIter *iter, const SvCounts *counts,
								int view);
extern const SvCount *sv_counts_iter_next(SvCountsIter *iter);

/*
 * Group keys, segment by segment: a 2-byte length and the bytes, or the
 * length SV_KEY_NULL alone for a NULL value. SV_KEY_MAX bounds a key.
 */
#define SV_KEY_NULL 0xFFFF
#define SV_KEY_MAX 8192

extern int	sv_key_append(char *buf, int used, int cap, const char *val,
						  int len);
extern int	sv_key_append_null(char *buf, int used, int cap);
extern int	sv_key_segment(const char *key, int keylen, int *pos,
						   const char **val);

/* The shared hash of committed window counts. */
extern void sv_window_shmem_request(void);
extern void sv_window_shmem_startup(void);
extern uint64 sv_window_invalidations(void);
extern bool sv_window_publish_begin(uint64 as_of);
extern void sv_window_publish(Oid view, int64 window_start, const char *key,
							  int keylen, int64 count);
extern void sv_window_publish_end(void);
extern void sv_window_publish_forget_view(Oid view);
extern void sv_window_forget_view(Oid view);
extern bool sv_window_register_view(Oid view);
extern void sv_window_drop_view(Oid view);
extern void sv_window_table_changed(Oid view);
extern void sv_window_forget_all(void);
extern void sv_window_forget_before(Oid view, int64 end_before, int64 size);
extern void sv_window_live_counts(Oid view, int64 size, bool timestamptz,
								  ReturnSetInfo *rsinfo);
extern void sv_window_usage(int64 *windows, int64 *capacity, int64 *bytes);

#endif							/* STREAMVIEW_WINDOW_H */
