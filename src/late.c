/*
 * late.c - late data: a view's watermark as a worker tracks it
 *
 * See late.h. The watermark is max_event - lateness_usec; max_event starts
 * from the stored watermark (so a restarted worker goes on where the
 * committed batches left it), rises with every event time counted, and
 * with the stored value after each commit when another worker is ahead.
 */
#include "postgres.h"

#include "late.h"

/*
 * Sets up a view's state: lateness_usec -1 for a view without allowed
 * lateness (then nothing is ever late), and the watermark stored with the
 * last committed batch, if there is one.
 */
void
sv_late_init(SvLateness *late, int64 lateness_usec, bool has_stored,
			 int64 stored_watermark)
{
	late->lateness_usec = lateness_usec;
	late->seen = lateness_usec >= 0 && has_stored;
	late->max_event = late->seen ? stored_watermark + lateness_usec : 0;
	memset(&late->batch, 0, sizeof(late->batch));
}

/*
 * Advances the watermark with an event time (the greatest seen minus the
 * allowed lateness) and returns it. Only for a view with lateness.
 */
int64
sv_late_advance(SvLateness *late, int64 event_time)
{
	if (!late->seen || event_time > late->max_event)
	{
		late->max_event = event_time;
		late->seen = true;
	}
	return late->max_event - late->lateness_usec;
}

/* Notes the watermark as a batch starts. */
void
sv_late_batch_begin(SvLateness *late)
{
	late->batch.had_old = late->seen;
	late->batch.old = late->seen ? late->max_event - late->lateness_usec : 0;
}

/*
 * The watermark's move in the batch, for the sink: changed when it moved,
 * or, with several workers, every batch, to learn the others' progress.
 */
void
sv_late_batch_end(const SvLateness *late, int nworkers, SvWatermark *wm)
{
	*wm = late->batch;
	wm->changed = late->lateness_usec >= 0 && late->seen &&
		(!wm->had_old || late->max_event - late->lateness_usec != wm->old ||
		 nworkers > 1);
	wm->new = late->seen ? late->max_event - late->lateness_usec : 0;
	wm->stored = 0;
}

/*
 * After the commit: adopts the stored watermark when it is ahead of ours
 * (another worker's progress).
 */
void
sv_late_adopt(SvLateness *late, const SvWatermark *wm)
{
	if (wm->changed && wm->stored + late->lateness_usec > late->max_event)
		late->max_event = wm->stored + late->lateness_usec;
}
