/*-------------------------------------------------------------------------
 *
 * parse_test.c
 *	  Standalone unit test for src/parse.c, printing TAP.
 *
 * Build and run:
 *	  gcc -std=gnu99 -O2 -Wall -Wextra -Werror -Isrc -o test/parse_test \
 *		  test/parse_test.c src/parse.c src/parse_text.c src/csv.c src/json.c src/json_path.c -lm
 *	  prove -e '' test/parse_test		(or just ./test/parse_test)
 *
 * Expected timestamps were computed by hand and checked with Python's
 * datetime: microseconds since 2000-01-01 00:00:00.
 *
 * test/parse_test.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parse.h"
#include "tap.h"
#include "zoomcamp_schema.h"

#define MAXCOLS 16

/* ---- schemas ---- */


/* A one-column schema of any type, rebuilt by single(). */
static SvColumn one_col;
static SvSchema one = {.ncolumns = 1, .columns = &one_col, .delimiter = "|", .delimiter_len = 1, .null_marker = "\\N", .null_len = 2};

static SvValue vals[MAXCOLS];
static SvParseError perr;

/* Parses text as a single column of the given type (numeric(p,s), varchar(n)) */
static int
single_full(SvType type, int32_t max_chars, int32_t prec, int32_t scale,
			const char *text, size_t len)
{
	one_col.name = "c";
	one_col.type = type;
	one_col.max_chars = max_chars;
	one_col.precision = prec;
	one_col.scale = scale;
	memset(&perr, 0, sizeof(perr));
	perr.field = 12345;
	return sv_parse_message(&one, text, len, vals, &perr);
}

static int
single(SvType type, const char *text)
{
	return single_full(type, -1, -1, -1, text, strlen(text));
}

/* Checks a failure: field number, reason substring, reason hygiene. */
static void
check_fail(int res, int field, const char *needle, const char *what)
{
	int			good = !res && perr.field == field &&
		strstr(perr.reason, needle) != NULL &&
		strlen(perr.reason) < SV_REASON_LEN &&
		valid_utf8(perr.reason);

	ok(good, "%s fails (field %d, \"%s\")", what, field, needle);
	if (!good)
		diag("res=%d field=%d reason=%s", res, perr.field, perr.reason);
}

/* single-column failure: field 0, column "c" named in the reason */
static void
fail1(SvType type, const char *text, const char *needle)
{
	int			res = single(type, text);
	char		what[200];

	snprintf(what, sizeof(what), "\"%.60s\"", text);
	if (!res && strstr(perr.reason, "field 1 \"c\": ") != perr.reason)
	{
		ok(0, "%s reason starts with field 1 \"c\"", what);
		diag("reason=%s", perr.reason);
		return;
	}
	check_fail(res, 0, needle, what);
}

static void
int_ok(SvType type, const char *text, int64_t expect)
{
	int			res = single(type, text);

	ok(res && !vals[0].isnull && vals[0].v.i == expect,
	   "\"%s\" -> %lld", text, (long long) expect);
	if (!res)
		diag("reason=%s", perr.reason);
	else if (vals[0].v.i != expect)
		diag("got %lld", (long long) vals[0].v.i);
}

static void
float8_ok(const char *text, double expect)
{
	int			res = single(SV_TYPE_FLOAT8, text);

	ok(res && (vals[0].v.f == expect ||
			   (isnan(expect) && isnan(vals[0].v.f))) &&
	   signbit(vals[0].v.f) == signbit(expect),
	   "float8 \"%s\" -> %.17g", text, expect);
	if (!res)
		diag("reason=%s", perr.reason);
}

static void
float4_ok(const char *text, float expect)
{
	int			res = single(SV_TYPE_FLOAT4, text);

	ok(res && ((float) vals[0].v.f == expect ||
			   (isnan(expect) && isnan(vals[0].v.f))),
	   "float4 \"%s\" -> %.9g", text, (double) expect);
	if (!res)
		diag("reason=%s", perr.reason);
}

static void
bool_ok(const char *text, int expect)
{
	int			res = single(SV_TYPE_BOOL, text);

	ok(res && vals[0].v.b == (expect != 0), "bool \"%s\" -> %s", text,
	   expect ? "true" : "false");
	if (!res)
		diag("reason=%s", perr.reason);
}

static void
numeric_ok(int32_t p, int32_t s, const char *text)
{
	int			res = single_full(SV_TYPE_NUMERIC, -1, p, s, text, strlen(text));

	ok(res, "numeric(%d,%d) accepts \"%s\"", p, s, text);
	if (!res)
		diag("reason=%s", perr.reason);
}

static void
numeric_fail(int32_t p, int32_t s, const char *text, const char *needle)
{
	int			res = single_full(SV_TYPE_NUMERIC, -1, p, s, text, strlen(text));
	char		what[200];

	snprintf(what, sizeof(what), "numeric(%d,%d) \"%s\"", p, s, text);
	check_fail(res, 0, needle, what);
}

/* local_to_utc for tests: the local zone is UTC+1 all year */
static bool
plus_one_hour(int64_t local_usec, int64_t *utc_usec, void *arg)
{
	(void) arg;
	*utc_usec = local_usec - INT64_C(3600000000);
	return true;
}

static bool
always_fails(int64_t local_usec, int64_t *utc_usec, void *arg)
{
	(void) local_usec;
	(void) utc_usec;
	(void) arg;
	return false;
}

/* ---- test groups ---- */

static void
test_zoomcamp(void)
{
	const char *line = "1, 2020-07-01 00:25:32, 2020-07-01 00:33:39, 1, 1.50, 2, 9.3";
	int			res = sv_parse_message(&zoom, line, strlen(line), vals, &perr);
	int			i,
				inside = 1;

	ok(res, "zoomcamp line parses");
	ok(vals[0].v.i == 1 && vals[3].v.i == 1 && vals[5].v.i == 2,
	   "zoomcamp ints");
	ok(vals[1].v.i == INT64_C(646878332000000),
	   "2020-07-01 00:25:32 = 646878332000000 usec");
	ok(vals[2].v.i == INT64_C(646878819000000),
	   "2020-07-01 00:33:39 = 646878819000000 usec");
	ok((float) vals[4].v.f == 1.5f && (float) vals[6].v.f == 9.3f,
	   "zoomcamp floats 1.50 and 9.3");
	for (i = 0; i < 7; i++)
		if (vals[i].isnull || vals[i].str < line ||
			vals[i].str + vals[i].len > line + strlen(line))
			inside = 0;
	ok(inside, "all str/len point into the message");
	ok(vals[1].len == 19 && memcmp(vals[1].str, "2020-07-01 00:25:32", 19) == 0,
	   "timestamp str/len is the field text");
	ok(vals[4].len == 4 && memcmp(vals[4].str, "1.50", 4) == 0,
	   "float str/len is the field text");

	/* NULL with the default marker (empty field) */
	line = "1, , 2020-07-01 00:33:39, , 1.50, 2, ";
	res = sv_parse_message(&zoom, line, strlen(line), vals, &perr);
	ok(res && vals[1].isnull && vals[3].isnull && vals[6].isnull &&
	   !vals[0].isnull && !vals[2].isnull,
	   "empty fields are NULL with the default marker");
	ok(res && vals[1].str == line + 3 && vals[1].len == 0 &&
	   vals[6].str == line + strlen(line) && vals[6].len == 0,
	   "NULL str is the field start, len the marker length (0)");

	/* field count */
	line = "1, 2020-07-01 00:25:32, 2020-07-01 00:33:39, 1, 1.50, 2";
	res = sv_parse_message(&zoom, line, strlen(line), vals, &perr);
	check_fail(res, -1, "expected 7 fields, found 6", "6 fields");
	line = "1, 2020-07-01 00:25:32, 2020-07-01 00:33:39, 1, 1.50, 2, 9.3, 7";
	res = sv_parse_message(&zoom, line, strlen(line), vals, &perr);
	check_fail(res, -1, "expected 7 fields, found 8", "8 fields");
	line = "1,2020-07-01 00:25:32,2020-07-01 00:33:39,1,1.50,2,9.3";
	res = sv_parse_message(&zoom, line, strlen(line), vals, &perr);
	check_fail(res, -1, "expected 7 fields, found 1", "wrong delimiter");
	res = sv_parse_message(&zoom, "", 0, vals, &perr);
	check_fail(res, -1, "empty message", "empty message");

	/* per-field failures carry the right field and column name */
	line = "1, 2020-07-01 00:25:32, 2020-07-01 00:33:39, x, 1.50, 2, 9.3";
	res = sv_parse_message(&zoom, line, strlen(line), vals, &perr);
	check_fail(res, 3, "field 4 \"passenger_count\": invalid input syntax for type integer: \"x\"",
			   "non-numeric passenger_count");
	line = "99999999999, 2020-07-01 00:25:32, 2020-07-01 00:33:39, 1, 1.50, 2, 9.3";
	res = sv_parse_message(&zoom, line, strlen(line), vals, &perr);
	check_fail(res, 0, "field 1 \"vendor_id\": value \"99999999999\" is out of range for type integer",
			   "vendor_id overflow");
	line = "1, 2020-13-01 00:00:00, 2020-07-01 00:33:39, 1, 1.50, 2, 9.3";
	res = sv_parse_message(&zoom, line, strlen(line), vals, &perr);
	check_fail(res, 1, "field 2 \"tpep_pickup_datetime\": date/time field value out of range: \"2020-13-01 00:00:00\"",
			   "month 13");
	line = "1, 2020-07-01 00:25:32, 2020-07-01 25:00:00, 1, 1.50, 2, 9.3";
	res = sv_parse_message(&zoom, line, strlen(line), vals, &perr);
	check_fail(res, 2, "tpep_dropoff_datetime", "hour 25");
	line = "1, 2020-07-01 00:25:32, 2020-07-01 00:33:39, 1, 1.50, 2, 1e39";
	res = sv_parse_message(&zoom, line, strlen(line), vals, &perr);
	check_fail(res, 6, "field 7 \"total_amount\": \"1e39\" is out of range for type real",
			   "float4 overflow");
	line = "1, now, 2020-07-01 00:33:39, 1, 1.50, 2, 9.3";
	res = sv_parse_message(&zoom, line, strlen(line), vals, &perr);
	check_fail(res, 1, "\"now\" is not an explicit timestamp", "now");

	/* encoding */
	line = "1, 2020-07-01 00:25:32, 2020-07-01 00:33:39, 1, 1.50, 2, 9\xc0\xaf";
	res = sv_parse_message(&zoom, line, strlen(line), vals, &perr);
	check_fail(res, 6, "invalid UTF-8", "overlong / in total_amount");
	ok(strstr(perr.reason, "total_amount") && strstr(perr.reason, "0xc0 0xaf"),
	   "UTF-8 reason names the column and the bytes");
	{
		static const char nul_line[] = "1, 2020-07-01 00:25:32, 2020-07-01 00:33:39, 1\0, 1.50, 2, 9.3";

		res = sv_parse_message(&zoom, nul_line, sizeof(nul_line) - 1, vals, &perr);
		check_fail(res, -1, "NUL byte", "NUL byte inside");
		ok(strstr(perr.reason, "offset 46") != NULL, "NUL reason gives its offset");
	}
}

static void
test_ints(void)
{
	int_ok(SV_TYPE_INT2, "32767", 32767);
	int_ok(SV_TYPE_INT2, "-32768", -32768);
	fail1(SV_TYPE_INT2, "32768", "value \"32768\" is out of range for type smallint");
	fail1(SV_TYPE_INT2, "-32769", "out of range for type smallint");
	int_ok(SV_TYPE_INT4, "2147483647", 2147483647);
	int_ok(SV_TYPE_INT4, "-2147483648", -INT64_C(2147483648));
	fail1(SV_TYPE_INT4, "2147483648", "out of range for type integer");
	fail1(SV_TYPE_INT4, "-2147483649", "out of range for type integer");
	int_ok(SV_TYPE_INT8, "9223372036854775807", INT64_MAX);
	int_ok(SV_TYPE_INT8, "-9223372036854775808", INT64_MIN);
	fail1(SV_TYPE_INT8, "9223372036854775808", "out of range for type bigint");
	fail1(SV_TYPE_INT8, "-9223372036854775809", "out of range for type bigint");
	fail1(SV_TYPE_INT8, "123456789012345678901234567890", "out of range for type bigint");
	int_ok(SV_TYPE_INT8, "0000000000000000000000000000042", 42);
	int_ok(SV_TYPE_INT4, " \t42 ", 42);
	ok(vals[0].len == 2 && memcmp(vals[0].str, "42", 2) == 0,
	   "int str/len is trimmed");
	int_ok(SV_TYPE_INT4, "+7", 7);
	int_ok(SV_TYPE_INT4, "-0", 0);
	fail1(SV_TYPE_INT4, "abc", "invalid input syntax for type integer: \"abc\"");
	fail1(SV_TYPE_INT4, "4 2", "invalid input syntax for type integer");
	fail1(SV_TYPE_INT4, "1.0", "invalid input syntax for type integer");
	fail1(SV_TYPE_INT4, "0x10", "invalid input syntax for type integer");
	fail1(SV_TYPE_INT4, "-", "invalid input syntax for type integer");
	fail1(SV_TYPE_INT4, "   ", "invalid input syntax for type integer");
	fail1(SV_TYPE_INT4, "\xd9\xa1", "invalid input syntax for type integer");	/* Arabic one */
	fail1(SV_TYPE_INT4, "\x01" "5", "\"\\x015\"");
}

static void
test_floats(void)
{
	float8_ok("1.5", 1.5);
	float8_ok("-0.1", -0.1);
	float8_ok(".5", 0.5);
	float8_ok("5.", 5.0);
	float8_ok(" 1e3 ", 1000.0);
	float8_ok("-0", -0.0);
	float8_ok("1e308", 1e308);
	float8_ok("4.9e-324", 4.9e-324);
	float8_ok("2.2250738585072011e-308", strtod("2.2250738585072011e-308", NULL));
	float8_ok("123456789012345678901234567890", 123456789012345678901234567890.0);
	float8_ok("NaN", NAN);
	float8_ok("Infinity", INFINITY);
	float8_ok("-Infinity", -INFINITY);
	float8_ok("inf", INFINITY);
	float8_ok("-INF", -INFINITY);
	fail1(SV_TYPE_FLOAT8, "1e309", "\"1e309\" is out of range for type double precision");
	fail1(SV_TYPE_FLOAT8, "1e-400", "out of range for type double precision");
	fail1(SV_TYPE_FLOAT8, "1.5abc", "invalid input syntax for type double precision");
	fail1(SV_TYPE_FLOAT8, "abc", "invalid input syntax for type double precision");
	fail1(SV_TYPE_FLOAT8, "0x10", "invalid input syntax");
	fail1(SV_TYPE_FLOAT8, "1e", "invalid input syntax");
	fail1(SV_TYPE_FLOAT8, ".", "invalid input syntax");
	fail1(SV_TYPE_FLOAT8, "1.2.3", "invalid input syntax");
	fail1(SV_TYPE_FLOAT8, "infinityx", "invalid input syntax");
	float4_ok("9.3", 9.3f);
	float4_ok("3.4e38", 3.4e38f);
	float4_ok("1e-40", 1e-40f);
	float4_ok("16777217", 16777216.0f);
	fail1(SV_TYPE_FLOAT4, "3.5e38", "\"3.5e38\" is out of range for type real");
	fail1(SV_TYPE_FLOAT4, "1e-46", "out of range for type real");
	fail1(SV_TYPE_FLOAT4, "-1e39", "out of range for type real");
	fail1(SV_TYPE_FLOAT4, "nope", "invalid input syntax for type real");

	/* longer than any stack buffer: as float8in/float4in, no length limit */
	{
		char		longf[1200];
		int			pos = 0;

		longf[pos++] = '0';
		longf[pos++] = '.';
		while (pos < 1000)
		{
			longf[pos] = (char) ('0' + pos % 10);
			pos++;
		}
		longf[pos] = '\0';
		float8_ok(longf, strtod(longf, NULL));
		float4_ok(longf, strtof(longf, NULL));
		strcpy(longf + pos, "e-330");
		fail1(SV_TYPE_FLOAT8, longf, "out of range for type double precision");
		longf[pos] = '\0';
		longf[500] = 'x';
		fail1(SV_TYPE_FLOAT8, longf, "invalid input syntax for type double precision");
	}

	/* the fast path must agree with strtod/strtof bit for bit */
	{
		int			i,
					bad = 0;
		unsigned int seed = 12345;

		for (i = 0; i < 200000 && bad < 5; i++)
		{
			char		buf[64];
			int			nd,
						j,
						pos = 0;
			int			is4 = i & 1;
			double		want;

			seed = seed * 1103515245u + 12345u;
			nd = 1 + (seed >> 16) % 18;
			for (j = 0; j < nd; j++)
			{
				seed = seed * 1103515245u + 12345u;
				buf[pos++] = (char) ('0' + (seed >> 16) % 10);
			}
			seed = seed * 1103515245u + 12345u;
			if ((seed >> 16) % 3)
			{
				/* put a decimal point somewhere */
				int			at = (int) ((seed >> 8) % (unsigned) (nd + 1));

				memmove(buf + at + 1, buf + at, (size_t) (nd - at));
				buf[at] = '.';
				pos++;
			}
			seed = seed * 1103515245u + 12345u;
			if ((seed >> 16) % 2)
				pos += sprintf(buf + pos, "e%d", (int) ((seed >> 4) % 61) - 30);
			buf[pos] = '\0';
			if (strcmp(buf, ".") == 0 || buf[0] == 'e' ||
				(buf[0] == '.' && buf[1] == 'e'))
				continue;
			errno = 0;
			want = is4 ? (double) strtof(buf, NULL) : strtod(buf, NULL);
			if (errno == ERANGE && (want == 0.0 || isinf(want)))
			{
				/* PostgreSQL calls this out of range; so must we */
				if (single(is4 ? SV_TYPE_FLOAT4 : SV_TYPE_FLOAT8, buf))
				{
					bad++;
					diag("accepted out-of-range \"%s\"", buf);
				}
				continue;
			}
			if (!single(is4 ? SV_TYPE_FLOAT4 : SV_TYPE_FLOAT8, buf) ||
				memcmp(&vals[0].v.f, &want, sizeof(double)) != 0)
			{
				bad++;
				diag("mismatch for %s \"%s\": %s", is4 ? "float4" : "float8",
					 buf, perr.reason);
			}
		}
		ok(bad == 0, "200000 random decimals agree with strtod/strtof");
	}
}

static void
test_numeric(void)
{
	numeric_ok(5, 2, "123.45");
	numeric_ok(5, 2, "999.99");
	numeric_ok(5, 2, "-999.994");
	numeric_ok(5, 2, "0.001");
	numeric_ok(5, 2, "-0.005");
	numeric_ok(5, 2, "1e2");
	numeric_ok(5, 2, "12345e-2");
	numeric_ok(5, 2, "0000999.99");
	numeric_ok(5, 2, "NaN");
	numeric_ok(2, -2, "9949");
	numeric_ok(3, 5, "0.00999");
	numeric_fail(5, 2, "999.995", "numeric field overflow");
	numeric_fail(5, 2, "1000", "numeric field overflow");
	numeric_fail(5, 2, "12345", "numeric(5,2)");
	numeric_fail(5, 2, "1e3", "numeric field overflow");
	numeric_fail(5, 2, "-Infinity", "numeric field overflow");
	numeric_fail(2, -2, "9950", "numeric field overflow");
	numeric_fail(3, 5, "0.009995", "numeric field overflow");
	numeric_ok(-1, -1, "Infinity");
	numeric_ok(-1, -1, "-inf");
	numeric_ok(-1, -1, " 12.5 ");
	ok(vals[0].len == 4 && memcmp(vals[0].str, "12.5", 4) == 0,
	   "numeric str/len is trimmed");
	numeric_ok(-1, -1, ".5");
	numeric_ok(-1, -1, "5.");
	numeric_ok(-1, -1, "1e1000");
	numeric_fail(-1, -1, "1e1001", "invalid input syntax for type numeric");
	numeric_fail(-1, -1, "1.2.3", "invalid input syntax for type numeric");
	numeric_fail(-1, -1, ".", "invalid input syntax for type numeric");
	numeric_fail(-1, -1, "1e", "invalid input syntax for type numeric");
	numeric_fail(-1, -1, "+NaN", "invalid input syntax for type numeric");
	numeric_fail(-1, -1, "12abc", "invalid input syntax for type numeric");
}

static void
test_bools(void)
{
	static const char *const yes[] = {"t", "true", "TRUE", "tr", "y", "yes", "Ye",
	"on", "ON", "1", " yes "};
	static const char *const no[] = {"f", "false", "FALSE", "fa", "n", "no",
	"off", "of", "0", "\tf\n"};
	static const char *const bad[] = {"o", "truex", "2", "onn", "nope", "yess",
	"10", "of f"};
	size_t		i;
	int			good = 1;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!single(SV_TYPE_BOOL, yes[i]) || vals[0].v.b != true)
		{
			good = 0;
			diag("true failed for \"%s\": %s", yes[i], perr.reason);
		}
	ok(good, "all spellings of true");
	good = 1;
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (!single(SV_TYPE_BOOL, no[i]) || vals[0].v.b != false)
		{
			good = 0;
			diag("false failed for \"%s\": %s", no[i], perr.reason);
		}
	ok(good, "all spellings of false");
	good = 1;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (single(SV_TYPE_BOOL, bad[i]) || perr.field != 0 ||
			!strstr(perr.reason, "invalid input syntax for type boolean"))
		{
			good = 0;
			diag("bool accepted \"%s\"", bad[i]);
		}
	ok(good, "bad bools (o, truex, 2, onn, ...) fail");
	bool_ok("tru", 1);
	fail1(SV_TYPE_BOOL, "o", "invalid input syntax for type boolean: \"o\"");
}

static void
test_text(void)
{
	int			res;

	res = single_full(SV_TYPE_TEXT, 5, -1, -1, "abcde", 5);
	ok(res && vals[0].len == 5, "varchar(5) takes 5 chars");
	res = single_full(SV_TYPE_TEXT, 5, -1, -1, "abcdef", 6);
	check_fail(res, 0, "value too long for type character varying(5)", "varchar(5) 6 chars");
	res = single_full(SV_TYPE_TEXT, 5, -1, -1, "abcde   ", 8);
	ok(res && vals[0].len == 5, "varchar(5): trailing spaces are cut off");
	res = single_full(SV_TYPE_TEXT, 5, -1, -1, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 10);
	ok(res && vals[0].len == 10, "varchar(5) counts characters, not bytes");
	res = single_full(SV_TYPE_TEXT, 5, -1, -1,
					  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 12);
	check_fail(res, 0, "character varying(5)", "varchar(5) 6 two-byte chars");
	res = single_full(SV_TYPE_TEXT, 5, -1, -1, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9  ", 12);
	ok(res && vals[0].len == 10, "varchar(5) multibyte + spaces cut to 10 bytes");
	res = single_full(SV_TYPE_TEXT, 5, -1, -1, "abcde\t", 6);
	check_fail(res, 0, "character varying(5)", "varchar(5) trailing tab");
	res = single_full(SV_TYPE_TEXT, -1, -1, -1, "  \xf0\x9f\x98\x80 x ", 9);
	ok(res && vals[0].len == 9, "text keeps spaces and 4-byte chars");
	res = single_full(SV_TYPE_TEXT, -1, -1, -1, "", 0);
	check_fail(res, -1, "empty message", "empty message, one column");
}

static void
test_dates(void)
{
	int_ok(SV_TYPE_DATE, "2020-07-01", 7487);
	int_ok(SV_TYPE_DATE, "2000-01-01", 0);
	int_ok(SV_TYPE_DATE, "1999-12-31", -1);
	int_ok(SV_TYPE_DATE, "2000-02-29", 59);
	int_ok(SV_TYPE_DATE, "0001-01-01", -730119);
	int_ok(SV_TYPE_DATE, "9999-12-31", 2921939);
	int_ok(SV_TYPE_DATE, "5874897-12-31", 2145031948);
	fail1(SV_TYPE_DATE, "5874898-01-01", "date out of range");
	fail1(SV_TYPE_DATE, "2021-02-29", "date/time field value out of range: \"2021-02-29\"");
	fail1(SV_TYPE_DATE, "1900-02-29", "date/time field value out of range");
	fail1(SV_TYPE_DATE, "2020-04-31", "date/time field value out of range");
	fail1(SV_TYPE_DATE, "2020-13-01", "date/time field value out of range");
	fail1(SV_TYPE_DATE, "2020-00-10", "date/time field value out of range");
	fail1(SV_TYPE_DATE, "2020-01-00", "date/time field value out of range");
	fail1(SV_TYPE_DATE, "0000-01-01", "date/time field value out of range");
	fail1(SV_TYPE_DATE, "20-01-01", "invalid input syntax for type date");
	fail1(SV_TYPE_DATE, "2020/01/01", "invalid input syntax for type date");
	fail1(SV_TYPE_DATE, "2020-1-01", "invalid input syntax for type date");
	fail1(SV_TYPE_DATE, "2020-01-01 10:00", "invalid input syntax for type date");
	fail1(SV_TYPE_DATE, "today", "\"today\" is not an explicit date");
	fail1(SV_TYPE_DATE, "Tomorrow", "is not an explicit date");
	fail1(SV_TYPE_DATE, "epoch", "is not an explicit date");
	fail1(SV_TYPE_DATE, "infinity", "is not an explicit date");
}

static void
test_timestamps(void)
{
	int			res;
	const char *s;

	int_ok(SV_TYPE_TIMESTAMP, "2020-07-01 00:25:32", INT64_C(646878332000000));
	int_ok(SV_TYPE_TIMESTAMP, "2020-07-01T00:25:32", INT64_C(646878332000000));
	int_ok(SV_TYPE_TIMESTAMP, "2020-07-01 00:25", INT64_C(646878300000000));
	int_ok(SV_TYPE_TIMESTAMP, "2020-07-01", INT64_C(646876800000000));
	int_ok(SV_TYPE_TIMESTAMP, "2000-01-01 00:00:00", 0);
	int_ok(SV_TYPE_TIMESTAMP, "1970-01-01 00:00:00", -INT64_C(946684800000000));
	int_ok(SV_TYPE_TIMESTAMP, "2016-02-29 12:00:00", INT64_C(510062400000000));
	int_ok(SV_TYPE_TIMESTAMP, "2019-12-31 23:59:59.999999", INT64_C(631151999999999));
	int_ok(SV_TYPE_TIMESTAMP, "2000-01-01 00:00:00.5", 500000);
	int_ok(SV_TYPE_TIMESTAMP, "2000-01-01 00:00:00.1234564", 123456);
	int_ok(SV_TYPE_TIMESTAMP, "2000-01-01 00:00:00.9999999", 1000000);
	int_ok(SV_TYPE_TIMESTAMP, "2000-01-01 24:00:00", INT64_C(86400000000));
	int_ok(SV_TYPE_TIMESTAMP, "2000-01-01 23:59:60", INT64_C(86400000000));
	int_ok(SV_TYPE_TIMESTAMP, "2020-07-01 00:25:32+02", INT64_C(646878332000000));
	int_ok(SV_TYPE_TIMESTAMP, " 2020-07-01 00:25:32 Z ", INT64_C(646878332000000));
	int_ok(SV_TYPE_TIMESTAMP, "294276-12-31 23:59:59.999999", INT64_C(9223371331199999999));
	fail1(SV_TYPE_TIMESTAMP, "294277-01-01 00:00:00", "timestamp out of range");
	fail1(SV_TYPE_TIMESTAMP, "300000-01-01", "timestamp out of range");
	fail1(SV_TYPE_TIMESTAMP, "2020-07-01 25:00:00", "date/time field value out of range");
	fail1(SV_TYPE_TIMESTAMP, "2020-07-01 24:00:01", "date/time field value out of range");
	fail1(SV_TYPE_TIMESTAMP, "2020-07-01 12:60:00", "date/time field value out of range");
	fail1(SV_TYPE_TIMESTAMP, "2020-07-01 12:00:61", "date/time field value out of range");
	fail1(SV_TYPE_TIMESTAMP, "2021-02-29 12:00:00", "date/time field value out of range");
	fail1(SV_TYPE_TIMESTAMP, "2020-07-01 1:00:00", "invalid input syntax for type timestamp without time zone");
	fail1(SV_TYPE_TIMESTAMP, "2020-07-01 10:00:00.", "invalid input syntax");
	fail1(SV_TYPE_TIMESTAMP, "2020-07-01 10:00:00 UTC", "invalid input syntax");
	fail1(SV_TYPE_TIMESTAMP, "2020-07-01 10:00:00+16", "time zone displacement out of range");
	fail1(SV_TYPE_TIMESTAMP, "2020-07-01x10:00:00", "invalid input syntax");
	fail1(SV_TYPE_TIMESTAMP, "now", "\"now\" is not an explicit timestamp");
	fail1(SV_TYPE_TIMESTAMP, "today", "\"today\" is not an explicit timestamp");
	fail1(SV_TYPE_TIMESTAMP, "infinity", "\"infinity\" is not an explicit timestamp");
	fail1(SV_TYPE_TIMESTAMP, "-infinity", "is not an explicit timestamp");
	fail1(SV_TYPE_TIMESTAMP, "epoch", "\"epoch\" is not an explicit timestamp");
	fail1(SV_TYPE_TIMESTAMP, "yesterday 10:00", "is not an explicit timestamp");
	fail1(SV_TYPE_TIMESTAMP, "allballs", "is not an explicit timestamp");

	/* timestamptz: offsets applied, local time through the callback */
	int_ok(SV_TYPE_TIMESTAMPTZ, "2020-07-01 00:25:32+02", INT64_C(646871132000000));
	int_ok(SV_TYPE_TIMESTAMPTZ, "2020-07-01 00:25:32-02:30", INT64_C(646887332000000));
	int_ok(SV_TYPE_TIMESTAMPTZ, "2020-07-01 00:25:32 +0230", INT64_C(646869332000000));
	int_ok(SV_TYPE_TIMESTAMPTZ, "2020-07-01T00:25:32Z", INT64_C(646878332000000));
	int_ok(SV_TYPE_TIMESTAMPTZ, "2020-07-01 00:25:32", INT64_C(646878332000000));
	int_ok(SV_TYPE_TIMESTAMPTZ, "294277-01-01 00:30:00+01", INT64_C(9223371329400000000));
	fail1(SV_TYPE_TIMESTAMPTZ, "294276-12-31 23:30:00-01", "timestamp out of range");
	one.local_to_utc = plus_one_hour;
	int_ok(SV_TYPE_TIMESTAMPTZ, "2020-07-01 00:25:32", INT64_C(646874732000000));
	int_ok(SV_TYPE_TIMESTAMPTZ, "2020-07-01 00:25:32Z", INT64_C(646878332000000));
	one.local_to_utc = always_fails;
	s = "2020-07-01 00:25:32";
	res = single(SV_TYPE_TIMESTAMPTZ, s);
	check_fail(res, 0, "cannot convert local time", "local_to_utc returning false");
	one.local_to_utc = NULL;
}

/*
 * Random "YYYY-MM-DD HH:MM:SS" (and "...T...") texts, valid and not, against
 * timegm() as an independent oracle: the fixed-width fast path and the
 * general path must agree with it on which are valid and on the value.
 */
static void
test_random_timestamps(void)
{
	unsigned	seed = 7;
	int			bad = 0;

	for (int i = 0; i < 200000; i++)
	{
		int			f[6];
		char		buf[64];
		struct tm	tm;
		bool		valid;
		int64_t		want;
		static const int lim[6] = {9999, 14, 33, 26, 62, 62};

		for (int j = 0; j < 6; j++)
		{
			seed = seed * 1103515245u + 12345u;
			f[j] = (int) ((seed >> 8) % (unsigned) lim[j]);
		}
		if (i % 3 == 0)
			f[0] = 1990 + f[0] % 40;	/* everyday years too */
		snprintf(buf, sizeof(buf), "%04d-%02d-%02d%c%02d:%02d:%02d", f[0], f[1],
				 f[2], (i & 1) ? ' ' : 'T', f[3], f[4], f[5]);
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = f[0] - 1900;
		tm.tm_mon = f[1] - 1;
		tm.tm_mday = f[2];
		tm.tm_hour = f[3];
		tm.tm_min = f[4];
		tm.tm_sec = f[5];
		want = ((int64_t) timegm(&tm) - INT64_C(946684800)) * INT64_C(1000000);
		/* PostgreSQL's time rules: second 60 and 24:00:00 roll over */
		valid = f[0] >= 1 && f[1] >= 1 && f[1] <= 12 && f[2] >= 1 &&
			f[4] <= 59 && f[5] <= 60 &&
			(f[3] <= 23 || (f[3] == 24 && f[4] == 0 && f[5] == 0));
		if (valid)
		{
			/* check the day against the calendar without the time's roll-over */
			struct tm	d;

			memset(&d, 0, sizeof(d));
			d.tm_year = f[0] - 1900;
			d.tm_mon = f[1] - 1;
			d.tm_mday = f[2];
			d.tm_hour = 12;
			timegm(&d);
			valid = d.tm_mday == f[2] && d.tm_mon == f[1] - 1;
		}
		{
			/* the date part alone, as a date column */
			struct tm	d;
			bool		dvalid;
			int64_t		dwant;

			memset(&d, 0, sizeof(d));
			d.tm_year = f[0] - 1900;
			d.tm_mon = f[1] - 1;
			d.tm_mday = f[2];
			dwant = ((int64_t) timegm(&d) - INT64_C(946684800)) / 86400;
			dvalid = f[0] >= 1 && f[1] >= 1 && f[1] <= 12 && f[2] >= 1 &&
				d.tm_mday == f[2] && d.tm_mon == f[1] - 1;
			buf[10] = '\0';
			if (single(SV_TYPE_DATE, buf) != dvalid || (dvalid && vals[0].v.i != dwant))
			{
				if (bad++ < 5)
					diag("date \"%s\": expected %s %lld", buf,
						 dvalid ? "valid" : "invalid", (long long) dwant);
			}
			buf[10] = (i & 1) ? ' ' : 'T';
		}
		if (single(SV_TYPE_TIMESTAMP, buf) != valid ||
			(valid && vals[0].v.i != want))
		{
			if (bad++ < 5)
				diag("timestamp \"%s\": expected %s %lld, got %s %lld (%s)", buf,
					 valid ? "valid" : "invalid", (long long) want,
					 valid ? "invalid" : "valid", (long long) vals[0].v.i, perr.reason);
		}
	}
	ok(bad == 0, "200000 random timestamps and dates agree with timegm()");
}

static void
test_nulls_and_delimiters(void)
{
	static const SvColumn cols[] = {
		{"a", SV_TYPE_TEXT, -1, -1, -1},
		{"b", SV_TYPE_INT4, -1, -1, -1},
		{"c", SV_TYPE_TEXT, -1, -1, -1},
	};
	SvSchema	sch = {.ncolumns = 3, .columns = cols, .delimiter = "\xe2\x86\x92", .delimiter_len = 3, .null_marker = "\\N", .null_len = 2};
	const char *m;
	int			res;

	m = "x\xe2\x86\x92" "42\xe2\x86\x92\xc3\xa9t\xc3\xa9";
	res = sv_parse_message(&sch, m, strlen(m), vals, &perr);
	ok(res && vals[0].len == 1 && vals[1].v.i == 42 && vals[2].len == 5,
	   "three-byte delimiter splits fields");
	m = "\\N\xe2\x86\x92\\N\xe2\x86\x92";
	res = sv_parse_message(&sch, m, strlen(m), vals, &perr);
	ok(res && vals[0].isnull && vals[1].isnull && !vals[2].isnull &&
	   vals[2].len == 0,
	   "custom null marker \\N; empty text is not NULL");
	ok(res && vals[0].str == m && vals[0].len == 2,
	   "NULL str/len is the raw marker");
	m = "x\xe2\x86\x92\xe2\x86\x92y";
	res = sv_parse_message(&sch, m, strlen(m), vals, &perr);
	check_fail(res, 1, "field 2 \"b\": invalid input syntax for type integer: \"\"",
			   "empty int with a non-empty null marker");
	m = "x\xe2\x86\x92\\n\xe2\x86\x92y";
	res = sv_parse_message(&sch, m, strlen(m), vals, &perr);
	check_fail(res, 1, "invalid input syntax for type integer", "null marker is case-sensitive");
	m = "x\xe2\x86\x92" "1\xe2\x86";	/* half a delimiter at the end */
	res = sv_parse_message(&sch, m, strlen(m), vals, &perr);
	check_fail(res, 1, "invalid UTF-8", "truncated sequence at the end");

	{
		static const SvColumn c2[] = {
			{"a", SV_TYPE_INT4, -1, -1, -1},
			{"b", SV_TYPE_INT4, -1, -1, -1},
		};
		SvSchema	s2 = {.ncolumns = 2, .columns = c2, .delimiter = ", ", .delimiter_len = 2, .null_marker = "", .null_len = 0};

		m = "1,2, 3";
		res = sv_parse_message(&s2, m, strlen(m), vals, &perr);
		check_fail(res, 0, "\"1,2\"", "partial delimiter stays in the field");
		m = "1, 2, ";
		res = sv_parse_message(&s2, m, strlen(m), vals, &perr);
		check_fail(res, -1, "expected 2 fields, found 3", "trailing delimiter adds a field");
		s2.delimiter_len = 0;
		res = sv_parse_message(&s2, "1", 1, vals, &perr);
		check_fail(res, -1, "empty delimiter", "empty delimiter in schema");
	}
}

static void
test_encoding(void)
{
	static const struct
	{
		const char *bytes;
		const char *what;
	}			bad[] = {
		{"ab\xc0\xaf", "overlong 2-byte /"},
		{"ab\xe0\x80\xaf", "overlong 3-byte /"},
		{"ab\xf0\x80\x80\xaf", "overlong 4-byte /"},
		{"ab\x80", "lone continuation byte"},
		{"ab\xe2\x82", "truncated 3-byte sequence"},
		{"ab\xe2\x82x", "3-byte sequence cut by ASCII"},
		{"ab\xed\xa0\x80", "surrogate U+D800"},
		{"ab\xed\xbf\xbf", "surrogate U+DFFF"},
		{"ab\xf4\x90\x80\x80", "above U+10FFFF"},
		{"ab\xff", "0xFF byte"},
		{"ab\xc1\x81", "C1 lead byte"},
		{"abcdefghijklmnop\xf5\x80\x80\x80", "F5 lead byte after 16 ASCII"},
	};
	size_t		i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		int			res = single_full(SV_TYPE_TEXT, -1, -1, -1, bad[i].bytes,
									  strlen(bad[i].bytes));

		check_fail(res, 0, "invalid UTF-8", bad[i].what);
	}
	{
		const char *good = "\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80"
			"\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf plain ascii tail";

		ok(single_full(SV_TYPE_TEXT, -1, -1, -1, good, strlen(good)),
		   "boundary code points are valid UTF-8");
	}
	{
		static const char nul[] = "abcdefghijklmnopqrstuvwxyz\0tail";

		check_fail(single_full(SV_TYPE_TEXT, -1, -1, -1, nul, sizeof(nul) - 1),
				   -1, "NUL byte (0x00) at byte offset 26", "NUL after 26 ASCII bytes");
	}
	{
		/* garbage: pseudo-random bytes must fail cleanly, never crash */
		unsigned char buf[512];
		unsigned int seed = 42;
		int			round,
					clean = 1;

		for (round = 0; round < 2000; round++)
		{
			size_t		n = 1 + (size_t) (round % 500),
						j;

			for (j = 0; j < n; j++)
			{
				seed = seed * 1103515245u + 12345u;
				buf[j] = (unsigned char) (seed >> 16);
			}
			if (!sv_parse_message(&zoom, (const char *) buf, n, vals, &perr))
			{
				if (strlen(perr.reason) >= SV_REASON_LEN || !valid_utf8(perr.reason) ||
					perr.field < -1 || perr.field >= 7)
					clean = 0;
			}
			else
				clean = 0;		/* random bytes cannot be a zoomcamp line */
		}
		ok(clean, "2000 garbage messages fail with sane reasons");
	}
}

static void
test_long_and_weird(void)
{
	size_t		n = 100000;
	char	   *big = malloc(140000);
	int			res;

	memset(big, 'x', n);
	res = single_full(SV_TYPE_TEXT, -1, -1, -1, big, n);
	ok(res && vals[0].len == n, "100000-byte text field");
	res = single_full(SV_TYPE_TEXT, 10, -1, -1, big, n);
	check_fail(res, 0, "...\"", "long varchar value is cut in the reason");
	memset(big, '7', 140000);
	res = single_full(SV_TYPE_INT8, -1, -1, -1, big, n);
	check_fail(res, 0, "out of range for type bigint", "100000-digit int");
	res = single_full(SV_TYPE_FLOAT8, -1, -1, -1, big, n);
	check_fail(res, 0, "out of range for type double precision", "100000-digit float (as float8in)");
	res = single_full(SV_TYPE_NUMERIC, -1, -1, -1, big, 131072);
	ok(res, "131072-digit numeric");
	res = single_full(SV_TYPE_NUMERIC, -1, -1, -1, big, 131073);
	check_fail(res, 0, "value overflows numeric format", "131073-digit numeric");
	res = single_full(SV_TYPE_TIMESTAMP, -1, -1, -1, big, n);
	check_fail(res, 0, "timestamp", "100000-digit timestamp");

	/* a reason must never end in a broken character */
	for (n = 0; n < 80; n++)
	{
		big[2 * n] = '\xc3';
		big[2 * n + 1] = '\xa9';
	}
	res = single_full(SV_TYPE_INT4, -1, -1, -1, big, 160);
	check_fail(res, 0, "integer", "multibyte garbage int");
	ok(strstr(perr.reason, "\xc3\xa9...\"") != NULL,
	   "reason cuts the value on a character boundary");
	free(big);

	{
		static char longname[300];
		static SvColumn lc[1];
		SvSchema	ls = {.ncolumns = 1, .columns = lc, .delimiter = ",", .delimiter_len = 1, .null_marker = "", .null_len = 0};
		int			i;

		for (i = 0; i < 299; i++)
			longname[i] = (i % 2) ? '\xa9' : '\xc3';
		longname[299] = '\0';	/* ends with a dangling lead byte */
		lc[0].name = longname;
		lc[0].type = SV_TYPE_INT2;
		lc[0].max_chars = lc[0].precision = lc[0].scale = -1;
		res = sv_parse_message(&ls, "99999999", 8, vals, &perr);
		check_fail(res, 0, "smallint", "very long column name");
	}

	/* sv_parse_field directly */
	{
		SvValue		v;

		res = sv_parse_field(&zoom, 1, "2020-07-01 00:25:32", 19, &v, &perr);
		ok(res && v.v.i == INT64_C(646878332000000), "sv_parse_field timestamp");
		res = sv_parse_field(&zoom, 4, "1\xc0", 2, &v, &perr);
		check_fail(res, 4, "invalid UTF-8", "sv_parse_field bad UTF-8");
		res = sv_parse_field(&zoom, 7, "1", 1, &v, &perr);
		check_fail(res, -1, "out of range", "sv_parse_field bad field number");
		res = sv_parse_field(&zoom, 0, "", 0, &v, &perr);
		ok(res && v.isnull, "sv_parse_field empty field is NULL");
	}
}

int
main(void)
{
	test_zoomcamp();
	test_ints();
	test_floats();
	test_numeric();
	test_bools();
	test_text();
	test_dates();
	test_timestamps();
	test_random_timestamps();
	test_nulls_and_delimiters();
	test_encoding();
	test_long_and_weird();
	printf("1..%d\n", test_no);
	if (failures)
		diag("%d of %d tests failed", failures, test_no);
	return failures ? 1 : 0;
}
