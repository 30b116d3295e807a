/*
 * late.h - late data: a view's watermark, and the windows it has closed
 *
 * A view with allowed lateness L has a watermark: the greatest event time
 * seen by the stream's workers, minus L. A window that ends at or before
 * the watermark is final, and is not counted into: an event with a final
 * window is late for that view (counted in its open windows only; kept in
 * rejects with keep_late).
 * The worker keeps one SvLateness per view and calls these functions; each
 * batch hands the sink the view's watermark move (SvWatermark), which the
 * sink stores with the batch's counts and offsets, and reads back the
 * stored value, ahead of ours when another worker of the stream got
 * further (sv_late_adopt). The sink's SQL marks the passed windows final.
 */
#ifndef STREAMVIEW_LATE_H
#define STREAMVIEW_LATE_H

#include "postgres.h"

/* A view's watermark in a batch: from old (if had_old) to new. */
typedef struct SvWatermark
{
	bool		changed;		/* store it (and learn the stored one) */
	bool		had_old;
	int64		old;
	int64		new;
	int64		stored;			/* out: the view's watermark as now stored */
} SvWatermark;

/* One view's late-data state in a worker. Its fields are late.c's. */
typedef struct SvLateness
{
	int64		lateness_usec;	/* allowed lateness; -1: none, no watermark */
	bool		seen;			/* max_event is known (seen or stored) */
	int64		max_event;		/* the greatest event time, committed or in
								 * this batch */
	SvWatermark batch;			/* where this batch started */
} SvLateness;

extern void sv_late_init(SvLateness *late, int64 lateness_usec,
						 bool has_stored, int64 stored_watermark);
extern int64 sv_late_advance(SvLateness *late, int64 event_time);
extern void sv_late_batch_begin(SvLateness *late);
extern void sv_late_batch_end(const SvLateness *late, int nworkers, SvWatermark *wm);
extern void sv_late_adopt(SvLateness *late, const SvWatermark *wm);

/* Whether the view has allowed lateness (and so a watermark) at all. */
static inline bool
sv_late_enabled(const SvLateness *late)
{
	return late->lateness_usec >= 0;
}

/* Whether the window [start, start + size) is final under watermark. */
static inline bool
sv_late_window_final(int64 watermark, int64 start, int64 size_usec)
{
	return start + size_usec <= watermark;
}

#endif							/* STREAMVIEW_LATE_H */
