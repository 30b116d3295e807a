/*
 * zoomcamp_schema.h - the zoomcamp rides schema for the parser's test
 * programs (parse_test, parse_bench, the fuzzer): the same 7 columns that
 * test/broker/sv_produce writes, delimiter ", ", empty null marker.
 */
#ifndef STREAMVIEW_ZOOMCAMP_SCHEMA_H
#define STREAMVIEW_ZOOMCAMP_SCHEMA_H

#include "parse.h"

static const SvColumn zoom_cols[] = {
	{"vendor_id", SV_TYPE_INT4, -1, -1, -1},
	{"tpep_pickup_datetime", SV_TYPE_TIMESTAMP, -1, -1, -1},
	{"tpep_dropoff_datetime", SV_TYPE_TIMESTAMP, -1, -1, -1},
	{"passenger_count", SV_TYPE_INT4, -1, -1, -1},
	{"trip_distance", SV_TYPE_FLOAT4, -1, -1, -1},
	{"payment_type", SV_TYPE_INT4, -1, -1, -1},
	{"total_amount", SV_TYPE_FLOAT4, -1, -1, -1},
};

#define NZOOM ((int) (sizeof(zoom_cols) / sizeof(zoom_cols[0])))

static const SvSchema zoom = {.ncolumns = NZOOM, .columns = zoom_cols, .delimiter = ", ", .delimiter_len = 2, .null_marker = "", .null_len = 0};

#endif							/* STREAMVIEW_ZOOMCAMP_SCHEMA_H */
