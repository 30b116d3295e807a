/*
 * worker.c - one stream's worker: batch in, parse, windows, sink, commit
 *
 * A session loads the stream's configuration, connects to Kafka, assigns
 * the partitions at the offsets stored in streamview.offsets, and then runs
 * micro-batches: fetch until streamview.batch_max_messages or
 * streamview.batch_max_ms, parse every message, count it into every window
 * of every view, and commit counts, rejects and offsets in one transaction.
 * Any error ends the session: the transaction aborts, nothing of the batch
 * is kept, and the next session starts over from the stored offsets, after
 * a backoff. So every message is counted exactly once.
 */
#include "postgres.h"

#include <signal.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "access/tupdesc.h"
#include "access/xact.h"
#include "executor/tuptable.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/pmsignal.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "mb/pg_wchar.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "aggregate.h"
#include "catalog.h"
#include "compat.h"
#include "eval.h"
#include "kafka.h"
#include "late.h"
#include "launcher.h"
#include "parse.h"
#include "query.h"
#include "schema.h"
#include "sink.h"
#include "streamview.h"
#include "window.h"
#include "worker.h"

/* How often the worker looks for partitions added to the topic. */
#define SV_METADATA_REFRESH_MS 30000
/* Seconds a worker asks the brokers for the topic's partitions, per try. */
#define SV_METADATA_TRIES 5
#define SV_BACKOFF_MIN_MS 500
#define SV_BACKOFF_MAX_MS 30000
/*
 * A batch ends early once the messages it sets aside hold this many bytes;
 * rejects past it within the same fetch are kept without their payload.
 */
#define SV_BATCH_REJECT_BYTES (64 * 1024 * 1024)
/*
 * Within SV_ACTIVE_MS of the last message, the worker waits for more inside
 * librdkafka, SV_ACTIVE_WAIT_MS at a time; after that, on the latch.
 */
#define SV_ACTIVE_MS 200
#define SV_ACTIVE_WAIT_MS 2

/* A view as the hot path needs it. */
typedef struct SvViewRun
{
	SvView	   *view;
	int			time_idx;
	int32		time_typmod;	/* timestamp(p): round to p fractional digits */
	int		   *group_idx;
	int			ngroup;
	SvWindowMemo windows;		/* the last event time's windows */
	SvLateness	late;			/* its watermark (late.h) */
	/* a query view (create_view): its compiled expressions and aggregates */
	SvEval	   *eval;
	SvAggRun   *aggrun;
	Size		state_size;
	SvEvalResult result;
} SvViewRun;

/* Everything a worker keeps across batches. */
typedef struct SvWorker
{
	int			slot;
	int			stream_id;
	char	   *name;			/* the stream's, for logs (kept across sessions) */
	int			index;			/* this worker's share: partitions p % n == index */
	int			nworkers;
	uint32		generation;
	MemoryContext session_cxt;	/* configuration, sink, kafka: per session */
	MemoryContext counts_cxt;	/* a batch's counts */
	SvStream   *stream;
	SvViewRun  *views;
	int			nviews;
	SvSchema	schema;
	SvValue    *values;
	SvSink	   *sink;
	SvKafka    *kafka;
	WaitEventSet *waits;
	/* query views: the message as a tuple, filled once per message */
	int			nqueries;
	TupleTableSlot *tuple;
	Bitmapset  *used;			/* stream columns some query view reads */
	bool		slot_filled;	/* the tuple is this message's */
	Oid		   *filled_by;		/* per column: converted as this owner, or 0 */
	MemoryContext msg_cxt;		/* the slot's values, reset per message */
	ResourceOwner eval_owner;	/* the batch transaction's, under its subxact */
	StringInfoData headers;		/* kafka_headers of the message, as JSON text */
	SvMetaText	metatext;		/* its other metadata columns' text, when a
								 * count view groups by one (metatext_needed) */
	bool		metatext_needed;
	/* partitions, indexed by partition id; -1: not assigned */
	int			nparts;			/* highest partition id + 1 */
	int			topic_parts;	/* partitions the topic had at setup */
	int64	   *stored;			/* committed next offsets */
	int64	   *next;			/* next offsets after this batch */
	int32		gap_partition;	/* out of range, to move after the batch */
	bool		retrying;		/* the broker failed us and has not come back */
	bool		batch_error;	/* this batch saw a consumer error */
	TimestampTz last_message_at;
	TimestampTz metadata_at;
	/* the batch */
	SvCounts	counts;
	List	   *rejects;
	int64		batch_messages;
	int64		batch_rejects;
	int64		batch_late;
	int			batch_waits;	/* times this batch waited for messages */
	int64		batch_reject_bytes; /* payload bytes kept in rejects */
	int64		batches_this_life;
	char		keybuf[SV_KEY_MAX];
} SvWorker;

static SvWorker *sv_worker = NULL;

static List *sv_worker_offsets_list(SvWorker *w);

/* The sum of the committed offsets of this worker's partitions. */
static int64
sv_worker_committed(SvWorker *w)
{
	int64		sum = 0;

	for (int p = 0; p < w->nparts; p++)
		sum += Max(w->stored[p], 0);
	return sum;
}

/*
 * Test hook: at a named point, the worker kills itself with SIGKILL (the
 * postmaster then restarts the cluster, as after any crash). Never in the
 * first batch of a worker's life, so a test that leaves a crash point set
 * still makes progress.
 */
static void
sv_crash_point(const char *name)
{
	if (sv_test_crash_point == NULL || sv_test_crash_point[0] == '\0' ||
		strcmp(sv_test_crash_point, name) != 0 ||
		sv_worker->batches_this_life == 0)
		return;
	ereport(LOG,
			(errcode(ERRCODE_SUCCESSFUL_COMPLETION),
			 errmsg("streamview worker crashing at test crash point \"%s\" with %lld messages committed",
					name, (long long) sv_worker_committed(sv_worker))));
	kill(MyProcPid, SIGKILL);
	pg_usleep(10000000L);
}

/* Applies a reload of postgresql.conf if one was signalled. */
static void
sv_worker_reload_settings(void)
{
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

/* The memory context to return to after a transaction of the worker's. */
static MemoryContext sv_outer_cxt = NULL;

/* Starts a transaction with a snapshot and SPI, for catalog work. */
static void
sv_begin(void)
{
	sv_outer_cxt = CurrentMemoryContext;
	/* a batch of a stream with query views runs in its own transaction */
	if (!IsTransactionState())
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	/*
	 * SPI_connect leaves its procedure context current, which SPI_finish
	 * frees: what the caller allocates must outlive the transaction.
	 */
	MemoryContextSwitchTo(sv_outer_cxt);
}

/*
 * Commits, then reports the transaction's table statistics as a backend
 * does (at most once a second), so autovacuum and autoanalyze learn what
 * the batches wrote while the stream runs.
 */
static void
sv_commit(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	/* commit leaves TopMemoryContext current: go back to where we were */
	MemoryContextSwitchTo(sv_outer_cxt);
}

/* Resolves a view's column positions for the hot path. */
static void
sv_worker_view_run(SvWorker *w, SvView *v, SvViewRun *run)
{
	run->view = v;
	sv_window_memo_init(&run->windows, v->size_usec, v->slide_usec);
	run->time_idx = sv_schema_column_index(w->stream, v->time_column);
	run->ngroup = v->ngroup;
	run->group_idx = palloc(sizeof(int) * Max(v->ngroup, 1));
	for (int g = 0; g < v->ngroup; g++)
	{
		run->group_idx[g] = sv_schema_column_index(w->stream, v->group_by[g]);
		/* a count view's key is a column's text: metadata columns need it */
		if (v->q == NULL && run->group_idx[g] >= w->stream->nvalue)
			w->metatext_needed = true;
	}
	if (run->time_idx < 0)
		elog(ERROR, "time column \"%s\" of view %u is not in the stream",
			 v->time_column, v->relid);
	run->time_typmod = w->stream->columns[run->time_idx].typmod;
	sv_late_init(&run->late, v->lateness_usec, v->has_watermark, v->watermark);
	if (v->q != NULL)
	{
		const SvQuery *q = v->q;
		SvAsOwner	save;

		/*
		 * planning folds constant calls: as the owner, in the view's
		 * search_path and settings (create_view always records them, so
		 * the settings changed meanwhile are undone)
		 */
		sv_as_owner_begin_with(v->owner, v->search_path, v->settings, &save);
		run->eval = sv_eval_prepare(q, w->tuple, w->session_cxt);
		sv_as_owner_end(&save);
		run->aggrun = sv_agg_prepare(q, w->session_cxt);
		run->state_size = sv_agg_state_size(q);
		run->result.values = palloc0(sizeof(Datum) * Max(1, q->naggs));
		run->result.isnull = palloc0(sizeof(bool) * Max(1, q->naggs));
		run->result.pass = palloc0(sizeof(bool) * Max(1, q->naggs));
		w->nqueries++;
		w->used = bms_union(w->used, q->used);
	}
}

/* Error context while a query view is loaded: which view. */
static void
sv_worker_view_context(void *arg)
{
	const SvView *v = arg;

	errcontext("view %s of stream \"%s\"", get_rel_name(v->relid), v->stream);
}

/*
 * Analyses the query of each query view as its owner (so the owner's
 * privileges apply, as when the view was created), and makes the tuple the
 * views' expressions read the message from.
 */
static void
sv_worker_load_queries(SvWorker *w, List *views)
{
	ListCell   *lc;
	TupleDesc	desc;

	w->nqueries = 0;
	w->used = NULL;
	w->tuple = NULL;
	foreach(lc, views)
	{
		SvView	   *v = lfirst(lc);
		SvAsOwner	save;
		ErrorContextCallback ctx;

		if (v->query == NULL)
			continue;
		sv_as_owner_begin_with(v->owner, v->search_path, v->settings, &save);
		ctx.callback = sv_worker_view_context;
		ctx.arg = v;
		ctx.previous = error_context_stack;
		error_context_stack = &ctx;
		v->q = sv_query_analyze(v->query);
		error_context_stack = ctx.previous;
		sv_as_owner_end(&save);
		if (w->tuple == NULL)
		{
			desc = CreateTemplateTupleDesc(w->stream->ncolumns);
			for (int i = 0; i < w->stream->ncolumns; i++)
				TupleDescInitEntry(desc, (AttrNumber) (i + 1), w->stream->columns[i].name,
								   w->stream->columns[i].typid,
								   w->stream->columns[i].typmod, 0);
			w->tuple = MakeSingleTupleTableSlot(desc, &TTSOpsVirtual);
			w->filled_by = palloc0(sizeof(Oid) * Max(1, w->stream->ncolumns));
		}
	}
}

/*
 * Loads the stream and its views and prepares the sink. Returns false when
 * the stream is not visible (dropped, or created by a transaction that has
 * not committed yet).
 */
static bool
sv_worker_load(SvWorker *w)
{
	MemoryContext old;
	List	   *views;
	ListCell   *lc;
	int			i = 0;

	w->generation = sv_launcher_generation(w->slot);
	sv_begin();
	old = MemoryContextSwitchTo(w->session_cxt);
	w->stream = sv_catalog_get_stream_by_id(w->stream_id);
	if (w->stream == NULL)
	{
		MemoryContextSwitchTo(old);
		sv_commit();
		return false;
	}
	if (w->name == NULL || strcmp(w->name, w->stream->name) != 0)
		w->name = MemoryContextStrdup(TopMemoryContext, w->stream->name);
	views = sv_catalog_get_views(w->stream->name);
	sv_worker_load_queries(w, views);
	w->nviews = list_length(views);
	w->views = palloc0(sizeof(SvViewRun) * Max(w->nviews, 1));
	w->metatext_needed = false;
	foreach(lc, views)
		sv_worker_view_run(w, lfirst(lc), &w->views[i++]);
	sv_schema_build(w->stream, &w->schema);
	w->values = palloc0(sizeof(SvValue) * w->stream->ncolumns);
	w->nworkers = Max(w->stream->parallelism, 1);
	w->sink = sv_sink_prepare(w->stream, views, w->session_cxt);
	MemoryContextSwitchTo(old);
	sv_commit();
	return true;
}

/* Remembers a message set aside, with its reason, for the batch's commit. */
static void
sv_worker_reject(SvWorker *w, int view_index, const SvMessage *m,
				 const char *reason)
{
	MemoryContext old = MemoryContextSwitchTo(w->counts_cxt);
	SvReject   *r = palloc(sizeof(SvReject));
	bool		late = strcmp(reason, "late") == 0;
	bool		keep = m->value != NULL && m->len <= (size_t) sv_max_message_bytes;

	r->view_index = view_index;
	r->partition = m->partition;
	r->offset = m->offset;
	r->payload = NULL;
	if (keep && w->batch_reject_bytes + (int64) m->len > SV_BATCH_REJECT_BYTES)
	{
		reason = psprintf("%s (payload not kept: this batch's rejects already hold %d MB)",
						  reason, SV_BATCH_REJECT_BYTES / (1024 * 1024));
		keep = false;
	}
	if (keep)
	{
		r->payload = palloc(VARHDRSZ + m->len);
		w->batch_reject_bytes += m->len;
		SET_VARSIZE(r->payload, VARHDRSZ + m->len);
		memcpy(VARDATA(r->payload), m->value, m->len);
	}
	r->reason = pstrdup(reason);
	w->rejects = lappend(w->rejects, r);
	if (!late)
		w->batch_rejects++;
	MemoryContextSwitchTo(old);
}

/*
 * Adds the message to one window of a view: its count, and for a query
 * view its aggregates' arguments (those that passed their FILTER).
 */
static inline void
sv_worker_add_window(SvWorker *w, int vi, int64 start, int keylen, uint32 keyhash)
{
	SvViewRun  *run = &w->views[vi];
	const SvQuery *q;
	SvAggState *states;

	if (run->eval == NULL)
	{
		sv_counts_add(&w->counts, vi, start, w->keybuf, keylen, keyhash);
		return;
	}
	q = run->view->q;
	states = sv_counts_entry(&w->counts, vi, start, w->keybuf, keylen, keyhash,
							 run->state_size)->state;
	for (int a = 0; a < q->naggs; a++)
	{
		if (run->result.pass[a])
			sv_agg_add(&q->aggs[a], &run->aggrun[a], &states[a],
					   run->result.values[a], run->result.isnull[a], w->counts_cxt);
	}
}

/*
 * Counts an event into the windows of a view with allowed lateness: a
 * window that the watermark has passed is final and is not counted; the
 * event is then late for this view (and with keep_late, kept in rejects).
 */
static void
sv_worker_count_late(SvWorker *w, int vi, const SvMessage *m,
					 int64 time, int64 first, int n, uint32 keyhash, int keylen)
{
	SvViewRun  *run = &w->views[vi];
	int64		wm = sv_late_advance(&run->late, time);
	bool		late = false;

	for (int i = 0; i < n; i++)
	{
		int64		start = first + i * run->view->slide_usec;

		if (sv_late_window_final(wm, start, run->view->size_usec))
			late = true;
		else
			sv_worker_add_window(w, vi, start, keylen, keyhash);
	}
	if (!late)
		return;
	w->batch_late++;
	if (run->view->keep_late)
		sv_worker_reject(w, vi, m, "late");
}

/*
 * Adds a message with its group key in keybuf to every window of a view
 * that its time falls in (the time rounded as the column's typmod says),
 * or sets it aside when the time is out of range.
 */
static void
sv_worker_windows(SvWorker *w, int vi, const SvMessage *m,
				  Timestamp time, int keylen)
{
	SvViewRun  *run = &w->views[vi];
	uint32		keyhash;
	int64		first;
	int			n;
	if (!sv_round_timestamp(&time, run->time_typmod))
	{
		sv_worker_reject(w, vi, m, "time is out of range");
		return;
	}
	if (!sv_window_range_memo(&run->windows, time, &first, &n))
	{
		sv_worker_reject(w, vi, m, "time is out of range for windows");
		return;
	}
	keyhash = keylen > 0 ? hash_bytes((const unsigned char *) w->keybuf, keylen) : 0;
	if (sv_late_enabled(&run->late))
		sv_worker_count_late(w, vi, m, time, first, n, keyhash, keylen);
	else
	{
		for (int i = 0; i < n; i++)
			sv_worker_add_window(w, vi, first + i * run->view->slide_usec, keylen, keyhash);
	}
}

/* Counts one parsed message into every window of one view. */
static void
sv_worker_count_view(SvWorker *w, int vi, const SvMessage *m)
{
	SvViewRun  *run = &w->views[vi];
	const SvValue *t = &w->values[run->time_idx];
	int			keylen = 0;
	char		reason[SV_REASON_LEN];

	if (t->isnull)
	{
		snprintf(reason, sizeof(reason), "time column \"%s\" is null",
				 run->view->time_column);
		sv_worker_reject(w, vi, m, reason);
		return;
	}
	for (int g = 0; g < run->ngroup; g++)
	{
		const SvValue *k = &w->values[run->group_idx[g]];

		if (k->isnull)
		{
			snprintf(reason, sizeof(reason), "group_by column \"%s\" is null",
					 run->view->group_by[g]);
			sv_worker_reject(w, vi, m, reason);
			return;
		}
		keylen = sv_key_append(w->keybuf, keylen, SV_KEY_MAX, k->str, (int) k->len);
		if (keylen < 0)
		{
			sv_worker_reject(w, vi, m, "group key too long");
			return;
		}
	}
	sv_worker_windows(w, vi, m, t->v.i, keylen);
}

/*
 * Puts the values of the columns a query view reads into the tuple its
 * expressions read, converting each column once per message and owner
 * (conversion may run a type's input function: it runs as the view's
 * owner, who is the current user here).
 */
static void
sv_worker_fill_slot(SvWorker *w, SvViewRun *run)
{
	TupleTableSlot *slot = w->tuple;
	Oid			owner = GetUserId();
	MemoryContext old;
	int			i = -1;

	if (!w->slot_filled)
	{
		MemoryContextReset(w->msg_cxt);
		ExecClearTuple(slot);
		for (int c = 0; c < w->stream->ncolumns; c++)
		{
			slot->tts_isnull[c] = true;
			slot->tts_values[c] = (Datum) 0;
			w->filled_by[c] = InvalidOid;
		}
		ExecStoreVirtualTuple(slot);
		w->slot_filled = true;
	}
	old = MemoryContextSwitchTo(w->msg_cxt);
	while ((i = bms_next_member(run->view->q->used, i)) >= 0)
	{
		if (w->filled_by[i] == owner)
			continue;
		slot->tts_isnull[i] = w->values[i].isnull;
		slot->tts_values[i] = w->values[i].isnull ? (Datum) 0 :
			sv_schema_datum(&w->stream->columns[i], &w->values[i]);
		w->filled_by[i] = owner;
	}
	MemoryContextSwitchTo(old);
}

/*
 * Ends the batch's subtransaction after an error and starts a new one, so
 * that what the failed evaluation held is released and the next message
 * evaluates cleanly.
 */
static void
sv_worker_restart_subxact(SvWorker *w)
{
	RollbackAndReleaseCurrentSubTransaction();
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(w->counts_cxt);
}

/*
 * Whether an error raised while evaluating a message is the message's
 * fault (a division by zero, a value a type refuses) and so rejects it, or
 * the worker's (out of memory, a cancel, an internal error), which fails
 * the batch like any other error.
 */
static bool
sv_worker_message_error(const ErrorData *edata)
{
	int			category = ERRCODE_TO_CATEGORY(edata->sqlerrcode);

	return category != ERRCODE_TO_CATEGORY(ERRCODE_INSUFFICIENT_RESOURCES) &&
		category != ERRCODE_TO_CATEGORY(ERRCODE_OPERATOR_INTERVENTION) &&
		category != ERRCODE_TO_CATEGORY(ERRCODE_SYSTEM_ERROR) &&
		category != ERRCODE_TO_CATEGORY(ERRCODE_INTERNAL_ERROR) &&
		category != ERRCODE_TO_CATEGORY(ERRCODE_PROGRAM_LIMIT_EXCEEDED);
}

/*
 * Evaluates a query view on one message and adds it to its windows, as the
 * view's owner (security restricted): converting the columns it reads,
 * WHERE, GROUP BY and aggregate arguments run in the batch's
 * subtransaction, and an error there rejects the message for this view,
 * with the error's message as the reason; the stream goes on. Adding to
 * the batch's counts happens only after the evaluation succeeded, so a
 * message is never both counted and rejected.
 */
static void
sv_worker_query_view(SvWorker *w, int vi, const SvMessage *m)
{
	SvViewRun  *run = &w->views[vi];
	SvAsOwner	save;
	ErrorData  *volatile edata = NULL;
	volatile bool pass = false;

	sv_as_owner_begin(run->view->owner, NULL, &save);
	PG_TRY();
	{
		sv_worker_fill_slot(w, run);
		pass = sv_eval_message(run->eval, w->keybuf, SV_KEY_MAX, &run->result);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(w->counts_cxt);
		edata = CopyErrorData();
		if (!sv_worker_message_error(edata))
		{
			sv_as_owner_end(&save);
			PG_RE_THROW();
		}
		FlushErrorState();
	}
	PG_END_TRY();
	if (edata == NULL && pass)
	{
		const SvValue *t = &w->values[run->time_idx];

		if (t->isnull)
		{
			char		reason[SV_REASON_LEN];

			snprintf(reason, sizeof(reason), "time column \"%s\" is null",
					 run->view->time_column);
			sv_worker_reject(w, vi, m, reason);
		}
		else if (run->result.keylen < 0)
			sv_worker_reject(w, vi, m, "group key too long");
		else
			sv_worker_windows(w, vi, m, t->v.i, run->result.keylen);
	}
	sv_as_owner_end(&save);
	sv_eval_reset(run->eval);
	if (edata != NULL)
	{
		sv_worker_restart_subxact(w);
		for (int i = 0; i < w->stream->ncolumns; i++)
			w->filled_by[i] = InvalidOid;
		sv_worker_reject(w, vi, m, edata->message);
		FreeErrorData(edata);
	}
}

/* Fills the message's metadata columns the stream includes; see schema.c. */
static bool
sv_worker_metadata(SvWorker *w, const SvMessage *m, char *reason, size_t reasonlen)
{
	bool		has_headers = false;

	if (w->stream->include & SV_INCLUDE_HEADERS)
	{
		resetStringInfo(&w->headers);
		has_headers = sv_kafka_headers_json(m, &w->headers);
	}
	return sv_schema_metadata(w->stream, m, has_headers ? w->headers.data : NULL,
							  w->values, w->metatext_needed ? &w->metatext : NULL,
							  reason, reasonlen);
}

/* Parses one message and counts it for every view, or sets it aside. */
static void
sv_worker_count_message(SvWorker *w, const SvMessage *m)
{
	SvParseError err;
	char		reason[SV_REASON_LEN + 64];

	if (m->partition < 0 || m->partition >= w->nparts ||
		m->offset < w->next[m->partition])
	{
		/* not ours, or already counted in this batch: never count twice */
		return;
	}
	w->next[m->partition] = m->offset + 1;
	w->batch_messages++;
	if (m->value == NULL)
	{
		sv_worker_reject(w, -1, m, "message has no value (null)");
		return;
	}
	if (m->len > (size_t) sv_max_message_bytes)
	{
		snprintf(reason, sizeof(reason),
				 "message of %zu bytes exceeds streamview.max_message_bytes (%d)",
				 m->len, sv_max_message_bytes);
		sv_worker_reject(w, -1, m, reason);
		return;
	}
	sv_schema_fit_scratch(&w->schema, m->len);
	if (!sv_parse_message(&w->schema, m->value, m->len, w->values, &err))
	{
		sv_worker_reject(w, -1, m, err.reason);
		return;
	}
	if (w->stream->include != 0 && !sv_worker_metadata(w, m, reason, sizeof(reason)))
	{
		sv_worker_reject(w, -1, m, reason);
		return;
	}
	w->slot_filled = false;
	for (int vi = 0; vi < w->nviews; vi++)
	{
		if (w->views[vi].eval != NULL)
			sv_worker_query_view(w, vi, m);
		else
			sv_worker_count_view(w, vi, m);
	}
}

/* Builds the batch's offset moves: partitions that advanced. */
static int
sv_worker_advances(SvWorker *w, SvAdvance *adv)
{
	int			n = 0;

	for (int p = 0; p < w->nparts; p++)
	{
		if (w->stored[p] >= 0 && w->next[p] > w->stored[p])
		{
			adv[n].partition = p;
			adv[n].from = w->stored[p];
			adv[n].to = w->next[p];
			n++;
		}
	}
	return n;
}

/* Shows the worker's state (and an error) in stream_status. */
static void
sv_worker_state(SvWorker *w, SvStreamState state, const char *error)
{
	w->retrying = (state == SV_STATE_RETRYING);
	sv_launcher_set_state(w->slot, state, error);
}

/*
 * While retrying, a batch without consumer errors is not proof that the
 * broker is back (librdkafka reports a failure once); ask it something.
 */
static void
sv_worker_probe(SvWorker *w)
{
	int64		low;
	int64		high;
	char		errbuf[256];

	for (int p = 0; p < w->nparts; p++)
	{
		if (w->stored[p] < 0)
			continue;
		if (sv_kafka_watermarks(w->kafka, p, 1000, &low, &high, errbuf, sizeof(errbuf)))
		{
			sv_worker_state(w, SV_STATE_RUNNING, NULL);
			sv_launcher_clear_error(w->slot);
		}
		return;
	}
}

/* Commits the batch: counts, rejects and offsets in one transaction. */
static void
sv_worker_commit_batch(SvWorker *w, TimestampTz started)
{
	SvAdvance  *adv = palloc(sizeof(SvAdvance) * Max(w->nparts, 1));
	SvWatermark *wms = palloc0(sizeof(SvWatermark) * Max(w->nviews, 1));
	int			nadv = sv_worker_advances(w, adv);

	if (nadv == 0 && w->rejects == NIL)
		return;
	for (int vi = 0; vi < w->nviews; vi++)
		sv_late_batch_end(&w->views[vi].late, w->nworkers, &wms[vi]);
	sv_crash_point("after_count");
	sv_begin();
	w->batch_late += sv_sink_write(w->sink, &w->counts, adv, nadv, w->rejects, wms);
	sv_crash_point("before_commit");
	sv_commit();
	sv_crash_point("after_commit");
	sv_sink_publish(w->sink);
	sv_crash_point("after_publish");

	for (int i = 0; i < nadv; i++)
		w->stored[adv[i].partition] = adv[i].to;
	/* adopt a stored watermark ahead of ours (another worker's progress) */
	for (int vi = 0; vi < w->nviews; vi++)
		sv_late_adopt(&w->views[vi].late, &wms[vi]);
	w->batches_this_life++;
	sv_launcher_report_batch(w->slot, w->batch_messages, w->batch_rejects, w->batch_late,
							 (double) (GetCurrentTimestamp() - started) / 1000.0);
	pfree(adv);
}

/* Waits for messages (the queue's pipe), the latch, or the timeout. */
static void
sv_worker_wait(SvWorker *w, long timeout_ms)
{
	WaitEvent	ev;

	(void) WaitEventSetWait(w->waits, Max(timeout_ms, 1), &ev, 1, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	sv_kafka_drain_wait_fd(w->kafka);
	CHECK_FOR_INTERRUPTS();
}

/* Whether the session must end after this batch (stop, reload, new config). */
static bool
sv_worker_interrupted(SvWorker *w)
{
	return !sv_launcher_should_run(w->slot) ||
		sv_launcher_generation(w->slot) != w->generation;
}

/*
 * A batch of a stream with query views runs in a transaction (expression
 * evaluation needs one), with a snapshot for SQL functions, and evaluates
 * its messages in an internal subtransaction that an error rolls back
 * (sv_worker_query_view).
 */
static void
sv_worker_eval_begin(SvWorker *w)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	w->eval_owner = CurrentResourceOwner;
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(w->counts_cxt);
}

/* Ends the evaluation: the batch's writes go on in the same transaction. */
static void
sv_worker_eval_end(SvWorker *w)
{
	ReleaseCurrentSubTransaction();
	CurrentResourceOwner = w->eval_owner;
	PopActiveSnapshot();
	MemoryContextSwitchTo(w->counts_cxt);
}

/*
 * Runs one micro-batch: fetches until the batch is full or its time is up,
 * counting as it goes, then commits. A consumer error leaves the stream
 * retrying (librdkafka reconnects by itself); an offset out of range ends
 * the batch so the gap can be handled.
 */
static void
sv_worker_batch(SvWorker *w)
{
	TimestampTz started = GetCurrentTimestamp();
	TimestampTz deadline = TimestampTzPlusMilliseconds(started, sv_batch_max_ms);
	TimestampTz fetched;
	SvFetch		fetch;

	w->batch_messages = 0;
	w->batch_rejects = 0;
	w->batch_late = 0;
	w->batch_waits = 0;
	w->batch_reject_bytes = 0;
	w->batch_error = false;
	for (int vi = 0; vi < w->nviews; vi++)
		sv_late_batch_begin(&w->views[vi].late);
	w->rejects = NIL;
	if (w->nqueries > 0)
		sv_worker_eval_begin(w);
	for (int p = 0; p < w->nparts; p++)
		w->next[p] = w->stored[p];
	while (w->batch_messages < sv_batch_max_messages &&
		   w->batch_reject_bytes < SV_BATCH_REJECT_BYTES)
	{
		TimestampTz now = GetCurrentTimestamp();
		long		left = TimestampDifferenceMilliseconds(now, deadline);
		bool		active = !TimestampDifferenceExceeds(w->last_message_at, now,
														 SV_ACTIVE_MS);
		int			got;

		/*
		 * While messages flow, wait for more inside librdkafka, which wakes
		 * the moment they arrive; an idle stream sleeps on the queue's
		 * descriptor and the latch instead (below).
		 */
		sv_kafka_fetch(w->kafka, (int) (sv_batch_max_messages - w->batch_messages),
					   active ? (int) Min(left, SV_ACTIVE_WAIT_MS) : 0, &fetch);
		if (fetch.nmessages > 0)
			sv_crash_point("after_fetch");
		got = fetch.nmessages;
		for (int i = 0; i < got; i++)
			sv_worker_count_message(w, &fetch.msgs[i]);
		sv_kafka_release(w->kafka, &fetch);
		if (fetch.error_code != 0)
		{
			w->batch_error = true;
			sv_worker_state(w, SV_STATE_RETRYING, fetch.error);
			if (fetch.gap_partition >= 0)
			{
				w->gap_partition = fetch.gap_partition;
				break;
			}
		}
		else if (got > 0 && w->retrying)
			sv_worker_state(w, SV_STATE_RUNNING, NULL);
		now = GetCurrentTimestamp();
		if (got > 0)
			w->last_message_at = now;
		/* waits inside librdkafka do not watch the postmaster; look here */
		if (!PostmasterIsAlive())
			proc_exit(1);
		CHECK_FOR_INTERRUPTS();
		left = TimestampDifferenceMilliseconds(now, deadline);
		if (left <= 0 || sv_worker_interrupted(w))
			break;
		if (got > 0 || active)
			continue;
		w->batch_waits++;
		sv_worker_wait(w, left);
	}
	sv_kafka_emit_logs(w->kafka);
	/*
	 * Past records never delivered (transaction markers). Not after a
	 * consumer error: librdkafka 2.8 moves the position past the offset an
	 * out-of-range error names, which would skip a message the gap handling
	 * must report as lost; the next clean batch takes the positions.
	 */
	if (!w->batch_error)
		sv_kafka_positions(w->kafka, w->next, w->nparts);
	fetched = GetCurrentTimestamp();
	if (w->nqueries > 0)
		sv_worker_eval_end(w);
	sv_worker_commit_batch(w, started);
	if (IsTransactionState())
	{
		/* a batch with query views and nothing to write */
		CommitTransactionCommand();
		MemoryContextSwitchTo(w->counts_cxt);
	}
	pgstat_report_stat(false);
	ereport(DEBUG1,
			(errmsg_internal("stream \"%s\" worker %d: batch of %lld messages, %.1f ms fetching and counting (%d waits), %.1f ms committing; librdkafka %s, fetcher woken by the worker %lld times so far (-1: never, librdkafka does it)",
							 w->name, w->index, (long long) w->batch_messages,
							 (fetched - started) / 1000.0, w->batch_waits,
							 (GetCurrentTimestamp() - fetched) / 1000.0,
							 sv_kafka_version(),
							 (long long) sv_kafka_fetcher_wakes(w->kafka))));
	sv_counts_reset(&w->counts);
	w->rejects = NIL;
}

/* Shows each partition's high watermark, as last seen, in partition_status. */
static void
sv_worker_report_watermarks(SvWorker *w)
{
	for (int p = 0; p < w->nparts; p++)
	{
		int64		high;

		if (w->stored[p] >= 0 && sv_kafka_cached_high(w->kafka, p, &high))
			sv_launcher_report_watermark(w->slot, p, high);
	}
}

/* Ends the session (so the next one reassigns) with an error in the status. */
static void
sv_worker_fail(const char *fmt,...) pg_attribute_printf(1, 2);

static void
sv_worker_fail(const char *fmt,...)
{
	char		buf[SV_ERROR_LEN];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ereport(ERROR,
			(errcode(ERRCODE_CONNECTION_FAILURE),
			 errmsg("%s", buf)));
}

/*
 * Moves a partition whose next offset the broker no longer has to the
 * earliest offset it still has, reporting the lost range, in a
 * compare-and-set like any batch.
 */
static void
sv_worker_handle_gap(SvWorker *w)
{
	int32		p = w->gap_partition;
	int64		low;
	int64		high;
	char		errbuf[256];
	SvAdvance	adv;
	char		msg[SV_ERROR_LEN];

	w->gap_partition = -1;
	if (!sv_kafka_watermarks(w->kafka, p, 5000, &low, &high, errbuf, sizeof(errbuf)))
		sv_worker_fail("%s", errbuf);
	if (w->stored[p] >= low && w->stored[p] <= high)
	{
		/* the stored position is fine (a prefetch went past a log end) */
		sv_kafka_assign(w->kafka, sv_worker_offsets_list(w));
		return;
	}
	adv.partition = p;
	adv.from = w->stored[p];
	if (w->stored[p] < low)
	{
		adv.to = low;
		snprintf(msg, sizeof(msg), "offsets out of range: partition %d lost offsets %lld to %lld",
				 p, (long long) w->stored[p], (long long) (low - 1));
		ereport(WARNING,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("stream \"%s\": %s", w->stream->name, msg),
				 errdetail("The broker no longer has these messages (retention); they were not counted."),
				 errhint("Continuing from the earliest offset the broker still has.")));
	}
	else
	{
		/* the log was truncated below our position: new messages start at high */
		adv.to = high;
		snprintf(msg, sizeof(msg), "offsets out of range: partition %d ends at offset %lld, before the stored %lld",
				 p, (long long) high, (long long) w->stored[p]);
		ereport(WARNING,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("stream \"%s\": %s", w->stream->name, msg),
				 errdetail("The broker lost the end of the partition (truncation or a recreated topic)."),
				 errhint("Continuing from the broker's end of the partition; messages counted before are not counted again.")));
	}
	sv_worker_state(w, SV_STATE_RUNNING, msg);
	sv_begin();
	sv_sink_write(w->sink, &w->counts, &adv, 1, NIL, NULL);
	sv_commit();
	w->stored[p] = adv.to;
	w->next[p] = adv.to;
	sv_kafka_assign(w->kafka, sv_worker_offsets_list(w));
}

/* The stored next offsets of the assigned partitions, as an SvOffset List. */
static List *
sv_worker_offsets_list(SvWorker *w)
{
	List	   *offsets = NIL;

	for (int p = 0; p < w->nparts; p++)
	{
		SvOffset   *o;

		if (w->stored[p] < 0)
			continue;
		o = palloc(sizeof(SvOffset));
		o->partition = p;
		o->next_offset = w->stored[p];
		offsets = lappend(offsets, o);
	}
	return offsets;
}

/* Whether a partition is this worker's share of the topic. */
static inline bool
sv_worker_owns(SvWorker *w, int32 partition)
{
	return partition % w->nworkers == w->index;
}

/*
 * Stores the first position of every partition of the topic that has none:
 * a new stream's partitions start at start_offset (earliest or latest),
 * resolved to concrete offsets and committed before the first batch, so a
 * crash can never make it skip or repeat; partitions added to the topic
 * later start at the earliest offset they have. Worker 0 of a stream does
 * this for all partitions. Returns false (status retrying) when the broker
 * cannot tell.
 */
static bool
sv_worker_resolve_offsets(SvWorker *w, List *parts, bool new_stream,
						  const bool *known)
{
	char		errbuf[256];
	List	   *missing = NIL;
	ListCell   *lc;

	foreach(lc, parts)
	{
		int32		p = lfirst_int(lc);
		int64		low;
		int64		high;
		SvOffset   *o;

		if (known[p])
			continue;
		if (!sv_kafka_watermarks(w->kafka, p, 5000, &low, &high, errbuf, sizeof(errbuf)))
		{
			sv_worker_state(w, SV_STATE_RETRYING, errbuf);
			return false;
		}
		o = palloc(sizeof(SvOffset));
		o->partition = p;
		o->next_offset = (new_stream && strcmp(w->stream->start_offset, "latest") == 0) ? high : low;
		missing = lappend(missing, o);
	}
	if (missing == NIL)
		return true;
	sv_begin();
	sv_catalog_insert_offsets(w->stream->name, missing);
	sv_commit();
	if (!new_stream)
		ereport(LOG,
				(errcode(ERRCODE_SUCCESSFUL_COMPLETION),
				 errmsg("stream \"%s\": %d new partition(s) start at their earliest offset",
						w->stream->name, list_length(missing))));
	return true;
}

/* The outcome of setting up partitions. */
typedef enum SvSetup
{
	SV_SETUP_DONE,
	SV_SETUP_RETRY,				/* the broker failed; back off */
	SV_SETUP_WAIT				/* worker 0 has not stored positions yet */
} SvSetup;

/*
 * The topic's partitions, asking for up to SV_METADATA_TRIES seconds in
 * one-second tries, so that a stop or a new configuration is noticed
 * within a second even while the brokers do not answer. NIL on failure,
 * with the reason in errbuf.
 */
static List *
sv_worker_partitions(SvWorker *w, char *errbuf, size_t errlen)
{
	List	   *parts = NIL;

	for (int i = 0; i < SV_METADATA_TRIES && parts == NIL; i++)
	{
		if (i > 0 && sv_worker_interrupted(w))
			break;
		parts = sv_kafka_partitions(w->kafka, 1000, errbuf, errlen);
	}
	return parts;
}

/*
 * Gives this worker its share of the topic's partitions at their stored
 * positions and assigns them.
 */
static SvSetup
sv_worker_setup_attempt(SvWorker *w)
{
	char		errbuf[256];
	List	   *parts = sv_worker_partitions(w, errbuf, sizeof(errbuf));
	List	   *stored;
	ListCell   *lc;
	bool	   *known;

	if (parts == NIL)
	{
		sv_worker_state(w, SV_STATE_RETRYING, errbuf);
		return SV_SETUP_RETRY;
	}
	w->nparts = llast_int(parts) + 1;
	w->topic_parts = list_length(parts);
	/* an attempt before this one of the session may have left them */
	if (w->stored != NULL)
	{
		pfree(w->stored);
		pfree(w->next);
	}
	w->stored = MemoryContextAlloc(w->session_cxt, sizeof(int64) * w->nparts);
	w->next = MemoryContextAlloc(w->session_cxt, sizeof(int64) * w->nparts);
	known = palloc0(sizeof(bool) * w->nparts);
	for (int p = 0; p < w->nparts; p++)
		w->stored[p] = w->next[p] = -1;

	sv_begin();
	stored = sv_catalog_get_offsets(w->stream->name);
	sv_commit();
	foreach(lc, stored)
	{
		SvOffset   *o = lfirst(lc);

		if (o->partition < w->nparts)
			known[o->partition] = true;
	}
	if (w->index == 0)
	{
		if (!sv_worker_resolve_offsets(w, parts, stored == NIL, known))
			return SV_SETUP_RETRY;
		sv_begin();
		stored = sv_catalog_get_offsets(w->stream->name);
		sv_commit();
	}
	foreach(lc, stored)
	{
		SvOffset   *o = lfirst(lc);

		if (o->partition < w->nparts && sv_worker_owns(w, o->partition))
			w->stored[o->partition] = o->next_offset;
	}
	foreach(lc, parts)
	{
		if (sv_worker_owns(w, lfirst_int(lc)) && w->stored[lfirst_int(lc)] < 0)
			return SV_SETUP_WAIT;
	}
	sv_kafka_assign(w->kafka, sv_worker_offsets_list(w));
	return SV_SETUP_DONE;
}

/*
 * One attempt at sv_worker_setup_attempt() in a memory context of its own:
 * while it waits for worker 0 the worker tries every 100 ms, for as long as
 * that takes, and each try reads the partitions and the stored offsets.
 */
static SvSetup
sv_worker_setup_partitions(SvWorker *w)
{
	MemoryContext attempt = AllocSetContextCreate(CurrentMemoryContext,
												  "streamview partition setup",
												  ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(attempt);
	SvSetup		result = sv_worker_setup_attempt(w);

	MemoryContextSwitchTo(old);
	MemoryContextDelete(attempt);
	return result;
}

/* Whether the topic now has more partitions than when the session began. */
static bool
sv_worker_new_partitions(SvWorker *w)
{
	char		errbuf[256];
	List	   *parts = sv_kafka_partitions(w->kafka, 1000, errbuf, sizeof(errbuf));

	return list_length(parts) > w->topic_parts;
}

/* Connects to Kafka and sets up the wait on the latch and the queue. */
static void
sv_worker_connect(SvWorker *w)
{
	char		errbuf[512];

	w->kafka = sv_kafka_connect(w->stream, errbuf, sizeof(errbuf));
	if (w->kafka == NULL)
		sv_worker_fail("could not create Kafka consumer: %s", errbuf);
	w->waits = sv_wait_event_set(w->session_cxt, 3);
	AddWaitEventToSet(w->waits, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(w->waits, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	AddWaitEventToSet(w->waits, WL_SOCKET_READABLE, sv_kafka_wait_fd(w->kafka),
					  NULL, NULL);
}

/* Waits for a while unless the stream is stopped or changed meanwhile. */
static void
sv_worker_sleep(long ms)
{
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
}

/* Leaves when the stream should no longer run. */
static void
sv_worker_exit_if_stopped(SvWorker *w)
{
	if (!sv_launcher_should_run(w->slot))
	{
		ereport(LOG,
				(errcode(ERRCODE_SUCCESSFUL_COMPLETION),
				 errmsg("streamview worker %d of stream \"%s\" stopping", w->index,
						w->name ? w->name : "(not loaded)")));
		proc_exit(0);
	}
}

/*
 * One session: configuration, consumer, partitions, then batches until the
 * configuration changes or new partitions appear (the caller then starts a
 * new session) or the stream is stopped (the worker exits).
 */
static void
sv_worker_session(SvWorker *w)
{
	long		backoff = SV_BACKOFF_MIN_MS;
	SvSetup		setup;

	/* what a session allocates goes when it ends; a batch's, with the batch */
	MemoryContextSwitchTo(w->session_cxt);
	sv_launcher_set_detail(w->slot, "loading the stream's configuration");
	while (!sv_worker_load(w))
	{
		sv_worker_exit_if_stopped(w);
		sv_launcher_set_detail(w->slot, "waiting for the stream's configuration to be committed");
		sv_worker_sleep(200);
	}
	sv_launcher_set_detail(w->slot, "connecting to %s for the partitions of topic \"%s\"",
						   w->stream->brokers, w->stream->topic);
	sv_worker_connect(w);
	while ((setup = sv_worker_setup_partitions(w)) != SV_SETUP_DONE)
	{
		sv_worker_exit_if_stopped(w);
		if (sv_launcher_generation(w->slot) != w->generation)
			return;
		sv_kafka_emit_logs(w->kafka);
		if (setup == SV_SETUP_WAIT)
		{
			sv_launcher_set_detail(w->slot, "waiting for worker 0 to store the start offsets");
			sv_worker_sleep(100);
			continue;
		}
		sv_launcher_set_detail(w->slot, "waiting %ld ms before asking %s again for the partitions of topic \"%s\"",
							   backoff, w->stream->brokers, w->stream->topic);
		sv_worker_sleep(backoff);
		sv_launcher_set_detail(w->slot, "connecting to %s for the partitions of topic \"%s\"",
							   w->stream->brokers, w->stream->topic);
		backoff = Min(backoff * 2, SV_BACKOFF_MAX_MS);
	}
	sv_worker_state(w, SV_STATE_RUNNING, NULL);
	w->metadata_at = GetCurrentTimestamp();
	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		sv_worker_reload_settings();
		sv_worker_exit_if_stopped(w);
		if (sv_launcher_generation(w->slot) != w->generation)
			return;
		MemoryContextSwitchTo(w->counts_cxt);
		sv_worker_batch(w);
		if (w->gap_partition >= 0)
			sv_worker_handle_gap(w);
		else if (w->retrying && !w->batch_error)
			sv_worker_probe(w);
		sv_worker_report_watermarks(w);
		if (TimestampDifferenceExceeds(w->metadata_at, GetCurrentTimestamp(),
									   SV_METADATA_REFRESH_MS))
		{
			w->metadata_at = GetCurrentTimestamp();
			if (sv_worker_new_partitions(w))
				return;
		}
	}
}

/* Releases what a session held, after a clean end or an error. */
static void
sv_worker_end_session(SvWorker *w)
{
	if (w->kafka)
		sv_kafka_close(w->kafka);
	w->kafka = NULL;
	if (w->waits)
		FreeWaitEventSet(w->waits);
	w->waits = NULL;
	if (w->sink)
		sv_sink_free(w->sink);
	w->sink = NULL;
	w->nparts = 0;
	w->stored = w->next = NULL;
	w->gap_partition = -1;
	w->rejects = NIL;
	MemoryContextSwitchTo(TopMemoryContext);
	MemoryContextReset(w->session_cxt);
	sv_counts_reset(&w->counts);
}

/*
 * After an error: log it, show it in the status, abort what the batch did
 * (nothing of it is kept), and wait before the next session.
 */
static void
sv_worker_recover(SvWorker *w, long backoff)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(TopMemoryContext);
	EmitErrorReport();
	edata = CopyErrorData();
	FlushErrorState();
	LWLockReleaseAll();
	AbortOutOfAnyTransaction();
	sv_worker_state(w, SV_STATE_RETRYING, edata->message);
	FreeErrorData(edata);
	sv_worker_sleep(backoff);
}

/*
 * Makes glibc's malloc keep the worker process's freed memory for reuse
 * instead of handing it back to the kernel.  librdkafka's fetch thread
 * allocates a few hundred bytes per message, and its fetch buffers, in its
 * own arena, and sv:fetch frees them a batch at a time: with glibc's
 * defaults the arena shrinks after each batch and grows again, and every
 * page that comes back is zeroed by the kernel (clear_page was 8% of a
 * few-key drain's CPU); fetch buffers of more than the dynamic mmap
 * threshold are mapped and unmapped each time.  The peak resident memory
 * is the same (the memory is reused, not added to).
 */
static void
sv_worker_keep_freed_memory(void)
{
#if defined(__GLIBC__) && defined(M_TRIM_THRESHOLD) && defined(M_MMAP_THRESHOLD)
	/* 32 MB is glibc's largest mmap threshold on 64-bit */
	(void) mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
	(void) mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
#endif
}

/*
 * Entry point of a stream's worker (bgw_main_arg: the stream's id). Claims
 * the stream's slot, then runs sessions until the stream is stopped.
 */
void
sv_worker_main(Datum arg)
{
	SvWorker   *w;
	volatile long backoff = SV_BACKOFF_MIN_MS;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(sv_database, NULL, 0);
	/* the batches' compare-and-set and upserts assume read committed, writable */
	SetConfigOption("default_transaction_isolation", "read committed",
					PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("default_transaction_read_only", "off", PGC_SUSET, PGC_S_OVERRIDE);

	w = MemoryContextAllocZero(TopMemoryContext, sizeof(SvWorker));
	sv_worker = w;
	w->stream_id = DatumGetInt32(arg);
	memcpy(&w->index, MyBgworkerEntry->bgw_extra, sizeof(int));
	w->gap_partition = -1;
	w->slot = sv_launcher_attach_worker(w->stream_id, w->index);
	if (w->slot < 0)
	{
		ereport(LOG,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("streamview worker %d of stream %d exits: the stream was stopped or has that worker already",
						w->index, w->stream_id)));
		proc_exit(0);
	}
	w->session_cxt = AllocSetContextCreate(TopMemoryContext, "streamview session",
										   ALLOCSET_DEFAULT_SIZES);
	w->counts_cxt = AllocSetContextCreate(TopMemoryContext, "streamview batch",
										  ALLOCSET_DEFAULT_SIZES);
	w->msg_cxt = AllocSetContextCreate(TopMemoryContext, "streamview message",
									   ALLOCSET_DEFAULT_SIZES);
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		initStringInfo(&w->headers);
		MemoryContextSwitchTo(old);
	}
	sv_counts_init(&w->counts, w->counts_cxt);
	sv_worker_keep_freed_memory();
	pgstat_report_activity(STATE_RUNNING, "streaming");

	for (;;)
	{
		PG_TRY();
		{
			sv_worker_session(w);
			backoff = SV_BACKOFF_MIN_MS;
		}
		PG_CATCH();
		{
			sv_worker_recover(w, backoff);
			backoff = Min(backoff * 2, SV_BACKOFF_MAX_MS);
		}
		PG_END_TRY();
		sv_worker_end_session(w);
	}
}
