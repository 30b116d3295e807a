/*
 * sink.h - a batch's window counts, rejects and offsets in one transaction
 *
 * The sink prepares, per window view, one upsert that adds a batch's counts
 * to the results table (adding deltas, so workers that share windows stay
 * exact), writes rejected messages, and advances the stream's offsets as a
 * compare-and-set. It runs inside the worker's transaction; after commit,
 * the counts the tables returned are published to shared memory.
 */
#ifndef STREAMVIEW_SINK_H
#define STREAMVIEW_SINK_H

#include "postgres.h"

#include "catalog.h"
#include "late.h"
#include "window.h"

/* A partition's move in this batch: from the stored offset to the next. */
typedef struct SvAdvance
{
	int32		partition;
	int64		from;
	int64		to;
} SvAdvance;

/* A message set aside, with its reason; view_index -1: for every view. */
typedef struct SvReject
{
	int			view_index;
	int32		partition;
	int64		offset;
	bytea	   *payload;		/* NULL for a message without a value */
	char	   *reason;
} SvReject;

typedef struct SvSink SvSink;

extern SvSink *sv_sink_prepare(const SvStream *stream, List *views,
							   MemoryContext cxt);
extern void sv_sink_free(SvSink *sink);
extern int64 sv_sink_write(SvSink *sink, SvCounts *counts, SvAdvance *advances,
						  int nadvances, List *rejects,
						  SvWatermark *watermarks);
extern void sv_sink_publish(SvSink *sink);
extern bool sv_sink_is_writing(Oid relid);

#endif							/* STREAMVIEW_SINK_H */
