/*
 * launcher.h - the launcher: which streams run, starting and stopping workers
 *
 * One launcher background worker per cluster, connected to
 * streamview.database, keeps one worker running per stream whose catalog
 * row says running. Shared memory holds a slot per stream that should run:
 * the SQL functions set a slot's wish and wait for the launcher to fulfil
 * it; the stream's worker reports its progress and errors in the slot.
 */
#ifndef STREAMVIEW_LAUNCHER_H
#define STREAMVIEW_LAUNCHER_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "storage/spin.h"

/* Partitions per stream whose broker positions the status views show. */
#define SV_MAX_STATUS_PARTITIONS 1024
#define SV_ERROR_LEN 256
/* Workers one stream may have. */
#define SV_MAX_PARALLELISM 64

/* What a stream's worker is doing, as stream_status shows it. */
typedef enum SvStreamState
{
	SV_STATE_STOPPED = 0,
	SV_STATE_STARTING,
	SV_STATE_RUNNING,
	SV_STATE_RETRYING
} SvStreamState;

/* A stream's progress, written by its worker, read by the status views. */
typedef struct SvStreamStatus
{
	SvStreamState state;
	int64		messages;
	int64		batches;
	int64		rejects;
	int64		late;
	TimestampTz last_batch_at;
	double		last_batch_ms;
	char		last_error[SV_ERROR_LEN];	/* '': not failing now */
	TimestampTz last_error_at;	/* when last_error was last set; 0: never */
	char		detail[SV_ERROR_LEN];	/* what a worker not running waits for */
	int			npartitions;
	int64		high_watermark[SV_MAX_STATUS_PARTITIONS];	/* -1: unknown */
} SvStreamStatus;

/* A copy of one slot for the status views. */
typedef struct SvSlotSnapshot
{
	int			stream_id;
	int			worker_index;
	pid_t		worker_pid;
	SvStreamStatus status;
} SvSlotSnapshot;

extern void sv_launcher_register(void);
extern void sv_launcher_shmem_request(void);
extern void sv_launcher_shmem_startup(void);
extern PGDLLEXPORT void sv_launcher_main(Datum arg);

/* For the SQL functions (backends). */
extern bool sv_launcher_start_stream(int stream_id, const char *name,
									 int nworkers);
extern bool sv_launcher_stop_stream(int stream_id);
extern void sv_launcher_stop_all(void);
extern void sv_launcher_stream_changed(int stream_id);
extern SvSlotSnapshot *sv_launcher_snapshot(int *nslots);

/* For a stream's worker. */
extern int	sv_launcher_attach_worker(int stream_id, int worker_index);
extern bool sv_launcher_should_run(int slot);
extern uint32 sv_launcher_generation(int slot);
extern void sv_launcher_set_state(int slot, SvStreamState state,
								  const char *error);
extern void sv_launcher_clear_error(int slot);
extern void sv_launcher_set_detail(int slot, const char *fmt,...) pg_attribute_printf(2, 3);
extern void sv_launcher_report_batch(int slot, int64 messages, int64 rejects,
									 int64 late, double ms);
extern void sv_launcher_report_watermark(int slot, int32 partition,
										 int64 high);

#endif							/* STREAMVIEW_LAUNCHER_H */
