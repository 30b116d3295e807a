/*
 * catalog.c - streams, stream columns, window views and offsets in tables
 *
 * All access to streamview's catalog tables, by SPI with parameters. Queries
 * run as the owner of the streamview schema (the extension's owner), in a
 * security-restricted operation (sv_as_owner_begin): the
 * configuration functions may be granted to roles that cannot read or write
 * the catalog themselves, and options may hold secrets only that owner reads.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "parser/parse_type.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "streamview.h"

/* A query's results, copied out of SPI into the caller's memory context. */
typedef struct SvRows
{
	uint64		nrows;
	int			ncols;
	Datum	   *values;			/* nrows * ncols */
	bool	   *nulls;
} SvRows;

#define SV_VAL(rows, r, c) ((rows)->values[(r) * (rows)->ncols + (c)])
#define SV_NULL(rows, r, c) ((rows)->nulls[(r) * (rows)->ncols + (c)])

/* Returns the role that owns the streamview schema, and so its catalog. */
static Oid
sv_catalog_owner(void)
{
	Oid			nsp = get_namespace_oid(SV_SCHEMA, false);
	HeapTuple	tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nsp));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for schema %u", nsp);
	owner = ((Form_pg_namespace) GETSTRUCT(tup))->nspowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * Runs one parameterized statement as the catalog's owner and, for queries,
 * copies every row into the caller's memory context. Returns the rows (for
 * statements without results, nrows is the number of rows processed).
 */
static SvRows *
sv_catalog_exec(const char *sql, int nargs, Oid *types, Datum *values,
				const char *nulls, bool read_only)
{
	MemoryContext caller = CurrentMemoryContext;
	SvRows	   *rows = palloc0(sizeof(SvRows));
	SvAsOwner	save;
	int			rc;

	/*
	 * As the owner, with a search_path the caller cannot fill with operators
	 * or casts of its own: they would run with the owner's rights.
	 */
	sv_as_owner_begin(sv_catalog_owner(), SV_SAFE_SEARCH_PATH, &save);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute_with_args(sql, nargs, types, values, nulls, read_only, 0);
	if (rc < 0)
		elog(ERROR, "catalog query failed (%d): %s", rc, sql);
	rows->nrows = SPI_processed;
	if (SPI_tuptable != NULL)
	{
		TupleDesc	desc = SPI_tuptable->tupdesc;
		MemoryContext spi = MemoryContextSwitchTo(caller);

		rows->ncols = desc->natts;
		rows->values = palloc0(sizeof(Datum) * Max(1, rows->nrows * rows->ncols));
		rows->nulls = palloc0(sizeof(bool) * Max(1, rows->nrows * rows->ncols));
		for (uint64 r = 0; r < rows->nrows; r++)
		{
			for (int c = 0; c < rows->ncols; c++)
			{
				Form_pg_attribute att = TupleDescAttr(desc, c);
				bool		isnull;
				Datum		d = SPI_getbinval(SPI_tuptable->vals[r], desc,
											  c + 1, &isnull);

				SV_NULL(rows, r, c) = isnull;
				if (!isnull)
					SV_VAL(rows, r, c) = datumCopy(d, att->attbyval, att->attlen);
			}
		}
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();
	sv_as_owner_end(&save);
	return rows;
}

/* Text value of a result cell, or NULL. */
static char *
sv_text(SvRows *rows, uint64 r, int c)
{
	return SV_NULL(rows, r, c) ? NULL : TextDatumGetCString(SV_VAL(rows, r, c));
}

/* Microseconds of a fixed-length interval (months were refused on input). */
static int64
sv_interval_usec(Datum d)
{
	Interval   *iv = DatumGetIntervalP(d);

	return iv->time + (int64) iv->day * USECS_PER_DAY;
}

/* include and column_paths through to_jsonb(): 0.2's columns, not in 0.1 */
#define SV_STREAM_COLUMNS \
	"id, name, brokers, topic, format, delimiter, null_marker, start_offset, " \
	"options, running, owner::oid, parallelism, " \
	"pg_catalog.to_jsonb(s) OPERATOR(pg_catalog.->) 'include', " \
	"pg_catalog.to_jsonb(s) OPERATOR(pg_catalog.->) 'column_paths'"

/* The names of the include values, by bit. */
static const char *const sv_include_names[SV_NINCLUDE] =
{"key", "timestamp", "partition", "offset", "headers"};

/* How many columns the include bits add. */
int
sv_catalog_ninclude(int include)
{
	int			n = 0;

	for (int i = 0; i < SV_NINCLUDE; i++)
		n += (include >> i) & 1;
	return n;
}

/* An include value's bit ("key" -> SV_INCLUDE_KEY), or 0 when unknown. */
int
sv_catalog_include_bit(const char *name)
{
	for (int i = 0; i < SV_NINCLUDE; i++)
	{
		if (strcmp(name, sv_include_names[i]) == 0)
			return 1 << i;
	}
	return 0;
}

/* The include bits of a jsonb array of names (the catalog's include). */
static int
sv_catalog_include_bits(Jsonb *array)
{
	JsonbIterator *it = JsonbIteratorInit(&array->root);
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			bits = 0;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_ELEM && v.type == jbvString)
			bits |= sv_catalog_include_bit(pnstrdup(v.val.string.val, v.val.string.len));
	}
	return bits;
}

/* Whether a jsonb value is JSON null. */
static bool
sv_jsonb_is_null(Jsonb *j)
{
	return JB_ROOT_IS_SCALAR(j) && JB_ROOT_COUNT(j) == 1 &&
		((JsonbContainer *) &j->root)->children[0] == JENTRY_ISNULL;
}

static Datum sv_text_array(char **items, int n);

/* Builds an SvStream from row r of a streams query and loads its columns. */
static SvStream *
sv_stream_from_row(SvRows *rows, uint64 r)
{
	SvStream   *s = palloc0(sizeof(SvStream));
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	SvRows	   *cols;

	s->id = DatumGetInt32(SV_VAL(rows, r, 0));
	s->name = sv_text(rows, r, 1);
	s->brokers = sv_text(rows, r, 2);
	s->topic = sv_text(rows, r, 3);
	s->format = sv_text(rows, r, 4);
	s->delimiter = sv_text(rows, r, 5);
	s->null_marker = sv_text(rows, r, 6);
	s->start_offset = sv_text(rows, r, 7);
	s->options = DatumGetJsonbP(SV_VAL(rows, r, 8));
	s->running = DatumGetBool(SV_VAL(rows, r, 9));
	s->owner = DatumGetObjectId(SV_VAL(rows, r, 10));
	s->parallelism = DatumGetInt32(SV_VAL(rows, r, 11));
	s->include = SV_NULL(rows, r, 12) ? 0 :
		sv_catalog_include_bits(DatumGetJsonbP(SV_VAL(rows, r, 12)));
	s->column_paths = SV_NULL(rows, r, 13) || sv_jsonb_is_null(DatumGetJsonbP(SV_VAL(rows, r, 13))) ?
		NULL : DatumGetJsonbP(SV_VAL(rows, r, 13));

	args[0] = CStringGetTextDatum(s->name);
	cols = sv_catalog_exec("SELECT name, type FROM streamview.stream_columns "
						   "WHERE stream = $1 ORDER BY position",
						   1, argtypes, args, NULL, true);
	s->ncolumns = (int) cols->nrows;
	s->nvalue = s->ncolumns - sv_catalog_ninclude(s->include);
	s->columns = palloc0(sizeof(SvColumnDef) * Max(1, s->ncolumns));
	for (int i = 0; i < s->ncolumns; i++)
	{
		s->columns[i].name = sv_text(cols, i, 0);
		s->columns[i].type = sv_text(cols, i, 1);
		parseTypeString(s->columns[i].type, &s->columns[i].typid,
						&s->columns[i].typmod, false);
	}
	return s;
}

/* Loads a stream by name; NULL when missing and missing_ok. */
SvStream *
sv_catalog_get_stream(const char *name, bool missing_ok)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(name)};
	SvRows	   *rows;

	rows = sv_catalog_exec("SELECT " SV_STREAM_COLUMNS
						   " FROM streamview.streams s WHERE name = $1",
						   1, argtypes, args, NULL, true);
	if (rows->nrows == 0)
	{
		if (missing_ok)
			return NULL;
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("stream \"%s\" does not exist", name),
				 errhint("Streams are listed in streamview.streams.")));
	}
	return sv_stream_from_row(rows, 0);
}

/* Loads a stream by its id (for workers); NULL when it no longer exists. */
SvStream *
sv_catalog_get_stream_by_id(int id)
{
	Oid			argtypes[1] = {INT4OID};
	Datum		args[1] = {Int32GetDatum(id)};
	SvRows	   *rows;

	rows = sv_catalog_exec("SELECT " SV_STREAM_COLUMNS
						   " FROM streamview.streams s WHERE id = $1",
						   1, argtypes, args, NULL, true);
	return rows->nrows == 0 ? NULL : sv_stream_from_row(rows, 0);
}

/* Returns the streams that should be running (List of SvStream *). */
List *
sv_catalog_running_streams(void)
{
	SvRows	   *rows;
	List	   *streams = NIL;

	rows = sv_catalog_exec("SELECT " SV_STREAM_COLUMNS " FROM streamview.streams s "
						   "WHERE running ORDER BY id", 0, NULL, NULL, NULL, true);
	for (uint64 r = 0; r < rows->nrows; r++)
		streams = lappend(streams, sv_stream_from_row(rows, r));
	return streams;
}

/*
 * A summary of the catalog's rows (count and newest xmin of each table) and
 * of the COPY commands running in this database: while a restore loads the
 * catalog or results tables, it changes from one look to the next. The
 * launcher resumes a restored stream only once it stays the same.
 */
char *
sv_catalog_fingerprint(void)
{
	SvRows	   *rows;

	rows = sv_catalog_exec("SELECT concat_ws('/', "
						   "(SELECT count(*) || ':' || max(xmin::text) FROM streamview.streams), "
						   "(SELECT count(*) || ':' || max(xmin::text) FROM streamview.stream_columns), "
						   "(SELECT count(*) || ':' || max(xmin::text) FROM streamview.window_views), "
						   "(SELECT count(*) || ':' || max(xmin::text) FROM streamview.offsets), "
						   "(SELECT count(*) FROM pg_catalog.pg_stat_progress_copy "
						   " WHERE datid = (SELECT oid FROM pg_catalog.pg_database "
						   "                WHERE datname = pg_catalog.current_database())))",
						   0, NULL, NULL, NULL, true);
	return sv_text(rows, 0, 0);
}

/* Inserts a new stream and its columns; a duplicate name is an error. */
void
sv_catalog_insert_stream(const SvStream *s)
{
	Oid			types[12] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
	TEXTOID, TEXTOID, JSONBOID, OIDOID, INT4OID, TEXTARRAYOID, JSONBOID};
	Datum		args[12];
	char		nulls[12] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	char	   *include[SV_NINCLUDE];
	int			ninclude = 0;
	Oid			ctypes[4] = {TEXTOID, INT4OID, TEXTOID, TEXTOID};
	Datum		cargs[4];
	SvRows	   *rows;

	args[0] = CStringGetTextDatum(s->name);
	args[1] = CStringGetTextDatum(s->brokers);
	args[2] = CStringGetTextDatum(s->topic);
	args[3] = CStringGetTextDatum(s->format);
	args[4] = CStringGetTextDatum(s->delimiter);
	args[5] = CStringGetTextDatum(s->null_marker);
	args[6] = CStringGetTextDatum(s->start_offset);
	args[7] = JsonbPGetDatum(s->options);
	args[8] = ObjectIdGetDatum(s->owner);
	args[9] = Int32GetDatum(s->parallelism);
	for (int i = 0; i < SV_NINCLUDE; i++)
	{
		if (s->include & (1 << i))
			include[ninclude++] = (char *) sv_include_names[i];
	}
	args[10] = sv_text_array(include, ninclude);
	args[11] = s->column_paths ? JsonbPGetDatum(s->column_paths) : (Datum) 0;
	nulls[11] = s->column_paths ? ' ' : 'n';
	/* without include and column_paths, as 0.1's catalog (not updated yet) has them */
	if (s->include == 0 && s->column_paths == NULL)
		rows = sv_catalog_exec("INSERT INTO streamview.streams (name, brokers, topic, "
							   "format, delimiter, null_marker, start_offset, options, owner, "
							   "parallelism) "
							   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::regrole, $10) "
							   "ON CONFLICT (name) DO NOTHING",
							   10, types, args, nulls, false);
	else
		rows = sv_catalog_exec("INSERT INTO streamview.streams (name, brokers, topic, "
							   "format, delimiter, null_marker, start_offset, options, owner, "
							   "parallelism, include, column_paths) "
							   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::regrole, $10, $11, $12) "
							   "ON CONFLICT (name) DO NOTHING",
							   12, types, args, nulls, false);
	if (rows->nrows == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("stream \"%s\" already exists", s->name)));

	for (int i = 0; i < s->ncolumns; i++)
	{
		cargs[0] = CStringGetTextDatum(s->name);
		cargs[1] = Int32GetDatum(i + 1);
		cargs[2] = CStringGetTextDatum(s->columns[i].name);
		cargs[3] = CStringGetTextDatum(s->columns[i].type);
		sv_catalog_exec("INSERT INTO streamview.stream_columns "
						"(stream, position, name, type) VALUES ($1, $2, $3, $4)",
						4, ctypes, cargs, NULL, false);
	}
}

/* Changes a stream's brokers and/or options (NULL leaves one unchanged). */
void
sv_catalog_update_connection(const char *name, const char *brokers,
							 Jsonb *options)
{
	Oid			types[3] = {TEXTOID, TEXTOID, JSONBOID};
	Datum		args[3];
	char		nulls[3] = {' ', ' ', ' '};

	args[0] = CStringGetTextDatum(name);
	args[1] = brokers ? CStringGetTextDatum(brokers) : (Datum) 0;
	args[2] = options ? JsonbPGetDatum(options) : (Datum) 0;
	if (!brokers)
		nulls[1] = 'n';
	if (!options)
		nulls[2] = 'n';
	sv_catalog_exec("UPDATE streamview.streams SET "
					"brokers = coalesce($2, brokers), "
					"options = coalesce($3, options) WHERE name = $1",
					3, types, args, nulls, false);
}

/* Records whether a stream should run; it survives restarts this way. */
void
sv_catalog_set_running(const char *name, bool running)
{
	Oid			types[2] = {TEXTOID, BOOLOID};
	Datum		args[2] = {CStringGetTextDatum(name), BoolGetDatum(running)};

	sv_catalog_exec("UPDATE streamview.streams SET running = $2 WHERE name = $1",
					2, types, args, NULL, false);
}

/* Deletes a stream; its columns and offsets go with it (ON DELETE CASCADE). */
void
sv_catalog_delete_stream(const char *name)
{
	Oid			types[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(name)};

	sv_catalog_exec("DELETE FROM streamview.streams WHERE name = $1",
					1, types, args, NULL, false);
}

/*
 * query, search_path and settings through to_jsonb(): the columns are 0.2's,
 * and 0.1's catalog lacks them.
 * The owner is the results table's owner now (as a view's is the view's):
 * after ALTER TABLE ... OWNER TO or REASSIGN OWNED the worker writes and
 * evaluates as the new one; the owner recorded at creation only while the
 * table is missing.
 */
#define SV_VIEW_COLUMNS \
	"view::oid, stream, time_column, group_by, size, slide, allowed_lateness, " \
	"keep_late, watermark, " \
	"coalesce((SELECT c.relowner FROM pg_catalog.pg_class c " \
	"          WHERE c.oid OPERATOR(pg_catalog.=) w.view::pg_catalog.oid), w.owner::pg_catalog.oid), " \
	"pg_catalog.to_jsonb(w) OPERATOR(pg_catalog.->>) 'query', " \
	"pg_catalog.to_jsonb(w) OPERATOR(pg_catalog.->>) 'search_path', " \
	"CASE WHEN pg_catalog.jsonb_typeof(pg_catalog.to_jsonb(w) OPERATOR(pg_catalog.->) 'settings') " \
	"          OPERATOR(pg_catalog.=) 'array' " \
	"     THEN ARRAY(SELECT pg_catalog.jsonb_array_elements_text(" \
	"                  pg_catalog.to_jsonb(w) OPERATOR(pg_catalog.->) 'settings')) END"

/* Builds an SvView from row r of a window_views query. */
static SvView *
sv_view_from_row(SvRows *rows, uint64 r)
{
	SvView	   *v = palloc0(sizeof(SvView));
	Datum	   *elems;
	bool	   *enulls;
	int			n;

	v->relid = DatumGetObjectId(SV_VAL(rows, r, 0));
	v->stream = sv_text(rows, r, 1);
	v->time_column = sv_text(rows, r, 2);
	deconstruct_array(DatumGetArrayTypeP(SV_VAL(rows, r, 3)), TEXTOID, -1,
					  false, TYPALIGN_INT, &elems, &enulls, &n);
	v->ngroup = n;
	v->group_by = palloc0(sizeof(char *) * Max(1, n));
	for (int i = 0; i < n; i++)
		v->group_by[i] = TextDatumGetCString(elems[i]);
	v->size_usec = sv_interval_usec(SV_VAL(rows, r, 4));
	v->slide_usec = sv_interval_usec(SV_VAL(rows, r, 5));
	v->lateness_usec = SV_NULL(rows, r, 6) ? -1 :
		sv_interval_usec(SV_VAL(rows, r, 6));
	v->keep_late = DatumGetBool(SV_VAL(rows, r, 7));
	v->has_watermark = !SV_NULL(rows, r, 8);
	if (v->has_watermark)
		v->watermark = DatumGetTimestampTz(SV_VAL(rows, r, 8));
	v->owner = DatumGetObjectId(SV_VAL(rows, r, 9));
	v->query = sv_text(rows, r, 10);
	v->search_path = sv_text(rows, r, 11);
	v->settings = SV_NULL(rows, r, 12) ? NULL : DatumGetArrayTypeP(SV_VAL(rows, r, 12));
	return v;
}

/* Returns a stream's window views (List of SvView *), oldest first. */
List *
sv_catalog_get_views(const char *stream)
{
	Oid			types[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(stream)};
	SvRows	   *rows;
	List	   *views = NIL;

	rows = sv_catalog_exec("SELECT " SV_VIEW_COLUMNS
						   " FROM streamview.window_views w WHERE stream = $1"
						   " ORDER BY created_at, view::oid",
						   1, types, args, NULL, true);
	for (uint64 r = 0; r < rows->nrows; r++)
		views = lappend(views, sv_view_from_row(rows, r));
	return views;
}

/* Loads one window view by its results table; NULL when missing and missing_ok. */
SvView *
sv_catalog_get_view(Oid relid, bool missing_ok)
{
	Oid			types[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(relid)};
	SvRows	   *rows;

	rows = sv_catalog_exec("SELECT " SV_VIEW_COLUMNS
						   " FROM streamview.window_views w WHERE view = $1::regclass",
						   1, types, args, NULL, true);
	if (rows->nrows == 0)
	{
		if (missing_ok)
			return NULL;
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("\"%s\" is not a streamview window view",
						get_rel_name(relid) ? get_rel_name(relid) : "?"),
				 errhint("Window views are listed in streamview.window_views.")));
	}
	return sv_view_from_row(rows, 0);
}

/* Builds a text[] Datum from C strings. */
static Datum
sv_text_array(char **items, int n)
{
	Datum	   *elems = palloc0(sizeof(Datum) * Max(1, n));

	for (int i = 0; i < n; i++)
		elems[i] = CStringGetTextDatum(items[i]);
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false,
										   TYPALIGN_INT));
}

/* Builds an interval Datum of a number of microseconds. */
static Datum
sv_interval_datum(int64 usec)
{
	Interval   *iv = palloc0(sizeof(Interval));

	iv->time = usec;
	return IntervalPGetDatum(iv);
}

/* Inserts a window view row. */
void
sv_catalog_insert_view(const SvView *v)
{
	Oid			types[12] = {OIDOID, TEXTOID, TEXTOID, TEXTARRAYOID,
		INTERVALOID, INTERVALOID, INTERVALOID, BOOLOID, OIDOID, TEXTOID, TEXTOID,
	TEXTARRAYOID};
	Datum		args[12];
	char		nulls[12] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};

	args[0] = ObjectIdGetDatum(v->relid);
	args[1] = CStringGetTextDatum(v->stream);
	args[2] = CStringGetTextDatum(v->time_column);
	args[3] = sv_text_array(v->group_by, v->ngroup);
	args[4] = sv_interval_datum(v->size_usec);
	args[5] = sv_interval_datum(v->slide_usec);
	args[6] = v->lateness_usec >= 0 ? sv_interval_datum(v->lateness_usec) : (Datum) 0;
	if (v->lateness_usec < 0)
		nulls[6] = 'n';
	args[7] = BoolGetDatum(v->keep_late);
	args[8] = ObjectIdGetDatum(v->owner);
	if (v->query == NULL)
		sv_catalog_exec("INSERT INTO streamview.window_views (view, stream, "
						"time_column, group_by, size, slide, allowed_lateness, "
						"keep_late, owner) VALUES ($1::regclass, $2, $3, $4, $5, "
						"$6, $7, $8, $9::regrole)",
						9, types, args, nulls, false);
	else
	{
		args[9] = CStringGetTextDatum(v->query);
		args[10] = CStringGetTextDatum(v->search_path);
		args[11] = PointerGetDatum(v->settings);
		if (v->settings == NULL)
			nulls[11] = 'n';
		sv_catalog_exec("INSERT INTO streamview.window_views (view, stream, "
						"time_column, group_by, size, slide, allowed_lateness, "
						"keep_late, owner, query, search_path, settings) "
						"VALUES ($1::regclass, $2, $3, $4, $5, "
						"$6, $7, $8, $9::regrole, $10, $11, $12)",
						12, types, args, nulls, false);
	}
}

/* Deletes a window view row. */
void
sv_catalog_delete_view(Oid relid)
{
	Oid			types[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(relid)};

	sv_catalog_exec("DELETE FROM streamview.window_views WHERE view = $1::regclass",
					1, types, args, NULL, false);
}

/* Returns a stream's stored positions (List of SvOffset *), by partition. */
List *
sv_catalog_get_offsets(const char *stream)
{
	Oid			types[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(stream)};
	SvRows	   *rows;
	List	   *offsets = NIL;

	rows = sv_catalog_exec("SELECT partition, next_offset FROM streamview.offsets "
						   "WHERE stream = $1 ORDER BY partition",
						   1, types, args, NULL, true);
	for (uint64 r = 0; r < rows->nrows; r++)
	{
		SvOffset   *o = palloc(sizeof(SvOffset));

		o->partition = DatumGetInt32(SV_VAL(rows, r, 0));
		o->next_offset = DatumGetInt64(SV_VAL(rows, r, 1));
		offsets = lappend(offsets, o);
	}
	return offsets;
}

/*
 * Stores the first positions of partitions the stream has not read before.
 * A partition that already has a position keeps it: only the worker's
 * compare-and-set moves positions forward.
 */
void
sv_catalog_insert_offsets(const char *stream, List *offsets)
{
	Oid			types[3] = {TEXTOID, INT4OID, INT8OID};
	Datum		args[3];
	ListCell   *lc;

	foreach(lc, offsets)
	{
		SvOffset   *o = lfirst(lc);

		args[0] = CStringGetTextDatum(stream);
		args[1] = Int32GetDatum(o->partition);
		args[2] = Int64GetDatum(o->next_offset);
		sv_catalog_exec("INSERT INTO streamview.offsets (stream, partition, "
						"next_offset) VALUES ($1, $2, $3) "
						"ON CONFLICT (stream, partition) DO NOTHING",
						3, types, args, NULL, false);
	}
}

/* Only a stream's owner (or a member of that role, or a superuser) changes it. */
void
sv_catalog_check_owner(const SvStream *stream)
{
	if (!has_privs_of_role(GetUserId(), stream->owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of stream \"%s\"", stream->name),
				 errdetail("The stream belongs to role \"%s\".",
						   GetUserNameFromId(stream->owner, false))));
}
