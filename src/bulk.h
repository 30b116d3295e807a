/*
 * bulk.h - a count view's batch written straight into its results table
 *
 * The way COPY writes: the batch's window rows, typed and sorted in the
 * primary key's order, are looked up in the key's index; rows that exist
 * are locked and updated in place (count + delta), the others go in with a
 * multi-row insert and their index entries. The count each row holds after
 * the write is known without reading it back. Only results tables as
 * create_window_view made them are written this way (sv_bulk_write says
 * when it cannot), and a key that turns up between lookup and insert (a
 * concurrent worker) rolls the whole write back so that the caller can use
 * the upsert instead.
 */
#ifndef STREAMVIEW_BULK_H
#define STREAMVIEW_BULK_H

#include "postgres.h"

/* A count view as the bulk writer needs it. */
typedef struct SvBulkView
{
	Oid			relid;
	Oid			owner;			/* writes run as this role */
	Oid			time_type;		/* timestamp or timestamptz */
	int64		size_usec;		/* window_end = window_start + size */
	int			ngroup;
	char	  **group_by;		/* column names */
	Oid		   *group_types;	/* the stream's types of those columns */
	bool		sole_writer;	/* one worker: no other worker writes the table */
} SvBulkView;

/* One window row of a batch: in, the delta; out, the row's count after. */
typedef struct SvBulkRow
{
	int64		window_start;
	int64		delta;
	const char *key;			/* the group key's segments (window.h): text */
	int			keylen;
	/* out */
	int64		count;			/* the row's count now; < 0: not written */
	char	   *out_key;		/* the key as the table holds it (segments), */
	int			out_keylen;		/* out_keylen < 0: too long to hold */
} SvBulkRow;

/*
 * What a writer knows of a table's rows across batches (bulk.c): which
 * windows hold no rows but the ones it wrote, so that a key new to such a
 * window goes in without a lookup. Only for a table no one else writes to
 * meanwhile (one worker; reset after a user's statement on results tables).
 */
typedef struct SvBulkKnown SvBulkKnown;

extern SvBulkKnown *sv_bulk_known_create(MemoryContext cxt);
extern void sv_bulk_known_reset(SvBulkKnown *known);

/* What sv_bulk_write did. */
typedef enum SvBulkResult
{
	SV_BULK_WRITTEN,			/* every row is written */
	SV_BULK_NOT_ELIGIBLE,		/* the table is not one it can write: nothing done */
	SV_BULK_CONFLICT			/* a key turned up meanwhile: nothing done */
} SvBulkResult;

/* A row's count when it was not written: the window is final. */
#define SV_BULK_FINAL (-1)
/* ... or it was merged into an equal key of the same batch. */
#define SV_BULK_MERGED (-2)

extern SvBulkResult sv_bulk_write(const SvBulkView *view, SvBulkKnown *known,
								  SvBulkRow *rows, int nrows, bool want_keys,
								  MemoryContext out_cxt);

#endif							/* STREAMVIEW_BULK_H */
