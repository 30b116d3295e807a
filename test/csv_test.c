/*-------------------------------------------------------------------------
 *
 * csv_test.c
 *	  Standalone unit test for src/csv.c (format => 'csv'), printing TAP;
 *	  with --bench, a throughput comparison with the delimited format.
 *
 * Build and run:
 *	  make test/csv_test
 *	  prove -e '' test/csv_test		(or just ./test/csv_test)
 *	  ./test/csv_test --bench [count]
 *
 * The "COPY" table below holds lines whose outcome under PostgreSQL 15's
 * COPY t FROM STDIN (FORMAT csv) was taken from a real server (15.20): a
 * throwaway cluster, a table of the columns shown, the line fed as the
 * whole COPY data, the rows printed with to_json(column::text).  Each line
 * here is parsed by sv_parse_csv and rendered the same way; where csv.c is
 * stricter than COPY on purpose, the table gives our reason instead.
 *
 * test/csv_test.c
 *
 *-------------------------------------------------------------------------
 */
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

static char scratch_buf[1 << 18];
static SvScratch scratch = {scratch_buf, sizeof(scratch_buf)};

static const SvColumn text2_cols[] = {
	{"a", SV_TYPE_TEXT, -1, -1, -1},
	{"b", SV_TYPE_TEXT, -1, -1, -1},
};
static const SvColumn text1_cols[] = {
	{"a", SV_TYPE_TEXT, -1, -1, -1},
};
static const SvColumn int2_cols[] = {
	{"a", SV_TYPE_INT4, -1, -1, -1},
	{"b", SV_TYPE_INT4, -1, -1, -1},
};
static const SvColumn real2_cols[] = {
	{"a", SV_TYPE_FLOAT4, -1, -1, -1},
	{"b", SV_TYPE_FLOAT4, -1, -1, -1},
};
static const SvColumn int_ts_cols[] = {
	{"a", SV_TYPE_INT4, -1, -1, -1},
	{"b", SV_TYPE_TIMESTAMP, -1, -1, -1},
};
static const SvColumn vc3_text_cols[] = {
	{"a", SV_TYPE_TEXT, 3, -1, -1},
	{"b", SV_TYPE_TEXT, -1, -1, -1},
};

/* A csv schema of the given columns, delimiter and null marker. */
static SvSchema
csv_schema(const SvColumn *cols, int ncols, const char *delim, const char *null_marker)
{
	SvSchema	s = {.ncolumns = ncols, .columns = cols, .format = SV_FORMAT_CSV,
		.delimiter = delim, .delimiter_len = strlen(delim),
		.null_marker = null_marker, .null_len = strlen(null_marker),
	.scratch = &scratch};

	return s;
}

/* The zoomcamp schema as csv, delimiter ",". */
static SvSchema
zoom_csv(void)
{
	SvSchema	s = zoom;

	s.format = SV_FORMAT_CSV;
	s.delimiter = ",";
	s.delimiter_len = 1;
	s.scratch = &scratch;
	return s;
}

static SvValue vals[MAXCOLS];
static SvParseError perr;

/* Parses data[0..len) by schema, with err and values filled with junk. */
static int
parse(const SvSchema *schema, const char *data, size_t len)
{
	memset(&perr, 0x5a, sizeof(perr));
	perr.reason[SV_REASON_LEN - 1] = '\0';
	memset(vals, 0x5a, sizeof(vals));
	return sv_parse_message(schema, data, len, vals, &perr);
}

/* Checks a failure: field number and the exact reason, reason hygiene. */
static void
fail_exact(int res, int field, const char *reason, const char *what)
{
	int			good = !res && perr.field == field &&
		strcmp(perr.reason, reason) == 0 && valid_utf8(perr.reason);

	ok(good, "%s fails: field %d, %s", what, field, reason);
	if (!good)
		diag("res=%d field=%d reason=%s", res, res ? 0 : perr.field,
			 res ? "" : perr.reason);
}

/*
 * Appends s[0..len) as a JSON string, as PostgreSQL's to_json(text)
 * writes it: \" \\ \b \f \n \r \t, other control characters \u00XX.
 */
static void
json_string(char *out, size_t cap, const char *s, size_t len)
{
	size_t		n = strlen(out);
	size_t		i;

	if (n + 1 < cap)
		out[n++] = '"';
	for (i = 0; i < len && n + 8 < cap; i++)
	{
		unsigned char c = (unsigned char) s[i];

		switch (c)
		{
			case '"':
				n += (size_t) sprintf(out + n, "\\\"");
				break;
			case '\\':
				n += (size_t) sprintf(out + n, "\\\\");
				break;
			case '\b':
				n += (size_t) sprintf(out + n, "\\b");
				break;
			case '\f':
				n += (size_t) sprintf(out + n, "\\f");
				break;
			case '\n':
				n += (size_t) sprintf(out + n, "\\n");
				break;
			case '\r':
				n += (size_t) sprintf(out + n, "\\r");
				break;
			case '\t':
				n += (size_t) sprintf(out + n, "\\t");
				break;
			default:
				if (c < 0x20)
					n += (size_t) sprintf(out + n, "\\u%04x", c);
				else
					out[n++] = (char) c;
		}
	}
	if (n + 1 < cap)
		out[n++] = '"';
	out[n] = '\0';
}

/*
 * Renders the parsed values as the COPY checks printed a row: each column's
 * to_json(value::text) or NULL, joined by " | ".  Text is the value's
 * bytes; integers and floats are rendered from the parsed number (%g for
 * floats, which matches real's output for these values), timestamps from
 * the trimmed text.
 */
static void
render(const SvSchema *schema, char *out, size_t cap)
{
	int			i;

	out[0] = '\0';
	for (i = 0; i < schema->ncolumns; i++)
	{
		const SvValue *v = &vals[i];
		char		num[64];

		if (i > 0)
			strncat(out, " | ", cap - strlen(out) - 1);
		if (v->isnull)
		{
			strncat(out, "NULL", cap - strlen(out) - 1);
			continue;
		}
		switch (schema->columns[i].type)
		{
			case SV_TYPE_INT2:
			case SV_TYPE_INT4:
			case SV_TYPE_INT8:
				snprintf(num, sizeof(num), "%lld", (long long) v->v.i);
				json_string(out, cap, num, strlen(num));
				break;
			case SV_TYPE_FLOAT4:
			case SV_TYPE_FLOAT8:
				snprintf(num, sizeof(num), "%g", v->v.f);
				json_string(out, cap, num, strlen(num));
				break;
			default:
				json_string(out, cap, v->str, v->len);
				break;
		}
	}
}


/* ---- what COPY makes of tricky lines, and what we make of them ---- */

enum
{
	S_TEXT2,					/* a text, b text; ',' ; null "" */
	S_TEXT2_NULLWORD,			/* the same, NULL 'NULL' */
	S_TEXT2_BSN,				/* the same, NULL '\N' */
	S_TEXT2_SEMI,				/* the same, DELIMITER ';' */
	S_TEXT2_TAB,				/* the same, DELIMITER E'\t' */
	S_TEXT1,					/* a text */
	S_INT2,						/* a int, b int */
	S_REAL2,					/* a real, b real */
	S_INT_TS,					/* a int, b timestamp */
	S_VC3_TEXT					/* a varchar(3), b text */
};

typedef struct CopyCase
{
	const char *what;
	int			schema;
	const char *line;
	size_t		len;
	const char *copy;			/* COPY's rows, or ERROR: its message */
	int			field;			/* ours, when we refuse: err->field */
	const char *ours;			/* NULL: we read what COPY reads; else our
								 * reason */
} CopyCase;

#define L(s) s, sizeof(s) - 1

static const CopyCase copy_cases[] = {
	{"doubled quotes", S_TEXT2, L("\"a\"\"b\",c"), "\"a\\\"b\" | \"c\"", 0, NULL},
	{"delimiter inside quotes", S_TEXT2, L("\"a,b\",c"), "\"a,b\" | \"c\"", 0, NULL},
	{"LF and CRLF inside quotes", S_TEXT2, L("\"a\nb\",\"c\r\nd\""), "\"a\\nb\" | \"c\\r\\nd\"", 0, NULL},
	{"empty unquoted vs quoted", S_TEXT2, L(",\"\""), "NULL | \"\"", 0, NULL},
	{"quoted empty, then empty", S_TEXT2, L("\"\","), "\"\" | NULL", 0, NULL},
	{"NULL 'NULL': unquoted vs quoted", S_TEXT2_NULLWORD, L("NULL,\"NULL\""), "NULL | \"NULL\"", 0, NULL},
	{"NULL 'NULL': empty fields are text", S_TEXT2_NULLWORD, L(",\"\""), "\"\" | \"\"", 0, NULL},
	{"NULL '\\N': unquoted vs quoted", S_TEXT2_BSN, L("\\N,\"\\N\""), "NULL | \"\\\\N\"", 0, NULL},
	{"quote inside an unquoted field opens a quoted part", S_TEXT2, L("ab\"c,d\"e,f"), "\"abc,de\" | \"f\"", 0, NULL},
	{"space before the opening quote", S_TEXT2, L(" \"ab\",c"), "\" ab\" | \"c\"", 0, NULL},
	{"two quoted parts with doubled quotes", S_TEXT2, L("\"a\"\",\"\"b\",c"), "\"a\\\",\\\"b\" | \"c\"", 0, NULL},
	{"a lone quote", S_TEXT2, L("\"\"\"\",x"), "\"\\\"\" | \"x\"", 0, NULL},
	{"spaces are data", S_TEXT2, L(" a , b "), "\" a \" | \" b \"", 0, NULL},
	{"backslash is data", S_TEXT2, L("a\\b,c"), "\"a\\\\b\" | \"c\"", 0, NULL},
	{"LF inside quotes at the end", S_TEXT2, L("a,\"b\n\""), "\"a\" | \"b\\n\"", 0, NULL},
	{"trailing LF", S_TEXT2, L("a,b\n"), "\"a\" | \"b\"", 0, NULL},
	{"trailing CRLF", S_TEXT2, L("a,b\r\n"), "\"a\" | \"b\"", 0, NULL},
	{"trailing CR", S_TEXT2, L("a,b\r"), "\"a\" | \"b\"", 0, NULL},
	{"semicolon delimiter", S_TEXT2_SEMI, L("a;\"b;c\""), "\"a\" | \"b;c\"", 0, NULL},
	{"tab delimiter", S_TEXT2_TAB, L("a\t\"b\tc\""), "\"a\" | \"b\\tc\"", 0, NULL},
	{"multibyte UTF-8 in and out of quotes", S_TEXT2, L("\"\xc3\xa9,\xc3\xbc\",\xc3\xb1"), "\"\xc3\xa9,\xc3\xbc\" | \"\xc3\xb1\"", 0, NULL},
	{"ints with spaces", S_INT2, L(" 1 ,  -2 "), "\"1\" | \"-2\"", 0, NULL},
	{"ints quoted with spaces", S_INT2, L("\" 1 \",\"2\""), "\"1\" | \"2\"", 0, NULL},
	{"int empty unquoted is NULL", S_INT2, L(",2"), "NULL | \"2\"", 0, NULL},
	{"reals quoted with spaces", S_REAL2, L("\" 1.50\",\"9.3 \""), "\"1.5\" | \"9.3\"", 0, NULL},
	{"zoomcamp fields quoted", S_INT_TS, L("\"1\",\"2020-07-01 00:25:32\""), "\"1\" | \"2020-07-01 00:25:32\"", 0, NULL},
	{"zoomcamp ', ' with a quoted timestamp", S_INT_TS, L("1, \"2020-07-01 00:25:32\""), "\"1\" | \"2020-07-01 00:25:32\"", 0, NULL},
	{"zoomcamp ', ' with a quoted text", S_TEXT2, L("1, \"2020-07-01 00:25:32\""), "\"1\" | \" 2020-07-01 00:25:32\"", 0, NULL},
	{"varchar(3) quoted with trailing spaces", S_VC3_TEXT, L("\"abc   \",x"), "\"abc\" | \"x\"", 0, NULL},
	{"backslash-dot without a line break", S_TEXT1, L("\\."), "\"\\\\.\"", 0, NULL},

	/* both refuse */
	{"unterminated quoted field", S_TEXT2, L("a,\"bc"), "ERROR: unterminated CSV quoted field",
	1, "field 2 \"b\": unterminated quoted field (opened at byte offset 2)"},
	{"unterminated quote inside an unquoted field", S_TEXT2, L("ab\"cd,e"), "ERROR: unterminated CSV quoted field",
	0, "field 1 \"a\": unterminated quoted field (opened at byte offset 2)"},
	{"unquoted LF", S_TEXT2, L("a\nb,c"), "ERROR: missing data for column \"b\" (the LF ends the row)",
	0, "field 1 \"a\": unquoted newline at byte offset 1 (quote a field that holds a line break)"},
	{"unquoted CR", S_TEXT2, L("a\rb,c"), "ERROR: missing data for column \"b\" (the CR ends the row)",
	0, "field 1 \"a\": unquoted carriage return at byte offset 1 (quote a field that holds a line break)"},
	{"two trailing LFs", S_TEXT2, L("a,b\n\n"), "ERROR: missing data for column \"b\" (line 2 is empty)",
	1, "field 2 \"b\": unquoted newline at byte offset 3 (quote a field that holds a line break)"},
	{"too few fields", S_TEXT2, L("a"), "ERROR: missing data for column \"b\"",
	-1, "expected 2 fields, found 1"},
	{"too many fields", S_TEXT2, L("a,b,c"), "ERROR: extra data after last expected column",
	-1, "expected 2 fields, found 3"},
	{"int quoted empty", S_INT2, L("\"\",2"), "ERROR: invalid input syntax for type integer: \"\"",
	0, "field 1 \"a\": invalid input syntax for type integer: \"\""},

	/* Stricter than PostgreSQL: COPY reads these */
	{"data after the closing quote", S_TEXT2, L("\"ab\"cd,e"), "\"abcd\" | \"e\"",
	0, "field 1 \"a\": extra data after the closing quote at byte offset 4 (double a quote inside a quoted field)"},
	{"space after the closing quote", S_TEXT2, L("\"ab\" ,c"), "\"ab \" | \"c\"",
	0, "field 1 \"a\": extra data after the closing quote at byte offset 4 (double a quote inside a quoted field)"},
	{"an undoubled quote inside quotes", S_TEXT2, L("x,\"say \"hi\"\""), "\"x\" | \"say hi\"",
	1, "field 2 \"b\": extra data after the closing quote at byte offset 8 (double a quote inside a quoted field)"},
	{"only a line break, one column", S_TEXT1, L("\n"), "NULL",
	-1, "empty message"},
	{"backslash-dot with a line break, one column", S_TEXT1, L("\\.\n"), "(no row: the end-of-data marker)",
	0, NULL},
};

/* The schema a CopyCase names. */
static SvSchema
copy_case_schema(int which)
{
	switch (which)
	{
		case S_TEXT2_NULLWORD:
			return csv_schema(text2_cols, 2, ",", "NULL");
		case S_TEXT2_BSN:
			return csv_schema(text2_cols, 2, ",", "\\N");
		case S_TEXT2_SEMI:
			return csv_schema(text2_cols, 2, ";", "");
		case S_TEXT2_TAB:
			return csv_schema(text2_cols, 2, "\t", "");
		case S_TEXT1:
			return csv_schema(text1_cols, 1, ",", "");
		case S_INT2:
			return csv_schema(int2_cols, 2, ",", "");
		case S_REAL2:
			return csv_schema(real2_cols, 2, ",", "");
		case S_INT_TS:
			return csv_schema(int_ts_cols, 2, ",", "");
		case S_VC3_TEXT:
			return csv_schema(vc3_text_cols, 2, ",", "");
		default:
			return csv_schema(text2_cols, 2, ",", "");
	}
}

static void
test_copy_cases(void)
{
	size_t		i;

	for (i = 0; i < sizeof(copy_cases) / sizeof(copy_cases[0]); i++)
	{
		const CopyCase *c = &copy_cases[i];
		SvSchema	s = copy_case_schema(c->schema);
		int			res = parse(&s, c->line, c->len);
		char		got[512];

		if (c->ours != NULL)
		{
			fail_exact(res, c->field, c->ours, c->what);
			continue;
		}
		if (!res)
		{
			ok(0, "%s: as COPY, %s", c->what, c->copy);
			diag("failed: field %d, %s", perr.field, perr.reason);
			continue;
		}
		render(&s, got, sizeof(got));
		if (c->copy[0] == '(')
		{
			/* we read a row where COPY reads none: the value is data */
			ok(strcmp(got, "\"\\\\.\"") == 0, "%s: one row, %s (COPY: %s)",
			   c->what, got, c->copy);
			continue;
		}
		ok(strcmp(got, c->copy) == 0, "%s: %s as COPY", c->what, c->copy);
		if (strcmp(got, c->copy) != 0)
			diag("got %s", got);
	}
}


/* ---- the zoomcamp rides ---- */

static const char *const rides[] = {
	"1, 2020-07-01 00:25:32, 2020-07-01 00:33:39, 1, 1.50, 2, 9.3",
	"2, 2020-07-01 00:55:23, 2020-07-01 01:01:10, 1, 0.85, 2, 8.3",
	"2, 2020-07-01 00:17:53, 2020-07-01 00:26:41, 1, 2.07, 1, 15.36",
	"1, 2020-07-01 00:52:09, 2020-07-01 01:19:42, 3, 11.80, 1, 47.41",
	"2, 2020-07-01 00:04:43, 2020-07-01 00:12:25, 2, 1.74, 2, 10.3",
	"1, 2020-07-01 00:44:25, 2020-07-01 00:50:12, 1, 1.20, 1, 11.15",
	"2, 2020-07-01 00:30:16, 2020-07-01 00:40:57, 1, 3.51, 2, 14.3",
	"1, 2020-07-01 00:21:50, 2020-07-01 00:27:16, 0, 0.90, 1, 9.95",
};

#define NRIDES ((int) (sizeof(rides) / sizeof(rides[0])))

/*
 * Rewrites a ride "f1, f2, ..." as CSV: style 0 plain (f1,f2,...), 1 fully
 * quoted ("f1","f2",...), 2 only the timestamps quoted, 3 the delimited
 * text itself (", " read with delimiter ',': the spaces stay in the
 * fields).
 */
static size_t
ride_as_csv(const char *ride, int style, char *out)
{
	size_t		n = 0;
	int			field = 0;
	const char *p = ride;

	if (style == 3)
	{
		strcpy(out, ride);
		return strlen(out);
	}
	for (;;)
	{
		const char *e = strstr(p, ", ");
		size_t		flen = e ? (size_t) (e - p) : strlen(p);
		int			q = style == 1 || (style == 2 && (field == 1 || field == 2));

		if (q)
			out[n++] = '"';
		memcpy(out + n, p, flen);
		n += flen;
		if (q)
			out[n++] = '"';
		if (e == NULL)
			break;
		out[n++] = ',';
		p = e + 2;
		field++;
	}
	out[n] = '\0';
	return n;
}

static void
test_zoomcamp(void)
{
	SvSchema	csv = zoom_csv();
	SvValue		ref[NZOOM];
	SvParseError rerr;
	int			k,
				style;
	char		line[256];

	for (style = 0; style < 4; style++)
	{
		int			same = 1,
					inside = 1,
					all_ok = 1;

		for (k = 0; k < NRIDES; k++)
		{
			size_t		n = ride_as_csv(rides[k], style, line);
			int			i;

			if (!sv_parse_message(&zoom, rides[k], strlen(rides[k]), ref, &rerr) ||
				!parse(&csv, line, n))
			{
				all_ok = 0;
				diag("%s: %s", line, perr.reason);
				continue;
			}
			for (i = 0; i < NZOOM; i++)
			{
				if (vals[i].isnull != ref[i].isnull ||
					memcmp(&vals[i].v, &ref[i].v, sizeof(ref[i].v)) != 0 ||
					vals[i].len != ref[i].len ||
					memcmp(vals[i].str, ref[i].str, ref[i].len) != 0)
					same = 0;
				if (vals[i].str < line || vals[i].str + vals[i].len > line + n)
					inside = 0;
			}
		}
		ok(all_ok, "zoomcamp rides as csv style %d parse", style);
		ok(same, "style %d: every value (and its text) as the delimited parser's", style);
		ok(inside, "style %d: every str/len is a slice of the message", style);
	}

	/* exact values of the first ride, fully quoted */
	ride_as_csv(rides[0], 1, line);
	ok(strcmp(line, "\"1\",\"2020-07-01 00:25:32\",\"2020-07-01 00:33:39\",\"1\",\"1.50\",\"2\",\"9.3\"") == 0,
	   "fully quoted ride text");
	ok(parse(&csv, line, strlen(line)) && vals[0].v.i == 1 &&
	   vals[1].v.i == INT64_C(646878332000000) &&
	   vals[2].v.i == INT64_C(646878819000000) && vals[3].v.i == 1 &&
	   (float) vals[4].v.f == 1.5f && vals[5].v.i == 2 &&
	   (float) vals[6].v.f == 9.3f, "fully quoted ride: exact values");
	ok(vals[1].str == line + 5 && vals[1].len == 19,
	   "a quoted timestamp's str/len is the text inside its quotes");

	/* NULLs: empty unquoted fields; a quoted empty int is an error */
	strcpy(line, "1,,2020-07-01 00:33:39,,1.50,2,");
	ok(parse(&csv, line, strlen(line)) && vals[1].isnull && vals[3].isnull &&
	   vals[6].isnull && !vals[0].isnull && !vals[2].isnull,
	   "empty unquoted fields are NULL");
	ok(vals[1].str == line + 2 && vals[1].len == 0 &&
	   vals[6].str == line + strlen(line) && vals[6].len == 0,
	   "NULL str is the field start, len 0");
	strcpy(line, "1,\"\",2020-07-01 00:33:39,1,1.50,2,9.3");
	fail_exact(parse(&csv, line, strlen(line)), 1,
			   "field 2 \"tpep_pickup_datetime\": invalid input syntax for type timestamp without time zone: \"\"",
			   "quoted empty timestamp (not NULL)");

	/* the field count, worded as the delimited format's */
	strcpy(line, "1,2020-07-01 00:25:32");
	fail_exact(parse(&csv, line, strlen(line)), -1, "expected 7 fields, found 2", "2 fields");
	strcpy(line, "1,\"2,3\",2020-07-01 00:33:39,1,1.50,2,9.3,\"x,y\"");
	fail_exact(parse(&csv, line, strlen(line)), -1, "expected 7 fields, found 8",
			   "8 fields, delimiters in quotes not counted");
	{
		const char *d = "1, 2020-07-01 00:25:32";

		sv_parse_message(&zoom, d, strlen(d), ref, &rerr);
		ok(strcmp(rerr.reason, "expected 7 fields, found 2") == 0,
		   "the delimited format says the same: %s", rerr.reason);
	}

	/* conversion errors as the delimited format's */
	strcpy(line, "1,2020-07-01 00:25:32,2020-07-01 00:33:39,x,1.50,2,9.3");
	fail_exact(parse(&csv, line, strlen(line)), 3,
			   "field 4 \"passenger_count\": invalid input syntax for type integer: \"x\"",
			   "non-numeric passenger_count");
	strcpy(line, "1,\"2020-13-01 00:00:00\",2020-07-01 00:33:39,1,1.50,2,9.3");
	fail_exact(parse(&csv, line, strlen(line)), 1,
			   "field 2 \"tpep_pickup_datetime\": date/time field value out of range: \"2020-13-01 00:00:00\"",
			   "quoted month 13");
	strcpy(line, "1,2020-07-01 00:25:32,2020-07-01 00:33:39,1,1.50,2,\"1e39\"");
	fail_exact(parse(&csv, line, strlen(line)), 6,
			   "field 7 \"total_amount\": \"1e39\" is out of range for type real",
			   "quoted float4 overflow");
}


/* ---- quoting, one rule at a time ---- */

static void
test_quoting(void)
{
	SvSchema	s = csv_schema(text2_cols, 2, ",", "");
	const char *m;

	m = "\"a,b\",\"c\"";
	ok(parse(&s, m, strlen(m)) && vals[0].str == m + 1 && vals[0].len == 3 &&
	   vals[1].str == m + 7 && vals[1].len == 1,
	   "quoted fields without doubled quotes are slices inside the quotes");
	m = "\"a\"\"b\",c";
	ok(parse(&s, m, strlen(m)) && vals[0].str == scratch.buf &&
	   vals[0].len == 3 && memcmp(vals[0].str, "a\"b", 3) == 0 &&
	   vals[1].str == m + 7,
	   "a doubled quote is decoded into the scratch buffer");
	m = "\"\"\"a\"\"\",\"b\"\"\"\"c\"";
	ok(parse(&s, m, strlen(m)) && vals[0].len == 3 &&
	   memcmp(vals[0].str, "\"a\"", 3) == 0 && vals[1].len == 4 &&
	   memcmp(vals[1].str, "b\"\"c", 4) == 0 &&
	   vals[1].str == vals[0].str + 3,
	   "two decoded fields share the scratch buffer, one after the other");
	m = "\"line1\r\nline2\n\",\"\r\"";
	ok(parse(&s, m, strlen(m)) && vals[0].len == 13 &&
	   memcmp(vals[0].str, "line1\r\nline2\n", 13) == 0 && vals[1].len == 1 &&
	   vals[1].str[0] == '\r',
	   "CR and LF inside quotes are data");
	m = "\"a\",\"b\"\r\n";
	ok(parse(&s, m, strlen(m)) && vals[1].len == 1 && vals[1].str[0] == 'b',
	   "a quoted last field and CRLF");
	m = "a,\"b\r\"\n";
	ok(parse(&s, m, strlen(m)) && vals[1].len == 2 && vals[1].str[1] == '\r',
	   "a CR inside quotes before the terminator stays");
	m = "\"\",";
	ok(parse(&s, m, strlen(m)) && !vals[0].isnull && vals[0].len == 0 &&
	   vals[1].isnull, "\"\" is an empty string, an empty field NULL");
	m = ",";
	ok(parse(&s, m, strlen(m)) && vals[0].isnull && vals[1].isnull &&
	   vals[0].str == m && vals[1].str == m + 1, "two NULLs");
	m = "a\"\"b,c";
	ok(parse(&s, m, strlen(m)) && vals[0].len == 2 &&
	   memcmp(vals[0].str, "ab", 2) == 0 && !vals[0].isnull,
	   "a\"\"b is ab, as COPY (an empty quoted part)");
	m = "\"\",\"\"";
	ok(parse(&s, m, strlen(m)) && !vals[0].isnull && !vals[1].isnull &&
	   vals[0].len == 0 && vals[1].len == 0, "two empty strings");

	/* unterminated, at various places */
	fail_exact(parse(&s, "\"", 1), 0,
			   "field 1 \"a\": unterminated quoted field (opened at byte offset 0)",
			   "a lone quote");
	fail_exact(parse(&s, "a,\"b\"\"", 6), 1,
			   "field 2 \"b\": unterminated quoted field (opened at byte offset 2)",
			   "a doubled quote at the end does not close");
	fail_exact(parse(&s, "\"a\n", 3), 0,
			   "field 1 \"a\": unterminated quoted field (opened at byte offset 0)",
			   "a line break after an unclosed quote");
	fail_exact(parse(&s, "a,b,\"c", 6), -1,
			   "unterminated quoted field (opened at byte offset 4)",
			   "unterminated beyond the columns: no field");
	fail_exact(parse(&s, "\"a\"x,\"b", 7), 0,
			   "field 1 \"a\": extra data after the closing quote at byte offset 3 (double a quote inside a quoted field)",
			   "the first problem from the left is reported");
	fail_exact(parse(&s, "a,b,\"c\"d", 8), -1,
			   "extra data after the closing quote at byte offset 7 (double a quote inside a quoted field)",
			   "extra data beyond the columns: no field");
	fail_exact(parse(&s, "a,b,c\nd", 7), -1,
			   "unquoted newline at byte offset 5 (quote a field that holds a line break)",
			   "unquoted LF beyond the columns: no field");
	fail_exact(parse(&s, "a\r\n\r\n", 5), 0,
			   "field 1 \"a\": unquoted carriage return at byte offset 1 (quote a field that holds a line break)",
			   "two CRLFs");
	fail_exact(parse(&s, "\r\n", 2), -1, "empty message", "only CRLF");
	fail_exact(parse(&s, "", 0), -1, "empty message", "empty");
	fail_exact(parse(&s, NULL, 0), -1, "empty message", "NULL data");
	fail_exact(parse(&s, "\"a\nb\"\n,c", 8), 0,
			   "field 1 \"a\": extra data after the closing quote at byte offset 5 (double a quote inside a quoted field)",
			   "a line break after a closing quote, not at the end");
}


/* ---- the null marker ---- */

static void
test_null_marker(void)
{
	static const SvColumn cols[] = {
		{"t", SV_TYPE_TEXT, -1, -1, -1},
		{"i", SV_TYPE_INT4, -1, -1, -1},
		{"o", SV_TYPE_OTHER, -1, -1, -1},
	};
	SvSchema	s = csv_schema(cols, 3, "|", "\\N");
	const char *m;

	m = "\\N|\\N|\\N";
	ok(parse(&s, m, strlen(m)) && vals[0].isnull && vals[1].isnull &&
	   vals[2].isnull && vals[1].str == m + 3 && vals[1].len == 2,
	   "unquoted \\N is NULL; str/len the raw marker");
	m = "\"\\N\"|1|\"\\N\"";
	ok(parse(&s, m, strlen(m)) && !vals[0].isnull && vals[0].len == 2 &&
	   !vals[2].isnull && vals[1].v.i == 1,
	   "quoted \\N is text, never NULL");
	m = "|1|";
	ok(parse(&s, m, strlen(m)) && !vals[0].isnull && vals[0].len == 0 &&
	   !vals[2].isnull, "with marker \\N, an empty field is an empty string");
	m = "a||b";
	fail_exact(parse(&s, m, strlen(m)), 1,
			   "field 2 \"i\": invalid input syntax for type integer: \"\"",
			   "with marker \\N, an empty int is an error");
	m = "a|\"\\N\"|b";
	fail_exact(parse(&s, m, strlen(m)), 1,
			   "field 2 \"i\": invalid input syntax for type integer: \"\\\\N\"",
			   "a quoted \\N int is an error");
	m = "\\n|1|x";
	ok(parse(&s, m, strlen(m)) && !vals[0].isnull, "the marker is case-sensitive");
	m = " \\N|1|x";
	ok(parse(&s, m, strlen(m)) && !vals[0].isnull && vals[0].len == 3,
	   "a space makes it text");
	m = "\\\"N\"|1|x";
	ok(parse(&s, m, strlen(m)) && !vals[0].isnull && vals[0].len == 2 &&
	   memcmp(vals[0].str, "\\N", 2) == 0,
	   "\\\"N\" decodes to \\N but had a quote: not NULL (as COPY)");

	{
		SvSchema	w = csv_schema(cols, 3, ",", "NULL");

		m = "NULL,NULL,\"NULL\"";
		ok(parse(&w, m, strlen(m)) && vals[0].isnull && vals[1].isnull &&
		   !vals[2].isnull, "marker NULL: unquoted NULL, quoted text");
		m = ",\"\",";
		fail_exact(parse(&w, m, strlen(m)), 1,
				   "field 2 \"i\": invalid input syntax for type integer: \"\"",
				   "marker NULL: an empty int is an error");
	}
	{
		SvSchema	d = csv_schema(cols, 3, ",", "");

		d.null_marker = NULL;
		d.null_len = 0;
		m = ",,\"\"";
		ok(parse(&d, m, strlen(m)) && vals[0].isnull && vals[1].isnull &&
		   !vals[2].isnull, "a NULL null_marker means \"\"");
	}
}


/* ---- delimiters ---- */

static void
test_delimiters(void)
{
	static const char *const delims[] = {";", "\t", "|", " ", "a", "\\"};
	size_t		i;

	for (i = 0; i < sizeof(delims) / sizeof(delims[0]); i++)
	{
		SvSchema	s = csv_schema(int2_cols, 2, delims[i], "");
		char		m[64];
		char		d = delims[i][0];
		int			res;

		snprintf(m, sizeof(m), "\"1%cx\"%c2", d, d);
		/* "1;x" is not an int: the delimiter stayed inside the quotes */
		res = parse(&s, m, strlen(m));
		ok(!res && perr.field == 0 && strstr(perr.reason, "invalid input syntax for type integer") != NULL,
		   "delimiter 0x%02x inside quotes is data", (unsigned char) d);
		snprintf(m, sizeof(m), "7%c\"8\"", d);
		res = parse(&s, m, strlen(m));
		ok(res && vals[0].v.i == 7 && vals[1].v.i == 8,
		   "delimiter 0x%02x splits", (unsigned char) d);
	}
	{
		SvSchema	s = csv_schema(text2_cols, 2, ";", "");

		ok(parse(&s, "a,b;c", 5) && vals[0].len == 3, "',' is data with ';'");
	}

	/* schemas the csv format refuses */
	{
		static const char *const bad[] = {"\"", "\n", "\r", "\xc3", ",,", ", "};
		const char *reason = "invalid schema: a csv delimiter must be one ASCII character other than '\"', CR, LF and NUL";
		SvSchema	s;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		{
			s = csv_schema(text2_cols, 2, bad[i], "");
			fail_exact(parse(&s, "a,b", 3), -1, reason, "a bad delimiter");
		}
		s = csv_schema(text2_cols, 2, ",", "");
		s.delimiter_len = 1;
		s.delimiter = "\0";
		fail_exact(parse(&s, "a,b", 3), -1, reason, "a NUL delimiter");
		s.delimiter = "";
		s.delimiter_len = 0;
		fail_exact(parse(&s, "a,b", 3), -1, "invalid schema: empty delimiter",
				   "an empty delimiter");
		s.delimiter = NULL;
		fail_exact(parse(&s, "a,b", 3), -1, "invalid schema: empty delimiter",
				   "no delimiter");
		s = csv_schema(text2_cols, 0, ",", "");
		fail_exact(parse(&s, "a,b", 3), -1, "invalid schema: no columns", "no columns");
	}
}


/* ---- encoding ---- */

static void
test_encoding(void)
{
	SvSchema	s = csv_schema(text2_cols, 2, ",", "");
	SvSchema	dl = {.ncolumns = 2, .columns = text2_cols, .delimiter = ",", .delimiter_len = 1, .null_marker = "", .null_len = 0};
	SvValue		dv[2];
	SvParseError derr;
	const char *m;

	m = "\"\xe2\x82\xac,\xf0\x9f\x9a\x95\",\xc3\xa9t\xc3\xa9";
	ok(parse(&s, m, strlen(m)) && vals[0].len == 8 && vals[1].len == 5,
	   "multibyte UTF-8 inside and outside quotes");
	m = "\"\xe2\x82\xac\"\"\",x";
	ok(parse(&s, m, strlen(m)) && vals[0].len == 4 &&
	   memcmp(vals[0].str, "\xe2\x82\xac\"", 4) == 0,
	   "multibyte UTF-8 with a doubled quote");

	m = "abc,d\xc0\xaf";
	fail_exact(parse(&s, m, strlen(m)), 1,
			   "field 2 \"b\": invalid UTF-8 byte sequence at byte offset 5 of the message: 0xc0 0xaf",
			   "overlong / in field 2");
	sv_parse_message(&dl, m, strlen(m), dv, &derr);
	ok(strcmp(derr.reason, perr.reason) == 0 && derr.field == perr.field,
	   "the delimited format gives the same reason");
	m = "\"a,\xff\",b";
	fail_exact(parse(&s, m, strlen(m)), 0,
			   "field 1 \"a\": invalid UTF-8 byte sequence at byte offset 3 of the message: 0xff",
			   "0xff inside quotes, after a quoted delimiter");
	m = "a,b,\x80";
	fail_exact(parse(&s, m, strlen(m)), -1,
			   "invalid UTF-8 byte sequence at byte offset 4 of the message: 0x80 (unexpected continuation byte)",
			   "bad UTF-8 beyond the columns: no field");
	m = "\"a\"\"\xed\xa0\x80\",b";
	fail_exact(parse(&s, m, strlen(m)), 0,
			   "field 1 \"a\": invalid UTF-8 byte sequence at byte offset 4 of the message: 0xed 0xa0 0x80",
			   "a surrogate after a doubled quote");
	m = "\"unterminated \xe2\x82";
	fail_exact(parse(&s, m, strlen(m)), 0,
			   "field 1 \"a\": invalid UTF-8 byte sequence at byte offset 14 of the message: 0xe2 0x82",
			   "encoding is checked before quoting");
	{
		static const char nul1[] = "abcdefghijklmnopqrstuvwxyz,\"x\0\"";
		static const char nul2[] = "a,b\0";
		static const char nul3[] = "\"a\"\"\0\",b";

		fail_exact(parse(&s, nul1, sizeof(nul1) - 1), -1,
				   "NUL byte (0x00) at byte offset 29 of the message", "NUL inside quotes");
		fail_exact(parse(&s, nul2, sizeof(nul2) - 1), -1,
				   "NUL byte (0x00) at byte offset 3 of the message", "NUL at the end");
		sv_parse_message(&dl, nul2, sizeof(nul2) - 1, dv, &derr);
		ok(strcmp(derr.reason, perr.reason) == 0, "the delimited format gives the same reason");
		fail_exact(parse(&s, nul3, sizeof(nul3) - 1), -1,
				   "NUL byte (0x00) at byte offset 4 of the message", "NUL after a doubled quote");
	}
}


/* ---- long fields, the scratch buffer ---- */

static void
test_long_and_scratch(void)
{
	SvSchema	s = csv_schema(text2_cols, 2, ",", "");
	size_t		n = 100000,
				i;
	char	   *big = malloc(2 * n + 16);
	char	   *m = big;
	int			good = 1;

	/* "x""x""x..." of 100000 decoded bytes, every other one a quote */
	*m++ = '"';
	for (i = 0; i < n; i++)
	{
		if (i % 2)
		{
			*m++ = '"';
			*m++ = '"';
		}
		else
			*m++ = 'x';
	}
	*m++ = '"';
	*m++ = ',';
	*m++ = 'y';
	ok(parse(&s, big, (size_t) (m - big)) && vals[0].len == n && vals[1].len == 1,
	   "a 100000-byte quoted field with 50000 doubled quotes");
	for (i = 0; i < n && good; i++)
		good = vals[0].str[i] == ((i % 2) ? '"' : 'x');
	ok(good, "decoded exactly");

	memset(big, 'z', 2 * n);
	big[0] = '"';
	big[2 * n - 1] = '"';
	ok(parse(&s, big, 2 * n - 1) == 0 && perr.field == 0 &&
	   strstr(perr.reason, "unterminated") != NULL,
	   "a 200000-byte unterminated field");
	big[2 * n - 1] = 'z';
	big[2 * n] = '"';
	big[2 * n + 1] = ',';
	ok(parse(&s, big, 2 * n + 2) && vals[0].len == 2 * n - 1 && vals[0].str == big + 1 &&
	   vals[1].isnull, "a 200000-byte quoted field is a slice");

	/* the scratch buffer: none, too small, exactly the message */
	{
		SvScratch	small;
		char		buf[16];
		const char *q = "\"a\"\"b\",c";	/* 8 bytes */

		s.scratch = NULL;
		fail_exact(parse(&s, q, 8), -1,
				   "invalid schema: the scratch buffer is missing or smaller than the message",
				   "no scratch buffer with a doubled quote");
		ok(parse(&s, "\"ab\",c", 6), "no scratch buffer is fine without doubled quotes");
		small.buf = buf;
		small.cap = 7;
		s.scratch = &small;
		fail_exact(parse(&s, q, 8), -1,
				   "invalid schema: the scratch buffer is missing or smaller than the message",
				   "a scratch buffer one byte short");
		small.cap = 8;
		ok(parse(&s, q, 8) && vals[0].str == buf && vals[0].len == 3,
		   "a scratch buffer of exactly the message's length");
	}
	free(big);
}


/* ---- every byte at every place of the 64-byte blocks ---- */

static void
test_block_boundaries(void)
{
	static const SvColumn cols[] = {
		{"p", SV_TYPE_TEXT, -1, -1, -1},
		{"q", SV_TYPE_TEXT, -1, -1, -1},
		{"e", SV_TYPE_TEXT, -1, -1, -1},
		{"z", SV_TYPE_TEXT, -1, -1, -1},
	};
	SvSchema	s = csv_schema(cols, 4, ",", "");
	char		line[256];
	char		want[64];
	size_t		pad;
	int			good = 1,
				bad_unterminated = 0,
				bad_after = 0;

	for (pad = 0; pad <= 140; pad++)
	{
		size_t		n;

		/* pad bytes, then "q""r,s<LF>t","",z */
		memset(line, 'p', pad);
		n = pad + (size_t) sprintf(line + pad, ",\"q\"\"r,s\nt\",\"\",z");
		if (!parse(&s, line, n) || vals[0].len != pad || vals[0].isnull != (pad == 0) ||
			vals[1].len != 7 || memcmp(vals[1].str, "q\"r,s\nt", 7) != 0 ||
			vals[2].isnull || vals[2].len != 0 || vals[3].len != 1 ||
			vals[3].str != line + n - 1)
		{
			if (good)
				diag("pad %zu: %s", pad, perr.reason);
			good = 0;
		}
		/* the same, the quoted field not closed */
		n = pad + (size_t) sprintf(line + pad, ",\"q\"\"r,s\nt,z");
		snprintf(want, sizeof(want), "unterminated quoted field (opened at byte offset %zu)", pad + 1);
		if (parse(&s, line, n) || perr.field != 1 || strstr(perr.reason, want) == NULL)
			bad_unterminated++;
		/* data after the closing quote */
		n = pad + (size_t) sprintf(line + pad, ",\"q\"\"r\"x,\"\",z");
		snprintf(want, sizeof(want), "extra data after the closing quote at byte offset %zu", pad + 7);
		if (parse(&s, line, n) || perr.field != 1 || strstr(perr.reason, want) == NULL)
			bad_after++;
	}
	ok(good, "a quoted field with a doubled quote, a delimiter and a LF, after 0..140 bytes");
	ok(bad_unterminated == 0, "unterminated after 0..140 bytes: the opening quote's offset");
	ok(bad_after == 0, "extra data after the closing quote after 0..140 bytes: its offset");
}


/* ---- round trip: fields written as CSV come back ---- */

static unsigned int rng = 12345;

static unsigned int
next_rand(void)
{
	rng = rng * 1103515245u + 12345u;
	return (rng >> 16) & 0x7fff;
}

static void
test_round_trip(void)
{
	static const char *const pieces[] = {
		"a", "b", ",", "\"", "\n", "\r", " ", "\xc3\xa9", "\\", ";", "\t", "\"\"", "NULL", "\xf0\x9f\x9a\x95"
	};
	static SvColumn cols[MAXCOLS];
	int			round,
				bad = 0;
	char		field[MAXCOLS][64];
	size_t		flen[MAXCOLS];
	int			isnull[MAXCOLS];
	char		line[MAXCOLS * 140 + 4];
	int			i;

	for (i = 0; i < MAXCOLS; i++)
	{
		cols[i].name = "c";
		cols[i].type = SV_TYPE_TEXT;
		cols[i].max_chars = cols[i].precision = cols[i].scale = -1;
	}
	for (round = 0; round < 20000; round++)
	{
		int			ncols = 1 + (int) (next_rand() % MAXCOLS);
		const char *nulls[] = {"", "NULL", "\\N"};
		const char *nm = nulls[next_rand() % 3];
		const char *delims = ",;|\t ab";
		char		delim[2] = {delims[next_rand() % 7], 0};
		SvSchema	s = csv_schema(cols, ncols, delim, nm);
		size_t		n = 0;

		for (i = 0; i < ncols; i++)
		{
			int			npieces = (int) (next_rand() % 5);
			int			k;
			int			must_quote;

			flen[i] = 0;
			isnull[i] = next_rand() % 6 == 0;
			for (k = 0; k < npieces && !isnull[i]; k++)
			{
				const char *p = pieces[next_rand() % (sizeof(pieces) / sizeof(pieces[0]))];

				memcpy(field[i] + flen[i], p, strlen(p));
				flen[i] += strlen(p);
			}
			if (i > 0)
				line[n++] = delim[0];
			if (isnull[i])
			{
				memcpy(line + n, nm, strlen(nm));
				n += strlen(nm);
				continue;
			}
			/* quote when needed (or by chance): as a CSV writer would */
			must_quote = (flen[i] == strlen(nm) && memcmp(field[i], nm, flen[i]) == 0) ||
				memchr(field[i], delim[0], flen[i]) || memchr(field[i], '"', flen[i]) ||
				memchr(field[i], '\n', flen[i]) || memchr(field[i], '\r', flen[i]) ||
				next_rand() % 4 == 0;
			if (must_quote)
			{
				line[n++] = '"';
				for (k = 0; k < (int) flen[i]; k++)
				{
					if (field[i][k] == '"')
						line[n++] = '"';
					line[n++] = field[i][k];
				}
				line[n++] = '"';
			}
			else
			{
				memcpy(line + n, field[i], flen[i]);
				n += flen[i];
			}
		}
		if (next_rand() % 3 == 0)
		{
			memcpy(line + n, "\r\n", 2);
			n += 2;
		}
		if (n == 0 || (n == 2 && line[0] == '\r'))
			continue;			/* an empty message: refused */
		if (!parse(&s, line, n))
		{
			if (bad++ < 5)
				diag("round %d: %.*s: %s", round, (int) n, line, perr.reason);
			continue;
		}
		for (i = 0; i < ncols; i++)
		{
			if (vals[i].isnull != isnull[i] ||
				(!isnull[i] && (vals[i].len != flen[i] ||
								memcmp(vals[i].str, field[i], flen[i]) != 0)))
			{
				if (bad++ < 5)
					diag("round %d field %d: %.*s", round, i, (int) n, line);
				break;
			}
		}
	}
	ok(bad == 0, "20000 random rows written as CSV read back exactly (%d bad)", bad);
}


/* ---- garbage ---- */

static void
test_garbage(void)
{
	SvSchema	s = zoom_csv();
	unsigned char buf[512];
	int			round,
				clean = 1;

	for (round = 0; round < 20000; round++)
	{
		size_t		n = 1 + (size_t) (round % 500),
					j;

		for (j = 0; j < n; j++)
		{
			static const char alphabet[] = "\",\r\n 1a\xc3\xa9\x80";
			unsigned int r = next_rand();

			buf[j] = (r & 1) ? (unsigned char) (r >> 1) :
				(unsigned char) alphabet[(r >> 1) % (sizeof(alphabet) - 1)];
		}
		if (!parse(&s, (const char *) buf, n))
		{
			if (strlen(perr.reason) >= SV_REASON_LEN || strlen(perr.reason) == 0 ||
				!valid_utf8(perr.reason) || perr.field < -1 || perr.field >= NZOOM ||
				(perr.field >= 0 && strncmp(perr.reason, "field ", 6) != 0))
				clean = 0;
		}
	}
	ok(clean, "20000 garbage messages fail with sane reasons");
}


/* ---- benchmark ---- */

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Writes ride k (0..NRIDES-1) as sv_produce --format csv writes its rides:
 * the timestamps quoted, the other fields quoted or not by the bits of
 * variant, then a note (NULL, "", or quoted text with commas, doubled
 * quotes, line breaks, UTF-8), chosen by variant too.
 */
static size_t
ride_with_note(int k, int variant, char *out)
{
	static const char *const notes[] = {
		NULL, "", "late, rush hour", "driver said \"hi\"", "first line\nsecond line",
		"caf\xc3\xa9 / taxi \xf0\x9f\x9a\x95", "windows line\r\nnext line", "a,b,,c; back\\slash"
	};
	char		plain[160];
	const char *note = notes[(variant + k) % 8];
	const char *p = plain;
	size_t		n = 0;
	int			field = 0;

	ride_as_csv(rides[k], 0, plain);
	for (;;)
	{
		const char *e = strchr(p, ',');
		size_t		flen = e ? (size_t) (e - p) : strlen(p);
		int			q = field == 1 || field == 2 || ((variant >> (field % 5)) & 1);

		if (q)
			out[n++] = '"';
		memcpy(out + n, p, flen);
		n += flen;
		if (q)
			out[n++] = '"';
		out[n++] = ',';
		if (e == NULL)
			break;
		p = e + 1;
		field++;
	}
	if (note != NULL)
	{
		out[n++] = '"';
		for (; *note; note++)
		{
			if (*note == '"')
				out[n++] = '"';
			out[n++] = *note;
		}
		out[n++] = '"';
	}
	out[n] = '\0';
	return n;
}

/*
 * Times the zoomcamp rides: the delimited format (", "), and as csv plain,
 * fully quoted, with the timestamps quoted, the delimited text read as csv
 * (", " with delimiter ','), and 64 lines quoted as sv_produce --format csv
 * quotes them, with its note column (so more bytes and an eighth field),
 * in interleaved rounds; prints the best round's ns per message of each.
 */
static int
bench(long count)
{
	static const char *const names[] = {
		"delimited \", \"", "csv plain", "csv fully quoted",
		"csv timestamps quoted", "csv \", \" (spaces kept)",
		"csv mixed quoting + note"
	};
	enum
	{
		NKINDS = 6, ROUNDS = 7, NMIXED = 64
	};
	static char lines[NKINDS][NMIXED][200];
	size_t		lens[NKINDS][NMIXED];
	int			nlines[NKINDS];
	double		best[NKINDS];
	SvSchema	csv = zoom_csv();
	SvColumn	note_cols[NZOOM + 1];
	SvSchema	csv_note = zoom_csv();
	SvValue		v[NZOOM + 1];
	SvParseError e;
	long		failed = 0;
	double		bytes[NKINDS];
	int64_t		checksum = 0;
	int			k,
				r,
				kind;

	memcpy(note_cols, zoom_cols, sizeof(zoom_cols));
	note_cols[NZOOM].name = "note";
	note_cols[NZOOM].type = SV_TYPE_TEXT;
	note_cols[NZOOM].max_chars = note_cols[NZOOM].precision = note_cols[NZOOM].scale = -1;
	csv_note.columns = note_cols;
	csv_note.ncolumns = NZOOM + 1;
	for (kind = 0; kind < NKINDS; kind++)
	{
		nlines[kind] = kind == NKINDS - 1 ? NMIXED : NRIDES;
		bytes[kind] = 0;
		for (k = 0; k < nlines[kind]; k++)
		{
			if (kind == 0)
				lens[0][k] = (size_t) sprintf(lines[0][k], "%s", rides[k]);
			else if (kind == NKINDS - 1)
				lens[kind][k] = ride_with_note(k % NRIDES, k / NRIDES, lines[kind][k]);
			else
				lens[kind][k] = ride_as_csv(rides[k], kind - 1, lines[kind][k]);
			bytes[kind] += (double) lens[kind][k] / nlines[kind];
		}
		best[kind] = 1e30;
	}
	for (r = 0; r < ROUNDS; r++)
	{
		for (kind = 0; kind < NKINDS; kind++)
		{
			const SvSchema *s = kind == 0 ? &zoom : kind == NKINDS - 1 ? &csv_note : &csv;
			double		t0 = now_sec(),
						t;
			long		i;

			for (i = 0; i < count; i++)
			{
				int			j = (int) (i % nlines[kind]);

				if (!sv_parse_message(s, lines[kind][j], lens[kind][j], v, &e))
					failed++;
				checksum += v[1].v.i + v[3].v.i;
			}
			t = (now_sec() - t0) / count;
			if (t < best[kind])
				best[kind] = t;
		}
	}
	for (kind = 0; kind < NKINDS; kind++)
		printf("%-26s %6.1f ns/message  %.2f M messages/s  rate %.2f x delimited  (%.1f bytes, e.g. %s)\n",
			   names[kind], best[kind] * 1e9, 1e-6 / best[kind], best[0] / best[kind],
			   bytes[kind], lines[kind][0]);
	printf("best of %d rounds of %ld messages each; failed %ld, checksum %lld\n",
		   ROUNDS, count, failed, (long long) checksum);
	return failed != 0;
}

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--bench") == 0)
		return bench(argc > 2 ? atol(argv[2]) : 2000000);

	test_copy_cases();
	test_zoomcamp();
	test_quoting();
	test_null_marker();
	test_delimiters();
	test_encoding();
	test_long_and_scratch();
	test_block_boundaries();
	test_round_trip();
	test_garbage();
	printf("1..%d\n", test_no);
	if (failures)
		diag("%d of %d tests failed", failures, test_no);
	return failures ? 1 : 0;
}
