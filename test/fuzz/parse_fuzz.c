/*-------------------------------------------------------------------------
 *
 * parse_fuzz.c
 *	  libFuzzer harness for src/parse.c.
 *
 * Every input is parsed by the 7-column zoomcamp schema (delimiter ", "), by
 * a schema with one column of each type (delimiter "|", null marker "\N"),
 * and, using the first byte to pick a delimiter, null marker and zone
 * callback, by both schemas once more.  Besides crashes and sanitizer
 * reports, the harness aborts when a result breaks the parser's contract:
 * slices outside the message, a bad reason (too long, not valid UTF-8, no
 * column name), a field number out of range, or values no PostgreSQL type
 * could hold.  It also checks sv_parse_message() against a naive reference:
 * a byte-by-byte UTF-8 check, a byte-by-byte split and sv_parse_field() on
 * each piece must give the same outcome, values and reason.
 *
 * Build and run:
 *	  clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
 *		  -o test/fuzz/parse_fuzz test/fuzz/parse_fuzz.c src/parse.c src/parse_text.c src/csv.c src/json.c src/json_path.c -lm
 *	  mkdir -p /tmp/parse_corpus
 *	  ./test/fuzz/parse_fuzz -max_total_time=180 /tmp/parse_corpus test/fuzz/corpus
 *
 * test/fuzz/parse_fuzz.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "../zoomcamp_schema.h"

#define END_TIMESTAMP	INT64_C(9223371331200000000)
#define MIN_TIMESTAMP	INT64_C(-211813488000000000)

static const SvColumn all_cols[] = {
	{"c_int2", SV_TYPE_INT2, -1, -1, -1},
	{"c_int8", SV_TYPE_INT8, -1, -1, -1},
	{"c_float8", SV_TYPE_FLOAT8, -1, -1, -1},
	{"c_numeric", SV_TYPE_NUMERIC, -1, 10, 2},
	{"c_bool", SV_TYPE_BOOL, -1, -1, -1},
	{"c_varchar", SV_TYPE_TEXT, 5, -1, -1},
	{"c_date", SV_TYPE_DATE, -1, -1, -1},
	{"c_timestamptz", SV_TYPE_TIMESTAMPTZ, -1, -1, -1},
	{"c_other", SV_TYPE_OTHER, -1, -1, -1},
};

#define NALL ((int) (sizeof(all_cols) / sizeof(all_cols[0])))

static const SvSchema all = {.ncolumns = NALL, .columns = all_cols, .delimiter = "|", .delimiter_len = 1, .null_marker = "\\N", .null_len = 2};

/* Delimiters and null markers the first byte can pick. */
static const char *const delimiters[] = {
	",", ", ", "|", "\t", ";", "\xe2\x86\x92", "::", "ab", " ", "\\N",
	"aaa", "\xc3\xa9", "--", ",,,,,,,,,,"
};
static const char *const null_markers[] = {"", "\\N", "NULL", "|"};

/* A local zone of UTC-5 that refuses the far future. */
static bool
zone_minus5(int64_t local_usec, int64_t *utc_usec, void *arg)
{
	(void) arg;
	if (local_usec > INT64_C(9000000000000000000))
		return false;
	*utc_usec = local_usec + INT64_C(5) * INT64_C(3600000000);
	return true;
}

/* Aborts with a message: a contract violation is a finding. */
static void
violation(const char *what, const SvParseError *err)
{
	fprintf(stderr, "contract violation: %s (field %d, reason \"%s\")\n",
			what, err ? err->field : 0, err ? err->reason : "");
	abort();
}

/* Is the NUL-terminated s valid UTF-8 (strict, as PostgreSQL)? */
static bool
valid_utf8(const char *str)
{
	const unsigned char *s = (const unsigned char *) str;

	while (*s)
	{
		unsigned int cp;
		int			n,
					i;

		if (*s < 0x80)
		{
			s++;
			continue;
		}
		if ((*s & 0xE0) == 0xC0)
			n = 2, cp = *s & 0x1F;
		else if ((*s & 0xF0) == 0xE0)
			n = 3, cp = *s & 0x0F;
		else if ((*s & 0xF8) == 0xF0)
			n = 4, cp = *s & 0x07;
		else
			return false;
		for (i = 1; i < n; i++)
		{
			if ((s[i] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i] & 0x3F);
		}
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
			(n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
			(cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		s += n;
	}
	return true;
}

/* Is data[0..len) valid UTF-8 without NUL bytes?  Reference version. */
static bool
valid_utf8_len(const unsigned char *s, size_t len)
{
	size_t		i = 0;

	while (i < len)
	{
		unsigned int cp;
		size_t		n,
					k;

		if (s[i] == 0)
			return false;
		if (s[i] < 0x80)
		{
			i++;
			continue;
		}
		if ((s[i] & 0xE0) == 0xC0)
			n = 2, cp = s[i] & 0x1F;
		else if ((s[i] & 0xF0) == 0xE0)
			n = 3, cp = s[i] & 0x0F;
		else if ((s[i] & 0xF8) == 0xF0)
			n = 4, cp = s[i] & 0x07;
		else
			return false;
		if (len - i < n)
			return false;
		for (k = 1; k < n; k++)
		{
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
			(n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
			(cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += n;
	}
	return true;
}

/*
 * Reference split: scan byte by byte, take a delimiter wherever it matches,
 * resume behind it.  Stores up to max slices; returns the field count.
 */
static int
ref_split(const char *d, size_t len, const char *delim, size_t dlen,
		  const char **fs, size_t *fl, int max)
{
	size_t		i = 0,
				start = 0;
	int			n = 0;

	while (i + dlen <= len)
	{
		if (memcmp(d + i, delim, dlen) == 0)
		{
			if (n < max)
			{
				fs[n] = d + start;
				fl[n] = i - start;
			}
			n++;
			i += dlen;
			start = i;
		}
		else
			i++;
	}
	if (n < max)
	{
		fs[n] = d + start;
		fl[n] = len - start;
	}
	return n + 1;
}

/* Checks one parse outcome against the contract in parse.h. */
static void
check_result(const SvSchema *schema, bool ok, const char *data, size_t len,
			 const SvValue *values, int nvalues, const SvParseError *err)
{
	int			i;

	if (!ok)
	{
		size_t		rlen = strnlen(err->reason, SV_REASON_LEN);

		if (rlen == 0 || rlen >= SV_REASON_LEN)
			violation("reason empty or not terminated", NULL);
		if (!valid_utf8(err->reason))
			violation("reason is not valid UTF-8", err);
		if (err->field < -1 || err->field >= schema->ncolumns)
			violation("field number out of range", err);
		if (err->field >= 0 &&
			strncmp(err->reason, "field ", 6) != 0)
			violation("field reason does not start with field N", err);
		return;
	}

	for (i = 0; i < nvalues; i++)
	{
		const SvValue *v = &values[i];
		const SvColumn *col = &schema->columns[i];

		if (v->str < data || v->len > len ||
			(size_t) (v->str - data) > len - v->len)
			violation("value slice outside the message", NULL);
		if (v->isnull)
			continue;
		switch (col->type)
		{
			case SV_TYPE_INT2:
			case SV_TYPE_INT4:
			case SV_TYPE_INT8:
				{
					/* differential: strtoll on the trimmed slice */
					char		buf[64];
					long long	ref;
					char	   *end;

					if (v->len == 0 || v->len >= sizeof(buf))
					{
						/* long values are only leading zeros; skip them */
						if (v->len == 0)
							violation("empty int slice", NULL);
						break;
					}
					memcpy(buf, v->str, v->len);
					buf[v->len] = '\0';
					errno = 0;
					ref = strtoll(buf, &end, 10);
					if (errno != 0 || *end != '\0' || ref != v->v.i)
						violation("integer differs from strtoll", NULL);
					if (col->type == SV_TYPE_INT2 &&
						(v->v.i < INT16_MIN || v->v.i > INT16_MAX))
						violation("int2 out of range", NULL);
					if (col->type == SV_TYPE_INT4 &&
						(v->v.i < INT32_MIN || v->v.i > INT32_MAX))
						violation("int4 out of range", NULL);
				}
				break;
			case SV_TYPE_FLOAT4:
				if (isfinite(v->v.f) && fabs(v->v.f) > 3.40282346638528859812e+38)
					violation("float4 beyond FLT_MAX", NULL);
				if (isfinite(v->v.f) && (double) (float) v->v.f != v->v.f)
					violation("float4 value not representable as float", NULL);
				break;
			case SV_TYPE_BOOL:
				if (v->v.b != true && v->v.b != false)
					violation("bool neither true nor false", NULL);
				break;
			case SV_TYPE_TEXT:
				if (col->max_chars >= 0)
				{
					size_t		j;
					int			nchars = 0;

					for (j = 0; j < v->len; j++)
						if (((unsigned char) v->str[j] & 0xC0) != 0x80)
							nchars++;
					if (nchars > col->max_chars)
						violation("varchar longer than its limit", NULL);
				}
				break;
			case SV_TYPE_DATE:
				if (v->v.i < -730119 || v->v.i > 2145031948)
					violation("date out of range", NULL);
				break;
			case SV_TYPE_TIMESTAMP:
			case SV_TYPE_TIMESTAMPTZ:
				if (v->v.i < MIN_TIMESTAMP || v->v.i >= END_TIMESTAMP)
					violation("timestamp out of range", NULL);
				break;
			default:
				break;
		}
	}
}

/*
 * Parses data[0..len) by schema, checks the outcome, and compares it with
 * the reference: UTF-8 check, split, then sv_parse_field() per piece.
 */
static void
run(const SvSchema *schema, const char *data, size_t len)
{
	SvValue		values[16];
	SvParseError err;
	bool		ok;
	const char *fs[16];
	size_t		fl[16];
	int			nref;
	int			i;

	memset(&err, 0x5a, sizeof(err));
	ok = sv_parse_message(schema, data, len, values, &err);
	check_result(schema, ok, data, len, values, schema->ncolumns, &err);

	/* the reference */
	if (len == 0 || !valid_utf8_len((const unsigned char *) data, len))
	{
		if (ok)
			violation("accepted an empty message, bad UTF-8 or a NUL", NULL);
		return;
	}
	nref = ref_split(data, len, schema->delimiter, schema->delimiter_len,
					 fs, fl, 16);
	if (nref != schema->ncolumns)
	{
		char		want[64];

		snprintf(want, sizeof(want), "expected %d fields, found %d",
				 schema->ncolumns, nref);
		if (ok || err.field != -1 || strstr(err.reason, want) == NULL)
			violation("field count differs from the reference split", &err);
		return;
	}
	for (i = 0; i < schema->ncolumns; i++)
	{
		SvValue		v;
		SvParseError ferr;
		bool		fok;

		memset(&v, 0, sizeof(v));
		fok = sv_parse_field(schema, i, fs[i], fl[i], &v, &ferr);
		if (!fok)
		{
			if (ok || err.field != i || strcmp(err.reason, ferr.reason) != 0)
				violation("outcome differs from sv_parse_field on the reference split", &err);
			return;
		}
		if (ok && (v.isnull != values[i].isnull || v.str != values[i].str ||
				   v.len != values[i].len ||
				   memcmp(&v.v, &values[i].v, sizeof(v.v)) != 0))
			violation("value differs from sv_parse_field on the reference split", NULL);
	}
	if (!ok)
		violation("message failed but every reference field parsed", &err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *) data;

	run(&zoom, s, size);
	run(&all, s, size);

	/* the whole input as one field of each column, through sv_parse_field */
	{
		int			i;

		for (i = 0; i < NALL; i++)
		{
			SvValue		v;
			SvParseError err;
			bool		ok;

			memset(&err, 0x5a, sizeof(err));
			ok = sv_parse_field(&all, i, s, size, &v, &err);
			if (!ok)
				check_result(&all, ok, s, size, &v, 0, &err);
			else if (v.str < s || v.len > size)
				violation("sv_parse_field slice outside the field", NULL);
		}
	}

	/* first byte picks delimiter, null marker and zone callback */
	if (size >= 1)
	{
		uint8_t		mode = data[0];
		SvSchema	custom = all;
		const char *delim = delimiters[mode % (sizeof(delimiters) / sizeof(delimiters[0]))];
		const char *nullm = null_markers[(mode >> 4) % (sizeof(null_markers) / sizeof(null_markers[0]))];

		custom.delimiter = delim;
		custom.delimiter_len = strlen(delim);
		custom.null_marker = nullm;
		custom.null_len = strlen(nullm);
		if (mode & 0x40)
			custom.local_to_utc = zone_minus5;
		run(&custom, s + 1, size - 1);

		/* and the zoomcamp schema with that delimiter */
		custom = zoom;
		custom.delimiter = delim;
		custom.delimiter_len = strlen(delim);
		run(&custom, s + 1, size - 1);
	}
	return 0;
}
