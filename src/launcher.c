/*
 * launcher.c - the launcher: which streams run, starting and stopping workers
 *
 * The launcher is a static background worker connected to
 * streamview.database. Shared memory holds one slot per stream that should
 * run; start() and stop() set the slot's wish, wake the launcher and wait.
 * The launcher alone starts workers (dynamic, BGW_NEVER_RESTART), so a
 * stream never has two; it restarts a worker that exits while its stream
 * should run. After a crash or restart, shared memory is new and the
 * launcher rebuilds the wishes from the catalog's running flags.
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "launcher.h"
#include "streamview.h"
#include "window.h"

/* How long start(), stop() and drop_stream() wait for the launcher. */
#define SV_WAIT_MS 10000
/* How long the launcher waits before restarting a worker that exited. */
#define SV_RESTART_DELAY_MS 1000
/* How often the launcher looks in the catalog for running streams it lacks. */
#define SV_RESCAN_MS 2000
/* How long a worker asked to stop may take before it is terminated. */
#define SV_STOP_GRACE_MS 3000

/* One stream that should run, or whose worker is still stopping. */
typedef struct SvSlot
{
	int			stream_id;		/* 0: free */
	int			worker_index;	/* 0 .. the stream's parallelism - 1 */
	bool		want_running;
	bool		start_failed;	/* no background worker slot was free */
	uint32		generation;		/* bumped when the stream's config changes */
	pid_t		held_by;		/* a backend whose open transaction set the wish */
	TimestampTz stop_asked_at;	/* when the wish became false; 0: running */
	pid_t		worker_pid;
	Latch	   *worker_latch;
	char		stream_name[NAMEDATALEN];	/* for process titles and logs */
	slock_t		mutex;			/* protects status */
	SvStreamStatus status;
} SvSlot;

typedef struct SvLauncherShared
{
	LWLock	   *lock;			/* protects everything but slot status */
	pid_t		launcher_pid;
	Latch	   *launcher_latch;
	SvSlot		slots[FLEXIBLE_ARRAY_MEMBER];
} SvLauncherShared;

static SvLauncherShared *sv_shared = NULL;

/*
 * A wish set by this transaction, undone if it aborts, or if the
 * subtransaction that set it (subid; on its commit, its parent) aborts.
 */
typedef struct SvPendingWish
{
	int			stream_id;
	int			worker_index;
	bool		previous;
	SubTransactionId subid;
} SvPendingWish;

static List *sv_pending = NIL;
static List *sv_changed = NIL;	/* streams whose config this transaction changed */
static bool sv_dropping = false;	/* this transaction drops the extension */
static SubTransactionId sv_dropping_subid;	/* ... in this subtransaction */
static bool sv_xact_callback_registered = false;

static void sv_notify_changed(int stream_id);

static Size
sv_launcher_shmem_size(void)
{
	return add_size(offsetof(SvLauncherShared, slots),
					mul_size(sizeof(SvSlot), sv_max_streams));
}

/* Reserves the launcher's shared memory and lock. */
void
sv_launcher_shmem_request(void)
{
	RequestAddinShmemSpace(sv_launcher_shmem_size());
	RequestNamedLWLockTranche("streamview launcher", 1);
}

/* Creates or attaches to the slots (caller holds AddinShmemInitLock). */
void
sv_launcher_shmem_startup(void)
{
	bool		found;

	sv_shared = ShmemInitStruct("streamview launcher", sv_launcher_shmem_size(),
								&found);
	if (!found)
	{
		memset(sv_shared, 0, sv_launcher_shmem_size());
		sv_shared->lock = &(GetNamedLWLockTranche("streamview launcher"))->lock;
		for (int i = 0; i < sv_max_streams; i++)
			SpinLockInit(&sv_shared->slots[i].mutex);
	}
}

/* Registers the launcher; it starts once recovery has finished. */
void
sv_launcher_register(void)
{
	BackgroundWorker bgw = {0};

	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = 5;
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "streamview");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "sv_launcher_main");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "streamview launcher");
	snprintf(bgw.bgw_type, BGW_MAXLEN, "streamview launcher");
	RegisterBackgroundWorker(&bgw);
}

/*
 * Finds the slot of one worker of a stream; with allocate, takes a free one.
 * Lock held.
 */
static int
sv_find_slot(int stream_id, int worker_index, bool allocate)
{
	int			free_slot = -1;

	for (int i = 0; i < sv_max_streams; i++)
	{
		if (sv_shared->slots[i].stream_id == stream_id &&
			sv_shared->slots[i].worker_index == worker_index)
			return i;
		if (sv_shared->slots[i].stream_id == 0 && free_slot < 0)
			free_slot = i;
	}
	if (!allocate || free_slot < 0)
		return -1;
	sv_shared->slots[free_slot].stream_id = stream_id;
	sv_shared->slots[free_slot].worker_index = worker_index;
	sv_shared->slots[free_slot].want_running = false;
	sv_shared->slots[free_slot].start_failed = false;
	sv_shared->slots[free_slot].held_by = 0;
	sv_shared->slots[free_slot].stop_asked_at = 0;
	sv_shared->slots[free_slot].worker_pid = 0;
	sv_shared->slots[free_slot].stream_name[0] = '\0';
	memset(&sv_shared->slots[free_slot].status, 0, sizeof(SvStreamStatus));
	for (int p = 0; p < SV_MAX_STATUS_PARTITIONS; p++)
		sv_shared->slots[free_slot].status.high_watermark[p] = -1;
	return free_slot;
}

static void
sv_wake_launcher(void)
{
	if (sv_shared->launcher_latch)
		SetLatch(sv_shared->launcher_latch);
}

/*
 * Puts back what one wish changed (lock held): the slot wants again what
 * it wanted before. Returns the slot, or -1 if it is gone.
 */
static int
sv_undo_wish(const SvPendingWish *w)
{
	int			slot = sv_find_slot(w->stream_id, w->worker_index, w->previous);
	SvSlot	   *s;

	if (slot < 0)
		return -1;
	s = &sv_shared->slots[slot];
	if (s->want_running != w->previous)
	{
		s->want_running = w->previous;
		s->stop_asked_at = w->previous ? 0 : GetCurrentTimestamp();
	}
	return slot;
}

/*
 * Ends this transaction's hold on the slots whose wishes it set; on abort,
 * first puts the wishes back, latest first (a stream started and stopped
 * again wants what it wanted before both), so they follow the catalog.
 * Commit callbacks run once the commit is visible, so the launcher, which
 * does not free a held slot nor resume a stream that has one, never acts on
 * a catalog row that the transaction is still changing.
 */
static void
sv_release_wishes(bool abort)
{
	LWLockAcquire(sv_shared->lock, LW_EXCLUSIVE);
	for (int i = list_length(sv_pending) - 1; i >= 0; i--)
	{
		SvPendingWish *w = list_nth(sv_pending, i);
		int			slot = abort ? sv_undo_wish(w) :
			sv_find_slot(w->stream_id, w->worker_index, false);

		if (slot >= 0 && sv_shared->slots[slot].held_by == MyProcPid)
			sv_shared->slots[slot].held_by = 0;
	}
	LWLockRelease(sv_shared->lock);
	sv_wake_launcher();
}

/*
 * At the end of a subtransaction (ROLLBACK TO SAVEPOINT, a PL/pgSQL
 * exception block): on abort, puts back the wishes it set, latest first,
 * and forgets a DROP EXTENSION it began, as its catalog changes are rolled
 * back; on commit, its parent takes them over. The slots stay held until
 * the top transaction ends.
 */
static void
sv_launcher_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
							 SubTransactionId parentSubid, void *arg)
{
	bool		undone = false;

	if (event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB)
		return;
	if (sv_dropping && sv_dropping_subid == mySubid)
	{
		sv_dropping = event == SUBXACT_EVENT_COMMIT_SUB;
		sv_dropping_subid = parentSubid;
	}
	if (sv_shared == NULL || sv_pending == NIL)
		return;
	if (event == SUBXACT_EVENT_ABORT_SUB)
		LWLockAcquire(sv_shared->lock, LW_EXCLUSIVE);
	for (int i = list_length(sv_pending) - 1; i >= 0; i--)
	{
		SvPendingWish *w = list_nth(sv_pending, i);

		if (w->subid != mySubid)
			continue;
		if (event == SUBXACT_EVENT_COMMIT_SUB)
			w->subid = parentSubid;
		else
		{
			/*
			 * It stays in the list: a later abort of the transaction
			 * undoes the wishes latest first, ending at the first one's
			 * previous wish, whatever was undone on the way.
			 */
			(void) sv_undo_wish(w);
			undone = true;
		}
	}
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		LWLockRelease(sv_shared->lock);
		if (undone)
			sv_wake_launcher();
	}
}

/*
 * At the end of a transaction: releases (on abort, undoes) its wishes; on
 * commit, tells changed streams' workers to reload, and after DROP
 * EXTENSION forgets every window held in shared memory.
 */
static void
sv_launcher_xact_callback(XactEvent event, void *arg)
{
	ListCell   *lc;

	if (event != XACT_EVENT_ABORT && event != XACT_EVENT_COMMIT)
		return;
	if (sv_shared != NULL && sv_pending != NIL)
		sv_release_wishes(event == XACT_EVENT_ABORT);
	if (event == XACT_EVENT_COMMIT && sv_shared != NULL)
	{
		foreach(lc, sv_changed)
			sv_notify_changed(lfirst_int(lc));
		if (sv_dropping)
			sv_window_forget_all();
	}
	list_free_deep(sv_pending);
	sv_pending = NIL;
	list_free(sv_changed);
	sv_changed = NIL;
	sv_dropping = false;
}

/* Registers the transaction callback once per backend. */
static void
sv_register_xact_callback(void)
{
	if (!sv_xact_callback_registered)
	{
		RegisterXactCallback(sv_launcher_xact_callback, NULL);
		RegisterSubXactCallback(sv_launcher_subxact_callback, NULL);
		sv_xact_callback_registered = true;
	}
}

/*
 * Sets one worker's wish (lock held), remembering the old one for abort, and
 * holds the slot until this transaction ends. A worker asked to stop is
 * woken to leave by itself after its batch.
 */
static int
sv_set_wish(int stream_id, int worker_index, bool running, const char *name)
{
	int			slot = sv_find_slot(stream_id, worker_index, running);
	SvSlot	   *s;
	MemoryContext old;
	SvPendingWish *w;

	if (slot < 0)
	{
		if (!running)
			return -1;
		LWLockRelease(sv_shared->lock);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("too many running streams"),
				 errhint("Raise streamview.max_streams (currently %d) and restart the server.",
						 sv_max_streams)));
	}
	sv_register_xact_callback();
	old = MemoryContextSwitchTo(TopMemoryContext);
	w = palloc(sizeof(SvPendingWish));
	w->stream_id = stream_id;
	w->worker_index = worker_index;
	s = &sv_shared->slots[slot];
	w->previous = s->want_running;
	w->subid = GetCurrentSubTransactionId();
	sv_pending = lappend(sv_pending, w);
	MemoryContextSwitchTo(old);

	if (running != s->want_running)
		s->stop_asked_at = running ? 0 : GetCurrentTimestamp();
	s->want_running = running;
	s->start_failed = false;
	s->held_by = MyProcPid;
	if (name)
		strlcpy(s->stream_name, name, NAMEDATALEN);
	if (!running && s->worker_latch)
		SetLatch(s->worker_latch);
	return slot;
}

/* Checks that the library was preloaded, so the slots exist. */
static void
sv_require_shared(void)
{
	if (sv_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("streamview must be loaded via shared_preload_libraries"),
				 errhint("Add streamview to shared_preload_libraries in postgresql.conf and restart the server.")));
}

/* Waits a moment on our own latch (for the launcher or a worker to act). */
static void
sv_wait_a_moment(void)
{
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 10, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
}

/* Whether every worker of the stream is up; sets *failed if one cannot start. */
static bool
sv_workers_up(int *slots, int n, bool *failed)
{
	bool		up = true;

	LWLockAcquire(sv_shared->lock, LW_SHARED);
	for (int i = 0; i < n; i++)
	{
		up &= sv_shared->slots[slots[i]].worker_pid != 0;
		*failed |= sv_shared->slots[slots[i]].start_failed;
	}
	LWLockRelease(sv_shared->lock);
	return up;
}

/*
 * Asks the launcher to run a stream's workers and waits until they are up.
 * Fails with 53400 when no background worker slot is free. Returns whether
 * every worker was already wanted running.
 */
bool
sv_launcher_start_stream(int stream_id, const char *name, int nworkers)
{
	int		   *slots = palloc(sizeof(int) * nworkers);
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													   SV_WAIT_MS);
	bool		failed = false;
	bool		was_running = true;

	sv_require_shared();
	LWLockAcquire(sv_shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < nworkers; i++)
	{
		int			slot = sv_find_slot(stream_id, i, false);

		was_running &= slot >= 0 && sv_shared->slots[slot].want_running;
		slots[i] = sv_set_wish(stream_id, i, true, name);
	}
	LWLockRelease(sv_shared->lock);
	sv_wake_launcher();

	while (!sv_workers_up(slots, nworkers, &failed))
	{
		if (failed)
			ereport(ERROR,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("could not start a worker for stream \"%s\"", name),
					 errdetail("No background worker slot is free."),
					 errhint("Raise max_worker_processes (currently %d) and restart the server.",
							 max_worker_processes)));
		if (GetCurrentTimestamp() > deadline)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("the worker for stream \"%s\" did not start", name),
					 errhint("Check that the streamview launcher runs in database \"%s\" (streamview.database).",
							 sv_database)));
		sv_wait_a_moment();
	}
	return was_running;
}

/*
 * A worker of the stream (of any stream for 0) still running, or 0 (lock
 * not held).
 */
static pid_t
sv_any_worker(int stream_id)
{
	pid_t		pid = 0;

	LWLockAcquire(sv_shared->lock, LW_SHARED);
	for (int i = 0; i < sv_max_streams && pid == 0; i++)
	{
		if (sv_shared->slots[i].stream_id != 0 &&
			(stream_id == 0 || sv_shared->slots[i].stream_id == stream_id))
			pid = sv_shared->slots[i].worker_pid;
	}
	LWLockRelease(sv_shared->lock);
	return pid;
}

/*
 * Asks the launcher to stop the workers of one stream (or, with stream_id
 * 0, of every stream) and waits until they are gone. Returns whether any
 * worker was wanted running.
 */
static bool
sv_stop_and_wait(int stream_id)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													   SV_WAIT_MS);
	pid_t		pid;
	bool		any = false;

	sv_require_shared();
	LWLockAcquire(sv_shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < sv_max_streams; i++)
	{
		SvSlot	   *s = &sv_shared->slots[i];

		if (s->stream_id == 0 || (stream_id != 0 && s->stream_id != stream_id))
			continue;
		any |= s->want_running;
		(void) sv_set_wish(s->stream_id, s->worker_index, false, NULL);
	}
	LWLockRelease(sv_shared->lock);
	sv_wake_launcher();
	while ((pid = sv_any_worker(stream_id)) != 0)
	{
		if (GetCurrentTimestamp() > deadline)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_IN_USE),
					 errmsg("a stream worker did not stop in time"),
					 errdetail("Its process ID is %d.", (int) pid)));
		sv_wait_a_moment();
	}
	return any;
}

/*
 * Asks the launcher to stop a stream's workers and waits until they are
 * gone. Returns whether the stream was running.
 */
bool
sv_launcher_stop_stream(int stream_id)
{
	return sv_stop_and_wait(stream_id);
}

/*
 * Before DROP EXTENSION: stops every stream's worker and waits until all
 * are gone, so none fails on the dropped catalog. If the drop aborts, the
 * streams run again; if it commits, shared memory forgets every window.
 */
void
sv_launcher_stop_all(void)
{
	if (sv_shared == NULL)
		return;
	(void) sv_stop_and_wait(0);
	sv_register_xact_callback();
	if (!sv_dropping)
		sv_dropping_subid = GetCurrentSubTransactionId();
	sv_dropping = true;
}

/* Tells a running stream's workers to reload their configuration at commit. */
void
sv_launcher_stream_changed(int stream_id)
{
	MemoryContext old;

	sv_require_shared();
	sv_register_xact_callback();
	old = MemoryContextSwitchTo(TopMemoryContext);
	sv_changed = list_append_unique_int(sv_changed, stream_id);
	MemoryContextSwitchTo(old);
}

/*
 * After commit: bumps the generation of every worker of a changed stream, so
 * each reloads its configuration (which it can now see) after its batch.
 */
static void
sv_notify_changed(int stream_id)
{
	int			slot;
	Latch	   *latch = NULL;

	LWLockAcquire(sv_shared->lock, LW_EXCLUSIVE);
	for (slot = 0; slot < sv_max_streams; slot++)
	{
		if (sv_shared->slots[slot].stream_id != stream_id)
			continue;
		sv_shared->slots[slot].generation++;
		latch = sv_shared->slots[slot].worker_latch;
		if (latch)
			SetLatch(latch);
	}
	LWLockRelease(sv_shared->lock);
}

/* Copies every used slot, for the status views. */
SvSlotSnapshot *
sv_launcher_snapshot(int *nslots)
{
	SvSlotSnapshot *snap = palloc0(sizeof(SvSlotSnapshot) * sv_max_streams);
	int			n = 0;

	sv_require_shared();
	LWLockAcquire(sv_shared->lock, LW_SHARED);
	for (int i = 0; i < sv_max_streams; i++)
	{
		SvSlot	   *s = &sv_shared->slots[i];

		if (s->stream_id == 0)
			continue;
		snap[n].stream_id = s->stream_id;
		snap[n].worker_index = s->worker_index;
		snap[n].worker_pid = s->worker_pid;
		SpinLockAcquire(&s->mutex);
		snap[n].status = s->status;
		SpinLockRelease(&s->mutex);
		if (s->worker_pid == 0)
			snap[n].status.state = SV_STATE_STOPPED;
		n++;
	}
	LWLockRelease(sv_shared->lock);
	*nslots = n;
	return snap;
}

/* Clears the worker's pid from its slot as it exits. */
static void
sv_detach_worker(int code, Datum arg)
{
	int			slot = DatumGetInt32(arg);

	LWLockAcquire(sv_shared->lock, LW_EXCLUSIVE);
	if (sv_shared->slots[slot].worker_pid == MyProcPid)
	{
		sv_shared->slots[slot].worker_pid = 0;
		sv_shared->slots[slot].worker_latch = NULL;
	}
	LWLockRelease(sv_shared->lock);
	sv_wake_launcher();
}

/*
 * Claims the slot of a stream for this worker. Returns the slot, or -1 when
 * the stream should not run or another worker already serves it.
 */
int
sv_launcher_attach_worker(int stream_id, int worker_index)
{
	int			slot;

	LWLockAcquire(sv_shared->lock, LW_EXCLUSIVE);
	slot = sv_find_slot(stream_id, worker_index, false);
	if (slot >= 0 && (!sv_shared->slots[slot].want_running ||
					  sv_shared->slots[slot].worker_pid != 0))
		slot = -1;
	if (slot >= 0)
	{
		sv_shared->slots[slot].worker_pid = MyProcPid;
		sv_shared->slots[slot].worker_latch = MyLatch;
		SpinLockAcquire(&sv_shared->slots[slot].mutex);
		sv_shared->slots[slot].status.state = SV_STATE_STARTING;
		SpinLockRelease(&sv_shared->slots[slot].mutex);
	}
	LWLockRelease(sv_shared->lock);
	if (slot >= 0)
		before_shmem_exit(sv_detach_worker, Int32GetDatum(slot));
	return slot;
}

/* Whether the worker's stream should still run. */
bool
sv_launcher_should_run(int slot)
{
	bool		want;

	LWLockAcquire(sv_shared->lock, LW_SHARED);
	want = sv_shared->slots[slot].want_running;
	LWLockRelease(sv_shared->lock);
	return want;
}

/* The stream's configuration generation; a change means reload. */
uint32
sv_launcher_generation(int slot)
{
	uint32		gen;

	LWLockAcquire(sv_shared->lock, LW_SHARED);
	gen = sv_shared->slots[slot].generation;
	LWLockRelease(sv_shared->lock);
	return gen;
}

/*
 * Records the worker's state and, if given, its error (and when it
 * happened). A running worker waits for nothing: its detail is cleared.
 */
void
sv_launcher_set_state(int slot, SvStreamState state, const char *error)
{
	SvSlot	   *s = &sv_shared->slots[slot];
	TimestampTz now = error ? GetCurrentTimestamp() : 0;

	SpinLockAcquire(&s->mutex);
	s->status.state = state;
	if (error)
	{
		strlcpy(s->status.last_error, error, SV_ERROR_LEN);
		s->status.last_error_at = now;
	}
	if (state == SV_STATE_RUNNING)
		s->status.detail[0] = '\0';
	SpinLockRelease(&s->mutex);
}

/*
 * Clears the worker's error: it is working again (last_error_at keeps when
 * the error happened).
 */
void
sv_launcher_clear_error(int slot)
{
	SvSlot	   *s = &sv_shared->slots[slot];

	SpinLockAcquire(&s->mutex);
	s->status.last_error[0] = '\0';
	SpinLockRelease(&s->mutex);
}

/* Records what the worker is doing or waiting for, while not running. */
void
sv_launcher_set_detail(int slot, const char *fmt,...)
{
	SvSlot	   *s = &sv_shared->slots[slot];
	char		buf[SV_ERROR_LEN];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	SpinLockAcquire(&s->mutex);
	strlcpy(s->status.detail, buf, SV_ERROR_LEN);
	SpinLockRelease(&s->mutex);
}

/*
 * Adds one committed batch to the stream's counters. A batch that commits
 * ends the error the worker had: last_error is cleared.
 */
void
sv_launcher_report_batch(int slot, int64 messages, int64 rejects, int64 late,
						 double ms)
{
	SvSlot	   *s = &sv_shared->slots[slot];
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&s->mutex);
	s->status.last_error[0] = '\0';
	s->status.messages += messages;
	s->status.rejects += rejects;
	s->status.late += late;
	s->status.batches++;
	s->status.last_batch_at = now;
	s->status.last_batch_ms = ms;
	SpinLockRelease(&s->mutex);
}

/* Records a partition's high watermark as the broker last reported it. */
void
sv_launcher_report_watermark(int slot, int32 partition, int64 high)
{
	SvSlot	   *s = &sv_shared->slots[slot];

	if (partition < 0 || partition >= SV_MAX_STATUS_PARTITIONS)
		return;
	SpinLockAcquire(&s->mutex);
	s->status.high_watermark[partition] = high;
	if (partition >= s->status.npartitions)
		s->status.npartitions = partition + 1;
	SpinLockRelease(&s->mutex);
}

/* What the previous look at the catalog saw (sv_launcher_load_catalog). */
static char *sv_prev_fingerprint = NULL;
static List *sv_prev_candidates = NIL;	/* stream ids running without a slot */

/*
 * Whether a running stream without a slot may be resumed now: at the
 * launcher's start always (after a crash or restart, shared memory is new);
 * otherwise (a catalog restored by pg_restore) once the previous look saw
 * it too and the catalog's fingerprint has not changed since, so that a
 * stream never starts while a restore is still loading its columns, views,
 * offsets or results. Records what this look saw for the next one.
 */
static bool
sv_may_resume(bool at_start, const char *fingerprint, int stream_id,
			  List **candidates)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

	*candidates = list_append_unique_int(*candidates, stream_id);
	MemoryContextSwitchTo(old);
	return at_start ||
		(sv_prev_fingerprint != NULL && fingerprint != NULL &&
		 strcmp(sv_prev_fingerprint, fingerprint) == 0 &&
		 list_member_int(sv_prev_candidates, stream_id));
}

/* Remembers this look at the catalog for the next one. */
static void
sv_remember_look(const char *fingerprint, List *candidates)
{
	if (sv_prev_fingerprint)
		pfree(sv_prev_fingerprint);
	sv_prev_fingerprint = fingerprint ?
		MemoryContextStrdup(TopMemoryContext, fingerprint) : NULL;
	list_free(sv_prev_candidates);
	sv_prev_candidates = candidates;
}

/*
 * Sets the wish of every worker of every stream the catalog says is running
 * that has no slot yet: after a crash or restart (shared memory is new),
 * and after a restore of the catalog (pg_restore), this is how streams
 * resume. A stream whose slot is held by an open transaction (start, stop,
 * drop) has a slot, so the catalog's old state never overrides it.
 */
static void
sv_launcher_load_catalog(bool at_start)
{
	List	   *streams = NIL;
	List	   *candidates = NIL;
	char	   *fingerprint = NULL;
	ListCell   *lc;
	int			resumed = 0;
	int			missing = 0;
	static bool warned = false;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (OidIsValid(get_extension_oid("streamview", true)))
	{
		streams = sv_catalog_running_streams();
		fingerprint = sv_catalog_fingerprint();
	}
	LWLockAcquire(sv_shared->lock, LW_EXCLUSIVE);
	foreach(lc, streams)
	{
		SvStream   *stream = lfirst(lc);
		bool		any = false;

		for (int i = 0; i < stream->parallelism; i++)
		{
			int			slot;

			if (sv_find_slot(stream->id, i, false) >= 0 ||
				!sv_may_resume(at_start, fingerprint, stream->id, &candidates))
				continue;
			slot = sv_find_slot(stream->id, i, true);
			if (slot < 0)
			{
				missing++;
				continue;
			}
			sv_shared->slots[slot].want_running = true;
			strlcpy(sv_shared->slots[slot].stream_name, stream->name, NAMEDATALEN);
			any = true;
		}
		resumed += any;
	}
	LWLockRelease(sv_shared->lock);
	sv_remember_look(fingerprint, candidates);
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	if (missing > 0 && !warned)
		ereport(WARNING,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("too many stream workers to resume them all"),
				 errdetail("%d worker(s) of running streams have no slot.", missing),
				 errhint("Raise streamview.max_streams (currently %d) and restart the server.",
						 sv_max_streams)));
	warned |= missing > 0;
	if (resumed > 0)
	{
		ereport(LOG,
				(errcode(ERRCODE_SUCCESSFUL_COMPLETION),
				 errmsg("streamview launcher resuming %d stream(s)", resumed)));
		sv_wake_launcher();
	}
}

/* Registers a dynamic worker for the stream in a slot; false if none free. */
static bool
sv_launcher_start_worker(int stream_id, int worker_index, const char *name,
						 BackgroundWorkerHandle **handle)
{
	BackgroundWorker bgw = {0};

	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "streamview");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "sv_worker_main");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "streamview worker %d of stream \"%s\"",
			 worker_index, name);
	memcpy(bgw.bgw_extra, &worker_index, sizeof(int));
	snprintf(bgw.bgw_type, BGW_MAXLEN, "streamview worker");
	bgw.bgw_main_arg = Int32GetDatum(stream_id);
	bgw.bgw_notify_pid = MyProcPid;
	return RegisterDynamicBackgroundWorker(&bgw, handle);
}

/*
 * Brings every slot's worker in line with its wish: starts missing workers
 * (after a short delay for one that just exited), lets unwanted ones leave
 * by themselves after their batch (terminating those that take longer than
 * SV_STOP_GRACE_MS), and frees slots whose stream is stopped, whose worker
 * is gone and that no open transaction holds.
 */
static void
sv_launcher_reconcile(BackgroundWorkerHandle **handles, TimestampTz *not_before)
{
	TimestampTz now = GetCurrentTimestamp();

	for (int i = 0; i < sv_max_streams; i++)
	{
		SvSlot	   *s = &sv_shared->slots[i];
		pid_t		pid;
		bool		exited = false;

		if (handles[i] != NULL &&
			GetBackgroundWorkerPid(handles[i], &pid) == BGWH_STOPPED)
		{
			pfree(handles[i]);
			handles[i] = NULL;
			exited = true;
		}

		LWLockAcquire(sv_shared->lock, LW_EXCLUSIVE);
		/* only a worker that exited while wanted waits before its restart */
		if (exited)
			not_before[i] = s->want_running ?
				TimestampTzPlusMilliseconds(now, SV_RESTART_DELAY_MS) : 0;
		/*
		 * worker_pid: a launcher that restarted has no handles of the
		 * workers already running; a second worker could not attach.
		 */
		if (s->stream_id != 0 && s->want_running && handles[i] == NULL &&
			s->worker_pid == 0 && now >= not_before[i])
		{
			if (!sv_launcher_start_worker(s->stream_id, s->worker_index,
										  s->stream_name, &handles[i]))
			{
				handles[i] = NULL;
				s->start_failed = true;
				not_before[i] = TimestampTzPlusMilliseconds(now, SV_RESTART_DELAY_MS);
			}
		}
		else if (s->stream_id != 0 && !s->want_running && handles[i] != NULL)
		{
			if (s->worker_latch)
				SetLatch(s->worker_latch);
			if (TimestampDifferenceExceeds(s->stop_asked_at, now, SV_STOP_GRACE_MS))
				TerminateBackgroundWorker(handles[i]);
		}
		else if (s->stream_id != 0 && !s->want_running && handles[i] == NULL &&
				 s->worker_pid == 0 && s->held_by == 0)
		{
			s->stream_id = 0;
			not_before[i] = 0;	/* the next stream in this slot starts at once */
		}
		LWLockRelease(sv_shared->lock);
	}
}

/*
 * The launcher's main loop: resume streams from the catalog (at start and
 * every SV_RESCAN_MS, for catalogs restored by pg_restore), then keep the
 * workers in line with the wishes, waking on its latch (set by start(),
 * stop() and exiting workers) or once a second.
 */
void
sv_launcher_main(Datum arg)
{
	BackgroundWorkerHandle **handles;
	TimestampTz *not_before;
	TimestampTz rescanned;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(sv_database, NULL, 0);

	handles = MemoryContextAllocZero(TopMemoryContext,
									 sizeof(BackgroundWorkerHandle *) * sv_max_streams);
	not_before = MemoryContextAllocZero(TopMemoryContext,
										sizeof(TimestampTz) * sv_max_streams);
	LWLockAcquire(sv_shared->lock, LW_EXCLUSIVE);
	sv_shared->launcher_pid = MyProcPid;
	sv_shared->launcher_latch = MyLatch;
	LWLockRelease(sv_shared->lock);

	sv_launcher_load_catalog(true);
	rescanned = GetCurrentTimestamp();
	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (TimestampDifferenceExceeds(rescanned, GetCurrentTimestamp(), SV_RESCAN_MS))
		{
			sv_launcher_load_catalog(false);
			rescanned = GetCurrentTimestamp();
		}
		sv_launcher_reconcile(handles, not_before);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 1000, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
