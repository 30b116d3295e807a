/*
 * window.h - window arithmetic and the shared window hash
 *
 * Windows are [start, start + size), with starts at multiples of the slide
 * from the Unix epoch, as Spark's window() does. The shared hash holds the
 * committed count of recently touched windows, so live_counts() can show
 * them without a table scan.
 */
#ifndef STREAMVIEW_WINDOW_H
#define STREAMVIEW_WINDOW_H

#include "postgres.h"

/* One event may fall into at most this many windows (size / slide). */
#define SV_MAX_WINDOWS_PER_EVENT 1000

extern void sv_window_shmem_request(void);
extern void sv_window_shmem_startup(void);

#endif							/* STREAMVIEW_WINDOW_H */
