/*
 * catalog.h - streams, stream columns, window views and offsets in tables
 *
 * Every read and write of streamview's catalog tables goes through here, by
 * SPI with parameters. Writes run as the catalog's owner, so a role that was
 * granted EXECUTE on the configuration functions needs no table privileges.
 * Callers must be connected to a database and inside a transaction.
 */
#ifndef STREAMVIEW_CATALOG_H
#define STREAMVIEW_CATALOG_H

#include "postgres.h"

#include "nodes/pg_list.h"
#include "utils/array.h"
#include "utils/jsonb.h"

/* One column of a stream's schema, as kept in streamview.stream_columns. */
typedef struct SvColumnDef
{
	char	   *name;
	char	   *type;			/* canonical, e.g. "numeric(10,2)" */
	Oid			typid;
	int32		typmod;
} SvColumnDef;

/* A stream, as kept in streamview.streams and streamview.stream_columns. */
typedef struct SvStream
{
	int			id;
	char	   *name;
	char	   *brokers;
	char	   *topic;
	char	   *format;
	char	   *delimiter;
	char	   *null_marker;
	char	   *start_offset;
	Jsonb	   *options;
	bool		running;
	int			parallelism;	/* workers that split the partitions */
	Oid			owner;
	int			ncolumns;		/* the value's columns, then the included ones */
	SvColumnDef *columns;
	int			include;		/* SV_INCLUDE_* bits: Kafka metadata columns */
	int			nvalue;			/* columns read from the value */
	Jsonb	   *column_paths;	/* json: column -> path; NULL: none */
} SvStream;

/*
 * Kafka metadata a stream includes as columns after the value's, in this
 * order: kafka_key text, kafka_timestamp timestamptz, kafka_partition
 * integer, kafka_offset bigint, kafka_headers jsonb.
 */
#define SV_INCLUDE_KEY			0x01
#define SV_INCLUDE_TIMESTAMP	0x02
#define SV_INCLUDE_PARTITION	0x04
#define SV_INCLUDE_OFFSET		0x08
#define SV_INCLUDE_HEADERS		0x10
#define SV_NINCLUDE				5

/* A window view, as kept in streamview.window_views. */
typedef struct SvView
{
	Oid			relid;			/* the results table */
	char	   *stream;
	char	   *time_column;
	int			ngroup;
	char	  **group_by;
	int64		size_usec;
	int64		slide_usec;
	int64		lateness_usec;	/* -1: no allowed lateness (no watermark) */
	bool		keep_late;
	int64		watermark;		/* PG timestamp usec; valid if has_watermark */
	bool		has_watermark;
	Oid			owner;
	char	   *query;			/* create_view's SELECT; NULL: a count view */
	char	   *search_path;	/* the search_path the query was written for */
	ArrayType  *settings;		/* and its DateStyle etc. ("name=value"), or
								 * NULL */
	struct SvQuery *q;			/* the query analysed (by the worker), or NULL */
} SvView;

/* One partition's stored position. */
typedef struct SvOffset
{
	int32		partition;
	int64		next_offset;
} SvOffset;

extern SvStream *sv_catalog_get_stream(const char *name, bool missing_ok);
extern SvStream *sv_catalog_get_stream_by_id(int id);
extern List *sv_catalog_running_streams(void);
extern char *sv_catalog_fingerprint(void);
extern void sv_catalog_insert_stream(const SvStream *stream);
extern void sv_catalog_update_connection(const char *name, const char *brokers,
										 Jsonb *options);
extern void sv_catalog_set_running(const char *name, bool running);
extern void sv_catalog_delete_stream(const char *name);

extern List *sv_catalog_get_views(const char *stream);
extern SvView *sv_catalog_get_view(Oid relid, bool missing_ok);
extern void sv_catalog_insert_view(const SvView *view);
extern void sv_catalog_delete_view(Oid relid);

extern List *sv_catalog_get_offsets(const char *stream);
extern void sv_catalog_insert_offsets(const char *stream, List *offsets);

extern void sv_catalog_check_owner(const SvStream *stream);
extern int	sv_catalog_ninclude(int include);
extern int	sv_catalog_include_bit(const char *name);

#endif							/* STREAMVIEW_CATALOG_H */
