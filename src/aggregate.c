/*
 * aggregate.c - a query view's aggregates: batch state and how it combines
 *
 * Accumulation per message is plain C where it can be (integer and float
 * sums, counts) and PostgreSQL's own functions where exactness needs them
 * (numeric sums, the type's order for min and max). The SQL that combines
 * a batch's states with the results table follows what PostgreSQL's own
 * aggregates compute, so that the same query run as a batch over the same
 * rows gives the same values: sum(int) is bigint, sum(bigint) and
 * sum(numeric) are numeric, avg(int) is the numeric quotient of the bigint
 * sum and the count, avg(real) a double precision quotient.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/ruleutils.h"
#include "utils/typcache.h"

#include "aggregate.h"

/* Bytes of aggregate state a group of a query view needs. */
Size
sv_agg_state_size(const SvQuery *query)
{
	return sizeof(SvAggState) * query->naggs;
}

/* Looks up what accumulating each aggregate of a view needs. */
SvAggRun *
sv_agg_prepare(const SvQuery *query, MemoryContext cxt)
{
	SvAggRun   *runs = MemoryContextAllocZero(cxt, sizeof(SvAggRun) * Max(1, query->naggs));

	for (int a = 0; a < query->naggs; a++)
	{
		const SvQueryAgg *agg = &query->aggs[a];

		if (agg->acc == SV_ACC_ORDER)
		{
			TypeCacheEntry *tc = lookup_type_cache(agg->argtype, TYPECACHE_CMP_PROC_FINFO);

			fmgr_info_copy(&runs[a].cmp, &tc->cmp_proc_finfo, cxt);
		}
		if (OidIsValid(agg->argtype))
			get_typlenbyval(agg->argtype, &runs[a].typlen, &runs[a].typbyval);
	}
	return runs;
}

/* A numeric Datum of an int8 or numeric argument. */
static Datum
sv_agg_numeric(Oid type, Datum value)
{
	if (type == INT8OID)
		return NumericGetDatum(int64_to_numeric(DatumGetInt64(value)));
	return value;
}

/*
 * Adds one row's argument (value, isnull) to an aggregate's state; the row
 * passed the aggregate's FILTER. Values kept (numeric sums, min and max of
 * by-reference types) are copied into cxt, the batch's memory.
 */
void
sv_agg_add(const SvQueryAgg *agg, const SvAggRun *run, SvAggState *state,
		   Datum value, bool isnull, MemoryContext cxt)
{
	MemoryContext old;

	if (agg->arg == NULL)
	{
		state->n++;				/* count(*) */
		return;
	}
	if (isnull)
		return;
	state->n++;
	switch (agg->acc)
	{
		case SV_ACC_NONE:
			return;
		case SV_ACC_INT:
			/* int2/int4 into int64: a batch (at most 10^7 rows) cannot overflow */
			state->v.i += agg->argtype == INT2OID ? DatumGetInt16(value) : DatumGetInt32(value);
			break;
		case SV_ACC_FLOAT:
			/*
			 * in double precision, also for real (float4pl adds in real):
			 * a batch's sum is then at least as close to the exact sum
			 */
			state->v.f += agg->argtype == FLOAT4OID ? DatumGetFloat4(value) : DatumGetFloat8(value);
			break;
		case SV_ACC_NUMERIC:
			{
				Datum		prev = state->v.d;
				Datum		num = sv_agg_numeric(agg->argtype, value);

				old = MemoryContextSwitchTo(cxt);
				state->v.d = state->has ? DirectFunctionCall2(numeric_add, prev, num) :
					datumCopy(num, false, -1);
				MemoryContextSwitchTo(old);
				/* one sum per group in the batch's memory, not one per message */
				if (state->has)
					pfree(DatumGetPointer(prev));
				if (num != value)
					pfree(DatumGetPointer(num));
			}
			break;
		case SV_ACC_SKETCH:
			{
				Datum		prev = state->has ? state->v.d : OidFunctionCall0(agg->emptyfn);

				old = MemoryContextSwitchTo(cxt);
				state->v.d = OidFunctionCall2(agg->addfn, prev, value);
				MemoryContextSwitchTo(old);
				if (state->v.d != prev && state->has)
					pfree(DatumGetPointer(prev));
			}
			break;
		case SV_ACC_ORDER:
			if (state->has)
			{
				int32		c = DatumGetInt32(FunctionCall2Coll((FmgrInfo *) &run->cmp,
																agg->collation, value,
																state->v.d));

				if ((agg->kind == SV_AGG_MIN && c >= 0) ||
					(agg->kind == SV_AGG_MAX && c <= 0))
					return;
				if (!run->typbyval)
					pfree(DatumGetPointer(state->v.d));
			}
			old = MemoryContextSwitchTo(cxt);
			state->v.d = datumCopy(value, run->typbyval, run->typlen);
			MemoryContextSwitchTo(old);
			break;
	}
	state->has = true;
}

/* How many parameters (arrays) the sink passes for an aggregate. */
int
sv_agg_nparams(const SvQueryAgg *agg)
{
	return agg->kind == SV_AGG_AVG ? 2 : 1;
}

/* The element type of an aggregate's i-th parameter array. */
Oid
sv_agg_param_type(const SvQueryAgg *agg, int i)
{
	if (agg->kind == SV_AGG_COUNT || i == 1)
		return INT8OID;
	switch (agg->acc)
	{
		case SV_ACC_INT:
			return INT8OID;
		case SV_ACC_FLOAT:
			return FLOAT8OID;
		case SV_ACC_NUMERIC:
			return NUMERICOID;
		case SV_ACC_SKETCH:
			return agg->restype;
		default:
			return agg->argtype;
	}
}

/* The i-th parameter of one group's state (NULL: no value). */
Datum
sv_agg_param(const SvQueryAgg *agg, const SvAggState *state, int i,
			 bool *isnull)
{
	*isnull = false;
	if (agg->kind == SV_AGG_COUNT || i == 1)
		return Int64GetDatum(state->n);
	*isnull = !state->has;
	if (*isnull)
		return (Datum) 0;
	switch (agg->acc)
	{
		case SV_ACC_INT:
			return Int64GetDatum(state->v.i);
		case SV_ACC_FLOAT:
			/* a sum of reals past real's range is infinite (see below) */
			if (agg->kind == SV_AGG_SUM && agg->restype == FLOAT4OID &&
				!isinf(state->v.f) && fabs(state->v.f) > FLT_MAX)
				return Float8GetDatum(state->v.f > 0 ? get_float8_infinity() :
									  -get_float8_infinity());
			return Float8GetDatum(state->v.f);
		default:
			return state->v.d;
	}
}

/*
 * The table's t.col + the batch's excluded.col, where either may be NULL (a
 * sum of no rows is NULL). For real and double precision the sum cannot
 * raise: past the type's range it is +/-Infinity, as the worker's own
 * double-precision sums are, where PostgreSQL's sum() would raise 22003
 * ("value out of range: overflow"). The error has no message to blame, and
 * would fail every retry of the batch, stopping the stream. Half the sum
 * cannot overflow: within half the range the plain sum is exact enough;
 * NaN and Infinity inputs add as PostgreSQL adds them.
 */
static char *
sv_agg_add_sql(const char *col, Oid type)
{
	const char *max;
	const char *half;

	if (type != FLOAT4OID && type != FLOAT8OID)
		return psprintf("coalesce(t.%s + excluded.%s, t.%s, excluded.%s)", col, col, col, col);
	/* the types' largest finite values, exactly, as double precision */
	max = type == FLOAT4OID ? "3.4028234663852886e38" : "1.7976931348623157e308";
	half = psprintf("(t.%s::pg_catalog.float8 * 0.5::pg_catalog.float8 + "
					"excluded.%s::pg_catalog.float8 * 0.5::pg_catalog.float8)", col, col);
	return psprintf("CASE WHEN t.%s IS NULL THEN excluded.%s "
					"WHEN excluded.%s IS NULL THEN t.%s "
					"WHEN pg_catalog.abs(%s) <= '%s'::pg_catalog.float8 * 0.5::pg_catalog.float8 "
					"OR %s = 'NaN'::pg_catalog.float8 "
					"OR pg_catalog.abs(t.%s::pg_catalog.float8) = 'Infinity'::pg_catalog.float8 "
					"OR pg_catalog.abs(excluded.%s::pg_catalog.float8) = 'Infinity'::pg_catalog.float8 "
					"THEN t.%s + excluded.%s "
					"ELSE pg_catalog.sign(%s) * 'Infinity'::pg_catalog.float8 END",
					col, col, col, col, half, max, half, col, col, col, col, half);
}

/*
 * The columns an aggregate writes (its own, then for avg the hidden sum and
 * count), each with the value of the batch's rows of a group (params[i] is
 * the column of the batch's i-th parameter, as s.<name>) and the
 * combination with the row already in the table (t) in ON CONFLICT DO
 * UPDATE. Returns how many.
 */
int
sv_agg_columns(const SvQueryAgg *agg, const char *const *params, SvAggColumn *out)
{
	const char *col = quote_identifier(agg->column);
	const char *restype = format_type_be(agg->restype);

	out[0].column = pstrdup(col);
	switch (agg->kind)
	{
		case SV_AGG_COUNT:
			out[0].insert = psprintf("pg_catalog.sum(%s)::pg_catalog.int8", params[0]);
			out[0].update = psprintf("t.%s + excluded.%s", col, col);
			return 1;
		case SV_AGG_SUM:
			out[0].insert = psprintf("pg_catalog.sum(%s)::%s", params[0], restype);
			out[0].update = sv_agg_add_sql(col, agg->restype);
			return 1;
		case SV_AGG_SKETCH:
			/* the sketch's own union, which ignores a NULL (no values yet) */
			out[0].insert = psprintf("%s(%s)", agg->union_agg_sql, params[0]);
			out[0].update = psprintf("coalesce(%s(t.%s, excluded.%s), t.%s, excluded.%s)",
									 agg->union_sql, col, col, col, col);
			return 1;
		case SV_AGG_MIN:
		case SV_AGG_MAX:
			/* compared in the aggregate's collation, as in the batch */
			out[0].insert = psprintf("pg_catalog.%s(%s%s)",
									 agg->kind == SV_AGG_MIN ? "min" : "max", params[0],
									 OidIsValid(agg->collation) ?
									 psprintf(" COLLATE %s", generate_collation_name(agg->collation)) : "");
			out[0].update = psprintf("%s(t.%s, excluded.%s)",
									 agg->kind == SV_AGG_MIN ? "LEAST" : "GREATEST", col, col);
			return 1;
		case SV_AGG_AVG:
			{
				const char *sum = quote_identifier(psprintf("%s" SV_AVG_SUM_SUFFIX, agg->column));
				const char *cnt = quote_identifier(psprintf("%s" SV_AVG_COUNT_SUFFIX, agg->column));
				const char *sumtype = format_type_be(agg->sumtype);

				/* avg = sum / count, as PostgreSQL's avg divides (numeric or float8) */
				out[0].insert = psprintf("pg_catalog.sum(%s)::%s / NULLIF(pg_catalog.sum(%s), 0)::%s",
										 params[0], restype, params[1], restype);
				out[0].update = psprintf("%s::%s / NULLIF(t.%s + excluded.%s, 0)::%s",
										 sv_agg_add_sql(sum, agg->sumtype), restype, cnt, cnt, restype);
				out[1].column = pstrdup(sum);
				out[1].insert = psprintf("pg_catalog.sum(%s)::%s", params[0], sumtype);
				out[1].update = sv_agg_add_sql(sum, agg->sumtype);
				out[2].column = pstrdup(cnt);
				out[2].insert = psprintf("pg_catalog.sum(%s)::pg_catalog.int8", params[1]);
				out[2].update = psprintf("t.%s + excluded.%s", cnt, cnt);
				return 3;
			}
	}
	return 0;
}
