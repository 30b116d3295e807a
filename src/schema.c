/*
 * schema.c - a stream's column definitions and their PostgreSQL types
 *
 * The user writes a stream's schema in CREATE TABLE's own column syntax. We
 * hand it to PostgreSQL's raw parser inside a CREATE TABLE statement that is
 * only parsed, never run, and resolve each type name exactly as CREATE TABLE
 * would. The parsed values of a message are plain C (parse.h); this module
 * turns them into Datums of the column types.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "nodes/parsenodes.h"
#include "parser/parse_type.h"
#include "parser/parser.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "kafka.h"
#include "mb/pg_wchar.h"
#include "schema.h"
#include "streamview.h"
#include "window.h"

static void sv_schema_check_create(const CreateStmt *stmt);
static void sv_schema_map_column(const SvColumnDef *def, SvColumn *col);
static SvColumnDef *sv_schema_column(ParseState *pstate, const ColumnDef *coldef);
static bool sv_schema_local_to_utc(int64_t local_usec, int64_t *utc_usec,
								   void *arg);

/* Raises the error for a column list that is not a plain list of columns. */
static void
sv_schema_invalid(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
			 errmsg("invalid column definitions for stream"),
			 errdetail("%s", detail),
			 errhint("Write columns as in CREATE TABLE, for example 'vendor_id int, pickup timestamp'.")));
}

/* What the column list is wrapped in to be parsed. */
#define SV_COLUMNS_PREFIX "CREATE TABLE streamview_columns ("

/*
 * Error context for errors in the stream's column list (syntax errors,
 * unknown types): a position in the wrapped statement becomes a position
 * in the column list, shown with it as the internal query, as PostgreSQL
 * does for the body of an SQL function.
 */
static void
sv_schema_columns_context(void *arg)
{
	const char *columns = arg;
	int			pos = geterrposition();

	if (pos > (int) strlen(SV_COLUMNS_PREFIX))
	{
		errposition(0);
		internalerrposition(pos - (int) strlen(SV_COLUMNS_PREFIX));
		internalerrquery(columns);
	}
	errcontext("column definitions of the stream");
}

/*
 * Parses a column list such as "vendor_id int, ts timestamp" into a List of
 * SvColumnDef. Only names and types are allowed: no constraints, defaults or
 * table options. Unknown types raise the type system's own error.
 */
List *
sv_schema_parse_columns(const char *columns)
{
	StringInfoData sql;
	List	   *stmts;
	RawStmt    *raw;
	CreateStmt *create;
	List	   *result = NIL;
	ListCell   *lc;
	ErrorContextCallback ctx;
	ParseState *pstate;

	if (columns == NULL || columns[0] == '\0')
		sv_schema_invalid("The column list is empty.");

	initStringInfo(&sql);
	appendStringInfo(&sql, SV_COLUMNS_PREFIX "%s)", columns);
	pstate = make_parsestate(NULL);
	pstate->p_sourcetext = sql.data;
	ctx.callback = sv_schema_columns_context;
	ctx.arg = (void *) columns;
	ctx.previous = error_context_stack;
	error_context_stack = &ctx;
	stmts = raw_parser(sql.data, RAW_PARSE_DEFAULT);
	if (list_length(stmts) != 1)
		sv_schema_invalid("The column list must not end or contain a statement.");
	raw = linitial_node(RawStmt, stmts);
	if (!IsA(raw->stmt, CreateStmt))
		sv_schema_invalid("The column list is not a list of columns.");
	create = (CreateStmt *) raw->stmt;
	sv_schema_check_create(create);

	foreach(lc, create->tableElts)
	{
		Node	   *elt = lfirst(lc);
		SvColumnDef *def;
		ListCell   *prev;

		if (!IsA(elt, ColumnDef))
			sv_schema_invalid("Only column names and types are allowed.");
		def = sv_schema_column(pstate, (ColumnDef *) elt);
		foreach(prev, result)
		{
			if (strcmp(((SvColumnDef *) lfirst(prev))->name, def->name) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_COLUMN),
						 errmsg("column \"%s\" specified more than once",
								def->name)));
		}
		result = lappend(result, def);
	}
	error_context_stack = ctx.previous;
	if (result == NIL)
		sv_schema_invalid("The column list is empty.");
	return result;
}

/* Refuses everything in the parsed CREATE TABLE but its column list. */
static void
sv_schema_check_create(const CreateStmt *stmt)
{
	if (stmt->inhRelations != NIL || stmt->partbound != NULL ||
		stmt->partspec != NULL || stmt->ofTypename != NULL ||
		stmt->constraints != NIL || stmt->options != NIL ||
		stmt->oncommit != ONCOMMIT_NOOP || stmt->tablespacename != NULL ||
		stmt->accessMethod != NULL || stmt->if_not_exists ||
		stmt->relation->schemaname != NULL ||
		strcmp(stmt->relation->relname, "streamview_columns") != 0 ||
		stmt->relation->relpersistence != RELPERSISTENCE_PERMANENT)
		sv_schema_invalid("Only column names and types are allowed.");
}

/* The schema of a type. */
static Oid
sv_schema_type_namespace(Oid typid)
{
	HeapTuple	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	Oid			nsp;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for type %u", typid);
	nsp = ((Form_pg_type) GETSTRUCT(tup))->typnamespace;
	ReleaseSysCache(tup);
	return nsp;
}

/*
 * Resolves one parsed column definition to a name, type OID and typmod; an
 * unknown type's error points at it in pstate's source text.
 */
static SvColumnDef *
sv_schema_column(ParseState *pstate, const ColumnDef *coldef)
{
	SvColumnDef *def = palloc0(sizeof(SvColumnDef));
	char		typtype;

	if (coldef->constraints != NIL || coldef->raw_default != NULL ||
		coldef->collClause != NULL || coldef->is_not_null ||
		coldef->compression != NULL || coldef->storage != 0 ||
		coldef->fdwoptions != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
				 errmsg("column \"%s\" has more than a name and a type",
						coldef->colname),
				 errhint("Constraints, defaults and collations belong to the results tables, not to a stream's schema.")));

	typenameTypeIdAndMod(pstate, coldef->typeName, &def->typid, &def->typmod);
	typtype = get_typtype(def->typid);
	if (typtype == TYPTYPE_PSEUDO)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
				 errmsg("column \"%s\" has pseudo-type %s",
						coldef->colname, format_type_be(def->typid))));
	def->name = pstrdup(coldef->colname);
	/*
	 * The catalog keeps the type's name; one outside pg_catalog with its
	 * schema, so that the worker (whatever its search_path) finds it again.
	 */
	def->type = format_type_extended(def->typid, def->typmod,
									 FORMAT_TYPE_TYPEMOD_GIVEN |
									 (sv_schema_type_namespace(def->typid) == PG_CATALOG_NAMESPACE ?
									  0 : FORMAT_TYPE_FORCE_QUALIFY));
	return def;
}

/* palloc as sv_json_path_compile's allocator. */
static void *
sv_schema_palloc(size_t size)
{
	return palloc(size);
}

/* Refuses a JSON path that does not compile, naming the column. */
void
sv_schema_check_path(const char *column, const char *path)
{
	SvJsonPath	compiled;
	char		errbuf[256];

	if (!sv_json_path_compile(path, strlen(path), sv_schema_palloc, &compiled,
							  errbuf, sizeof(errbuf)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid path for column \"%s\" in column_paths: %s", column, errbuf),
				 errhint("A path is $ followed by .member, .\"quoted member\" or [index] steps, for example $.trip.pickup.at or $.items[0].price.")));
}

/* The compiled JSON paths of a stream's value columns (NULL: none). */
static const SvJsonPath *
sv_schema_json_paths(const SvStream *stream)
{
	SvJsonPath *paths;

	if (stream->column_paths == NULL)
		return NULL;
	paths = palloc0(sizeof(SvJsonPath) * stream->nvalue);
	for (int i = 0; i < stream->nvalue; i++)
	{
		JsonbValue	key;
		JsonbValue *path;
		char		errbuf[256];

		key.type = jbvString;
		key.val.string.val = stream->columns[i].name;
		key.val.string.len = strlen(stream->columns[i].name);
		path = findJsonbValueFromContainer(&stream->column_paths->root, JB_FOBJECT, &key);
		if (path == NULL || path->type != jbvString)
			continue;
		if (!sv_json_path_compile(path->val.string.val, path->val.string.len,
								  sv_schema_palloc, &paths[i], errbuf, sizeof(errbuf)))
			elog(ERROR, "invalid path of column \"%s\" in the catalog: %s",
				 stream->columns[i].name, errbuf);
	}
	return paths;
}

/* Returns the 0-based index of a stream column by name, or -1. */
int
sv_schema_column_index(const SvStream *stream, const char *name)
{
	for (int i = 0; i < stream->ncolumns; i++)
	{
		if (strcmp(stream->columns[i].name, name) == 0)
			return i;
	}
	return -1;
}

/* Whether a type can serve as a view's time column. */
bool
sv_schema_is_timestamp(Oid typid)
{
	return typid == TIMESTAMPOID || typid == TIMESTAMPTZOID;
}

/*
 * Whether the parser checks values of this column itself (so a bad value is
 * rejected per message rather than failing a cast in the batch's upsert).
 */
bool
sv_schema_is_checked(const SvColumnDef *def)
{
	SvColumn	col;

	sv_schema_map_column(def, &col);
	return col.type != SV_TYPE_OTHER && col.type != SV_TYPE_JSON;
}

/* Maps one column's PostgreSQL type to the parser's column description. */
static void
sv_schema_map_column(const SvColumnDef *def, SvColumn *col)
{
	col->name = def->name;
	col->max_chars = -1;
	col->precision = -1;
	col->scale = -1;
	switch (def->typid)
	{
		case INT2OID:
			col->type = SV_TYPE_INT2;
			break;
		case INT4OID:
			col->type = SV_TYPE_INT4;
			break;
		case INT8OID:
			col->type = SV_TYPE_INT8;
			break;
		case FLOAT4OID:
			col->type = SV_TYPE_FLOAT4;
			break;
		case FLOAT8OID:
			col->type = SV_TYPE_FLOAT8;
			break;
		case BOOLOID:
			col->type = SV_TYPE_BOOL;
			break;
		case TEXTOID:
			col->type = SV_TYPE_TEXT;
			break;
		case VARCHAROID:
			col->type = SV_TYPE_TEXT;
			if (def->typmod >= (int32) VARHDRSZ)
				col->max_chars = def->typmod - VARHDRSZ;
			break;
		case NUMERICOID:
			col->type = SV_TYPE_NUMERIC;
			if (def->typmod >= (int32) VARHDRSZ)
			{
				int32		tm = def->typmod - VARHDRSZ;
				int32		scale = (((tm & 0x7ff) ^ 1024) - 1024);

				col->precision = (tm >> 16) & 0xffff;
				col->scale = scale;
				if (scale < 0 || scale > col->precision)
					col->type = SV_TYPE_OTHER;	/* unusual: let numeric_in judge */
			}
			break;
		case DATEOID:
			col->type = SV_TYPE_DATE;
			break;
		case TIMESTAMPOID:
			col->type = SV_TYPE_TIMESTAMP;
			break;
		case TIMESTAMPTZOID:
			col->type = SV_TYPE_TIMESTAMPTZ;
			break;
		case JSONOID:
		case JSONBOID:
			col->type = SV_TYPE_JSON;
			break;
		default:
			col->type = SV_TYPE_OTHER;
			break;
	}
}

/*
 * Grows the schema's scratch buffer to hold the decoded text of a message of
 * len bytes (decoding never lengthens text). sv_schema_build sizes it from
 * streamview.max_message_bytes; a worker calls this for each message, since
 * a reload may raise the setting while its schema lives on, and then grows
 * it to the new setting at once, as sv_schema_build would have.
 */
void
sv_schema_fit_scratch(SvSchema *schema, size_t len)
{
	if (schema->scratch == NULL || schema->scratch->cap > len)
		return;
	schema->scratch->cap = Max(len, (size_t) sv_max_message_bytes) + 1;
	schema->scratch->buf = repalloc(schema->scratch->buf, schema->scratch->cap);
}

/*
 * Builds the parser's schema for a stream. The column array is palloc'd in
 * the current memory context and lives as long as it.
 */
void
sv_schema_build(const SvStream *stream, SvSchema *schema)
{
	SvColumn   *cols = palloc0(sizeof(SvColumn) * stream->ncolumns);

	memset(schema, 0, sizeof(SvSchema));
	for (int i = 0; i < stream->ncolumns; i++)
		sv_schema_map_column(&stream->columns[i], &cols[i]);
	/* the parser reads the value's columns; the included ones come after */
	schema->ncolumns = stream->nvalue;
	schema->format = strcmp(stream->format, "csv") == 0 ? SV_FORMAT_CSV :
		strcmp(stream->format, "json") == 0 ? SV_FORMAT_JSON : SV_FORMAT_DELIMITED;
	schema->paths = sv_schema_json_paths(stream);
	if (schema->format != SV_FORMAT_DELIMITED)
	{
		schema->scratch = palloc(sizeof(SvScratch));
		schema->scratch->cap = (size_t) sv_max_message_bytes + 1;
		schema->scratch->buf = palloc(schema->scratch->cap);
	}
	schema->columns = cols;
	schema->delimiter = stream->delimiter;
	schema->delimiter_len = strlen(stream->delimiter);
	schema->null_marker = stream->null_marker;
	schema->null_len = strlen(stream->null_marker);
	schema->local_to_utc = sv_schema_local_to_utc;
	schema->local_to_utc_arg = NULL;
	if (schema->format == SV_FORMAT_JSON)
	{
		SvJsonPlan *plan = palloc(sv_json_plan_size(schema));

		/* without a plan (a schema the parser refuses) it says why per message */
		if (sv_json_plan_build(schema, plan))
			schema->json_plan = plan;
		else
			pfree(plan);
	}
}

/*
 * The parser's callback for timestamptz values without an explicit offset:
 * interpret them in the server's TimeZone, as timestamptz input does.
 */
static bool
sv_schema_local_to_utc(int64_t local_usec, int64_t *utc_usec, void *arg)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;

	if (timestamp2tm((Timestamp) local_usec, NULL, &tm, &fsec, NULL, NULL) != 0)
		return false;
	tz = DetermineTimeZoneOffset(&tm, session_timezone);
	*utc_usec = local_usec + (int64_t) tz * USECS_PER_SEC;
	return IS_VALID_TIMESTAMP(*utc_usec);
}

/*
 * Converts one parsed, non-NULL value into a Datum of its column's type.
 * Types the parser does not know go through the type's input function,
 * which raises the type's own error for bad input.
 */
Datum
sv_schema_datum(const SvColumnDef *def, const SvValue *value)
{
	char	   *str;
	Oid			infn;
	Oid			ioparam;

	switch (def->typid)
	{
		case INT2OID:
			return Int16GetDatum((int16) value->v.i);
		case INT4OID:
			return Int32GetDatum((int32) value->v.i);
		case INT8OID:
			return Int64GetDatum(value->v.i);
		case FLOAT4OID:
			return Float4GetDatum((float4) value->v.f);
		case FLOAT8OID:
			return Float8GetDatum(value->v.f);
		case BOOLOID:
			return BoolGetDatum(value->v.b);
		case DATEOID:
			return DateADTGetDatum((DateADT) value->v.i);
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			{
				Timestamp	ts = (Timestamp) value->v.i;

				/* timestamp(p): round as the type's input would */
				if (!sv_round_timestamp(&ts, def->typmod))
					ereport(ERROR,
							(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
							 errmsg("timestamp out of range")));
				return TimestampGetDatum(ts);
			}
		case TEXTOID:
		case VARCHAROID:
			return PointerGetDatum(cstring_to_text_with_len(value->str,
															(int) value->len));
		default:
			str = pnstrdup(value->str, value->len);
			getTypeInputInfo(def->typid, &infn, &ioparam);
			return OidInputFunctionCall(infn, str, ioparam, def->typmod);
	}
}

/*
 * Appends a value as a JSON value: numbers and booleans as themselves,
 * everything else (and non-finite numbers) as a JSON string of its text form.
 */
void
sv_schema_append_json(StringInfo buf, const SvColumnDef *def, Datum datum)
{
	Oid			outfn;
	bool		isvarlena;
	char	   *text;
	char		dtbuf[MAXDATELEN + 1];

	if (def->typid == DATEOID || def->typid == TIMESTAMPOID ||
		def->typid == TIMESTAMPTZOID)
	{
		/* ISO 8601 whatever the DateStyle, as to_jsonb() writes them */
		escape_json(buf, JsonEncodeDateTime(dtbuf, datum, def->typid, NULL));
		return;
	}
	getTypeOutputInfo(def->typid, &outfn, &isvarlena);
	text = OidOutputFunctionCall(outfn, datum);
	switch (def->typid)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case FLOAT4OID:
		case FLOAT8OID:
		case NUMERICOID:
			if (strpbrk(text, "NnIi") == NULL)
			{
				appendStringInfoString(buf, text);
				return;
			}
			break;
		case BOOLOID:
			appendStringInfoString(buf, DatumGetBool(datum) ? "true" : "false");
			return;
		case JSONOID:
		case JSONBOID:
			/* JSON as itself, as to_jsonb() nests it */
			appendStringInfoString(buf, text);
			return;
		default:
			break;
	}
	escape_json(buf, text);
}

/* Whether text is valid UTF-8 without NUL bytes (what a text value can hold). */
static bool
sv_schema_valid_text(const char *s, size_t len)
{
	return memchr(s, '\0', len) == NULL && pg_verify_mbstr(PG_UTF8, s, (int) len, true);
}

/*
 * A Kafka timestamp (milliseconds since 1970, >= 0) as a timestamptz; false
 * when it lies past PostgreSQL's range (a producer may set any 64-bit
 * value).
 */
bool
sv_schema_kafka_timestamp(int64 timestamp_ms, TimestampTz *out)
{
	/* END_TIMESTAMP in milliseconds since 1970, without overflowing */
	if (timestamp_ms < 0 ||
		timestamp_ms >= END_TIMESTAMP / 1000 - SV_UNIX_EPOCH_USEC / 1000)
		return false;
	*out = timestamp_ms * 1000 + SV_UNIX_EPOCH_USEC;
	return true;
}

/*
 * The text of a timestamptz in UTC with its offset, which timestamptz_in
 * reads back to the same value whatever the session's TimeZone and
 * DateStyle: one text per value, so equal times make equal group keys.
 */
static void
sv_schema_timestamp_text(TimestampTz t, char *buf, size_t len)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (timestamp2tm(t, NULL, &tm, &fsec, NULL, NULL) != 0)
		elog(ERROR, "timestamp out of range");	/* checked by the caller */
	snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d.%06d+00",
			 tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, (int) fsec);
}

/*
 * Fills the included metadata columns (after the value's) of values from
 * the message and its headers as JSON text (sv_kafka_headers_json; NULL:
 * none): kafka_key, kafka_timestamp, kafka_partition, kafka_offset,
 * kafka_headers, those the stream includes, in that order; the integer
 * and timestamp ones also as text, in *text, unless text is NULL (only a
 * count view grouped by one reads it: a formatted timestamp per message is
 * not free). False with a reason when the key or a header is not valid
 * UTF-8 text, or the timestamp is out of range.
 */
bool
sv_schema_metadata(const SvStream *stream, const SvMessage *m,
				   const char *headers, SvValue *values, SvMetaText *text,
				   char *reason, size_t reasonlen)
{
	int			col = stream->nvalue;
	SvValue    *v;

	if (stream->include & SV_INCLUDE_KEY)
	{
		v = &values[col++];
		v->isnull = m->key == NULL;
		v->str = m->key;
		v->len = m->key_len;
		if (!v->isnull && !sv_schema_valid_text(m->key, m->key_len))
		{
			snprintf(reason, reasonlen, "the message's key is not valid UTF-8 text");
			return false;
		}
	}
	if (stream->include & SV_INCLUDE_TIMESTAMP)
	{
		v = &values[col++];
		v->isnull = m->timestamp_ms < 0;	/* none: -1 */
		if (!v->isnull)
		{
			if (!sv_schema_kafka_timestamp(m->timestamp_ms, &v->v.i))
			{
				snprintf(reason, reasonlen,
						 "the message's timestamp (%lld ms since 1970) is out of range for timestamptz",
						 (long long) m->timestamp_ms);
				return false;
			}
			if (text != NULL)
			{
				sv_schema_timestamp_text(v->v.i, text->timestamp, sizeof(text->timestamp));
				v->str = text->timestamp;
				v->len = strlen(text->timestamp);
			}
		}
	}
	if (stream->include & SV_INCLUDE_PARTITION)
	{
		v = &values[col++];
		v->isnull = false;
		v->v.i = m->partition;
		if (text != NULL)
		{
			v->len = snprintf(text->partition, sizeof(text->partition), "%d", (int) m->partition);
			v->str = text->partition;
		}
	}
	if (stream->include & SV_INCLUDE_OFFSET)
	{
		v = &values[col++];
		v->isnull = false;
		v->v.i = m->offset;
		if (text != NULL)
		{
			v->len = snprintf(text->offset, sizeof(text->offset), "%lld", (long long) m->offset);
			v->str = text->offset;
		}
	}
	if (stream->include & SV_INCLUDE_HEADERS)
	{
		v = &values[col++];
		v->isnull = headers == NULL;
		v->str = headers;
		v->len = headers ? strlen(headers) : 0;
		if (!v->isnull && (!sv_schema_valid_text(v->str, v->len) ||
						   strstr(v->str, "\\u0000") != NULL))
		{
			snprintf(reason, reasonlen, "a header of the message is not valid UTF-8 text");
			return false;
		}
	}
	return true;
}
