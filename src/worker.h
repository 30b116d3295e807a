/*
 * worker.h - one stream's worker: batch in, parse, windows, sink, commit
 *
 * Started by the launcher, one per running stream. It owns the loop and
 * calls kafka.c, parse.c, window.c and sink.c in turn; none of them calls
 * back into it.
 */
#ifndef STREAMVIEW_WORKER_H
#define STREAMVIEW_WORKER_H

#include "postgres.h"

extern PGDLLEXPORT void sv_worker_main(Datum arg);

#endif							/* STREAMVIEW_WORKER_H */
