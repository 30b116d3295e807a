/*-------------------------------------------------------------------------
 *
 * json_test.c
 *	  Standalone unit test for src/json.c (the JSON format), printing TAP.
 *
 * Build and run:
 *	  gcc -std=gnu99 -O2 -Wall -Wextra -Werror -Isrc -o test/json_test \
 *		  test/json_test.c src/parse.c src/parse_text.c src/csv.c src/json.c src/json_path.c -lm
 *	  prove -e '' test/json_test		(or just ./test/json_test)
 *
 * Reasons are compared whole: they are the contract the TAP tests and the
 * README quote.
 *
 * test/json_test.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "tap.h"
#include "zoomcamp_schema.h"

#define MAXCOLS 200

/* ---- schemas ---- */

static char scratch_buf[4 << 20];
static char scratch_buf2[4 << 20];	/* parses by a learned shape */
static SvScratch scratch = {scratch_buf, sizeof(scratch_buf)};

static SvColumn cols[MAXCOLS];
static SvJsonPath paths[MAXCOLS];
static SvSchema sch = {.format = SV_FORMAT_JSON, .columns = cols, .scratch = &scratch};
static SvValue vals[MAXCOLS];
static SvParseError perr;
static const char *msg_start;	/* the message last parsed */
static size_t msg_len;

static SvJsonPlan *shaped;		/* a plan kept while the schema is the same */
static int	shaped_stale = 1;	/* the schema changed: build it again */

/* Sets column i: name, type, and a path (NULL: by name). */
static void
set_col(int i, const char *name, SvType type, const char *path)
{
	char		errbuf[256];

	cols[i].name = name;
	cols[i].type = type;
	cols[i].max_chars = cols[i].precision = cols[i].scale = -1;
	paths[i].nsteps = 0;
	paths[i].steps = NULL;
	if (path != NULL &&
		!sv_json_path_compile(path, strlen(path), malloc, &paths[i], errbuf,
							  sizeof(errbuf)))
	{
		ok(0, "path %s compiles", path);
		diag("%s", errbuf);
	}
	if (i >= sch.ncolumns)
		sch.ncolumns = i + 1;
	sch.paths = paths;
	shaped_stale = 1;
}

/* Starts a new schema of no columns. */
static void
reset(void)
{
	shaped_stale = 1;
	sch.ncolumns = 0;
	sch.paths = NULL;
	sch.scratch = &scratch;
}

static long plan_parses;			/* parses compared with and without a plan */
static long plan_differ;			/* those that came out differently */
static long plan_built;			/* of them, with a plan built */
static long shape_parses;		/* parses with a learned shape (below) */
static long shape_differ;		/* those that came out differently */

/* Whether two parses came out the same: result, values, reason. */
static int
same_parse(int r1, const SvValue *v1, const SvParseError *e1,
		   int r2, const SvValue *v2, const SvParseError *e2)
{
	if (r1 != r2)
		return 0;
	if (!r1)
		return e1->field == e2->field && strcmp(e1->reason, e2->reason) == 0;
	for (int c = 0; c < sch.ncolumns; c++)
	{
		/* decoded text may be elsewhere, in another scratch buffer */
		int			scratch1 = v1[c].str >= scratch_buf &&
			v1[c].str < scratch_buf + sizeof(scratch_buf);

		if (v1[c].isnull != v2[c].isnull ||
			(!v1[c].isnull && (memcmp(&v1[c].v, &v2[c].v, sizeof(v1[c].v)) != 0 ||
							   v1[c].len != v2[c].len ||
							   (scratch1 ? memcmp(v1[c].str, v2[c].str, v1[c].len) != 0 :
								v1[c].str != v2[c].str))))
			return 0;
	}
	return 1;
}

/*
 * Parses msg[0..len) into v with the current schema's plan (sch.json_plan)
 * and counts a difference from the parse without a plan (r0, v0, e0).
 * Returns the parse's result.
 */
static int
shape_check(const char *msg, size_t len, int r0, const SvValue *v0,
			const SvParseError *e0, SvValue *v)
{
	SvParseError e;
	int			r;

	SvScratch	scratch2 = {scratch_buf2, sizeof(scratch_buf2)};
	SvScratch  *keep = sch.scratch;

	memset(&e, 0, sizeof(e));
	memset(v, 0xa5, sizeof(SvValue) * MAXCOLS);
	/* its own scratch buffer: decoded text may be elsewhere in it */
	if (keep != NULL)
		sch.scratch = &scratch2;
	r = sv_parse_message(&sch, msg, len, v, &e);
	sch.scratch = keep;
	shape_parses++;
	if (!same_parse(r0, v0, e0, r, v, &e))
	{
		shape_differ++;
		diag("with and without the learned shape: %.60s", msg);
	}
	return r;
}

/*
 * Parses msg[0..len) by the current schema: with the column lookup built
 * once (sv_json_plan_build, as the worker does), and, to compare, built for
 * the message (no plan); every test's parse must come out the same both ways.
 */
static int
parse_len(const char *msg, size_t len)
{
	static SvJsonPlan *plan;
	static SvValue vals0[MAXCOLS];
	static SvParseError perr0;
	int			r0;
	int			r;

	msg_start = msg;
	msg_len = len;
	memset(&perr0, 0, sizeof(perr0));
	perr0.field = 12345;
	memset(vals0, 0x5a, sizeof(vals0));
	sch.json_plan = NULL;
	r0 = sv_parse_message(&sch, msg, len, vals0, &perr0);

	if (plan == NULL)
		plan = malloc(sv_json_plan_size(&sch));
	sch.json_plan = sv_json_plan_build(&sch, plan) ? plan : NULL;
	plan_built += sch.json_plan != NULL;
	memset(&perr, 0, sizeof(perr));
	perr.field = 12345;
	memset(vals, 0x5a, sizeof(vals));
	r = sv_parse_message(&sch, msg, len, vals, &perr);
	plan_parses++;
	if (!same_parse(r0, vals0, &perr0, r, vals, &perr))
	{
		plan_differ++;
		diag("with and without the column plan: %.60s", msg);
	}

	/*
	 * and by the shape the plan learned from this message, and by the
	 * shape of the previous messages of this schema: the same again
	 */
	if (sch.json_plan != NULL)
	{
		static SvValue v1[MAXCOLS];

		shape_check(msg, len, r0, vals0, &perr0, v1);
	}
	if (shaped_stale)
	{
		if (shaped == NULL)
			shaped = malloc(sv_json_plan_size(&sch));
		shaped_stale = !sv_json_plan_build(&sch, shaped);
	}
	if (!shaped_stale)
	{
		/* the tests look at this parse's values (test_shape's at its hits) */
		static SvValue v2[MAXCOLS];

		sch.json_plan = shaped;
		if (shape_check(msg, len, r0, vals0, &perr0, v2))
			memcpy(vals, v2, sizeof(vals));
	}
	sch.json_plan = NULL;
	return r;
}

static int
parse(const char *msg)
{
	return parse_len(msg, strlen(msg));
}

/* A one-column schema "c" of type, with path (NULL: by name). */
static void
one(SvType type, const char *path)
{
	reset();
	set_col(0, "c", type, path);
}

/* Does value i lie inside the message or the scratch buffer? */
static int
inside(int i)
{
	const char *s = vals[i].str;

	return (s >= msg_start && s + vals[i].len <= msg_start + msg_len) ||
		(s >= scratch_buf && s + vals[i].len <= scratch_buf + sizeof(scratch_buf)) ||
		(s >= scratch_buf2 && s + vals[i].len <= scratch_buf2 + sizeof(scratch_buf2));
}

/* Value i is not null and its text is exactly text. */
static int
text_is(int i, const char *text)
{
	return !vals[i].isnull && vals[i].len == strlen(text) &&
		memcmp(vals[i].str, text, vals[i].len) == 0 && inside(i);
}

/* ---- checks ---- */

/* msg parses and column 0's text is text. */
static void
ok_text(SvType type, const char *path, const char *msg, const char *text)
{
	int			res;

	one(type, path);
	res = parse(msg);
	ok(res && text_is(0, text), "%s -> text \"%s\"", msg, text);
	if (!res)
		diag("reason=%s", perr.reason);
	else if (!text_is(0, text))
		diag("got \"%.*s\" (null %d)", (int) vals[0].len, vals[0].str, vals[0].isnull);
}

/* msg parses and column 0 is the integer expect. */
static void
ok_int(SvType type, const char *msg, int64_t expect)
{
	int			res;

	one(type, NULL);
	res = parse(msg);
	ok(res && !vals[0].isnull && vals[0].v.i == expect && inside(0),
	   "%s -> %lld", msg, (long long) expect);
	if (!res)
		diag("reason=%s", perr.reason);
}

/* msg parses and column 0 is the float expect (float4 or float8). */
static void
ok_float(SvType type, const char *msg, double expect)
{
	int			res;

	one(type, NULL);
	res = parse(msg);
	ok(res && !vals[0].isnull &&
	   (vals[0].v.f == expect || (isnan(expect) && isnan(vals[0].v.f))) &&
	   signbit(vals[0].v.f) == signbit(expect),
	   "%s -> %.17g", msg, expect);
	if (!res)
		diag("reason=%s", perr.reason);
}

/* msg parses and column 0 is the boolean expect. */
static void
ok_bool(SvType type, const char *msg, int expect)
{
	int			res;

	one(type, NULL);
	res = parse(msg);
	ok(res && !vals[0].isnull && vals[0].v.b == (expect != 0),
	   "%s -> %s", msg, expect ? "true" : "false");
	if (!res)
		diag("reason=%s", perr.reason);
}

/* msg parses and column 0 is NULL. */
static void
ok_null(SvType type, const char *path, const char *msg)
{
	int			res;

	one(type, path);
	res = parse(msg);
	ok(res && vals[0].isnull, "%s%s%s -> NULL", path ? path : "", path ? " of " : "", msg);
	if (!res)
		diag("reason=%s", perr.reason);
}

/* The last parse failed with exactly this field and reason. */
static void
check_reason(int res, int field, const char *reason, const char *what)
{
	int			good = !res && perr.field == field &&
		strcmp(perr.reason, reason) == 0 && valid_utf8(perr.reason);

	ok(good, "%s fails: %s", what, reason);
	if (!good)
		diag("res=%d field=%d reason=%s", res, perr.field, perr.reason);
}

/* msg fails by the one-column schema with exactly this field and reason. */
static void
fail1(SvType type, const char *path, const char *msg, int field,
	  const char *reason)
{
	one(type, path);
	check_reason(parse(msg), field, reason, msg);
}

/* Like fail1 with a message of given length (NUL bytes). */
static void
fail1_len(SvType type, const char *msg, size_t len, int field,
		  const char *reason, const char *what)
{
	one(type, NULL);
	check_reason(parse_len(msg, len), field, reason, what);
}


/* ---- tests ---- */

/* The zoomcamp ride as a JSON object, and the same with nesting and paths. */
static void
test_zoomcamp(void)
{
	const char *ride = "{\"vendor_id\": 1, \"tpep_pickup_datetime\": \"2020-07-01 00:25:32\", "
		"\"tpep_dropoff_datetime\": \"2020-07-01 00:33:39\", \"passenger_count\": 1, "
		"\"trip_distance\": 1.50, \"payment_type\": 2, \"total_amount\": 9.3}";
	const char *nested = "{\"vendor\": {\"id\": 1}, \"trip\": {\"pickup\": {\"at\": \"2020-07-01 00:25:32\"}, "
		"\"dropoff\": {\"at\": \"2020-07-01 00:33:39\"}, \"passengers\": 1, \"distance\": 1.50, "
		"\"extra\": [1, {\"distance\": 7}]}, \"payment\": {\"type\": 2, \"total\": 9.3}}";
	SvSchema	z = zoom;
	int			res;
	int			i;

	z.format = SV_FORMAT_JSON;
	z.scratch = &scratch;
	msg_start = ride;
	msg_len = strlen(ride);
	res = sv_parse_message(&z, ride, strlen(ride), vals, &perr);
	ok(res, "zoomcamp ride as JSON parses");
	if (!res)
		diag("reason=%s", perr.reason);
	ok(vals[0].v.i == 1 && vals[3].v.i == 1 && vals[5].v.i == 2,
	   "ints 1, 1, 2");
	ok(vals[1].v.i == INT64_C(646878332000000) && vals[2].v.i == INT64_C(646878819000000),
	   "timestamps 2020-07-01 00:25:32 and 00:33:39");
	ok((float) vals[4].v.f == 1.5f && (float) vals[6].v.f == 9.3f, "reals 1.50 and 9.3");
	ok(text_is(4, "1.50") && text_is(1, "2020-07-01 00:25:32"),
	   "str/len: the number's and the string's text in the message");

	/* the same by paths */
	reset();
	set_col(0, "vendor_id", SV_TYPE_INT4, "$.vendor.id");
	set_col(1, "tpep_pickup_datetime", SV_TYPE_TIMESTAMP, "$.trip.pickup.at");
	set_col(2, "tpep_dropoff_datetime", SV_TYPE_TIMESTAMP, "$.trip.dropoff.at");
	set_col(3, "passenger_count", SV_TYPE_INT4, "$.trip.passengers");
	set_col(4, "trip_distance", SV_TYPE_FLOAT4, "$.trip.distance");
	set_col(5, "payment_type", SV_TYPE_INT4, "$.payment.type");
	set_col(6, "total_amount", SV_TYPE_FLOAT4, "$.payment.total");
	set_col(7, "trip", SV_TYPE_OTHER, "$.trip");
	set_col(8, "vendor_id2", SV_TYPE_INT8, "$.vendor.id");
	set_col(9, "extra1", SV_TYPE_TEXT, "$.trip.extra[1]");
	set_col(10, "extra1d", SV_TYPE_INT2, "$.trip.extra[1].distance");
	res = parse(nested);
	ok(res, "nested ride by paths parses");
	if (!res)
		diag("reason=%s", perr.reason);
	ok(vals[0].v.i == 1 && vals[3].v.i == 1 && vals[5].v.i == 2 && vals[8].v.i == 1,
	   "nested ints; two columns with the same path");
	ok(vals[1].v.i == INT64_C(646878332000000) && vals[2].v.i == INT64_C(646878819000000),
	   "nested timestamps");
	ok((float) vals[4].v.f == 1.5f && (float) vals[6].v.f == 9.3f, "nested reals");
	ok(text_is(7, "{\"pickup\": {\"at\": \"2020-07-01 00:25:32\"}, "
			   "\"dropoff\": {\"at\": \"2020-07-01 00:33:39\"}, \"passengers\": 1, \"distance\": 1.50, "
			   "\"extra\": [1, {\"distance\": 7}]}"),
	   "a column takes the object its path ends at, while others descend into it");
	ok(text_is(9, "{\"distance\": 7}") && vals[10].v.i == 7,
	   "array element by index, and a member inside it");
	for (i = 0; i <= 10; i++)
	{
		if (!inside(i))
			ok(0, "value %d inside the message", i);
	}
}

static void
test_conversions(void)
{
	/* numbers */
	ok_int(SV_TYPE_INT2, "{\"c\": 32767}", 32767);
	ok_int(SV_TYPE_INT2, "{\"c\": -32768}", -32768);
	ok_int(SV_TYPE_INT4, "{\"c\": 2147483647}", INT32_MAX);
	ok_int(SV_TYPE_INT4, "{\"c\": -2147483648}", INT32_MIN);
	ok_int(SV_TYPE_INT8, "{\"c\": 9223372036854775807}", INT64_MAX);
	ok_int(SV_TYPE_INT8, "{\"c\": -9223372036854775808}", INT64_MIN);
	ok_int(SV_TYPE_INT8, "{\"c\": 123456789012345678}", INT64_C(123456789012345678));
	ok_int(SV_TYPE_INT4, "{\"c\": -0}", 0);
	ok_int(SV_TYPE_INT4, "{\"c\": 0}", 0);
	ok_text(SV_TYPE_INT4, NULL, "{\"c\": -17}", "-17");
	fail1(SV_TYPE_INT2, NULL, "{\"c\": 32768}", 0,
		  "column \"c\" ($.c): value \"32768\" is out of range for type smallint");
	fail1(SV_TYPE_INT4, NULL, "{\"c\": 2147483648}", 0,
		  "column \"c\" ($.c): value \"2147483648\" is out of range for type integer");
	fail1(SV_TYPE_INT4, NULL, "{\"c\": -2147483649}", 0,
		  "column \"c\" ($.c): value \"-2147483649\" is out of range for type integer");
	fail1(SV_TYPE_INT8, NULL, "{\"c\": 9223372036854775808}", 0,
		  "column \"c\" ($.c): value \"9223372036854775808\" is out of range for type bigint");
	fail1(SV_TYPE_INT8, NULL, "{\"c\": 123456789012345678901234567890}", 0,
		  "column \"c\" ($.c): value \"123456789012345678901234567890\" is out of range for type bigint");
	fail1(SV_TYPE_INT4, NULL, "{\"c\": 1.5}", 0,
		  "column \"c\" ($.c): invalid input syntax for type integer: \"1.5\"");
	fail1(SV_TYPE_INT4, NULL, "{\"c\": 1e2}", 0,
		  "column \"c\" ($.c): invalid input syntax for type integer: \"1e2\"");
	ok_float(SV_TYPE_FLOAT8, "{\"c\": 1e308}", 1e308);
	ok_float(SV_TYPE_FLOAT8, "{\"c\": -0}", -0.0);
	ok_float(SV_TYPE_FLOAT8, "{\"c\": -0.0}", -0.0);
	ok_float(SV_TYPE_FLOAT8, "{\"c\": 0.1}", 0.1);
	ok_float(SV_TYPE_FLOAT8, "{\"c\": 1.7976931348623157e308}", 1.7976931348623157e308);
	ok_float(SV_TYPE_FLOAT8, "{\"c\": 4.9e-324}", 4.9e-324);
	ok_float(SV_TYPE_FLOAT8, "{\"c\": 12345678901234567890}", 12345678901234567890.0);
	ok_float(SV_TYPE_FLOAT4, "{\"c\": 3.4028235e38}", (double) 3.4028235e38f);
	ok_float(SV_TYPE_FLOAT4, "{\"c\": 1.50}", 1.5);
	fail1(SV_TYPE_FLOAT8, NULL, "{\"c\": 1e400}", 0,
		  "column \"c\" ($.c): \"1e400\" is out of range for type double precision");
	fail1(SV_TYPE_FLOAT8, NULL, "{\"c\": -1e400}", 0,
		  "column \"c\" ($.c): \"-1e400\" is out of range for type double precision");
	fail1(SV_TYPE_FLOAT8, NULL, "{\"c\": 1e-400}", 0,
		  "column \"c\" ($.c): \"1e-400\" is out of range for type double precision");
	fail1(SV_TYPE_FLOAT4, NULL, "{\"c\": 1e39}", 0,
		  "column \"c\" ($.c): \"1e39\" is out of range for type real");
	ok_text(SV_TYPE_NUMERIC, NULL, "{\"c\": 1.50}", "1.50");
	ok_text(SV_TYPE_NUMERIC, NULL, "{\"c\": 123456789012345678901234567890.000000000000000001}",
			"123456789012345678901234567890.000000000000000001");
	ok_text(SV_TYPE_NUMERIC, NULL, "{\"c\": -1E+400}", "-1E+400");
	ok_text(SV_TYPE_TEXT, NULL, "{\"c\": 1.50}", "1.50");
	ok_text(SV_TYPE_TEXT, NULL, "{\"c\": -1e-7}", "-1e-7");
	ok_text(SV_TYPE_OTHER, NULL, "{\"c\": 42}", "42");
	fail1(SV_TYPE_DATE, NULL, "{\"c\": 20200701}", 0,
		  "column \"c\" ($.c): cannot convert a JSON number to type date");
	fail1(SV_TYPE_TIMESTAMP, NULL, "{\"c\": 1593563132}", 0,
		  "column \"c\" ($.c): cannot convert a JSON number to type timestamp without time zone");
	fail1(SV_TYPE_TIMESTAMPTZ, NULL, "{\"c\": 1}", 0,
		  "column \"c\" ($.c): cannot convert a JSON number to type timestamp with time zone");
	fail1(SV_TYPE_BOOL, NULL, "{\"c\": 1}", 0,
		  "column \"c\" ($.c): cannot convert a JSON number to type boolean");

	/* strings: decoded text, then parsed as a delimited field would be */
	ok_text(SV_TYPE_TEXT, NULL, "{\"c\": \"hello\"}", "hello");
	ok_text(SV_TYPE_TEXT, NULL, "{\"c\": \"\"}", "");
	ok_text(SV_TYPE_TEXT, NULL, "{\"c\": \" padded \"}", " padded ");
	ok_text(SV_TYPE_OTHER, NULL, "{\"c\": \"x\\\"y\"}", "x\"y");
	ok_int(SV_TYPE_INT4, "{\"c\": \"  12 \"}", 12);
	ok_int(SV_TYPE_INT8, "{\"c\": \"-9223372036854775808\"}", INT64_MIN);
	ok_int(SV_TYPE_TIMESTAMP, "{\"c\": \"2020-07-01 00:25:32\"}", INT64_C(646878332000000));
	ok_int(SV_TYPE_TIMESTAMP, "{\"c\": \"2020-07-01T00:25:32.5\"}", INT64_C(646878332500000));
	ok_int(SV_TYPE_TIMESTAMPTZ, "{\"c\": \"2020-07-01 02:25:32+02\"}", INT64_C(646878332000000));
	ok_int(SV_TYPE_DATE, "{\"c\": \"2020-07-01\"}", 7487);
	ok_text(SV_TYPE_NUMERIC, NULL, "{\"c\": \"1.50\"}", "1.50");
	ok_float(SV_TYPE_FLOAT8, "{\"c\": \"NaN\"}", NAN);
	ok_bool(SV_TYPE_BOOL, "{\"c\": \"t\"}", 1);
	ok_bool(SV_TYPE_BOOL, "{\"c\": \"off\"}", 0);
	fail1(SV_TYPE_INT4, NULL, "{\"c\": \"\"}", 0,
		  "column \"c\" ($.c): invalid input syntax for type integer: \"\"");
	fail1(SV_TYPE_DATE, NULL, "{\"c\": \"2020-13-01\"}", 0,
		  "column \"c\" ($.c): date/time field value out of range: \"2020-13-01\"");
	fail1(SV_TYPE_TIMESTAMP, NULL, "{\"c\": \"now\"}", 0,
		  "column \"c\" ($.c): \"now\" is not an explicit timestamp (special values are refused: a replayed message must give the same value)");
	fail1(SV_TYPE_BOOL, NULL, "{\"c\": \"maybe\"}", 0,
		  "column \"c\" ($.c): invalid input syntax for type boolean: \"maybe\"");
	one(SV_TYPE_TEXT, NULL);
	cols[0].max_chars = 3;
	check_reason(parse("{\"c\": \"abcd\"}"), 0,
				 "column \"c\" ($.c): value too long for type character varying(3): \"abcd\"",
				 "varchar(3) of \"abcd\"");
	ok(parse("{\"c\": \"ab\\u00e9 \"}") && text_is(0, "ab\xc3\xa9"),
	   "varchar(3) cuts trailing spaces of a decoded string");

	/* booleans */
	ok_bool(SV_TYPE_BOOL, "{\"c\": true}", 1);
	ok_bool(SV_TYPE_BOOL, "{\"c\": false}", 0);
	ok_text(SV_TYPE_TEXT, NULL, "{\"c\": true}", "true");
	ok_text(SV_TYPE_TEXT, NULL, "{\"c\": false}", "false");
	ok_text(SV_TYPE_OTHER, NULL, "{\"c\": false}", "false");
	fail1(SV_TYPE_INT4, NULL, "{\"c\": true}", 0,
		  "column \"c\" ($.c): cannot convert a JSON boolean to type integer");
	fail1(SV_TYPE_NUMERIC, NULL, "{\"c\": false}", 0,
		  "column \"c\" ($.c): cannot convert a JSON boolean to type numeric");
	fail1(SV_TYPE_DATE, NULL, "{\"c\": true}", 0,
		  "column \"c\" ($.c): cannot convert a JSON boolean to type date");

	/* objects and arrays: their JSON text, for text and other types */
	ok_text(SV_TYPE_OTHER, NULL, "{\"c\": {\"a\": [1, 2, {\"b\": null}]} }",
			"{\"a\": [1, 2, {\"b\": null}]}");
	ok_text(SV_TYPE_TEXT, NULL, "{\"c\":[ ]}", "[ ]");
	ok_text(SV_TYPE_TEXT, NULL, "{\"c\":{}}", "{}");
	ok_text(SV_TYPE_OTHER, NULL, "{\"c\": [\"\\u00e9\\n\"]}", "[\"\\u00e9\\n\"]");
	fail1(SV_TYPE_INT4, NULL, "{\"c\": {\"a\": 1}}", 0,
		  "column \"c\" ($.c): cannot convert a JSON object to type integer");
	fail1(SV_TYPE_FLOAT8, NULL, "{\"c\": [1]}", 0,
		  "column \"c\" ($.c): cannot convert a JSON array to type double precision");
	fail1(SV_TYPE_BOOL, NULL, "{\"c\": []}", 0,
		  "column \"c\" ($.c): cannot convert a JSON array to type boolean");
	fail1(SV_TYPE_TIMESTAMP, NULL, "{\"c\": {}}", 0,
		  "column \"c\" ($.c): cannot convert a JSON object to type timestamp without time zone");
	fail1(SV_TYPE_NUMERIC, NULL, "{\"c\": {}}", 0,
		  "column \"c\" ($.c): cannot convert a JSON object to type numeric");

	/*
	 * json and jsonb: every value as its JSON text, a string with its
	 * quotes and escapes as they stand (as json_populate_record does)
	 */
	ok_text(SV_TYPE_JSON, NULL, "{\"c\": \"abc\"}", "\"abc\"");
	ok_text(SV_TYPE_JSON, NULL, "{\"c\":\"x\\\"y\\u00e9\"}", "\"x\\\"y\\u00e9\"");
	ok_text(SV_TYPE_JSON, NULL, "{\"c\": \"{\\\"a\\\": 1}\"}", "\"{\\\"a\\\": 1}\"");
	ok_text(SV_TYPE_JSON, NULL, "{\"c\": -1.5e3 }", "-1.5e3");
	ok_text(SV_TYPE_JSON, NULL, "{\"c\": true}", "true");
	ok_text(SV_TYPE_JSON, NULL, "{\"c\": [1, {\"b\": \"\\n\"}]}", "[1, {\"b\": \"\\n\"}]");
	ok_null(SV_TYPE_JSON, NULL, "{\"c\": null}");
	ok_null(SV_TYPE_JSON, NULL, "{}");

	/* null and missing */
	ok_null(SV_TYPE_INT4, NULL, "{\"c\": null}");
	ok_null(SV_TYPE_TEXT, NULL, "{\"c\": null}");
	ok_null(SV_TYPE_DATE, NULL, "{\"other\": 1}");
	ok_null(SV_TYPE_TEXT, NULL, "{}");
	ok_null(SV_TYPE_TEXT, NULL, "{\"C\": \"case matters\"}");
	ok_null(SV_TYPE_TEXT, NULL, "{\"x\": {\"c\": \"not at the top\"}}");
}

static void
test_paths(void)
{
	const char *doc = "{\"a\": {\"b\": {\"c\": 5}, \"list\": [10, [20, 21], {\"x\": \"y\"}]},"
		" \"my col\": {\"q\\\"uote\": 7}, \"s\": \"str\", \"n\": null, \"e\": []}";

	ok_text(SV_TYPE_INT4, "$.a.b.c", doc, "5");
	ok_text(SV_TYPE_TEXT, "$.a.b", doc, "{\"c\": 5}");
	ok_text(SV_TYPE_INT4, "$.a.list[0]", doc, "10");
	ok_text(SV_TYPE_INT4, "$.a.list[1][1]", doc, "21");
	ok_text(SV_TYPE_TEXT, "$.a.list[2].x", doc, "y");
	ok_text(SV_TYPE_INT4, "$.\"my col\".\"q\\\"uote\"", doc, "7");
	ok_text(SV_TYPE_TEXT, "$.s", doc, "str");
	ok_null(SV_TYPE_INT4, "$.a.list[3]", doc);		/* index out of range */
	ok_null(SV_TYPE_INT4, "$.a.list[2147483647]", doc);
	ok_null(SV_TYPE_INT4, "$.a.nope.c", doc);	/* missing intermediate */
	ok_null(SV_TYPE_INT4, "$.nope.b.c", doc);
	ok_null(SV_TYPE_INT4, "$.s.x", doc);	/* through a string */
	ok_null(SV_TYPE_INT4, "$.n.x", doc);	/* through null */
	ok_null(SV_TYPE_INT4, "$.a[0]", doc);	/* an index into an object */
	ok_null(SV_TYPE_INT4, "$.a.list.x", doc);	/* a name into an array */
	ok_null(SV_TYPE_INT4, "$.e[0]", doc);
	ok_null(SV_TYPE_INT4, "$[0]", doc);		/* the message is an object */
	ok_null(SV_TYPE_INT4, "$.a.b.c.d", doc);
	fail1(SV_TYPE_INT4, "$.a.list[2]", doc, 0,
		  "column \"c\" ($.a.list[2]): cannot convert a JSON object to type integer");
	fail1(SV_TYPE_INT4, "$.a.list[2].x", doc, 0,
		  "column \"c\" ($.a.list[2].x): invalid input syntax for type integer: \"y\"");
	fail1(SV_TYPE_INT4, "$.\"my col\"", doc, 0,
		  "column \"c\" ($.\"my col\"): cannot convert a JSON object to type integer");
	fail1(SV_TYPE_INT4, "$.\"my col\".\"q\\\"uote\".z", "{\"my col\": {\"q\\\"uote\": 7, \"q\\\"uote\": 8}}", 0,
		  "column \"c\" ($.\"my col\".\"q\\\"uote\".z): duplicate member name \"q\"uote\" at byte 26");

	/* a column named like an odd path shows its name quoted */
	reset();
	set_col(0, "trip distance", SV_TYPE_FLOAT4, NULL);
	check_reason(parse("{\"trip distance\": \"abc\"}"), 0,
				 "column \"trip distance\" ($.\"trip distance\"): invalid input syntax for type real: \"abc\"",
				 "a column name with a blank");
	reset();
	set_col(0, "trip_distance", SV_TYPE_FLOAT4, "$.trip.distance");
	check_reason(parse("{\"trip\": {\"distance\": \"abc\"}}"), 0,
				 "column \"trip_distance\" ($.trip.distance): invalid input syntax for type real: \"abc\"",
				 "the issue's example");
	/* duplicates along a path; elsewhere in nested objects they are fine */
	check_reason(parse("{\"trip\": {\"distance\": 1, \"distance\": 2}}"), 0,
				 "column \"trip_distance\" ($.trip.distance): duplicate member name \"distance\" at byte 25",
				 "duplicate along a path");
	check_reason(parse("{\"trip\": {\"distance\": 1}, \"trip\": {}}"), 0,
				 "column \"trip_distance\" ($.trip.distance): duplicate member name \"trip\" at byte 26",
				 "duplicate of a path's first step");
	ok(parse("{\"trip\": {\"x\": 1, \"x\": 2, \"distance\": 3}, \"other\": {\"y\": 1, \"y\": 1}}") &&
	   (float) vals[0].v.f == 3.0f,
	   "duplicates inside objects off the paths are allowed");
	ok(parse("{\"a\": {\"trip\": 1}, \"b\": {\"trip\": 2}, \"trip\": {\"distance\": 4}}") &&
	   (float) vals[0].v.f == 4.0f,
	   "the same name in different objects is no duplicate");
	ok(parse("{\"trip\": [{\"distance\": 1}]}") && vals[0].isnull,
	   "a path's object step does not match an array");
}

static void
test_path_compiler(void)
{
	static const struct
	{
		const char *path;
		const char *reason;
	}			bad[] = {
		{"", "invalid JSON path \"\" at byte 0: expected '$'"},
		{"a.b", "invalid JSON path \"a.b\" at byte 0: expected '$'"},
		{"$", "invalid JSON path \"$\" at byte 1: expected a step ('.name' or '[N]') after '$'"},
		{"$.a..b", "invalid JSON path \"$.a..b\" at byte 4: expected a member name"},
		{"$.", "invalid JSON path \"$.\" at byte 2: expected a member name"},
		{"$.a b", "invalid JSON path \"$.a b\" at byte 3: expected '.' or '['"},
		{" $.a", "invalid JSON path \" $.a\" at byte 0: expected '$'"},
		{"$.a[-1]", "invalid JSON path \"$.a[-1]\" at byte 4: expected an array index (a non-negative integer)"},
		{"$.a[]", "invalid JSON path \"$.a[]\" at byte 4: expected an array index (a non-negative integer)"},
		{"$.a[2147483648]", "invalid JSON path \"$.a[2147483648]\" at byte 4: array index out of range"},
		{"$.a[1", "invalid JSON path \"$.a[1\" at byte 5: expected ']'"},
		{"$.a[1x]", "invalid JSON path \"$.a[1x]\" at byte 5: expected ']'"},
		{"$.\"abc", "invalid JSON path \"$.\"abc\" at byte 6: unterminated quoted member name"},
		{"$.\"a\\nb\"", "invalid JSON path \"$.\"a\\\\nb\"\" at byte 4: invalid escape in a quoted member name (only \\\" and \\\\)"},
		{"$.a-b", "invalid JSON path \"$.a-b\" at byte 3: expected '.' or '['"},
		{"$['a']", "invalid JSON path \"$['a']\" at byte 2: expected an array index (a non-negative integer)"},
		{"$.\xc3(", "invalid JSON path \"$.\\xc3(\" at byte 2: expected a member name"},
		{"$.\"\xc3(\"", "invalid JSON path \"$.\"\\xc3(\"\" at byte 3: invalid UTF-8 in a member name"},
	};
	SvJsonPath	p;
	char		errbuf[256];
	char		longpath[1024];
	size_t		i;
	int			res;

	res = sv_json_path_compile("$.trip.pickup.at", 16, malloc, &p, errbuf, sizeof(errbuf));
	ok(res && p.nsteps == 3 && p.steps[0].name_len == 4 &&
	   memcmp(p.steps[0].name, "trip", 4) == 0 && p.steps[2].name_len == 2 &&
	   memcmp(p.steps[2].name, "at", 2) == 0,
	   "$.trip.pickup.at: 3 member steps");
	res = sv_json_path_compile("$.items[0].price", 16, malloc, &p, errbuf, sizeof(errbuf));
	ok(res && p.nsteps == 3 && p.steps[1].name == NULL && p.steps[1].index == 0 &&
	   p.steps[2].name_len == 5, "$.items[0].price: name, index 0, name");
	res = sv_json_path_compile("$[2147483647][0]", 16, malloc, &p, errbuf, sizeof(errbuf));
	ok(res && p.nsteps == 2 && p.steps[0].index == INT32_MAX && p.steps[1].index == 0,
	   "$[2147483647][0]");
	res = sv_json_path_compile("$.\"a\\\"b\\\\c d\".$x_1", 18, malloc, &p, errbuf, sizeof(errbuf));
	ok(res && p.nsteps == 2 && p.steps[0].name_len == 7 &&
	   memcmp(p.steps[0].name, "a\"b\\c d", 7) == 0 && p.steps[1].name_len == 4 &&
	   memcmp(p.steps[1].name, "$x_1", 4) == 0,
	   "quoted name with \\\" and \\\\, then an identifier with $ and _");
	res = sv_json_path_compile("$.\"\"", 4, malloc, &p, errbuf, sizeof(errbuf));
	ok(res && p.nsteps == 1 && p.steps[0].name_len == 0 && p.steps[0].name != NULL,
	   "$.\"\": the empty member name");
	res = sv_json_path_compile("$.\"\xc3\xa9t\xc3\xa9\"", 9, malloc, &p, errbuf, sizeof(errbuf));
	ok(res && p.nsteps == 1 && p.steps[0].name_len == 5, "a quoted UTF-8 name");

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		memset(errbuf, 0, sizeof(errbuf));
		res = sv_json_path_compile(bad[i].path, strlen(bad[i].path), malloc, &p,
								   errbuf, sizeof(errbuf));
		ok(!res && strcmp(errbuf, bad[i].reason) == 0 && valid_utf8(errbuf),
		   "path refused: %s", bad[i].reason);
		if (res || strcmp(errbuf, bad[i].reason) != 0)
			diag("got %s", res ? "success" : errbuf);
	}

	/* 64 steps are fine, 65 are not */
	strcpy(longpath, "$");
	for (i = 0; i < 64; i++)
		strcat(longpath, ".a");
	res = sv_json_path_compile(longpath, strlen(longpath), malloc, &p, errbuf, sizeof(errbuf));
	ok(res && p.nsteps == 64, "a path of 64 steps");
	strcat(longpath, "[0]");
	res = sv_json_path_compile(longpath, strlen(longpath), malloc, &p, errbuf, sizeof(errbuf));
	ok(!res && strstr(errbuf, "at byte 129: a path has at most 64 steps") != NULL &&
	   strlen(errbuf) < sizeof(errbuf), "a path of 65 steps is refused");
	diag("%s", errbuf);
	res = sv_json_path_compile("$.a.b", 5, malloc, &p, errbuf, 8);
	ok(res, "a small errbuf is fine on success");
	res = sv_json_path_compile("$.a..b", 6, malloc, &p, errbuf, 8);
	ok(!res && strcmp(errbuf, "invalid") == 0, "errors are cut to errlen");
	res = sv_json_path_compile("$.a..b", 6, malloc, &p, NULL, 0);
	ok(!res, "no errbuf");

	/* a deep path over a deep message */
	{
		static char deep[1024];
		char	   *d = deep;

		for (i = 0; i < 63; i++)
			d += sprintf(d, "{\"a\":");
		d += sprintf(d, "{\"a\": 17}");
		for (i = 0; i < 63; i++)
			*d++ = '}';
		*d = '\0';
		strcpy(longpath, "$");
		for (i = 0; i < 64; i++)
			strcat(longpath, ".a");
		ok_text(SV_TYPE_INT4, longpath, deep, "17");
	}
}

static void
test_rejections(void)
{
	fail1_len(SV_TYPE_TEXT, "", 0, -1, "empty message", "the empty message");
	fail1(SV_TYPE_TEXT, NULL, " \n\t\r", -1,
		  "invalid JSON at byte 4: expected a JSON object, found the end of the message");
	fail1(SV_TYPE_TEXT, NULL, "[1, 2]", -1, "the message is a JSON array, not an object");
	fail1(SV_TYPE_TEXT, NULL, " \"c\" ", -1, "the message is a JSON string, not an object");
	fail1(SV_TYPE_TEXT, NULL, "12.5", -1, "the message is a JSON number, not an object");
	fail1(SV_TYPE_TEXT, NULL, "-1", -1, "the message is a JSON number, not an object");
	fail1(SV_TYPE_TEXT, NULL, "true", -1, "the message is a JSON boolean, not an object");
	fail1(SV_TYPE_TEXT, NULL, "null", -1, "the message is a JSON null, not an object");
	fail1(SV_TYPE_TEXT, NULL, "[1, 2", -1,
		  "invalid JSON at byte 5: expected ',' or ']', found the end of the message");
	fail1(SV_TYPE_TEXT, NULL, "[1] [2]", -1,
		  "invalid JSON at byte 4: expected the end of the message");
	fail1(SV_TYPE_TEXT, NULL, "}", -1, "invalid JSON at byte 0: expected a value");
	fail1(SV_TYPE_TEXT, NULL, "hello", -1, "invalid JSON at byte 0: invalid token \"hello\"");

	fail1(SV_TYPE_TEXT, NULL, "{", -1,
		  "invalid JSON at byte 1: expected a member name or '}', found the end of the message");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\"", -1,
		  "invalid JSON at byte 4: expected ':', found the end of the message");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\" 1}", -1, "invalid JSON at byte 5: expected ':'");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\":", -1,
		  "invalid JSON at byte 5: expected a value, found the end of the message");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": }", -1, "invalid JSON at byte 6: expected a value");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": 1", -1,
		  "invalid JSON at byte 7: expected ',' or '}', found the end of the message");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": 1 \"d\": 2}", -1,
		  "invalid JSON at byte 8: expected ',' or '}'");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": 1,}", -1, "invalid JSON at byte 8: expected a member name");
	fail1(SV_TYPE_TEXT, NULL, "{c: 1}", -1, "invalid JSON at byte 1: expected a member name or '}'");
	fail1(SV_TYPE_TEXT, NULL, "{'c': 1}", -1, "invalid JSON at byte 1: expected a member name or '}'");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": [1,]}", -1, "invalid JSON at byte 9: expected a value");
	fail1(SV_TYPE_TEXT, NULL, "{\"d\": [1,]}", -1, "invalid JSON at byte 9: expected a value");
	fail1(SV_TYPE_TEXT, NULL, "{\"d\": [1}", -1, "invalid JSON at byte 8: expected ',' or ']'");
	fail1(SV_TYPE_TEXT, NULL, "{\"d\": {\"e\": 1]}", -1, "invalid JSON at byte 13: expected ',' or '}'");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": 1} x", -1,
		  "invalid JSON at byte 9: expected the end of the message after the object");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": 1}}", -1,
		  "invalid JSON at byte 8: expected the end of the message after the object");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": 1}{}", -1,
		  "invalid JSON at byte 8: expected the end of the message after the object");

	/* numbers and literals */
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": 01}", -1, "invalid JSON at byte 6: invalid number \"01\"");
	fail1(SV_TYPE_TEXT, NULL, "{\"d\": -}", -1, "invalid JSON at byte 6: invalid number \"-\"");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": 1.}", -1, "invalid JSON at byte 6: invalid number \"1.\"");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": .5}", -1, "invalid JSON at byte 6: invalid token \".5\"");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": +1}", -1, "invalid JSON at byte 6: invalid token \"+1\"");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": 1e}", -1, "invalid JSON at byte 6: invalid number \"1e\"");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": 1e+}", -1, "invalid JSON at byte 6: invalid number \"1e+\"");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": 12abc}", -1, "invalid JSON at byte 6: invalid number \"12abc\"");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": 0x10}", -1, "invalid JSON at byte 6: invalid number \"0x10\"");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": NaN}", -1, "invalid JSON at byte 6: invalid token \"NaN\"");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": Infinity}", -1, "invalid JSON at byte 6: invalid token \"Infinity\"");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": nul}", -1, "invalid JSON at byte 6: invalid token \"nul\"");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": True}", -1, "invalid JSON at byte 6: invalid token \"True\"");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": nulls}", -1, "invalid JSON at byte 6: invalid token \"nulls\"");
	fail1(SV_TYPE_TEXT, NULL, "{\"d\": truefalse}", -1, "invalid JSON at byte 6: invalid token \"truefalse\"");

	/* strings */
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": \"abc", -1, "invalid JSON at byte 10: unterminated string");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": \"abc\\", -1, "invalid JSON at byte 11: unterminated string");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": \"a\nb\"}", -1,
		  "invalid JSON at byte 8: character with value 0x0a must be escaped");
	fail1(SV_TYPE_TEXT, NULL, "{\"d\": \"a\tb\"}", -1,
		  "invalid JSON at byte 8: character with value 0x09 must be escaped");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": \"\\q\"}", -1, "invalid JSON at byte 7: invalid escape sequence \\q");
	fail1(SV_TYPE_TEXT, NULL, "{\"d\": \"\\x41\"}", -1, "invalid JSON at byte 7: invalid escape sequence \\x");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": \"\\u12\"}", -1, "invalid JSON at byte 7: invalid escape sequence \\u12\"");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": \"\\u12G4\"}", -1, "invalid JSON at byte 7: invalid escape sequence \\u12G");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": \"\\U00e9\"}", -1, "invalid JSON at byte 7: invalid escape sequence \\U");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": \"\\\xc3\xa9\"}", -1, "invalid JSON at byte 7: invalid escape sequence \\\xc3\xa9");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": \"\\ud83d\"}", -1,
		  "invalid JSON at byte 7: Unicode high surrogate \\ud83d must be followed by a low surrogate");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": \"\\ud83dx\\ude00\"}", -1,
		  "invalid JSON at byte 7: Unicode high surrogate \\ud83d must be followed by a low surrogate");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": \"\\ud83d\\ud83d\"}", -1,
		  "invalid JSON at byte 7: Unicode high surrogate \\ud83d must be followed by a low surrogate");
	fail1(SV_TYPE_TEXT, NULL, "{\"d\": \"\\ude00\"}", -1,
		  "invalid JSON at byte 7: Unicode low surrogate \\ude00 must follow a high surrogate");
	fail1(SV_TYPE_TEXT, NULL, "{\"\\uDFFF\": 1}", -1,
		  "invalid JSON at byte 2: Unicode low surrogate \\uDFFF must follow a high surrogate");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": \"a\\u0000b\"}", 0,
		  "column \"c\" ($.c): \\u0000 cannot be converted to text");
	fail1(SV_TYPE_INT4, NULL, "{\"c\": \"\\u0000\"}", 0,
		  "column \"c\" ($.c): \\u0000 cannot be converted to text");
	one(SV_TYPE_TEXT, NULL);
	ok(parse("{\"d\": \"a\\u0000b\", \"\\u0000\": 1, \"c\": [\"\\u0000\"]}") &&
	   text_is(0, "[\"\\u0000\"]"),
	   "\\u0000 in skipped strings, member names and JSON text is fine");

	/* duplicates */
	fail1(SV_TYPE_TEXT, NULL, "{\"a\": 1, \"b\": 2, \"a\": 3}", -1,
		  "duplicate member name \"a\" at byte 17");
	fail1(SV_TYPE_TEXT, NULL, "{\"a\": 1, \"\\u0061\": 3}", -1,
		  "duplicate member name \"a\" at byte 9");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": 1, \"b\": 2, \"c\": 3}", 0,
		  "column \"c\" ($.c): duplicate member name \"c\" at byte 17");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": null, \"c\": null}", 0,
		  "column \"c\" ($.c): duplicate member name \"c\" at byte 12");
	fail1(SV_TYPE_TEXT, NULL, "{\"\\u0063\": 1, \"c\": 3}", 0,
		  "column \"c\" ($.c): duplicate member name \"c\" at byte 14");
	fail1(SV_TYPE_TEXT, NULL, "{\"\": 1, \"\": 3}", -1,
		  "duplicate member name \"\" at byte 8");

	/* encoding */
	fail1_len(SV_TYPE_TEXT, "{\"c\": \"a\0b\"}", 12, -1, "NUL byte (0x00) at byte offset 8 of the message", "raw NUL in a string");
	fail1_len(SV_TYPE_TEXT, "{\"c\": 1}\0", 9, -1, "NUL byte (0x00) at byte offset 8 of the message", "raw NUL after the object");
	fail1_len(SV_TYPE_TEXT, "{\"c\":\0 1}", 9, -1, "NUL byte (0x00) at byte offset 5 of the message", "raw NUL between tokens");
	fail1_len(SV_TYPE_TEXT, "\0", 1, -1, "NUL byte (0x00) at byte offset 0 of the message", "only a NUL");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": \"\xc3\x28\"}", -1,
		  "invalid UTF-8 byte sequence at byte offset 7 of the message: 0xc3 0x28");
	fail1(SV_TYPE_TEXT, NULL, "{\"skipped\": \"ab\xed\xa0\x80\"}", -1,
		  "invalid UTF-8 byte sequence at byte offset 15 of the message: 0xed 0xa0 0x80");
	fail1(SV_TYPE_TEXT, NULL, "{\"x\xc0\xaf\": 1}", -1,
		  "invalid UTF-8 byte sequence at byte offset 3 of the message: 0xc0 0xaf");
	fail1(SV_TYPE_TEXT, NULL, "{\"x\": [\"\x80\"]}", -1,
		  "invalid UTF-8 byte sequence at byte offset 8 of the message: 0x80 (unexpected continuation byte)");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": 1, \xff}", -1,
		  "invalid UTF-8 byte sequence at byte offset 9 of the message: 0xff");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": \"\xf4\x90\x80\x80\"}", -1,
		  "invalid UTF-8 byte sequence at byte offset 7 of the message: 0xf4 0x90 0x80 0x80");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": \"\xe2\x82", -1,
		  "invalid UTF-8 byte sequence at byte offset 7 of the message: 0xe2 0x82");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": \"\\\xff\"}", -1,
		  "invalid UTF-8 byte sequence at byte offset 8 of the message: 0xff");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": \xc3\xa9}", -1, "invalid JSON at byte 6: expected a value");

	/* a failed value is reported only if the message is otherwise sound */
	fail1(SV_TYPE_INT4, NULL, "{\"c\": \"x\", \"d\": [}", -1, "invalid JSON at byte 17: expected a value");
	fail1(SV_TYPE_INT4, NULL, "{\"c\": \"x\", \"c\": 1}", 0,
		  "column \"c\" ($.c): duplicate member name \"c\" at byte 11");
	reset();
	set_col(0, "a", SV_TYPE_INT4, NULL);
	set_col(1, "b", SV_TYPE_INT4, NULL);
	check_reason(parse("{\"b\": \"x\", \"a\": \"y\"}"), 1,
				 "column \"b\" ($.b): invalid input syntax for type integer: \"x\"",
				 "the first failing value in message order");

	/* long values are cut in reasons, on a character boundary */
	fail1(SV_TYPE_INT4, NULL, "{\"c\": \"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}", 0,
		  "column \"c\" ($.c): invalid input syntax for type integer: \"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		  "\xc3\xa9\xc3\xa9...\"");
	fail1(SV_TYPE_TEXT, NULL, "{\"c\": 1, \"dupdupdupdupdupdupdupdupdupdupdupdupdupdupdupdup\": 1, "
		  "\"dupdupdupdupdupdupdupdupdupdupdupdupdupdupdupdup\": 2}", -1,
		  "duplicate member name \"dupdupdupdupdupdupdupdupdupdupdupdupdupd...\" at byte 64");

	/* schemas */
	{
		SvSchema	s = sch;

		s.ncolumns = 0;
		check_reason(sv_parse_json(&s, "{}", 2, vals, &perr), -1,
					 "invalid schema: no columns", "a schema without columns");
		one(SV_TYPE_TEXT, NULL);
		sch.scratch = NULL;
		ok(parse("{\"c\": \"plain\"}") && text_is(0, "plain"),
		   "no scratch buffer is needed without escapes");
		check_reason(parse("{\"c\": \"\\n\"}"), -1,
					 "invalid schema: no room in the scratch buffer for decoded strings",
					 "escapes without a scratch buffer");
		sch.scratch = &scratch;
	}
}

static void
test_escapes(void)
{
	ok_text(SV_TYPE_TEXT, NULL, "{\"c\": \"caf\\u00e9\"}", "caf\xc3\xa9");
	ok_text(SV_TYPE_TEXT, NULL, "{\"c\": \"caf\\u00E9\"}", "caf\xc3\xa9");
	ok_text(SV_TYPE_TEXT, NULL, "{\"c\": \"caf\xc3\xa9\"}", "caf\xc3\xa9");
	ok_text(SV_TYPE_TEXT, NULL, "{\"c\": \"\\ud83d\\ude00!\"}", "\xf0\x9f\x98\x80!");
	ok_text(SV_TYPE_TEXT, NULL, "{\"c\": \"\\uD83D\\uDE00\"}", "\xf0\x9f\x98\x80");
	ok_text(SV_TYPE_TEXT, NULL, "{\"c\": \"\\udbff\\udfff\"}", "\xf4\x8f\xbf\xbf");
	ok_text(SV_TYPE_TEXT, NULL, "{\"c\": \"\\u0041\\u007f\\u0080\\u07ff\\u0800\\uffff\"}",
			"A\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf");
	ok_text(SV_TYPE_TEXT, NULL, "{\"c\": \"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}", "\"\\/\b\f\n\r\t");
	ok_text(SV_TYPE_TEXT, NULL, "{\"c\": \"\\u0001\\u001f\"}", "\x01\x1f");
	ok_int(SV_TYPE_TIMESTAMP, "{\"c\": \"2020\\u002d07-01 00:25:32\"}", INT64_C(646878332000000));
	ok_int(SV_TYPE_INT4, "{\"\\u0063\": 5}", 5);
	ok_int(SV_TYPE_INT4, "{\"\\\"c\": 1, \"c\": 5}", 5);
	ok_text(SV_TYPE_INT4, "$.\"a\\\"b\"", "{\"a\\\"b\": 6}", "6");
	ok_text(SV_TYPE_INT4, "$.\"\xc3\xa9\"", "{\"\\u00e9\": 8}", "8");
	{
		/* two decoded values and a decoded name share the scratch buffer */
		reset();
		set_col(0, "a", SV_TYPE_TEXT, NULL);
		set_col(1, "b", SV_TYPE_TEXT, NULL);
		set_col(2, "\xc3\xa9", SV_TYPE_TEXT, NULL);
		ok(parse("{\"a\": \"\\u0031\\u0032\", \"\\u00e9\": \"z\", \"b\": \"x\\ty\"}") &&
		   text_is(0, "12") && text_is(1, "x\ty") && text_is(2, "z"),
		   "decoded values do not overwrite each other");
	}
}

static void
test_whitespace(void)
{
	reset();
	set_col(0, "a", SV_TYPE_INT4, NULL);
	set_col(1, "b", SV_TYPE_TEXT, "$.o.b");
	set_col(2, "c", SV_TYPE_TEXT, "$.l[1]");
	ok(parse(" \t\n\r{ \t\n\r\"a\" \t\n\r: \t\n\r7 \t\n\r, \"o\" : { \"b\" : \"x\" } ,"
			 "\"l\":[ 1 , [ ] , 3 ] ,\"z\" : [ { } ] \t\n\r} \t\n\r") &&
	   vals[0].v.i == 7 && text_is(1, "x") && text_is(2, "[ ]"),
	   "white space everywhere JSON allows it");
	check_reason(parse("{\"a\": 1\f}"), -1, "invalid JSON at byte 7: expected ',' or '}'",
				 "form feed is no JSON white space");
	check_reason(parse("\xc2\xa0{}"), -1, "invalid JSON at byte 0: expected a value",
				 "no-break space is no JSON white space");
}

/* Nesting 100000 deep, skipped, taken as text, and broken. */
static void
test_deep(void)
{
	const size_t depth = 100000;
	size_t		cap = depth * 8 + 100;
	char	   *m = malloc(cap);
	char	   *p;
	size_t		i;
	int			res;

	/* arrays, skipped */
	p = m;
	p += sprintf(p, "{\"skip\": ");
	for (i = 0; i < depth; i++)
		*p++ = '[';
	for (i = 0; i < depth; i++)
		*p++ = ']';
	p += sprintf(p, ", \"c\": 3}");
	one(SV_TYPE_INT4, NULL);
	res = parse_len(m, (size_t) (p - m));
	ok(res && vals[0].v.i == 3, "100000 nested arrays are skipped");

	/* objects, taken whole by a json column */
	p = m;
	p += sprintf(p, "{\"c\": ");
	for (i = 0; i < depth; i++)
		p += sprintf(p, "{\"a\":");
	*p++ = '1';
	for (i = 0; i < depth; i++)
		*p++ = '}';
	*p++ = '}';
	one(SV_TYPE_OTHER, NULL);
	res = parse_len(m, (size_t) (p - m));
	ok(res && vals[0].len == (size_t) (p - m) - 7 && vals[0].str == m + 6,
	   "100000 nested objects as a column's JSON text");

	/* unbalanced: one bracket short, and a wrong one deep down */
	p = m;
	p += sprintf(p, "{\"skip\": ");
	for (i = 0; i < depth; i++)
		*p++ = '[';
	for (i = 0; i < depth - 1; i++)
		*p++ = ']';
	*p++ = '}';
	one(SV_TYPE_INT4, NULL);
	res = parse_len(m, (size_t) (p - m));
	ok(!res && strstr(perr.reason, "expected ',' or ']'") != NULL,
	   "100000 nested arrays closed by a brace fail");
	diag("%s", perr.reason);
	p = m;
	for (i = 0; i < depth; i++)
		*p++ = '[';
	one(SV_TYPE_INT4, NULL);
	res = parse_len(m, (size_t) (p - m));
	check_reason(res, -1, "invalid JSON at byte 100000: expected a value, found the end of the message",
				 "100000 open arrays");
	free(m);
}

/* Long strings, many members, many columns. */
static void
test_big(void)
{
	size_t		n = 600000;		/* 3.6 MB of escapes: the scratch holds 4 */
	char	   *m = malloc(n * 6 + 100);
	char	   *want = malloc(n * 2 + 1);
	char	   *p;
	size_t		i;
	int			res;

	p = m + sprintf(m, "{\"c\": \"");
	for (i = 0; i < n; i++)
		*p++ = (char) ('a' + i % 26);
	p += sprintf(p, "\"}");
	one(SV_TYPE_TEXT, NULL);
	res = parse_len(m, (size_t) (p - m));
	ok(res && vals[0].len == n && vals[0].str == m + 7, "a 600 kB string in place");

	p = m + sprintf(m, "{\"c\": \"");
	for (i = 0; i < n; i++)
	{
		p += sprintf(p, "\\u00e9");
		want[2 * i] = '\xc3';
		want[2 * i + 1] = '\xa9';
	}
	want[2 * n] = '\0';
	p += sprintf(p, "\"}");
	res = parse_len(m, (size_t) (p - m));
	ok(res && text_is(0, want), "a 3.6 MB string of escapes decodes to 1.2 MB in the scratch buffer");

	/* 3000 top-level members, distinct: no false duplicate; then one */
	p = m + sprintf(m, "{");
	for (i = 0; i < 3000; i++)
		p += sprintf(p, "\"m%zu\": %zu, ", i, i);
	p += sprintf(p, "\"c\": 1}");
	one(SV_TYPE_INT4, NULL);
	res = parse_len(m, (size_t) (p - m));
	ok(res && vals[0].v.i == 1, "3000 distinct members");
	p -= strlen("\"c\": 1}");
	p += sprintf(p, "\"m2999\": 1}");
	res = parse_len(m, (size_t) (p - m));
	ok(!res && perr.field == -1 && strncmp(perr.reason, "duplicate member name \"m2999\" at byte ", 38) == 0,
	   "a duplicate after 3000 members");

	/* 150 columns (more than the parser keeps on its stack) */
	reset();
	{
		static char names[150][8];

		for (i = 0; i < 150; i++)
		{
			snprintf(names[i], sizeof(names[i]), "k%zu", i);
			set_col((int) i, names[i], SV_TYPE_INT4, NULL);
		}
	}
	p = m + sprintf(m, "{");
	for (i = 150; i-- > 0;)
		p += sprintf(p, "\"k%zu\": %zu%s", i, i * 7, i ? ", " : "}");
	res = parse_len(m, (size_t) (p - m));
	{
		int			good = res;

		for (i = 0; i < 150 && good; i++)
			good = !vals[i].isnull && vals[i].v.i == (int64_t) (i * 7);
		ok(good, "150 columns, members in reverse order");
	}
	free(m);
	free(want);
}

/* Hits of the kept plan's shape so far (0 before it is built). */
static uint64_t
shape_hits(void)
{
	return shaped != NULL && !shaped_stale ? sv_json_plan_shape_hits(shaped) : 0;
}

/*
 * Parses msg until the kept plan parses it by its shape, so that the next
 * message is tried with msg's shape.
 */
static void
learn(const char *msg)
{
	uint64_t	h0 = shape_hits();

	for (int i = 0; i < 4096 && shape_hits() == h0; i++)
		parse(msg);
}

/*
 * The learned shape (json_shape_parse): messages that differ from the one
 * learned only in their values are parsed by it, and every other message
 * in full; either way as without a plan (parse_len compares each parse).
 */
static void
test_shape(void)
{
	uint64_t	h0;
	int64_t		base;
	char		msg[256];
	int			i,
				good;

	/* the same members in the same order: every message after the first */
	reset();
	set_col(0, "a", SV_TYPE_INT4, NULL);
	set_col(1, "t", SV_TYPE_TEXT, NULL);
	set_col(2, "at", SV_TYPE_TIMESTAMP, "$.trip.pickup.at");
	parse("{\"a\":0,\"t\":\"x\",\"trip\":{\"pickup\":{\"at\":\"2020-07-01 00:00:00\"}}}");
	base = vals[2].v.i;
	h0 = shape_hits();
	good = 1;
	for (i = 1; i <= 100; i++)
	{
		snprintf(msg, sizeof(msg),
				 "{\"a\":%d,\"t\":\"%.*s\\u00e9\",\"trip\":{\"pickup\":{\"at\":\"2020-07-01 00:%02d:00\"}}}",
				 i * 997, i % 7, "abcdefg", i % 60);
		good &= parse(msg) && vals[0].v.i == i * 997 && vals[1].len == (size_t) (i % 7) + 2 &&
			vals[2].v.i == base + (int64_t) (i % 60) * 60000000;
	}
	ok(good && shape_hits() - h0 == 100,
	   "100 messages of one shape with other values: right values, all by the shape (%llu)",
	   (unsigned long long) (shape_hits() - h0));

	/* a value that turns into an object the path goes into: a miss */
	learn("{\"a\":1,\"t\":\"x\",\"trip\":5}");
	ok(vals[2].isnull, "learned with trip a number: pickup.at is NULL");
	h0 = shape_hits();
	ok(parse("{\"a\":1,\"t\":\"x\",\"trip\":{\"pickup\":{\"at\":\"2020-07-01 00:00:01\"}}}") == 1 &&
	   !vals[2].isnull && vals[2].v.i == base + 1000000,
	   "then trip an object: its pickup.at is read");

	/* a scalar that turns into an object for a text column: its text */
	learn("{\"a\":1,\"t\":\"x\",\"trip\":{}}");
	ok(parse("{\"a\":1,\"t\":{\"x\": [1]},\"trip\":{}}") == 1 && text_is(1, "{\"x\": [1]}"),
	   "a string that turns into an object: the object's text");

	/* the same text around values that are now broken, or a duplicate */
	learn("{\"a\":1,\"t\":\"x\",\"trip\":{}}");
	ok(parse("{\"a\":1x,\"t\":\"x\",\"trip\":{}}") == 0 &&
	   strcmp(perr.reason, "invalid JSON at byte 5: invalid number \"1x\"") == 0,
	   "a broken number where the shape had one: %s", perr.reason);
	learn("{\"a\":1,\"t\":\"x\",\"trip\":{}}");
	ok(parse("{\"a\":1.5,\"t\":\"x\",\"trip\":{}}") == 0 && perr.field == 0 &&
	   strstr(perr.reason, "column \"a\" ($.a): ") == perr.reason,
	   "a value that does not convert: %s", perr.reason);
	learn("{\"a\":1,\"t\":\"x\",\"trip\":{}}");
	ok(parse("{\"a\":1,\"a\":\"x\",\"trip\":{}}") == 0 &&
	   strcmp(perr.reason, "column \"a\" ($.a): duplicate member name \"a\" at byte 7") == 0,
	   "a duplicate where the shape had another name: %s", perr.reason);
	learn("{\"a\":1,\"t\":\"x\",\"trip\":{}}");
	ok(parse("{\"a\":1,\"t\":\"x\",\"trip\":{}} x") == 0 &&
	   strcmp(perr.reason, "invalid JSON at byte 26: expected the end of the message after the object") == 0,
	   "text after the object: %s", perr.reason);

	/* two shapes in turn: all right, and tried less and less often */
	h0 = shape_hits();
	good = 1;
	for (i = 0; i < 2000; i++)
	{
		snprintf(msg, sizeof(msg), "{\"a\":%d,\"t\":\"x\"%s}", i,
				 i % 2 ? ",\"trip\":{}" : "");
		good &= parse(msg) && vals[0].v.i == i;
	}
	ok(good && shape_hits() - h0 == 0,
	   "2000 messages of two shapes in turn: right values, none by a shape");

	/*
	 * a scratch buffer shorter than the message (the full parse also puts
	 * decoded names there): the shape is not tried, the outcome is the
	 * full parse's either way
	 */
	{
		static char small_buf[24];
		SvScratch	small = {small_buf, sizeof(small_buf)};
		const char *a = "{\"\\u0074\":\"\\u0041\"}";
		const char *b = "{\"\\u0074\":\"\\u0041\\u0042\\u0043\\u0044\"}";
		SvValue		v[2];
		SvParseError e0,
					e1;
		int			r0,
					r1;

		reset();
		set_col(0, "t", SV_TYPE_TEXT, NULL);
		sch.scratch = &small;
		sch.json_plan = NULL;
		r0 = sv_parse_message(&sch, b, strlen(b), v, &e0);
		if (shaped == NULL)
			shaped = malloc(sv_json_plan_size(&sch));
		sv_json_plan_build(&sch, shaped);
		sch.json_plan = shaped;
		for (i = 0; i < 3; i++)
			sv_parse_message(&sch, a, strlen(a), v, &e1);
		r1 = sv_parse_message(&sch, b, strlen(b), v, &e1);
		sch.json_plan = NULL;
		sch.scratch = &scratch;
		shaped_stale = 1;
		ok(r0 == 0 && r1 == 0 && strcmp(e0.reason, e1.reason) == 0 &&
		   strcmp(e1.reason, "invalid schema: no room in the scratch buffer for decoded strings") == 0,
		   "scratch shorter than the message: refused with and without a shape: %s", e1.reason);
	}

	/* a member that several columns take: parsed in full, never learned */
	reset();
	set_col(0, "a", SV_TYPE_INT4, NULL);
	set_col(1, "b", SV_TYPE_TEXT, "$.a");
	h0 = shape_hits();
	good = 1;
	for (i = 0; i < 50; i++)
	{
		snprintf(msg, sizeof(msg), "{\"a\":%d}", i);
		good &= parse(msg) && vals[0].v.i == i && vals[1].len == strlen(msg) - 6;
	}
	ok(good && shape_hits() == h0, "a member two columns take: no shape");
}

int
main(void)
{
	test_zoomcamp();
	test_conversions();
	test_paths();
	test_path_compiler();
	test_rejections();
	test_escapes();
	test_whitespace();
	test_deep();
	test_big();
	test_shape();
	ok(shape_parses > 400 && shape_differ == 0,
	   "%ld parses by learned shapes as without a plan: %ld differ",
	   shape_parses, shape_differ);
	ok(plan_built > 200 && plan_differ == 0,
	   "%ld parses with the column lookup built once (sv_json_plan_build) as without it (%ld of them with a plan): %ld differ",
	   plan_parses, plan_built, plan_differ);
	printf("1..%d\n", test_no);
	if (failures)
		diag("%d of %d tests failed", failures, test_no);
	return failures ? 1 : 0;
}
