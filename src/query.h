/*
 * query.h - a view defined by a SELECT over a stream (create_view)
 *
 * The query is parsed and analysed by PostgreSQL itself, with the stream in
 * FROM standing for a relation with the stream's columns, then checked for
 * what a continuously maintained view can be: one stream and one hop() or
 * tumble() window, a WHERE, GROUP BY window_start and immutable expressions
 * of the stream's columns, and the aggregates count, sum, avg, min and max
 * (each optionally with FILTER). Everything else is refused with SQLSTATE
 * 0A000, a message naming the construct and a hint with what is supported.
 *
 * The description (SvQuery) is what the worker evaluates per message and
 * what the sink writes: expressions are PostgreSQL expression trees whose
 * Vars read the stream's columns from a scan tuple (attribute i + 1 is the
 * stream's column i).
 */
#ifndef STREAMVIEW_QUERY_H
#define STREAMVIEW_QUERY_H

#include "postgres.h"

#include "nodes/bitmapset.h"
#include "nodes/primnodes.h"

#include "catalog.h"

/* The aggregates a view can keep. */
typedef enum SvAggKind
{
	SV_AGG_COUNT,				/* count(*) (arg NULL) or count(expr) */
	SV_AGG_SUM,
	SV_AGG_AVG,
	SV_AGG_MIN,
	SV_AGG_MAX,
	SV_AGG_SKETCH				/* hll_add_agg of the hll extension */
} SvAggKind;

/* How a batch accumulates an aggregate's argument. */
typedef enum SvAggAcc
{
	SV_ACC_NONE,				/* count: the number of rows only */
	SV_ACC_INT,					/* int64 sum of int2/int4 */
	SV_ACC_FLOAT,				/* double sum of float4/float8 */
	SV_ACC_NUMERIC,				/* numeric sum (int8 and numeric arguments) */
	SV_ACC_ORDER,				/* min/max: a value and the type's order */
	SV_ACC_SKETCH				/* a sketch value, added to by its add function */
} SvAggAcc;

/* One aggregate of the select list. */
typedef struct SvQueryAgg
{
	SvAggKind	kind;
	SvAggAcc	acc;
	Expr	   *arg;			/* NULL for count(*) */
	Expr	   *filter;			/* FILTER (WHERE ...), or NULL */
	Oid			argtype;
	Oid			restype;		/* the results column's type */
	Oid			sumtype;		/* avg: type of its hidden sum column */
	Oid			collation;		/* min/max of a collatable type */
	/* sketches: functions of the sketch's extension, in its schema */
	Oid			emptyfn;		/* () -> an empty sketch */
	Oid			addfn;			/* (sketch, value) -> sketch */
	char	   *union_sql;		/* (sketch, sketch) -> sketch, qualified */
	char	   *union_agg_sql;	/* aggregate of sketches, qualified */
	char	   *column;			/* the results column */
} SvQueryAgg;

/* One GROUP BY item other than window_start and window_end. */
typedef struct SvQueryKey
{
	Expr	   *expr;
	Oid			type;
	int32		typmod;
	Oid			collation;
	int16		typlen;
	bool		typbyval;
	char	   *column;			/* the results column */
} SvQueryKey;

/* What a results column holds, in select-list order. */
typedef enum SvQueryColKind
{
	SV_COL_WINDOW_START,
	SV_COL_WINDOW_END,
	SV_COL_KEY,
	SV_COL_AGG
} SvQueryColKind;

typedef struct SvQueryColumn
{
	SvQueryColKind kind;
	int			index;			/* into keys or aggs */
	char	   *name;
} SvQueryColumn;

/* A view's query, described for the worker and the sink. */
typedef struct SvQuery
{
	char	   *stream;
	int			time_column;	/* the window's time: stream column index */
	Oid			time_type;		/* timestamp or timestamptz */
	int64		size_usec;
	int64		slide_usec;
	Expr	   *filter;			/* WHERE, or NULL */
	int			nkeys;
	SvQueryKey *keys;
	int			naggs;
	SvQueryAgg *aggs;
	int			ncolumns;
	SvQueryColumn *columns;
	Bitmapset  *used;			/* stream columns (0-based) the expressions read */
	int			stream_rte;		/* the expressions' Vars' varno */
	List	   *window_args;	/* hop/tumble's size (and slide) as written */
} SvQuery;

/* The hidden column of a query view's results: the rows of each group. */
#define SV_ROWS_COLUMN "streamview.rows"

/* Suffixes of an avg column's hidden state columns ("avg_fare.sum"). */
#define SV_AVG_SUM_SUFFIX ".sum"
#define SV_AVG_COUNT_SUFFIX ".count"

extern SvQuery *sv_query_analyze(const char *sql);
extern void sv_query_record_dependencies(const SvQuery *query, Oid relid);
extern char *sv_query_table_sql(const SvQuery *query, const char *qualified);
extern const char *sv_query_window_start(const SvQuery *query);
extern char *sv_query_agg_type(const SvQueryAgg *agg);

#endif							/* STREAMVIEW_QUERY_H */
