/*
 * functions.c - the SQL-callable configuration functions
 *
 * create_stream, alter_stream, drop_stream, create_window_view,
 * drop_window_view, start, stop and parse_message. Each checks its
 * arguments and raises a clear error with an SQLSTATE, then changes the
 * catalog (catalog.c) and tells the launcher (launcher.c).
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "parser/parse_type.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "catalog.h"
#include "compat.h"
#include "kafka.h"
#include "launcher.h"
#include "mb/pg_wchar.h"
#include "parse.h"
#include "query.h"
#include "streamview.h"
#include "schema.h"
#include "window.h"

SV_FUNCTION_INFO_V1(streamview_create_stream);
SV_FUNCTION_INFO_V1(streamview_alter_stream);
SV_FUNCTION_INFO_V1(streamview_drop_stream);
SV_FUNCTION_INFO_V1(streamview_create_window_view);
SV_FUNCTION_INFO_V1(streamview_drop_window_view);
SV_FUNCTION_INFO_V1(streamview_start);
SV_FUNCTION_INFO_V1(streamview_stop);
SV_FUNCTION_INFO_V1(streamview_parse_message);
SV_FUNCTION_INFO_V1(streamview_create_view);

static Datum sv_values_jsonb(const SvStream *s, SvValue *values);

/* Returns text argument n as a C string; NULL is an error naming it. */
static char *
sv_required_text(FunctionCallInfo fcinfo, int n, const char *argname)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", argname)));
	return text_to_cstring(PG_GETARG_TEXT_PP(n));
}

/* Returns a non-empty text argument; NULL or '' is an error naming it. */
static char *
sv_nonempty_text(FunctionCallInfo fcinfo, int n, const char *argname)
{
	char	   *s = sv_required_text(fcinfo, n, argname);

	if (s[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", argname)));
	return s;
}

/*
 * The delimiter of a new stream: the format's default when NULL (", " for
 * delimited, "," for csv); one byte for csv; none for json.
 */
static char *
sv_stream_delimiter(FunctionCallInfo fcinfo, const char *format)
{
	char	   *delimiter = PG_ARGISNULL(5) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(5));

	if (strcmp(format, "delimited") == 0)
		return delimiter ? delimiter : ", ";
	if (strcmp(format, "csv") == 0)
	{
		if (delimiter && (strlen(delimiter) != 1 || strchr("\"\r\n", delimiter[0]) != NULL ||
						  (unsigned char) delimiter[0] >= 0x80))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the delimiter of format csv must be one ASCII character other than a quote, CR and LF"),
					 errhint("Use for example ',', ';', '|' or E'\\t'.")));
		return delimiter ? delimiter : ",";
	}
	if (strcmp(format, "json") == 0)
	{
		if (delimiter)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("format json takes no delimiter")));
		return ",";
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown format \"%s\"", format),
			 errhint("The formats are 'delimited', 'csv' and 'json'.")));
	return NULL;				/* keep compiler quiet */
}

/* The metadata columns' names and types, by include bit. */
static const char *const sv_include_columns_def[SV_NINCLUDE][2] = {
	{"kafka_key", "text"},
	{"kafka_timestamp", "timestamp with time zone"},
	{"kafka_partition", "integer"},
	{"kafka_offset", "bigint"},
	{"kafka_headers", "jsonb"}
};

/*
 * Reads include: any of key, timestamp, partition, offset, headers, each
 * once; a value column with the name of an included column is refused.
 */
static int
sv_include_arg(ArrayType *arr, List *cols)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			bits = 0;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		char	   *name = nulls[i] ? NULL : TextDatumGetCString(elems[i]);
		int			bit = name ? sv_catalog_include_bit(name) : 0;
		ListCell   *lc;

		if (bit == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown include value \"%s\"", name ? name : "NULL"),
					 errhint("The include argument takes any of key, timestamp, partition, offset and headers.")));
		if (bits & bit)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("include value \"%s\" appears more than once", name)));
		bits |= bit;
		foreach(lc, cols)
		{
			const char *col = ((SvColumnDef *) lfirst(lc))->name;

			for (int b = 0; b < SV_NINCLUDE; b++)
			{
				if (bit == (1 << b) && strcmp(col, sv_include_columns_def[b][0]) == 0)
					ereport(ERROR,
							(errcode(ERRCODE_DUPLICATE_COLUMN),
							 errmsg("column \"%s\" of the value clashes with include \"%s\"",
									col, name),
							 errhint("Rename the value's column, or do not include %s.", name)));
			}
		}
	}
	return bits;
}

/* The columns include adds, after the value's, in their fixed order. */
static List *
sv_include_columns(int include)
{
	List	   *cols = NIL;

	for (int b = 0; b < SV_NINCLUDE; b++)
	{
		SvColumnDef *def;

		if (!(include & (1 << b)))
			continue;
		def = palloc0(sizeof(SvColumnDef));
		def->name = pstrdup(sv_include_columns_def[b][0]);
		def->type = pstrdup(sv_include_columns_def[b][1]);
		parseTypeString(def->type, &def->typid, &def->typmod, false);
		cols = lappend(cols, def);
	}
	return cols;
}

/*
 * Reads column_paths (json only): an object of value column to JSON path,
 * each path checked (sv_schema_check_path).
 */
static Jsonb *
sv_column_paths_arg(Jsonb *paths, const char *format, List *cols)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *column = NULL;

	if (strcmp(format, "json") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("column_paths applies to format json only")));
	if (!JB_ROOT_IS_OBJECT(paths))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("column_paths must be a JSON object of column name to path"),
				 errhint("For example '{\"pickup\": \"$.trip.pickup.at\"}'.")));
	it = JsonbIteratorInit(&paths->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		ListCell   *lc;
		bool		found = false;

		if (tok == WJB_KEY)
		{
			column = pnstrdup(v.val.string.val, v.val.string.len);
			foreach(lc, cols)
				found |= strcmp(((SvColumnDef *) lfirst(lc))->name, column) == 0;
			if (!found)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("column_paths names \"%s\", which is not a column of the value", column)));
		}
		else if (tok == WJB_VALUE)
		{
			if (v.type != jbvString)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("the path of column \"%s\" in column_paths must be a string", column)));
			sv_schema_check_path(column, pnstrdup(v.val.string.val, v.val.string.len));
		}
	}
	return paths;
}

/*
 * create_stream(name, brokers, topic, columns, format, delimiter,
 *               start_offset, options, null, parallelism, include,
 *               column_paths)
 */
Datum
streamview_create_stream(PG_FUNCTION_ARGS)
{
	SvStream	s = {0};
	List	   *cols;
	ListCell   *lc;
	int			i = 0;

	s.name = sv_nonempty_text(fcinfo, 0, "name");
	s.brokers = sv_nonempty_text(fcinfo, 1, "brokers");
	s.topic = sv_nonempty_text(fcinfo, 2, "topic");
	s.format = sv_required_text(fcinfo, 4, "format");
	s.delimiter = sv_stream_delimiter(fcinfo, s.format);
	s.start_offset = sv_required_text(fcinfo, 6, "start_offset");
	s.options = PG_ARGISNULL(7) ? NULL : PG_GETARG_JSONB_P(7);
	s.null_marker = sv_required_text(fcinfo, 8, "null");
	s.parallelism = PG_ARGISNULL(9) ? 1 : PG_GETARG_INT32(9);
	s.owner = GetUserId();

	if (s.parallelism < 1 || s.parallelism > SV_MAX_PARALLELISM)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("parallelism must be between 1 and %d", SV_MAX_PARALLELISM),
				 errhint("Each unit of parallelism is one worker reading a share of the topic's partitions.")));

	if (s.delimiter[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("delimiter must not be empty")));
	if (strcmp(s.start_offset, "earliest") != 0 &&
		strcmp(s.start_offset, "latest") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown start_offset \"%s\"", s.start_offset),
				 errhint("Use 'earliest' or 'latest'.")));
	if (s.options == NULL)
		s.options = DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
													   CStringGetDatum("{}")));
	sv_kafka_check_options(s.options);

	cols = sv_schema_parse_columns(sv_required_text(fcinfo, 3, "columns"));
	s.nvalue = list_length(cols);
	/* 0.1's declaration has neither include nor column_paths */
	s.include = PG_NARGS() > 10 && !PG_ARGISNULL(10) ?
		sv_include_arg(PG_GETARG_ARRAYTYPE_P(10), cols) : 0;
	if (PG_NARGS() > 11 && !PG_ARGISNULL(11))
		s.column_paths = sv_column_paths_arg(PG_GETARG_JSONB_P(11), s.format, cols);
	cols = list_concat(cols, sv_include_columns(s.include));
	s.ncolumns = list_length(cols);
	s.columns = palloc(sizeof(SvColumnDef) * s.ncolumns);
	foreach(lc, cols)
		s.columns[i++] = *(SvColumnDef *) lfirst(lc);

	sv_catalog_insert_stream(&s);
	PG_RETURN_VOID();
}

/* alter_stream(name, brokers, options): new connection settings. */
Datum
streamview_alter_stream(PG_FUNCTION_ARGS)
{
	char	   *name = sv_required_text(fcinfo, 0, "name");
	SvStream   *s = sv_catalog_get_stream(name, false);
	char	   *brokers = NULL;
	Jsonb	   *options = NULL;

	sv_catalog_check_owner(s);
	if (!PG_ARGISNULL(1))
		brokers = sv_nonempty_text(fcinfo, 1, "brokers");
	if (!PG_ARGISNULL(2))
	{
		options = PG_GETARG_JSONB_P(2);
		sv_kafka_check_options(options);
	}
	sv_catalog_update_connection(name, brokers, options);
	sv_launcher_stream_changed(s->id);
	PG_RETURN_VOID();
}

/* drop_stream(name): refused while window views depend on the stream. */
Datum
streamview_drop_stream(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	SvStream   *s = sv_catalog_get_stream(name, false);
	List	   *views;

	sv_catalog_check_owner(s);
	views = sv_catalog_get_views(name);
	if (views != NIL)
	{
		StringInfoData list;
		ListCell   *lc;

		initStringInfo(&list);
		foreach(lc, views)
			appendStringInfo(&list, "%s%s", list.len ? ", " : "",
							 get_rel_name(((SvView *) lfirst(lc))->relid));
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot drop stream \"%s\" because window views depend on it",
						name),
				 errdetail("Window views on this stream: %s.", list.data),
				 errhint("Drop them first with streamview.drop_window_view().")));
	}
	sv_catalog_delete_stream(name);
	(void) sv_launcher_stop_stream(s->id);
	PG_RETURN_VOID();
}

/*
 * start(name): marks the stream running and waits for its worker. Starting
 * a running stream does nothing but say so.
 */
Datum
streamview_start(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	SvStream   *s = sv_catalog_get_stream(name, false);

	sv_catalog_check_owner(s);
	sv_catalog_set_running(name, true);
	if (sv_launcher_start_stream(s->id, name, s->parallelism) && s->running)
		ereport(NOTICE,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("stream \"%s\" is already running", name)));
	PG_RETURN_VOID();
}

/*
 * stop(name): marks the stream stopped and waits for its worker to exit.
 * Stopping a stopped stream does nothing but say so.
 */
Datum
streamview_stop(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	SvStream   *s = sv_catalog_get_stream(name, false);

	sv_catalog_check_owner(s);
	sv_catalog_set_running(name, false);
	if (!sv_launcher_stop_stream(s->id) && !s->running)
		ereport(NOTICE,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("stream \"%s\" is not running", name)));
	PG_RETURN_VOID();
}

/*
 * Returns an interval argument as microseconds, refusing NULL and what
 * sv_window_interval() refuses.
 */
static int64
sv_interval_arg(FunctionCallInfo fcinfo, int n, const char *argname,
				bool allow_zero)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", argname)));
	return sv_window_interval(PG_GETARG_INTERVAL_P(n), argname, allow_zero);
}

/* Checks a view's time column: it must exist and be a timestamp type. */
static Oid
sv_check_time_column(const SvStream *s, const char *column)
{
	int			idx = sv_schema_column_index(s, column);

	if (idx < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("stream \"%s\" has no column \"%s\"", s->name, column)));
	if (!sv_schema_is_timestamp(s->columns[idx].typid))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("time column \"%s\" is of type %s", column,
						s->columns[idx].type),
				 errhint("The time column must be of type timestamp or timestamptz.")));
	return s->columns[idx].typid;
}

/*
 * Reads group_by: every element must name a distinct stream column that
 * does not clash with the results table's own columns.
 */
static char **
sv_check_group_by(const SvStream *s, ArrayType *arr, int *ngroup)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	char	  **names;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	names = palloc0(sizeof(char *) * Max(1, n));
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("group_by must not contain nulls")));
		names[i] = TextDatumGetCString(elems[i]);
		if (sv_schema_column_index(s, names[i]) < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("group_by column \"%s\" is not a column of stream \"%s\"",
							names[i], s->name)));
		if (!sv_schema_is_checked(&s->columns[sv_schema_column_index(s, names[i])]))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("group_by column \"%s\" is of type %s, which streamview does not check per message",
							names[i], s->columns[sv_schema_column_index(s, names[i])].type),
					 errdetail("A value that does not fit the type would fail every batch that holds it."),
					 errhint("Group by columns of type smallint, integer, bigint, real, double precision, numeric, boolean, text, varchar, date, timestamp or timestamptz.")));
		if (strcmp(names[i], "window_start") == 0 ||
			strcmp(names[i], "window_end") == 0 ||
			strcmp(names[i], "count") == 0 || strcmp(names[i], "final") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_COLUMN),
					 errmsg("group_by column \"%s\" clashes with a column of the results table",
							names[i])));
		for (int j = 0; j < i; j++)
		{
			if (strcmp(names[i], names[j]) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_COLUMN),
						 errmsg("group_by column \"%s\" appears more than once",
								names[i])));
		}
	}
	*ngroup = n;
	return names;
}

/*
 * Gives a new results table (SPI connected) the comment the upgrade script
 * gives existing ones, naming the view and the stream that maintain it
 * (shown by \d+).
 */
static void
sv_comment_results_table(const char *qualified, const char *relname,
						 const char *stream)
{
	char	   *comment = psprintf("streamview: results of window view %s on stream %s",
								   quote_identifier(relname), quote_identifier(stream));
	char	   *sql = psprintf("COMMENT ON TABLE %s IS %s", qualified,
							   quote_literal_cstr(comment));

	if (SPI_execute(sql, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not run: %s", sql);
}

/*
 * Creates the results table, as the calling role: window_start,
 * window_end, the group_by columns with their stream types, count; primary
 * key (window_start, group_by...). Returns its OID.
 */
static Oid
sv_create_results_table(const char *name, const SvStream *s, const SvView *v,
						Oid time_type)
{
	List	   *names = sv_qualified_name_list(name);
	RangeVar   *rv = makeRangeVarFromNameList(names);
	Oid			nsp = RangeVarGetCreationNamespace(rv);
	StringInfoData sql;
	StringInfoData key;
	Oid			relid;

	initStringInfo(&sql);
	initStringInfo(&key);
	appendStringInfo(&sql, "CREATE TABLE %s (window_start %s NOT NULL, "
					 "window_end %s NOT NULL",
					 quote_qualified_identifier(get_namespace_name(nsp), rv->relname),
					 format_type_be(time_type), format_type_be(time_type));
	appendStringInfoString(&key, "window_start");
	for (int i = 0; i < v->ngroup; i++)
	{
		int			idx = sv_schema_column_index(s, v->group_by[i]);

		appendStringInfo(&sql, ", %s %s", quote_identifier(v->group_by[i]),
						 s->columns[idx].type);
		appendStringInfo(&key, ", %s", quote_identifier(v->group_by[i]));
	}
	/*
	 * Pages a tenth empty: a batch adds to counts in place, and an update
	 * that fits in its row's page is HOT (no new index entry; count is not
	 * indexed).
	 */
	appendStringInfo(&sql, ", count bigint NOT NULL, final boolean NOT NULL DEFAULT false, "
					 "PRIMARY KEY (%s)) WITH (fillfactor = 90)", key.data);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute(sql.data, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not create results table: %s", sql.data);
	sv_comment_results_table(quote_qualified_identifier(get_namespace_name(nsp), rv->relname),
							 rv->relname, s->name);
	SPI_finish();
	CommandCounterIncrement();
	relid = get_relname_relid(rv->relname, nsp);
	if (!OidIsValid(relid))
		elog(ERROR, "results table %s was not created", name);
	return relid;
}

/*
 * create_window_view(name, stream, time_column, group_by, size, slide,
 *                    allowed_lateness, keep_late)
 */
Datum
streamview_create_window_view(PG_FUNCTION_ARGS)
{
	char	   *name = sv_nonempty_text(fcinfo, 0, "name");
	char	   *stream = sv_required_text(fcinfo, 1, "stream");
	SvStream   *s = sv_catalog_get_stream(stream, false);
	SvView		v = {0};
	Oid			time_type;

	sv_catalog_check_owner(s);
	v.stream = s->name;
	v.time_column = sv_required_text(fcinfo, 2, "time_column");
	time_type = sv_check_time_column(s, v.time_column);
	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("group_by must not be null"),
				 errhint("Use an empty array for one count per window.")));
	v.group_by = sv_check_group_by(s, PG_GETARG_ARRAYTYPE_P(3), &v.ngroup);
	v.size_usec = sv_interval_arg(fcinfo, 4, "size", false);
	v.slide_usec = PG_ARGISNULL(5) ? v.size_usec :
		sv_interval_arg(fcinfo, 5, "slide", false);
	sv_window_check(v.size_usec, v.slide_usec);
	v.lateness_usec = PG_ARGISNULL(6) ? -1 :
		sv_interval_arg(fcinfo, 6, "allowed_lateness", true);
	v.keep_late = PG_ARGISNULL(7) ? false : PG_GETARG_BOOL(7);
	v.owner = GetUserId();

	v.relid = sv_create_results_table(name, s, &v, time_type);
	sv_catalog_insert_view(&v);
	sv_launcher_stream_changed(s->id);
	PG_RETURN_OID(v.relid);
}

/*
 * Creates a query view's results table (SPI connected) as the calling role
 * and gives it the comment of every results table. Returns its OID.
 */
static Oid
sv_create_query_table(const char *name, const SvQuery *q)
{
	List	   *names = sv_qualified_name_list(name);
	RangeVar   *rv = makeRangeVarFromNameList(names);
	Oid			nsp = RangeVarGetCreationNamespace(rv);
	char	   *qualified = quote_qualified_identifier(get_namespace_name(nsp), rv->relname);
	char	   *sql = sv_query_table_sql(q, qualified);
	Oid			relid;

	if (SPI_execute(sql, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not create results table: %s", sql);
	sv_comment_results_table(qualified, rv->relname, q->stream);
	CommandCounterIncrement();
	relid = get_relname_relid(rv->relname, nsp);
	if (!OidIsValid(relid))
		elog(ERROR, "results table %s was not created", name);
	return relid;
}

/*
 * The settings by which the parser reads a query's text and literals
 * ('01/02/2024', '2024-01-01 00:00' as timestamptz, intervals, 'a\b',
 * x = NULL), as "name=value": the worker analyses the view's query again
 * under them, whatever its own.
 */
static ArrayType *
sv_literal_settings(void)
{
	static const char *const names[] = {
		"DateStyle", "IntervalStyle", "TimeZone", "timezone_abbreviations",
		"standard_conforming_strings", "transform_null_equals", "array_nulls"
	};
	Datum		elems[lengthof(names)];

	for (int i = 0; i < lengthof(names); i++)
		elems[i] = CStringGetTextDatum(psprintf("%s=%s", names[i],
												GetConfigOptionByName(names[i], NULL, false)));
	return construct_array(elems, lengthof(names), TEXTOID, -1, false, TYPALIGN_INT);
}

/*
 * create_view(name, query, allowed_lateness, keep_late): a view defined by a
 * SELECT over a stream. The query is analysed with the caller's privileges;
 * only the stream's owner may create views on it. The results table is
 * named name, with the select list's columns.
 */
Datum
streamview_create_view(PG_FUNCTION_ARGS)
{
	char	   *name = sv_nonempty_text(fcinfo, 0, "name");
	char	   *query = sv_nonempty_text(fcinfo, 1, "query");
	SvQuery    *q = sv_query_analyze(query);
	SvStream   *s = sv_catalog_get_stream(q->stream, false);
	SvView		v = {0};
	char	  **keys = palloc0(sizeof(char *) * Max(1, q->nkeys));

	sv_catalog_check_owner(s);
	v.stream = s->name;
	v.time_column = s->columns[q->time_column].name;
	for (int k = 0; k < q->nkeys; k++)
		keys[k] = q->keys[k].column;
	v.group_by = keys;
	v.ngroup = q->nkeys;
	v.size_usec = q->size_usec;
	v.slide_usec = q->slide_usec;
	v.lateness_usec = PG_ARGISNULL(2) ? -1 :
		sv_window_interval(PG_GETARG_INTERVAL_P(2), "allowed_lateness", true);
	v.keep_late = PG_ARGISNULL(3) ? false : PG_GETARG_BOOL(3);
	v.owner = GetUserId();
	v.query = query;
	v.search_path = GetConfigOptionByName("search_path", NULL, false);
	v.settings = sv_literal_settings();

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	v.relid = sv_create_query_table(name, q);
	SPI_finish();
	sv_query_record_dependencies(q, v.relid);
	sv_catalog_insert_view(&v);
	sv_launcher_stream_changed(s->id);
	PG_RETURN_OID(v.relid);
}

/* drop_window_view(name): forgets the view and drops its results table. */
Datum
streamview_drop_window_view(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	RangeVar   *rv = makeRangeVarFromNameList(sv_qualified_name_list(name));
	Oid			relid = RangeVarGetRelid(rv, NoLock, false);
	SvView	   *v = sv_catalog_get_view(relid, false);
	SvStream   *s = sv_catalog_get_stream(v->stream, false);
	StringInfoData sql;

	if (!sv_owns_relation(relid, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of table %s", get_rel_name(relid))));
	/* the DROP TABLE forgets its windows (see sv_window_drop_view) */
	sv_catalog_delete_view(relid);
	initStringInfo(&sql);
	appendStringInfo(&sql, "DROP TABLE %s",
					 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
												get_rel_name(relid)));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute(sql.data, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not drop results table: %s", sql.data);
	SPI_finish();
	sv_launcher_stream_changed(s->id);
	PG_RETURN_VOID();
}

/* Raises the error for a message that does not parse, naming field and reason. */
static void
sv_report_parse_error(const SvStream *s, const SvParseError *err)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid message for stream \"%s\": %s", s->name, err->reason),
			 err->field >= 0 ?
			 errdetail("The message failed at field %d \"%s\" of type %s.",
					   err->field + 1, s->columns[err->field].name,
					   s->columns[err->field].type) :
			 errdetail("The message as a whole does not fit the stream's %d columns.",
					   s->ncolumns)));
}

/* Error context for type input functions: which field was being read. */
static void
sv_parse_field_context(void *arg)
{
	const SvColumnDef *def = arg;

	errcontext("field \"%s\" of type %s", def->name, def->type);
}

/*
 * The included metadata columns for parse_message: NULL, but for the key
 * and the headers that parse_message(stream, value, key, headers) gives.
 */
static void
sv_parse_message_metadata(FunctionCallInfo fcinfo, const SvStream *s, SvValue *values)
{
	int			col = s->nvalue;

	for (int b = 0; b < SV_NINCLUDE; b++)
	{
		SvValue    *v;
		int			arg = (1 << b) == SV_INCLUDE_KEY ? 2 :
			(1 << b) == SV_INCLUDE_HEADERS ? 3 : -1;

		if (!(s->include & (1 << b)))
			continue;
		v = &values[col++];
		v->isnull = arg < 0 || PG_NARGS() <= arg || PG_ARGISNULL(arg);
		if (v->isnull)
			continue;
		if (arg == 2)
		{
			text	   *key = PG_GETARG_TEXT_PP(2);

			v->str = VARDATA_ANY(key);
			v->len = VARSIZE_ANY_EXHDR(key);
		}
		else
		{
			char	   *headers = JsonbToCString(NULL, &PG_GETARG_JSONB_P(3)->root, 0);

			v->str = headers;
			v->len = strlen(headers);
		}
	}
}

/*
 * parse_message(stream, value): the message parsed by the stream's schema,
 * as a jsonb object, exactly as the worker would read it.
 */
Datum
streamview_parse_message(PG_FUNCTION_ARGS)
{
	char	   *stream = sv_required_text(fcinfo, 0, "stream");
	text	   *value;
	SvStream   *s = sv_catalog_get_stream(stream, false);
	SvSchema	schema;
	SvValue    *values;
	SvParseError err;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("invalid message for stream \"%s\": the value is null",
						stream)));
	value = PG_GETARG_TEXT_PP(1);
	sv_schema_build(s, &schema);
	values = palloc0(sizeof(SvValue) * s->ncolumns);
	if (!sv_parse_message(&schema, VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value),
						  values, &err))
		sv_report_parse_error(s, &err);
	sv_parse_message_metadata(fcinfo, s, values);
	PG_RETURN_DATUM(sv_values_jsonb(s, values));
}

/*
 * A message's values as a jsonb object of column name to value, converted
 * by the columns' types (a type's input may raise its own error, shown
 * with the field in the context).
 */
static Datum
sv_values_jsonb(const SvStream *s, SvValue *values)
{
	StringInfoData json;
	ErrorContextCallback ctx;

	initStringInfo(&json);
	appendStringInfoChar(&json, '{');
	ctx.callback = sv_parse_field_context;
	ctx.previous = error_context_stack;
	error_context_stack = &ctx;
	for (int i = 0; i < s->ncolumns; i++)
	{
		if (i > 0)
			appendStringInfoString(&json, ", ");
		escape_json(&json, s->columns[i].name);
		appendStringInfoString(&json, ": ");
		ctx.arg = &s->columns[i];
		if (values[i].isnull)
			appendStringInfoString(&json, "null");
		else
			sv_schema_append_json(&json, &s->columns[i],
								  sv_schema_datum(&s->columns[i], &values[i]));
	}
	error_context_stack = ctx.previous;
	appendStringInfoChar(&json, '}');
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(json.data));
}

SV_FUNCTION_INFO_V1(streamview_peek);

/* How long peek waits for the brokers, and for the messages, in all. */
#define SV_PEEK_TIMEOUT_MS 5000

/* One message peek read, copied out of librdkafka's buffers. */
typedef struct SvPeeked
{
	SvMessage	m;				/* value and key point into copies */
	char	   *headers;		/* JSON text, or NULL */
} SvPeeked;

/*
 * Reads the last n messages of every partition of a stream's topic with a
 * consumer of its own (the stream's offsets are not touched), within
 * SV_PEEK_TIMEOUT_MS; an unreachable broker is an error naming it.
 */
static List *
sv_peek_messages(const SvStream *s, int n)
{
	char		errbuf[512];
	SvKafka    *volatile kafka = sv_kafka_connect(s, errbuf, sizeof(errbuf));
	List	   *volatile out = NIL;

	if (kafka == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("could not create a Kafka consumer for stream \"%s\": %s", s->name, errbuf)));
	PG_TRY();
	{
		List	   *parts = sv_kafka_partitions(kafka, SV_PEEK_TIMEOUT_MS, errbuf, sizeof(errbuf));
		List	   *assign = NIL;
		int			nends = parts ? llast_int(parts) + 1 : 1;
		int64	   *ends = palloc0(sizeof(int64) * nends);
		TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
														   SV_PEEK_TIMEOUT_MS);
		int			open = 0;
		ListCell   *lc;

		if (parts == NIL)
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg("could not read topic \"%s\" from brokers %s: %s",
							s->topic, s->brokers, errbuf)));
		foreach(lc, parts)
		{
			int64		low;
			int64		high;
			SvOffset   *o;

			if (!sv_kafka_watermarks(kafka, lfirst_int(lc), SV_PEEK_TIMEOUT_MS, &low, &high,
									 errbuf, sizeof(errbuf)))
				ereport(ERROR,
						(errcode(ERRCODE_CONNECTION_FAILURE),
						 errmsg("could not read topic \"%s\" from brokers %s: %s",
								s->topic, s->brokers, errbuf)));
			ends[lfirst_int(lc)] = high;
			if (high <= low)
				continue;
			o = palloc(sizeof(SvOffset));
			o->partition = lfirst_int(lc);
			o->next_offset = Max(low, high - n);
			assign = lappend(assign, o);
			open++;
		}
		sv_kafka_assign(kafka, assign);
		while (open > 0 && GetCurrentTimestamp() < deadline)
		{
			SvFetch		fetch;

			CHECK_FOR_INTERRUPTS();
			sv_kafka_fetch(kafka, 1000, 100, &fetch);
			for (int i = 0; i < fetch.nmessages; i++)
			{
				SvMessage  *m = &fetch.msgs[i];
				SvPeeked   *p;
				StringInfoData h;

				/*
				 * Only what was there when peek began: on a live topic a
				 * busy partition goes on past its end, and counting those
				 * messages as ends would stop before the others are read.
				 */
				if (m->partition < 0 || m->partition >= nends ||
					m->offset >= ends[m->partition])
					continue;
				p = palloc0(sizeof(SvPeeked));
				p->m = *m;
				p->m.value = m->value ? pnstrdup(m->value, m->len) : NULL;
				p->m.key = m->key ? pnstrdup(m->key, m->key_len) : NULL;
				initStringInfo(&h);
				p->headers = sv_kafka_headers_json(m, &h) ? h.data : NULL;
				p->m.raw = NULL;
				out = lappend(out, p);
				if (m->offset + 1 == ends[m->partition])
					open--;		/* its last message, seen once */
			}
			sv_kafka_release(kafka, &fetch);
		}
	}
	PG_FINALLY();
	{
		sv_kafka_close(kafka);
	}
	PG_END_TRY();
	return out;
}

/*
 * peek(stream, messages): the last messages of every partition of a
 * stream's topic, parsed as the worker would (fields as parse_message
 * shows them, or the reason the worker would reject the message). For the
 * stream's owner, who may also run parse_message.
 */
Datum
streamview_peek(PG_FUNCTION_ARGS)
{
	char	   *name = sv_required_text(fcinfo, 0, "stream");
	SvStream   *s = sv_catalog_get_stream(name, false);
	int			n = PG_ARGISNULL(1) ? 10 : PG_GETARG_INT32(1);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SvSchema	schema;
	SvValue    *values;
	ListCell   *lc;

	sv_catalog_check_owner(s);
	if (n < 1 || n > 100000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("messages must be between 1 and 100000")));
	InitMaterializedSRF(fcinfo, 0);
	sv_schema_build(s, &schema);
	values = palloc0(sizeof(SvValue) * s->ncolumns);
	foreach(lc, sv_peek_messages(s, n))
	{
		SvPeeked   *p = lfirst(lc);
		Datum		row[6];
		bool		nulls[6] = {0};
		SvParseError err;
		char		reason[SV_REASON_LEN + 64];
		TimestampTz ts = 0;
		bool		ok;

		row[0] = Int32GetDatum(p->m.partition);
		row[1] = Int64GetDatum(p->m.offset);
		nulls[2] = !sv_schema_kafka_timestamp(p->m.timestamp_ms, &ts);
		row[2] = TimestampTzGetDatum(ts);
		nulls[3] = p->m.key == NULL || !pg_verify_mbstr(PG_UTF8, p->m.key, (int) p->m.key_len, true) ||
			memchr(p->m.key, '\0', p->m.key_len) != NULL;
		row[3] = nulls[3] ? (Datum) 0 : PointerGetDatum(cstring_to_text_with_len(p->m.key, p->m.key_len));
		ok = p->m.value != NULL;
		if (!ok)
			snprintf(reason, sizeof(reason), "message has no value (null)");
		else if (p->m.len > (size_t) sv_max_message_bytes)
		{
			ok = false;
			snprintf(reason, sizeof(reason),
					 "message of %zu bytes exceeds streamview.max_message_bytes (%d)",
					 p->m.len, sv_max_message_bytes);
		}
		else if (!sv_parse_message(&schema, p->m.value, p->m.len, values, &err))
		{
			ok = false;
			strlcpy(reason, err.reason, sizeof(reason));
		}
		if (ok && s->include != 0)
			ok = sv_schema_metadata(s, &p->m, p->headers, values, NULL,
									reason, sizeof(reason));
		nulls[4] = !ok;
		row[4] = ok ? sv_values_jsonb(s, values) : (Datum) 0;
		nulls[5] = ok;
		row[5] = ok ? (Datum) 0 : CStringGetTextDatum(reason);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, nulls);
	}
	return (Datum) 0;
}

/* ---- status ------------------------------------------------------------ */

SV_FUNCTION_INFO_V1(streamview_live_counts);
SV_FUNCTION_INFO_V1(streamview_stream_status);
SV_FUNCTION_INFO_V1(streamview_partition_status);
SV_FUNCTION_INFO_V1(streamview_memory_usage);

static const char *const sv_state_names[] = {"stopped", "starting", "running", "retrying"};

/*
 * live_counts(view): the view's windows as shared memory holds them (the
 * committed counts of recently touched windows), without a table scan.
 */
Datum
streamview_live_counts(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SvView	   *v = sv_catalog_get_view(relid, false);
	SvStream   *s = sv_catalog_get_stream(v->stream, false);
	int			tidx = sv_schema_column_index(s, v->time_column);

	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", get_rel_name(relid))));
	InitMaterializedSRF(fcinfo, 0);
	sv_window_live_counts(relid, v->size_usec,
						  s->columns[tidx].typid == TIMESTAMPTZOID, rsinfo);
	return (Datum) 0;
}

/*
 * The workers' progress per stream, for the stream_status view. Under 0.1's
 * declaration (before ALTER EXTENSION UPDATE) the last two columns are not
 * asked for: the tuple store takes the declared columns only.
 */
Datum
streamview_stream_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			n;
	SvSlotSnapshot *snap = sv_launcher_snapshot(&n);

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < n; i++)
	{
		SvStreamStatus *st = &snap[i].status;
		Datum		values[13];
		bool		nulls[13] = {0};

		values[0] = Int32GetDatum(snap[i].stream_id);
		values[1] = Int32GetDatum(snap[i].worker_index);
		values[2] = CStringGetTextDatum(sv_state_names[st->state]);
		values[3] = Int32GetDatum((int32) snap[i].worker_pid);
		nulls[3] = snap[i].worker_pid == 0;
		values[4] = Int64GetDatum(st->messages);
		values[5] = Int64GetDatum(st->batches);
		values[6] = Int64GetDatum(st->rejects);
		values[7] = Int64GetDatum(st->late);
		values[8] = TimestampTzGetDatum(st->last_batch_at);
		nulls[8] = st->last_batch_at == 0;
		values[9] = Float8GetDatum(st->last_batch_ms);
		nulls[9] = st->batches == 0;
		values[10] = CStringGetTextDatum(st->last_error);
		nulls[10] = st->last_error[0] == '\0';
		values[11] = TimestampTzGetDatum(st->last_error_at);
		nulls[11] = st->last_error_at == 0;
		values[12] = CStringGetTextDatum(st->detail);
		nulls[12] = st->detail[0] == '\0' || st->state == SV_STATE_RUNNING ||
			st->state == SV_STATE_STOPPED;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* The broker's high watermarks per partition, for partition_status. */
Datum
streamview_partition_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			n;
	SvSlotSnapshot *snap = sv_launcher_snapshot(&n);

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < n; i++)
	{
		for (int p = 0; p < snap[i].status.npartitions; p++)
		{
			Datum		values[3];
			bool		nulls[3] = {0};

			if (snap[i].status.high_watermark[p] < 0)
				continue;
			values[0] = Int32GetDatum(snap[i].stream_id);
			values[1] = Int32GetDatum(p);
			values[2] = Int64GetDatum(snap[i].status.high_watermark[p]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	return (Datum) 0;
}

/* memory_usage(): windows held in shared memory, capacity and bytes. */
Datum
streamview_memory_usage(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[3];
	bool		nulls[3] = {0};
	int64		windows;
	int64		capacity;
	int64		bytes;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	sv_window_usage(&windows, &capacity, &bytes);
	values[0] = Int64GetDatum(windows);
	values[1] = Int64GetDatum(capacity);
	values[2] = Int64GetDatum(bytes);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

SV_FUNCTION_INFO_V1(streamview_mask_options);

/*
 * _mask_options(options): the options with the values of secret keys
 * (passwords, secrets, private keys) replaced, for stream_options.
 */
Datum
streamview_mask_options(PG_FUNCTION_ARGS)
{
	Jsonb	   *options = PG_GETARG_JSONB_P(0);
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	JsonbParseState *state = NULL;
	JsonbValue *res = NULL;
	bool		secret = false;

	if (!JB_ROOT_IS_OBJECT(options))
		PG_RETURN_JSONB_P(options);
	it = JsonbIteratorInit(&options->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			secret = sv_kafka_is_secret_option(pnstrdup(v.val.string.val,
														v.val.string.len)) != NULL;
		else if (tok == WJB_VALUE && secret)
		{
			v.type = jbvString;
			v.val.string.val = "********";
			v.val.string.len = 8;
		}
		res = pushJsonbValue(&state, tok, tok < WJB_BEGIN_ARRAY ? &v : NULL);
	}
	PG_RETURN_JSONB_P(JsonbValueToJsonb(res));
}
