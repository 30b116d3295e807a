/*
 * schema.h - a stream's column definitions and their PostgreSQL types
 *
 * Turns the user's column list ("vendor_id int, ts timestamp") into column
 * definitions with resolved types, builds the parser's schema from them, and
 * converts parsed values into Datums and JSON for the backend side.
 */
#ifndef STREAMVIEW_SCHEMA_H
#define STREAMVIEW_SCHEMA_H

#include "postgres.h"

#include "catalog.h"
#include "lib/stringinfo.h"
#include "parse.h"

extern List *sv_schema_parse_columns(const char *columns);
extern int	sv_schema_column_index(const SvStream *stream, const char *name);
extern void sv_schema_build(const SvStream *stream, SvSchema *schema);
extern void sv_schema_fit_scratch(SvSchema *schema, size_t len);
extern Datum sv_schema_datum(const SvColumnDef *def, const SvValue *value);
extern void sv_schema_append_json(StringInfo buf, const SvColumnDef *def,
								  Datum datum);
extern bool sv_schema_is_timestamp(Oid typid);
extern bool sv_schema_is_checked(const SvColumnDef *def);
extern void sv_schema_check_path(const char *column, const char *path);

/*
 * The text of a message's integer and timestamp metadata columns, which
 * SvValue.str points into (a count view's group key is a column's text):
 * the caller keeps it until it is done with the message.
 */
typedef struct SvMetaText
{
	char		timestamp[48];	/* "YYYY-MM-DD HH:MM:SS.ffffff+00" */
	char		partition[16];
	char		offset[24];
} SvMetaText;

struct SvMessage;
extern bool sv_schema_kafka_timestamp(int64 timestamp_ms, TimestampTz *out);
extern bool sv_schema_metadata(const SvStream *stream, const struct SvMessage *m,
							   const char *headers, SvValue *values,
							   SvMetaText *text, char *reason, size_t reasonlen);

#endif							/* STREAMVIEW_SCHEMA_H */
