/*
 * sink.c - a batch's window counts, rejects and offsets in one transaction
 *
 * One prepared upsert per window view adds the batch's counts to the
 * results table: the batch's rows arrive as arrays, are grouped by their
 * typed keys (so "1.0" and "1.00" of a numeric key are one row), and added
 * to existing rows with ON CONFLICT DO UPDATE SET count = count + delta.
 * Adding deltas keeps counts exact when several workers share a window.
 * Upserts run as the view's owner in a security-restricted context, so
 * triggers or policies on a results table never run with superuser rights.
 * Offsets advance by compare-and-set: if any stored offset is not where the
 * batch started, the batch fails and the worker starts over from the table.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "aggregate.h"
#include "bulk.h"
#include "eval.h"
#include "query.h"
#include "schema.h"
#include "sink.h"
#include "streamview.h"

/* One committed window row returned by an upsert, to publish after commit. */
typedef struct SvReturned
{
	Oid			view;
	int64		window_start;
	int64		count;
	int			keylen;
	char	   *key;
} SvReturned;

/* One view's prepared upsert. */
typedef struct SvSinkView
{
	Oid			relid;
	char	   *relname;		/* the name the plans were prepared with */
	Oid			relnamespace;
	Oid			owner;
	Oid			time_type;
	int			ngroup;
	int64		size_usec;
	SPIPlanPtr	upsert;
	SPIPlanPtr	finalize;		/* views with allowed lateness only */
	bool		evict;			/* watermark moved: evict final windows */
	int64		watermark;
	bool		published;		/* registered: its counts go to shared memory */
	const SvQuery *query;		/* a query view's description, or NULL */
	int			nparams;		/* a query view's upsert parameters */
	SvBulkView	bulk;			/* a count view, for the bulk writer */
	SvBulkKnown *known;			/* what it knows of the table, or NULL */
	SvBulkRow  *written;		/* the rows the bulk writer wrote this batch, */
	int			nwritten;		/* to publish after commit */
	bool		sole_publisher;	/* one worker: no one else publishes its windows */
} SvSinkView;

struct SvSink
{
	MemoryContext cxt;			/* plans' owner context lives as long as this */
	MemoryContext batch_cxt;	/* returned rows, reset per batch */
	char	   *stream;
	int			nviews;
	SvSinkView *views;
	SPIPlanPtr	advance;
	SPIPlanPtr	reject;
	SPIPlanPtr	watermark;
	SPIPlanPtr	lock_watermark;	/* several workers and a view with lateness */
	List	   *returned;
	uint64		as_of;			/* sv_window_invalidations() before commit */
	uint64		known_as_of;	/* ... when the bulk writers' knowledge was checked */
	int			max_key;
};

/* The results table this process's sink is writing now, if any. */
static Oid	sv_sink_writing_relid = InvalidOid;

/* The quoted, schema-qualified name of a results table. */
static char *
sv_sink_table_name(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

/*
 * Builds the upsert for one view: $1 window starts, $2.. one text[] per
 * group column, then the counts and the window size.
 */
static char *
sv_sink_upsert_sql(const SvStream *stream, const SvView *view)
{
	StringInfoData sql;
	StringInfoData cols;
	StringInfoData casts;
	StringInfoData names;
	StringInfoData ret;
	int			n = view->ngroup;

	initStringInfo(&sql);
	initStringInfo(&cols);
	initStringInfo(&casts);
	initStringInfo(&names);
	initStringInfo(&ret);
	for (int i = 0; i < n; i++)
	{
		const char *col = quote_identifier(view->group_by[i]);
		int			idx = sv_schema_column_index(stream, view->group_by[i]);

		appendStringInfo(&cols, ", %s", col);
		appendStringInfo(&casts, ", s.k%d::%s", i + 1, stream->columns[idx].type);
		appendStringInfo(&names, ", k%d", i + 1);
		appendStringInfo(&ret, ", t.%s::pg_catalog.text", col);
	}
	appendStringInfo(&sql,
					 "INSERT INTO %s AS t (window_start, window_end%s, count) "
					 "SELECT s.ws, s.ws + $%d%s, pg_catalog.sum(s.n)::pg_catalog.int8 "
					 "FROM ROWS FROM (pg_catalog.unnest($1)",
					 sv_sink_table_name(view->relid), cols.data, n + 3, casts.data);
	for (int i = 0; i < n + 1; i++)
		appendStringInfo(&sql, ", pg_catalog.unnest($%d)", i + 2);
	appendStringInfo(&sql, ") AS s(ws%s, n) GROUP BY s.ws%s "
					 "ON CONFLICT (window_start%s) DO UPDATE SET count = t.count + excluded.count "
					 "WHERE NOT t.final "
					 "RETURNING t.window_start%s, t.count",
					 names.data, casts.data, cols.data, ret.data);
	return sql.data;
}

/*
 * Builds the upsert of a query view. Parameters: $1 the window starts, one
 * array per GROUP BY item (of the item's type), each aggregate's state
 * arrays (aggregate.c), then the window size. The batch's rows are grouped
 * again by the typed keys, so values equal but not binary-equal merge, and
 * each aggregate combines with the row in the table as aggregate.c says.
 * Fills types (room for 2 + nkeys + 2 * naggs) and returns the SQL.
 */
static char *
sv_sink_query_upsert_sql(const SvQuery *q, Oid relid, Oid *types, int *nparams)
{
	StringInfoData cols;
	StringInfoData vals;
	StringInfoData unnest;
	StringInfoData names;
	StringInfoData groups;
	StringInfoData conflict;
	StringInfoData sets;
	StringInfoData hidden_cols;
	StringInfoData hidden_vals;
	StringInfoData returning;
	int			p = 1;
	int			size_param;
	const char *ws_name = NULL;

	initStringInfo(&cols);
	initStringInfo(&vals);
	initStringInfo(&unnest);
	initStringInfo(&names);
	initStringInfo(&groups);
	initStringInfo(&conflict);
	initStringInfo(&sets);
	initStringInfo(&hidden_cols);
	initStringInfo(&hidden_vals);
	initStringInfo(&returning);
	types[0] = get_array_type(q->time_type);
	appendStringInfoString(&unnest, "pg_catalog.unnest($1)");
	appendStringInfoString(&names, "ws");
	appendStringInfoString(&groups, "s.ws");
	for (int k = 0; k < q->nkeys; k++)
	{
		types[p++] = get_array_type(q->keys[k].type);
		appendStringInfo(&unnest, ", pg_catalog.unnest($%d)", p);
		appendStringInfo(&names, ", k%d", k);
		appendStringInfo(&groups, ", s.k%d", k);
	}
	for (int a = 0; a < q->naggs; a++)
	{
		for (int i = 0; i < sv_agg_nparams(&q->aggs[a]); i++)
		{
			types[p++] = get_array_type(sv_agg_param_type(&q->aggs[a], i));
			appendStringInfo(&unnest, ", pg_catalog.unnest($%d)", p);
			appendStringInfo(&names, ", a%d_%d", a, i);
		}
	}
	types[p++] = INT8ARRAYOID;	/* the rows of each group */
	appendStringInfo(&unnest, ", pg_catalog.unnest($%d)", p);
	appendStringInfoString(&names, ", nrows");
	size_param = ++p;
	types[size_param - 1] = INTERVALOID;
	for (int c = 0; c < q->ncolumns; c++)
	{
		const SvQueryColumn *col = &q->columns[c];
		const char *name = quote_identifier(col->name);

		if (col->kind == SV_COL_AGG)
		{
			const SvQueryAgg *agg = &q->aggs[col->index];
			char	   *params[SV_AGG_MAX_PARAMS];
			SvAggColumn out[SV_AGG_MAX_COLUMNS];
			int			n;

			for (int i = 0; i < sv_agg_nparams(agg); i++)
				params[i] = psprintf("s.a%d_%d", col->index, i);
			n = sv_agg_columns(agg, (const char *const *) params, out);
			for (int i = 0; i < n; i++)
			{
				StringInfo	cl = i == 0 ? &cols : &hidden_cols;
				StringInfo	vl = i == 0 ? &vals : &hidden_vals;

				appendStringInfo(cl, "%s%s", cl->len ? ", " : "", out[i].column);
				appendStringInfo(vl, "%s%s", vl->len ? ", " : "", out[i].insert);
				appendStringInfo(&sets, "%s%s = %s", sets.len ? ", " : "",
								 out[i].column, out[i].update);
			}
			continue;
		}
		appendStringInfo(&cols, "%s%s", cols.len ? ", " : "", name);
		if (col->kind == SV_COL_WINDOW_START)
		{
			ws_name = name;
			appendStringInfo(&vals, "%ss.ws", vals.len ? ", " : "");
		}
		else if (col->kind == SV_COL_WINDOW_END)
			appendStringInfo(&vals, "%ss.ws + $%d", vals.len ? ", " : "", size_param);
		else
			appendStringInfo(&vals, "%ss.k%d", vals.len ? ", " : "", col->index);
		if (col->kind == SV_COL_KEY)
		{
			appendStringInfo(&conflict, ", %s", name);
			appendStringInfo(&returning, ", t.%s::pg_catalog.text", name);
		}
	}
	if (hidden_cols.len)
	{
		appendStringInfo(&cols, ", %s", hidden_cols.data);
		appendStringInfo(&vals, ", %s", hidden_vals.data);
	}
	appendStringInfoString(&cols, ", \"" SV_ROWS_COLUMN "\"");
	appendStringInfoString(&vals, ", pg_catalog.sum(s.nrows)::pg_catalog.int8");
	appendStringInfo(&sets, "%s\"" SV_ROWS_COLUMN "\" = t.\"" SV_ROWS_COLUMN "\" + excluded.\"" SV_ROWS_COLUMN "\"",
					 sets.len ? ", " : "");
	*nparams = size_param;
	/* the committed rows of each group go to shared memory (live_counts) */
	return psprintf("INSERT INTO %s AS t (%s) SELECT %s "
					"FROM ROWS FROM (%s) AS s(%s) GROUP BY %s "
					"ON CONFLICT (%s%s) DO UPDATE SET %s WHERE NOT t.final "
					"RETURNING t.%s%s, t.\"" SV_ROWS_COLUMN "\"",
					sv_sink_table_name(relid), cols.data, vals.data, unnest.data,
					names.data, groups.data, ws_name, conflict.data, sets.data,
					ws_name, returning.data);
}

/* Prepares and keeps a plan, failing loudly if it cannot. */
static SPIPlanPtr
sv_sink_plan(const char *sql, int nargs, Oid *types)
{
	MemoryContext caller = CurrentMemoryContext;
	SPIPlanPtr	plan = SPI_prepare(sql, nargs, types);

	if (plan == NULL)
		elog(ERROR, "could not prepare \"%s\": %s", sql,
			 SPI_result_code_string(SPI_result));
	SPI_keepplan(plan);
	/* SPI returns in its own procedure context, freed at SPI_finish */
	MemoryContextSwitchTo(caller);
	return plan;
}

static void sv_sink_build(SvSink *sink, const SvStream *stream, List *views);

/*
 * Locks each view's results table and checks that it still exists: the
 * catalog was read earlier, and a DROP TABLE may have committed since (or
 * run without the event trigger that removes the view, which does not fire
 * under session_replication_role = replica). The sink builds SQL from the
 * tables' names, so it must not go on without them.
 */
static void
sv_sink_lock_tables(const SvStream *stream, List *views)
{
	ListCell   *lc;

	foreach(lc, views)
	{
		SvView	   *v = lfirst(lc);

		LockRelationOid(v->relid, AccessShareLock);
		if (get_rel_name(v->relid) == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("results table of a view of stream \"%s\" does not exist",
							stream->name),
					 errdetail("The table with OID %u was dropped after the stream's views were read.",
							   v->relid),
					 errhint("The stream reloads its views and goes on; a view whose table was dropped while event triggers were disabled stays in streamview.window_views until it is deleted there.")));
	}
}

/*
 * Prepares the sink of a stream and its views. Must run inside a
 * transaction with SPI connected. On an error the plans kept so far are
 * freed again: the worker retries, and would leak them at each try.
 */
SvSink *
sv_sink_prepare(const SvStream *stream, List *views, MemoryContext cxt)
{
	SvSink	   *sink;

	sv_sink_lock_tables(stream, views);
	sink = MemoryContextAllocZero(cxt, sizeof(SvSink));
	sink->cxt = cxt;
	sink->batch_cxt = AllocSetContextCreate(cxt, "streamview sink batch",
											ALLOCSET_DEFAULT_SIZES);
	PG_TRY();
	{
		sv_sink_build(sink, stream, views);
	}
	PG_CATCH();
	{
		sv_sink_free(sink);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return sink;
}

/* sv_sink_prepare's work: the views' and the batch's plans. */
static void
sv_sink_build(SvSink *sink, const SvStream *stream, List *views)
{
	MemoryContext old = MemoryContextSwitchTo(sink->cxt);
	Oid			advance_types[4] = {TEXTOID, INT4ARRAYOID, INT8ARRAYOID, INT8ARRAYOID};
	Oid			reject_types[6] = {TEXTOID, OIDARRAYOID, INT4ARRAYOID, INT8ARRAYOID,
	BYTEAARRAYOID, TEXTARRAYOID};
	ListCell   *lc;
	int			i = 0;

	sink->stream = pstrdup(stream->name);
	sink->views = palloc0(sizeof(SvSinkView) * Max(1, list_length(views)));
	foreach(lc, views)
	{
		SvView	   *v = lfirst(lc);
		SvSinkView *sv = &sink->views[i++];
		Oid		   *types = palloc(sizeof(Oid) * (v->ngroup + 3));
		int			tidx = sv_schema_column_index(stream, v->time_column);

		sink->nviews = i;

		sv->relid = v->relid;
		sv->relname = pstrdup(get_rel_name(v->relid));
		sv->relnamespace = get_rel_namespace(v->relid);
		sv->owner = v->owner;
		sv->ngroup = v->ngroup;
		sv->size_usec = v->size_usec;
		sv->time_type = stream->columns[tidx].typid;
		sv->published = sv_window_register_view(v->relid);
		if (v->q != NULL)
		{
			const SvQuery *q = v->q;
			Oid		   *qtypes = palloc(sizeof(Oid) * (3 + q->nkeys + SV_AGG_MAX_PARAMS * q->naggs));
			char	   *sql = sv_sink_query_upsert_sql(q, v->relid, qtypes, &sv->nparams);

			sv->query = q;
			sv->time_type = q->time_type;
			sv->upsert = sv_sink_plan(sql, sv->nparams, qtypes);
		}
		else
		{
			sv->bulk.relid = v->relid;
			sv->bulk.owner = v->owner;
			sv->bulk.time_type = sv->time_type;
			sv->bulk.size_usec = v->size_usec;
			sv->bulk.ngroup = v->ngroup;
			sv->bulk.group_by = v->group_by;
			sv->bulk.group_types = palloc(sizeof(Oid) * Max(v->ngroup, 1));
			for (int g = 0; g < v->ngroup; g++)
				sv->bulk.group_types[g] =
					stream->columns[sv_schema_column_index(stream, v->group_by[g])].typid;
			/* with one worker, the table's only writer but for users */
			sv->bulk.sole_writer = stream->parallelism == 1;
			sv->sole_publisher = stream->parallelism == 1 && sv->published;
			if (sv->sole_publisher)
				sv->known = sv_bulk_known_create(sink->cxt);
			types[0] = sv->time_type == TIMESTAMPTZOID ? TIMESTAMPTZARRAYOID : TIMESTAMPARRAYOID;
			for (int g = 0; g < v->ngroup; g++)
				types[g + 1] = TEXTARRAYOID;
			types[v->ngroup + 1] = INT8ARRAYOID;
			types[v->ngroup + 2] = INTERVALOID;
			sv->upsert = sv_sink_plan(sv_sink_upsert_sql(stream, v), v->ngroup + 3, types);
		}
		if (v->lateness_usec >= 0)
		{
			Oid			ftypes[2] = {sv->time_type, sv->time_type};
			const char *ws = quote_identifier(v->q ? sv_query_window_start(v->q) : "window_start");

			sv->finalize = sv_sink_plan(psprintf("UPDATE %s SET final = true "
												 "WHERE %s > $1 AND %s <= $2 AND NOT final",
												 sv_sink_table_name(v->relid), ws, ws),
										2, ftypes);
		}
	}
	if (stream->parallelism > 1)
	{
		Oid			ltypes[1] = {OIDOID};

		sink->lock_watermark = sv_sink_plan("SELECT watermark FROM streamview.window_views "
											"WHERE view OPERATOR(pg_catalog.=) $1::pg_catalog.regclass FOR UPDATE",
											1, ltypes);
	}
	{
		Oid			wtypes[2] = {OIDOID, TIMESTAMPTZOID};

		sink->watermark = sv_sink_plan("UPDATE streamview.window_views SET watermark = greatest(watermark, $2) "
									   "WHERE view OPERATOR(pg_catalog.=) $1::pg_catalog.regclass RETURNING watermark",
									   2, wtypes);
	}
	sink->advance = sv_sink_plan(
								 "UPDATE streamview.offsets o SET next_offset = u.next, committed_at = pg_catalog.clock_timestamp() "
								 "FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4)) AS u(p, prev, next) "
								 "WHERE o.stream = $1 AND o.partition = u.p AND o.next_offset = u.prev",
								 4, advance_types);
	sink->reject = sv_sink_plan(
								"INSERT INTO streamview.rejects (stream, view, partition, \"offset\", payload, reason) "
								"SELECT $1, r.v::pg_catalog.regclass, r.p, r.o, r.b, r.t "
								"FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4), "
								"pg_catalog.unnest($5), pg_catalog.unnest($6)) AS r(v, p, o, b, t)",
								6, reject_types);
	MemoryContextSwitchTo(old);
}

/* SPI_freeplan() of a plan that may not have been made. */
static void
sv_sink_free_plan(SPIPlanPtr plan)
{
	if (plan != NULL)
		SPI_freeplan(plan);
}

/*
 * Releases the prepared plans, also those of a sink that sv_sink_build()
 * left half done (nviews counts the views it began).
 */
void
sv_sink_free(SvSink *sink)
{
	if (sink == NULL)
		return;
	for (int i = 0; i < sink->nviews; i++)
	{
		sv_sink_free_plan(sink->views[i].upsert);
		sv_sink_free_plan(sink->views[i].finalize);
	}
	sv_sink_free_plan(sink->watermark);
	sv_sink_free_plan(sink->lock_watermark);
	sv_sink_free_plan(sink->advance);
	sv_sink_free_plan(sink->reject);
	MemoryContextDelete(sink->batch_cxt);
}

/* Builds a one-dimensional array Datum. */
static Datum
sv_array(Datum *elems, bool *nulls, int n, Oid type)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			dims[1] = {n};
	int			lbs[1] = {1};

	get_typlenbyvalalign(type, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs, type,
											  typlen, typbyval, typalign));
}

/* Copies the rows an upsert returned, for publication after commit. */
static void
sv_sink_keep_returned(SvSink *sink, SvSinkView *sv)
{
	TupleDesc	desc = SPI_tuptable->tupdesc;
	char		keybuf[SV_KEY_MAX];
	MemoryContext old;

	if (!sv->published)
		return;
	old = MemoryContextSwitchTo(sink->batch_cxt);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		SvReturned *ret = palloc(sizeof(SvReturned));
		bool		isnull;
		int			keylen = 0;

		ret->view = sv->relid;
		ret->window_start = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		ret->count = DatumGetInt64(SPI_getbinval(tup, desc, sv->ngroup + 2, &isnull));
		for (int g = 0; g < sv->ngroup && keylen >= 0; g++)
		{
			Datum		d = SPI_getbinval(tup, desc, g + 2, &isnull);
			char	   *val;

			if (isnull)
			{
				keylen = sv_key_append_null(keybuf, keylen, sizeof(keybuf));
				continue;
			}
			val = TextDatumGetCString(d);
			keylen = sv_key_append(keybuf, keylen, sizeof(keybuf), val, strlen(val));
		}
		if (keylen < 0)
			continue;			/* too long to hold in shared memory */
		ret->keylen = keylen;
		ret->key = palloc(Max(keylen, 1));
		memcpy(ret->key, keybuf, keylen);
		sink->returned = lappend(sink->returned, ret);
	}
	MemoryContextSwitchTo(old);
}

/* Runs a statement on a results table as the view's owner, security-restricted. */
static void
sv_sink_run_as_owner(SvSinkView *sv, SPIPlanPtr plan, Datum *args, int expected)
{
	SvAsOwner	save;
	int			rc;

	/* triggers, policies and index expressions never run as the worker */
	sv_as_owner_begin(sv->owner, SV_SAFE_SEARCH_PATH, &save);
	sv_sink_writing_relid = sv->relid;
	PG_TRY();
	{
		rc = SPI_execute_plan(plan, args, NULL, false, 0);
	}
	PG_FINALLY();
	{
		sv_sink_writing_relid = InvalidOid;
	}
	PG_END_TRY();
	sv_as_owner_end(&save);
	if (rc != expected)
		elog(ERROR, "statement on results table %u failed: %s", sv->relid,
			 SPI_result_code_string(rc));
}

/*
 * Locks a view's results table by OID and checks that it still has the name
 * the plans were prepared with: plans are re-analysed by name, so after a
 * rename they could otherwise write to another table of the old name. On a
 * change the batch fails and the stream reloads its views by OID.
 */
static void
sv_sink_check_table(SvSinkView *sv)
{
	char	   *name;

	LockRelationOid(sv->relid, RowExclusiveLock);
	name = get_rel_name(sv->relid);
	if (name == NULL || strcmp(name, sv->relname) != 0 ||
		get_rel_namespace(sv->relid) != sv->relnamespace)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("results table \"%s\" was renamed or dropped", sv->relname),
				 errdetail("The batch is discarded; nothing of it was written."),
				 errhint("The stream reloads its window views and goes on.")));
}

/*
 * With several workers, another one may have stored a watermark past windows
 * this batch counted into (its own watermark lagged). Locks the view's
 * watermark for the rest of the transaction, so that no other worker moves
 * it meanwhile, and returns the end a window must pass to still take
 * counts; DT_NOBEGIN when every window still does.
 */
static int64
sv_sink_passed(SvSink *sink, SvSinkView *sv)
{
	Datum		arg = ObjectIdGetDatum(sv->relid);
	bool		isnull = true;
	Datum		wm = 0;

	if (sink->lock_watermark == NULL || sv->finalize == NULL)
		return DT_NOBEGIN;
	if (SPI_execute_plan(sink->lock_watermark, &arg, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not lock the watermark of view %u", sv->relid);
	if (SPI_processed == 1)
		wm = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? DT_NOBEGIN : DatumGetTimestampTz(wm);
}

/*
 * Upserts one query view's share of the batch: per group its window start,
 * its GROUP BY values (from the key's segments) and its aggregates' states.
 * Groups in windows another worker's watermark has passed are left out;
 * returns how many rows they held (the batch's late contributions).
 */
static int64
sv_sink_write_query_view(SvSink *sink, int vi, SvCounts *counts, uint32 nrows)
{
	SvSinkView *sv = &sink->views[vi];
	const SvQuery *q = sv->query;
	int			ncols = sv->nparams - 1;
	Datum	  **vals = palloc(sizeof(Datum *) * ncols);
	bool	  **nulls = palloc(sizeof(bool *) * ncols);
	Oid		   *elemtypes = palloc(sizeof(Oid) * ncols);
	Datum	   *args = palloc(sizeof(Datum) * sv->nparams);
	Interval   *size = palloc0(sizeof(Interval));
	int64		passed = sv_sink_passed(sink, sv);
	int64		late = 0;
	uint32		n = 0;
	SvCountsIter iter;
	const SvCount *c;
	int			p;

	for (int i = 0; i < ncols; i++)
	{
		vals[i] = palloc(sizeof(Datum) * Max(1, nrows));
		nulls[i] = palloc0(sizeof(bool) * Max(1, nrows));
	}
	p = 0;
	elemtypes[p++] = q->time_type;
	for (int k = 0; k < q->nkeys; k++)
		elemtypes[p++] = q->keys[k].type;
	for (int a = 0; a < q->naggs; a++)
		for (int i = 0; i < sv_agg_nparams(&q->aggs[a]); i++)
			elemtypes[p++] = sv_agg_param_type(&q->aggs[a], i);
	elemtypes[p++] = INT8OID;

	sv_counts_iter_init(&iter, counts, vi);
	while ((c = sv_counts_iter_next(&iter)) != NULL)
	{
		const SvAggState *states = c->state;
		int			pos = 0;

		if (sv_late_window_final(passed, c->window_start, sv->size_usec))
		{
			late += c->count;
			continue;
		}
		p = 0;
		vals[p++][n] = Int64GetDatum(c->window_start);
		for (int k = 0; k < q->nkeys; k++, p++)
		{
			const char *val = NULL;
			int			len = sv_key_segment(c->key, c->keylen, &pos, &val);

			nulls[p][n] = len == SV_KEY_NULL;
			vals[p][n] = nulls[p][n] ? (Datum) 0 : sv_eval_key_datum(&q->keys[k], val, len);
		}
		for (int a = 0; a < q->naggs; a++)
			for (int i = 0; i < sv_agg_nparams(&q->aggs[a]); i++, p++)
				vals[p][n] = sv_agg_param(&q->aggs[a], &states[a], i, &nulls[p][n]);
		vals[p][n] = Int64GetDatum(c->count);
		n++;
	}
	if (n == 0)
		return late;
	sv_sink_check_table(sv);
	for (int i = 0; i < ncols; i++)
		args[i] = sv_array(vals[i], nulls[i], n, elemtypes[i]);
	size->time = sv->size_usec;
	args[ncols] = IntervalPGetDatum(size);
	sv_sink_run_as_owner(sv, sv->upsert, args, SPI_OK_INSERT_RETURNING);
	sv_sink_keep_returned(sink, sv);
	return late;
}

/*
 * Adds one count view's share of the batch to its results table: with the
 * bulk writer (bulk.c) when the table is as create_window_view made it and
 * no key turned up meanwhile, else with the upsert. Counts for windows
 * another worker's watermark has passed (final, or to be made final) are
 * left out; returns how many, the batch's late contributions.
 */
static int64
sv_sink_write_view(SvSink *sink, int vi, SvCounts *counts, uint32 nrows)
{
	SvSinkView *sv = &sink->views[vi];
	int			ng = sv->ngroup;
	SvBulkRow  *rows = MemoryContextAlloc(sink->batch_cxt,
										  sizeof(SvBulkRow) * Max(nrows, 1));
	Datum	   *starts;
	Datum	   *deltas;
	Datum	  **keys;
	Datum	   *args;
	Interval   *size;
	uint32		n = 0;
	int64		passed = sv_sink_passed(sink, sv);
	int64		late = 0;
	SvCountsIter iter;
	const SvCount *c;
	SvBulkResult res;
	SvAsOwner	save;

	sv_counts_iter_init(&iter, counts, vi);
	while ((c = sv_counts_iter_next(&iter)) != NULL)
	{
		if (sv_late_window_final(passed, c->window_start, sv->size_usec))
		{
			late += c->count;
			continue;
		}
		rows[n].window_start = c->window_start;
		rows[n].delta = c->count;
		rows[n].key = c->key;
		rows[n].keylen = c->keylen;
		rows[n].count = 0;
		rows[n].out_key = NULL;
		rows[n].out_keylen = -1;
		n++;
	}
	if (n == 0)
		return late;
	sv_sink_check_table(sv);
	/* triggers, policies and index expressions never run as the worker */
	sv_as_owner_begin(sv->owner, SV_SAFE_SEARCH_PATH, &save);
	sv_sink_writing_relid = sv->relid;
	PG_TRY();
	{
		res = sv_bulk_write(&sv->bulk, sv->known, rows, n, sv->published,
							sink->batch_cxt);
	}
	PG_FINALLY();
	{
		sv_sink_writing_relid = InvalidOid;
	}
	PG_END_TRY();
	sv_as_owner_end(&save);
	if (res == SV_BULK_WRITTEN)
	{
		/* published from the rows themselves (no copy: many keys, much memory) */
		if (sv->published)
		{
			sv->written = rows;
			sv->nwritten = n;
		}
		return late;
	}
	/* the upsert writes rows the bulk writer will not know of */
	sv_bulk_known_reset(sv->known);
	if (res == SV_BULK_CONFLICT)
		ereport(DEBUG1,
				(errmsg_internal("results table %u: a key was inserted concurrently, batch written by upsert",
								 sv->relid)));

	/* the upsert: one array per column */
	starts = palloc(sizeof(Datum) * n);
	deltas = palloc(sizeof(Datum) * n);
	keys = palloc(sizeof(Datum *) * Max(ng, 1));
	args = palloc(sizeof(Datum) * (ng + 3));
	size = palloc0(sizeof(Interval));
	for (int g = 0; g < ng; g++)
		keys[g] = palloc(sizeof(Datum) * n);
	for (uint32 i = 0; i < n; i++)
	{
		int			pos = 0;

		starts[i] = Int64GetDatum(rows[i].window_start);
		deltas[i] = Int64GetDatum(rows[i].delta);
		for (int g = 0; g < ng; g++)
		{
			const char *val = NULL;
			int			len = sv_key_segment(rows[i].key, rows[i].keylen, &pos, &val);

			keys[g][i] = PointerGetDatum(cstring_to_text_with_len(val, len));
		}
	}
	size->time = sv->size_usec;
	args[0] = sv_array(starts, NULL, n, sv->time_type);
	for (int g = 0; g < ng; g++)
		args[g + 1] = sv_array(keys[g], NULL, n, TEXTOID);
	args[ng + 1] = sv_array(deltas, NULL, n, INT8OID);
	args[ng + 2] = IntervalPGetDatum(size);
	sv_sink_run_as_owner(sv, sv->upsert, args, SPI_OK_INSERT_RETURNING);
	sv_sink_keep_returned(sink, sv);
	return late;
}

/*
 * Stores a view's new watermark and marks the windows it passed final:
 * those with window_start + size <= watermark, not final before.
 */
static void
sv_sink_watermark(SvSink *sink, SvSinkView *sv, SvWatermark *wm)
{
	Datum		wargs[2];
	Datum		fargs[2];
	bool		isnull;

	sv_sink_check_table(sv);
	wargs[0] = ObjectIdGetDatum(sv->relid);
	wargs[1] = TimestampTzGetDatum(wm->new);
	if (SPI_execute_plan(sink->watermark, wargs, NULL, false, 0) != SPI_OK_UPDATE_RETURNING ||
		SPI_processed != 1)
		elog(ERROR, "could not store the watermark of view %u", sv->relid);
	/* with several workers, the stored one may be ahead of ours */
	wm->stored = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
												   SPI_tuptable->tupdesc, 1, &isnull));
	fargs[0] = Int64GetDatum(wm->had_old ? wm->old - sv->size_usec : DT_NOBEGIN);
	fargs[1] = Int64GetDatum(wm->stored - sv->size_usec);
	sv_sink_run_as_owner(sv, sv->finalize, fargs, SPI_OK_UPDATE);
	sv->evict = true;
	sv->watermark = wm->stored;
}

/* Advances the offsets of the partitions the batch read, compare-and-set. */
static void
sv_sink_advance(SvSink *sink, SvAdvance *adv, int n)
{
	Datum	   *parts = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *froms = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *tos = palloc(sizeof(Datum) * Max(n, 1));
	Datum		args[4];
	int			rc;

	if (n == 0)
		return;
	for (int i = 0; i < n; i++)
	{
		parts[i] = Int32GetDatum(adv[i].partition);
		froms[i] = Int64GetDatum(adv[i].from);
		tos[i] = Int64GetDatum(adv[i].to);
	}
	args[0] = CStringGetTextDatum(sink->stream);
	args[1] = sv_array(parts, NULL, n, INT4OID);
	args[2] = sv_array(froms, NULL, n, INT8OID);
	args[3] = sv_array(tos, NULL, n, INT8OID);
	rc = SPI_execute_plan(sink->advance, args, NULL, false, 0);
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "offset update failed: %s", SPI_result_code_string(rc));
	if (SPI_processed != (uint64) n)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("stored offsets of stream \"%s\" moved under the worker",
						sink->stream),
				 errdetail("%d of %d partitions were not where the batch started.",
						   n - (int) SPI_processed, n),
				 errhint("The batch is discarded and the stream starts over from the stored offsets.")));
}

/* Writes the batch's rejected messages. */
static void
sv_sink_rejects(SvSink *sink, List *rejects)
{
	int			n = list_length(rejects);
	Datum	   *views = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *vnulls = palloc(sizeof(bool) * Max(n, 1));
	Datum	   *parts = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *offs = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *payloads = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *pnulls = palloc(sizeof(bool) * Max(n, 1));
	Datum	   *reasons = palloc(sizeof(Datum) * Max(n, 1));
	Datum		args[6];
	ListCell   *lc;
	int			i = 0;

	if (n == 0)
		return;
	foreach(lc, rejects)
	{
		SvReject   *r = lfirst(lc);

		vnulls[i] = r->view_index < 0;
		views[i] = vnulls[i] ? (Datum) 0 :
			ObjectIdGetDatum(sink->views[r->view_index].relid);
		parts[i] = Int32GetDatum(r->partition);
		offs[i] = Int64GetDatum(r->offset);
		pnulls[i] = r->payload == NULL;
		payloads[i] = PointerGetDatum(r->payload);
		reasons[i] = CStringGetTextDatum(r->reason);
		i++;
	}
	args[0] = CStringGetTextDatum(sink->stream);
	args[1] = sv_array(views, vnulls, n, OIDOID);
	args[2] = sv_array(parts, NULL, n, INT4OID);
	args[3] = sv_array(offs, NULL, n, INT8OID);
	args[4] = sv_array(payloads, pnulls, n, BYTEAOID);
	args[5] = sv_array(reasons, NULL, n, TEXTOID);
	if (SPI_execute_plan(sink->reject, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not write rejects");
}

/*
 * Writes a batch: every view's counts, the rejects and the offsets. Runs in
 * the worker's transaction with SPI connected; nothing is visible until the
 * worker commits it. Returns the contributions left out as late because
 * another worker's watermark had passed their windows.
 */
int64
sv_sink_write(SvSink *sink, SvCounts *counts, SvAdvance *advances,
			  int nadvances, List *rejects, SvWatermark *watermarks)
{
	int64		late = 0;

	MemoryContextReset(sink->batch_cxt);
	sink->returned = NIL;
	for (int vi = 0; vi < sink->nviews; vi++)
		sink->views[vi].nwritten = 0;
	/* a user's statement on a results table: the tables may hold rows of theirs */
	if (sv_window_invalidations() != sink->known_as_of)
	{
		sink->known_as_of = sv_window_invalidations();
		for (int vi = 0; vi < sink->nviews; vi++)
			sv_bulk_known_reset(sink->views[vi].known);
	}
	for (int vi = 0; vi < sink->nviews; vi++)
	{
		if (sink->views[vi].query)
			late += sv_sink_write_query_view(sink, vi, counts, sv_counts_size(counts));
		else
			late += sv_sink_write_view(sink, vi, counts, sv_counts_size(counts));
		sink->views[vi].evict = false;
		if (watermarks && watermarks[vi].changed)
			sv_sink_watermark(sink, &sink->views[vi], &watermarks[vi]);
	}
	sv_sink_rejects(sink, rejects);
	sv_sink_advance(sink, advances, nadvances);
	sink->as_of = sv_window_invalidations();
	return late;
}

/*
 * Whether this process's sink is running its own statement on a results
 * table: the table's trigger then leaves live_counts() alone, as the sink
 * publishes what it wrote after commit.
 */
bool
sv_sink_is_writing(Oid relid)
{
	return OidIsValid(relid) && relid == sv_sink_writing_relid;
}

/* Orders window starts newest first. */
static int
sv_sink_cmp_newest(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/*
 * The oldest window start a view's written rows publish from: all of them,
 * unless they are more than a quarter of the shared hash (and the view has
 * no other publisher); then the newest windows' rows, about a quarter of
 * the hash (the oldest of those windows whole). Publishing more would only
 * evict the batch's own rows, at the cost of a hash scan per half of the
 * hash.
 */
static int64
sv_sink_publish_from(const SvSinkView *sv)
{
	int			cap = Max(sv_max_windows / 4, 1);
	int64	   *starts;
	int			n = 0;
	int64		from;

	if (sv->nwritten <= cap || !sv->sole_publisher)
		return PG_INT64_MIN;
	starts = palloc(sizeof(int64) * sv->nwritten);
	for (int i = 0; i < sv->nwritten; i++)
		if (sv->written[i].count >= 0 && sv->written[i].out_keylen >= 0)
			starts[n++] = sv->written[i].window_start;
	if (n <= cap)
	{
		pfree(starts);
		return PG_INT64_MIN;
	}
	qsort(starts, n, sizeof(int64), sv_sink_cmp_newest);
	from = starts[cap - 1];
	pfree(starts);
	return from;
}

/*
 * After commit: shows the committed counts in shared memory, then drops the
 * windows a watermark made final (they never change again). If a user's
 * statement changed a results table since the batch's upserts, its counts
 * may be stale: the batch's views are forgotten instead (live_counts may
 * show fewer windows, never a count the table does not hold).
 */
void
sv_sink_publish(SvSink *sink)
{
	ListCell   *lc;
	bool		any = sink->returned != NIL;
	int64	   *from = palloc(sizeof(int64) * Max(sink->nviews, 1));

	/* (before taking the lock that live_counts() waits for) */
	for (int vi = 0; vi < sink->nviews; vi++)
	{
		any |= sink->views[vi].nwritten > 0;
		from[vi] = sv_sink_publish_from(&sink->views[vi]);
	}
	if (any && !sv_window_publish_begin(sink->as_of))
	{
		for (int vi = 0; vi < sink->nviews; vi++)
			sv_window_forget_view(sink->views[vi].relid);
		any = false;
	}
	if (any)
	{
		foreach(lc, sink->returned)
		{
			SvReturned *r = lfirst(lc);

			sv_window_publish(r->view, r->window_start, r->key, r->keylen, r->count);
		}
		for (int vi = 0; vi < sink->nviews; vi++)
		{
			SvSinkView *sv = &sink->views[vi];

			/* only some of its windows: none may keep an older count */
			if (from[vi] != PG_INT64_MIN)
				sv_window_publish_forget_view(sv->relid);
			for (int i = 0; i < sv->nwritten; i++)
			{
				const SvBulkRow *r = &sv->written[i];

				/* not written (final, merged), or a key too long to hold */
				if (r->count >= 0 && r->out_keylen >= 0 && r->window_start >= from[vi])
					sv_window_publish(sv->relid, r->window_start, r->out_key,
									  r->out_keylen, r->count);
			}
		}
		sv_window_publish_end();
	}
	sink->returned = NIL;
	for (int vi = 0; vi < sink->nviews; vi++)
		sink->views[vi].nwritten = 0;
	for (int vi = 0; vi < sink->nviews; vi++)
	{
		if (sink->views[vi].evict)
			sv_window_forget_before(sink->views[vi].relid, sink->views[vi].watermark,
									sink->views[vi].size_usec);
	}
}
