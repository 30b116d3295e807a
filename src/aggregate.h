/*
 * aggregate.h - a query view's aggregates: batch state and how it combines
 *
 * Per (view, window, group) of a batch, each aggregate keeps an SvAggState
 * (in the batch's counts entry). At commit the sink hands each state to
 * the results table as one or two parameters and combines it with the row
 * already there: counts and sums add, min and max take the lesser or
 * greater, avg keeps a hidden sum and count and divides them. Adding
 * deltas keeps several workers sharing a window exact.
 */
#ifndef STREAMVIEW_AGGREGATE_H
#define STREAMVIEW_AGGREGATE_H

#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"

#include "query.h"

/* One aggregate's state in one group of a batch. */
typedef struct SvAggState
{
	int64		n;				/* rows (count(*)), non-null inputs otherwise */
	bool		has;			/* sum, min, max: v holds a value */
	union
	{
		int64		i;			/* SV_ACC_INT */
		double		f;			/* SV_ACC_FLOAT */
		Datum		d;			/* SV_ACC_NUMERIC, SV_ACC_ORDER (batch memory) */
	}			v;
} SvAggState;

/* What accumulating one aggregate needs at run time. */
typedef struct SvAggRun
{
	FmgrInfo	cmp;			/* min/max: the type's btree comparison */
	int16		typlen;
	bool		typbyval;
} SvAggRun;

/* One column the sink writes for an aggregate, with its SQL. */
typedef struct SvAggColumn
{
	char	   *column;			/* quoted */
	char	   *insert;			/* value from the batch's rows s.<param>... */
	char	   *update;			/* combination of t.<column> and excluded.<column> */
} SvAggColumn;

#define SV_AGG_MAX_PARAMS 2
#define SV_AGG_MAX_COLUMNS 3

extern Size sv_agg_state_size(const SvQuery *query);
extern SvAggRun *sv_agg_prepare(const SvQuery *query, MemoryContext cxt);
extern void sv_agg_add(const SvQueryAgg *agg, const SvAggRun *run,
					   SvAggState *state, Datum value, bool isnull,
					   MemoryContext cxt);

extern int	sv_agg_nparams(const SvQueryAgg *agg);
extern Oid	sv_agg_param_type(const SvQueryAgg *agg, int i);
extern Datum sv_agg_param(const SvQueryAgg *agg, const SvAggState *state,
						  int i, bool *isnull);
extern int	sv_agg_columns(const SvQueryAgg *agg, const char *const *params,
						   SvAggColumn *out);

#endif							/* STREAMVIEW_AGGREGATE_H */
