/*
 * hop.c - the window functions hop() and tumble() for SQL
 *
 * streamview.hop(ts, size, slide) returns the windows an event at ts
 * belongs to, one (window_start, window_end) row each in window_start
 * order: exactly the windows a window view of that size and slide counts
 * it in (sv_window_range), so that a query over any table groups rows as a
 * view does. tumble(ts, size) is hop(ts, size, size). Size and slide are
 * checked as create_window_view checks them.
 *
 * timestamp and timestamptz share their representation, so each C function
 * serves both SQL types: windows of a timestamptz are aligned to the epoch
 * in UTC, whatever the session's TimeZone, and those of a timestamp to
 * 1970-01-01 00:00:00 of its own clock. Infinite timestamps belong to no
 * window and are an error, as are windows that would reach past the range
 * of timestamps.
 */
#include "postgres.h"

#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "compat.h"
#include "window.h"

SV_FUNCTION_INFO_V1(streamview_hop);
SV_FUNCTION_INFO_V1(streamview_tumble);

pg_noreturn static void sv_hop_past_range(void);

/* The error for a window reaching past the range of timestamps. */
static void
sv_hop_past_range(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
			 errmsg("timestamp out of range for windows"),
			 errdetail("A window of this size around it would reach past the range of timestamps.")));
}

/*
 * Returns the windows of size and slide (checked) that ts belongs to, as
 * rows of the caller's result set, earliest first.
 */
static void
sv_hop_windows(FunctionCallInfo fcinfo, Timestamp ts, int64 size, int64 slide)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		lo;
	int64		hi;
	int64		first;
	int			n;

	if (TIMESTAMP_NOT_FINITE(ts))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("cannot assign infinite timestamps to windows"),
				 errhint("Leave them out, for example with WHERE isfinite(ts).")));

	/*
	 * Every window bound lies in (ts - size, ts + size]; when both ends fit
	 * in an int64, no bound computed here or by sv_window_range overflows.
	 */
	if (pg_sub_s64_overflow(ts, size, &lo) ||
		pg_add_s64_overflow(ts, size, &hi))
		sv_hop_past_range();
	if (!sv_window_range(ts, size, slide, &first, &n))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range for windows"),
				 errdetail("Windows are computed for times up to about 146,000 years after 1970.")));
	/* starts and ends ascend: the first start and the last end bound them */
	if (!IS_VALID_TIMESTAMP(first) ||
		!IS_VALID_TIMESTAMP(first + (n - 1) * slide + size))
		sv_hop_past_range();

	for (int i = 0; i < n; i++)
	{
		int64		start = first + i * slide;
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = TimestampGetDatum(start);
		values[1] = TimestampGetDatum(start + size);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/*
 * hop(ts, size, slide) for timestamp and timestamptz: the sliding windows
 * ts belongs to.
 */
Datum
streamview_hop(PG_FUNCTION_ARGS)
{
	Timestamp	ts = PG_GETARG_TIMESTAMP(0);
	int64		size = sv_window_interval(PG_GETARG_INTERVAL_P(1), "size", false);
	int64		slide = sv_window_interval(PG_GETARG_INTERVAL_P(2), "slide", false);

	sv_window_check(size, slide);
	/* the caller's descriptor: building one per call took 2/3 of the time */
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	sv_hop_windows(fcinfo, ts, size, slide);
	return (Datum) 0;
}

/*
 * tumble(ts, size) for timestamp and timestamptz: the one window of
 * consecutive, non-overlapping windows that ts belongs to.
 */
Datum
streamview_tumble(PG_FUNCTION_ARGS)
{
	Timestamp	ts = PG_GETARG_TIMESTAMP(0);
	int64		size = sv_window_interval(PG_GETARG_INTERVAL_P(1), "size", false);

	/* a slide equal to the size passes sv_window_check() */
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	sv_hop_windows(fcinfo, ts, size, size);
	return (Datum) 0;
}
