/*
 * parse.h - turn one message value into typed field values
 *
 * The parser is pure C: it includes no PostgreSQL header, calls no backend
 * function, never allocates on its common path and never raises an error.
 * A failure is returned as a value (which field, why), so the worker can set
 * the message aside and go on, and so the parser can be unit-tested and fuzzed
 * outside the server.
 *
 * Conventions shared with the backend side:
 *   - timestamps and timestamptz are microseconds since 2000-01-01 00:00:00
 *     (PostgreSQL's epoch); timestamptz is in UTC;
 *   - dates are days since 2000-01-01;
 *   - the input must be valid UTF-8 without NUL bytes (a server-side text
 *     value cannot hold either).
 */
#ifndef STREAMVIEW_PARSE_H
#define STREAMVIEW_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The column types the parser knows; everything else is SV_TYPE_OTHER. */
typedef enum SvType
{
	SV_TYPE_INT2,
	SV_TYPE_INT4,
	SV_TYPE_INT8,
	SV_TYPE_FLOAT4,
	SV_TYPE_FLOAT8,
	SV_TYPE_NUMERIC,
	SV_TYPE_BOOL,
	SV_TYPE_TEXT,				/* text, and varchar(n) with max_chars = n */
	SV_TYPE_DATE,
	SV_TYPE_TIMESTAMP,
	SV_TYPE_TIMESTAMPTZ,
	SV_TYPE_JSON,				/* json, jsonb: as SV_TYPE_OTHER, but a JSON
								 * message gives any value (a string too) as
								 * its JSON text */
	SV_TYPE_OTHER				/* passed through as a slice; the caller checks it */
} SvType;

/* One column of a stream's schema. */
typedef struct SvColumn
{
	const char *name;			/* for error reasons */
	SvType		type;
	int32_t		max_chars;		/* varchar(n): n; otherwise -1 */
	int32_t		precision;		/* numeric(p,s): p; otherwise -1 */
	int32_t		scale;			/* numeric(p,s): s; otherwise -1 */
} SvColumn;

/*
 * Converts a local civil time (microseconds since 2000-01-01, no zone) to UTC
 * microseconds, for timestamptz values that carry no explicit offset. Returns
 * false when the time cannot be converted. The backend passes a function using
 * the server's TimeZone; tests may pass NULL, which means UTC.
 */
typedef bool (*SvLocalToUtc) (int64_t local_usec, int64_t *utc_usec, void *arg);

/* How a message value is laid out. */
typedef enum SvFormat
{
	SV_FORMAT_DELIMITED = 0,	/* fields joined by a delimiter string (parse.c) */
	SV_FORMAT_CSV,				/* RFC 4180 as COPY ... (FORMAT csv) reads a line (csv.c) */
	SV_FORMAT_JSON				/* one JSON object (json.c) */
} SvFormat;

/* One step of a JSON column path: a member name, or an array index. */
typedef struct SvJsonStep
{
	const char *name;			/* member name (UTF-8, unescaped); NULL: index */
	size_t		name_len;
	int32_t		index;			/* array index >= 0 when name is NULL */
} SvJsonStep;

/* the longest JSON column path, in steps (sv_json_path_compile refuses more) */
#define SV_JSON_PATH_MAX_STEPS 64

/* A column's JSON path ("$.trip.pickup.at", "$.items[0].price"). */
typedef struct SvJsonPath
{
	int			nsteps;			/* >= 1 */
	const SvJsonStep *steps;
} SvJsonPath;

/*
 * Memory a parser may write a message's decoded text into (CSV quotes, JSON
 * escapes): SvValue.str may point into it until the next message. buf has
 * room for cap bytes; the caller makes cap at least the longest message.
 */
typedef struct SvScratch
{
	char	   *buf;
	size_t		cap;
} SvScratch;

/* A stream's schema and format, built once per stream. */
typedef struct SvJsonPlan SvJsonPlan;	/* json.c's */

typedef struct SvSchema
{
	int			ncolumns;
	const SvColumn *columns;
	SvFormat	format;
	const char *delimiter;		/* delimited: non-empty; csv: one byte */
	size_t		delimiter_len;
	const char *null_marker;	/* a field equal to this is NULL; "" by default */
	size_t		null_len;
	SvLocalToUtc local_to_utc;	/* may be NULL: UTC */
	void	   *local_to_utc_arg;
	const SvJsonPath *paths;	/* json: per column, or NULL entries / NULL
								 * array: the top-level member of the
								 * column's name */
	SvScratch  *scratch;		/* csv, json: decoded text */
	SvJsonPlan *json_plan;		/* json: the columns' lookup, built once
								 * by sv_json_plan_build, and the shape of
								 * the last message (which the parser
								 * updates); NULL: built for every
								 * message */
} SvSchema;

/*
 * One parsed field. str/len always point at the field's raw text inside the
 * message (after trimming for numeric types), so the caller can hand text,
 * numeric and SV_TYPE_OTHER values on to PostgreSQL. The union holds the
 * parsed value: i for ints, dates (days) and timestamps (usec); f for floats;
 * b for bool.
 */
typedef struct SvValue
{
	bool		isnull;
	union
	{
		int64_t		i;
		double		f;
		bool		b;
	}			v;
	const char *str;
	size_t		len;
} SvValue;

#define SV_REASON_LEN 256

/* Why a message failed: the field (0-based, -1 for the whole message). */
typedef struct SvParseError
{
	int			field;
	char		reason[SV_REASON_LEN];
} SvParseError;

/*
 * Parses data[0..len) by the schema into values[0..ncolumns). Returns true on
 * success; on failure returns false and fills *err with the field and a
 * reason such as: field 2 "tpep_pickup_datetime": invalid timestamp
 * "2020-13-01 00:00:00". Never reads outside data[0..len).
 */
extern bool sv_parse_message(const SvSchema *schema, const char *data,
							 size_t len, SvValue *values, SvParseError *err);

/* Parses one field (already split out) by one column; same contract. */
extern bool sv_parse_field(const SvSchema *schema, int field,
						   const char *data, size_t len, SvValue *value,
						   SvParseError *err);

/*
 * Parses one value by one column as sv_parse_field does, except that the
 * null marker does not apply (an empty string is an empty text): for CSV's
 * quoted fields and JSON's strings and numbers.
 */
extern bool sv_parse_value(const SvSchema *schema, int field,
						   const char *data, size_t len, SvValue *value,
						   SvParseError *err);

/*
 * The formats' own entry points, with sv_parse_message's contract (which
 * calls them by schema->format): csv.c and json.c.
 */
extern bool sv_parse_csv(const SvSchema *schema, const char *data, size_t len,
						 SvValue *values, SvParseError *err);
extern bool sv_parse_json(const SvSchema *schema, const char *data, size_t len,
						  SvValue *values, SvParseError *err);

/*
 * The JSON parser's lookup of a schema's columns (which column takes which
 * member), which it otherwise builds for every message. A caller keeping a
 * schema builds it once into sv_json_plan_size() bytes of its own memory and
 * sets json_plan; false (no plan: too many columns, or a schema the parser
 * refuses, which it then reports per message) leaves json_plan NULL.
 */
extern size_t sv_json_plan_size(const SvSchema *schema);
extern bool sv_json_plan_build(const SvSchema *schema, SvJsonPlan *plan);

/*
 * The plan also learns the shape of messages (their text between values)
 * and parses a message of the shape it learned by that alone, which is
 * faster and comes out the same; a plan is therefore used by one thread at
 * a time.  This says how many messages it so parsed.
 */
extern uint64_t sv_json_plan_shape_hits(const SvJsonPlan *plan);

/*
 * Compiles a JSON column path ("$.a.b", "$.items[0].price", $."quoted")
 * into out, its steps allocated with alloc; false with a reason in errbuf.
 * In json_path.c.
 */
extern bool sv_json_path_compile(const char *text, size_t len,
								 void *(*alloc) (size_t), SvJsonPath *out,
								 char *errbuf, size_t errlen);

#endif							/* STREAMVIEW_PARSE_H */
