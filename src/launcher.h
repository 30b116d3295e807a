/*
 * launcher.h - the launcher: which streams run, starting and stopping workers
 *
 * One launcher background worker per cluster, connected to
 * streamview.database, keeps one worker running per stream whose catalog
 * row says running. Shared memory holds a slot per running stream; the SQL
 * functions set a slot's wish and wait for the launcher to fulfil it.
 */
#ifndef STREAMVIEW_LAUNCHER_H
#define STREAMVIEW_LAUNCHER_H

#include "postgres.h"

extern void sv_launcher_register(void);
extern void sv_launcher_shmem_request(void);
extern void sv_launcher_shmem_startup(void);

extern void sv_launcher_start_stream(int stream_id, const char *name);
extern void sv_launcher_stop_stream(int stream_id, bool dropped);
extern void sv_launcher_stream_changed(int stream_id);

#endif							/* STREAMVIEW_LAUNCHER_H */
