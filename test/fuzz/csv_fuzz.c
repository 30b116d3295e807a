/*-------------------------------------------------------------------------
 *
 * csv_fuzz.c
 *	  libFuzzer harness for src/csv.c (format => 'csv').
 *
 * Every input is parsed as csv by the 7-column zoomcamp schema (delimiter
 * ','), by a schema with one column of each type (delimiter '|', null
 * marker "\N"), and, using the first byte to pick a delimiter, a null
 * marker and how many text columns, by a schema of text columns and by the
 * all-types schema once more.  The message is an exact-size heap copy and
 * the scratch buffer an exact-size allocation of the message's length, so
 * AddressSanitizer sees any read or write outside them.  Besides crashes
 * and sanitizer reports, the harness aborts when a result breaks the
 * contract:
 *   - a reason that is empty, not NUL-terminated in SV_REASON_LEN, not
 *     valid UTF-8, or without "field N" when err->field >= 0; a field
 *     number out of range;
 *   - on success, a value whose str/len is not inside the message or the
 *     scratch buffer;
 *   - a second parse (scratch and values refilled with junk) that differs;
 *   - an outcome other than a naive reference's: byte by byte, the rules of
 *     csv.c's header (COPY's quoting, stricter after a closing quote and
 *     for CR/LF outside quotes, one terminator cut off), giving the first
 *     problem, the field count and each field's decoded text; each field is
 *     then converted by sv_parse_field() (unquoted) or sv_parse_value()
 *     (quoted), whose outcome, value and reason must be csv.c's;
 *   - for a message without quotes, CR or LF, an outcome other than the
 *     delimited format's with the same one-byte delimiter (the same reasons
 *     and the same slices);
 *   - a different outcome when a LF is appended to a message that does not
 *     end with one.
 *
 * Build and run:
 *	  make test/fuzz/csv_fuzz
 *	  mkdir -p /tmp/csv_corpus
 *	  ./test/fuzz/csv_fuzz -max_total_time=600 /tmp/csv_corpus test/fuzz/corpus-csv
 *
 * test/fuzz/csv_fuzz.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "../zoomcamp_schema.h"

#define MAXCOLS 16
#define REF_MAX_FIELDS 64

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

static const SvColumn text_cols[MAXCOLS] = {
	{"t1", SV_TYPE_TEXT, -1, -1, -1}, {"t2", SV_TYPE_TEXT, -1, -1, -1},
	{"t3", SV_TYPE_TEXT, -1, -1, -1}, {"t4", SV_TYPE_TEXT, -1, -1, -1},
	{"t5", SV_TYPE_TEXT, -1, -1, -1}, {"t6", SV_TYPE_TEXT, -1, -1, -1},
	{"t7", SV_TYPE_TEXT, -1, -1, -1}, {"t8", SV_TYPE_TEXT, -1, -1, -1},
	{"t9", SV_TYPE_TEXT, -1, -1, -1}, {"t10", SV_TYPE_TEXT, -1, -1, -1},
	{"t11", SV_TYPE_TEXT, -1, -1, -1}, {"t12", SV_TYPE_TEXT, -1, -1, -1},
	{"t13", SV_TYPE_TEXT, -1, -1, -1}, {"t14", SV_TYPE_TEXT, -1, -1, -1},
	{"t15", SV_TYPE_TEXT, -1, -1, -1}, {"t16", SV_TYPE_TEXT, -1, -1, -1},
};

/* Delimiters and null markers the first byte can pick. */
static const char delimiters[] = {',', ';', '\t', '|', ' ', 'a', '\\', '1'};
static const char *const null_markers[] = {"", "\\N", "NULL", "\"", ","};

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

/*
 * The offset of the first byte of s[0..len) that is a NUL or starts no
 * valid UTF-8 sequence, or len.  Reference version.
 */
static size_t
first_bad_byte(const unsigned char *s, size_t len, bool *is_nul)
{
	size_t		i = 0;

	while (i < len)
	{
		unsigned int cp;
		size_t		n,
					k;

		*is_nul = s[i] == 0;
		if (s[i] == 0)
			return i;
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
			return i;
		if (len - i < n)
			return i;
		for (k = 1; k < n; k++)
		{
			if ((s[i + k] & 0xC0) != 0x80)
				return i;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
			(n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
			(cp >= 0xD800 && cp <= 0xDFFF))
			return i;
		i += n;
	}
	return len;
}

/* The reference reader's verdict on a message's structure. */
typedef enum RefProblem
{
	REF_OK,
	REF_UNTERMINATED,
	REF_AFTER_QUOTE,
	REF_NEWLINE,
	REF_CR
} RefProblem;

typedef struct RefResult
{
	RefProblem	problem;
	long		problem_field;
	size_t		problem_at;
	long		nfields;
	/* the first REF_MAX_FIELDS fields, decoded into buf */
	size_t		start[REF_MAX_FIELDS];
	size_t		len[REF_MAX_FIELDS];
	bool		quoted[REF_MAX_FIELDS];
	char	   *buf;
} RefResult;

/*
 * Reads d[0..n) (the terminator already cut off) byte by byte.  A field
 * that starts with a quote runs to its closing quote, which the delimiter
 * or the end must follow; in any other field a quote opens a quoted part
 * that runs to the next lone quote; inside quotes "" is one quote; CR and
 * LF outside quotes are problems.
 */
static void
ref_read(const char *d, size_t n, char delim, RefResult *r)
{
	size_t		i = 0;
	size_t		out = 0;
	long		field = 0;

	r->problem = REF_OK;
	for (;;)
	{
		size_t		fstart = out;
		bool		saw_quote = false;

		if (i < n && d[i] == '"')
		{
			size_t		open = i++;

			saw_quote = true;
			for (;;)
			{
				if (i >= n)
				{
					r->problem = REF_UNTERMINATED;
					r->problem_field = field;
					r->problem_at = open;
					return;
				}
				if (d[i] == '"')
				{
					if (i + 1 < n && d[i + 1] == '"')
					{
						r->buf[out++] = '"';
						i += 2;
						continue;
					}
					i++;
					break;
				}
				r->buf[out++] = d[i++];
			}
			if (i < n && d[i] != delim)
			{
				r->problem = REF_AFTER_QUOTE;
				r->problem_field = field;
				r->problem_at = i;
				return;
			}
		}
		else
		{
			while (i < n && d[i] != delim)
			{
				if (d[i] == '"')
				{
					size_t		open = i++;

					saw_quote = true;
					for (;;)
					{
						if (i >= n)
						{
							r->problem = REF_UNTERMINATED;
							r->problem_field = field;
							r->problem_at = open;
							return;
						}
						if (d[i] == '"')
						{
							if (i + 1 < n && d[i + 1] == '"')
							{
								r->buf[out++] = '"';
								i += 2;
								continue;
							}
							i++;
							break;
						}
						r->buf[out++] = d[i++];
					}
					continue;
				}
				if (d[i] == '\n' || d[i] == '\r')
				{
					r->problem = d[i] == '\n' ? REF_NEWLINE : REF_CR;
					r->problem_field = field;
					r->problem_at = i;
					return;
				}
				r->buf[out++] = d[i++];
			}
		}
		if (field < REF_MAX_FIELDS)
		{
			r->start[field] = fstart;
			r->len[field] = out - fstart;
			r->quoted[field] = saw_quote;
		}
		field++;
		if (i >= n)
			break;
		i++;					/* the delimiter */
	}
	r->nfields = field;
}

/* Which field holds pos when quotes toggle; -1 beyond ncols. */
static int
ref_field_of(const char *d, size_t pos, char delim, int ncols)
{
	bool		q = false;
	int			f = 0;
	size_t		i;

	for (i = 0; i < pos; i++)
	{
		if (d[i] == '"')
			q = !q;
		else if (!q && d[i] == delim)
			f++;
	}
	return f < ncols ? f : -1;
}

/* Checks a failure's reason and field number against the contract. */
static void
check_reason(const SvSchema *schema, const SvParseError *err)
{
	size_t		rlen = strnlen(err->reason, SV_REASON_LEN);

	if (rlen == 0 || rlen >= SV_REASON_LEN)
		violation("reason empty or not terminated", NULL);
	if (!valid_utf8(err->reason))
		violation("reason is not valid UTF-8", err);
	if (err->field < -1 || err->field >= schema->ncolumns)
		violation("field number out of range", err);
	if (err->field >= 0 && strncmp(err->reason, "field ", 6) != 0)
		violation("field reason does not start with field N", err);
}

/* Expects a failure with exactly this field and reason. */
static void
expect_fail(bool ok, const SvParseError *err, int field, const char *reason,
			const char *what)
{
	if (ok || err->field != field || strcmp(err->reason, reason) != 0)
	{
		fprintf(stderr, "expected field %d, reason \"%s\"\n", field, reason);
		violation(what, ok ? NULL : err);
	}
}

/* Is p[0..len) inside base[0..cap)? */
static bool
inside(const char *p, size_t len, const char *base, size_t cap)
{
	return p >= base && len <= cap && (size_t) (p - base) <= cap - len;
}

/*
 * Parses data[0..len) (an exact-size heap copy) by the csv schema and
 * checks everything the header lists.
 */
static void
run(const SvSchema *base_schema, const char *data, size_t len)
{
	SvSchema	schema = *base_schema;
	int			ncols = schema.ncolumns;
	char		delim = schema.delimiter[0];
	SvScratch	scratch;
	SvValue    *values = malloc(sizeof(SvValue) * (size_t) ncols);
	SvValue    *again = malloc(sizeof(SvValue) * (size_t) ncols);
	SvParseError err,
				err2;
	bool		ok,
				ok2;
	size_t		n;
	int			i;

	scratch.cap = len;
	scratch.buf = malloc(len ? len : 1);
	schema.scratch = &scratch;

	memset(&err, 0x5a, sizeof(err));
	memset(values, 0x5a, sizeof(SvValue) * (size_t) ncols);
	ok = sv_parse_message(&schema, data, len, values, &err);
	if (!ok)
		check_reason(&schema, &err);
	else
	{
		for (i = 0; i < ncols; i++)
		{
			if (!inside(values[i].str, values[i].len, data, len) &&
				!inside(values[i].str, values[i].len, scratch.buf, scratch.cap))
				violation("value outside the message and the scratch buffer", NULL);
			if (values[i].isnull && !inside(values[i].str, values[i].len, data, len))
				violation("NULL value not a slice of the message", NULL);
		}
	}

	/* the message without its terminator, as csv.c reads it */
	n = len;
	if (n >= 2 && data[n - 2] == '\r' && data[n - 1] == '\n')
		n -= 2;
	else if (n >= 1 && (data[n - 1] == '\n' || data[n - 1] == '\r'))
		n -= 1;

	/*
	 * A decoded value needs a scratch buffer of the message's length (less
	 * its terminator).
	 */
	if (ok)
	{
		bool		decoded = false;

		for (i = 0; i < ncols; i++)
			decoded |= inside(values[i].str, values[i].len, scratch.buf, scratch.cap) &&
				!inside(values[i].str, values[i].len, data, len);
		if (decoded)
		{
			SvScratch	small = {malloc(n - 1 ? n - 1 : 1), n - 1};

			schema.scratch = &small;
			ok2 = sv_parse_message(&schema, data, len, again, &err2);
			expect_fail(ok2, &err2, -1,
						"invalid schema: the scratch buffer is missing or smaller than the message",
						"a short scratch buffer not refused");
			schema.scratch = &scratch;
			free(small.buf);
		}
	}

	/* determinism, with junk in the scratch buffer and the values */
	memset(scratch.buf, 0xa5, len ? len : 1);
	memset(&err2, 0x33, sizeof(err2));
	memset(again, 0x33, sizeof(SvValue) * (size_t) ncols);
	ok2 = sv_parse_message(&schema, data, len, again, &err2);
	if (ok2 != ok || (!ok && (err.field != err2.field || strcmp(err.reason, err2.reason) != 0)))
		violation("a second parse differs", &err2);
	if (ok)
	{
		for (i = 0; i < ncols; i++)
			if (again[i].isnull != values[i].isnull || again[i].len != values[i].len ||
				(again[i].str != values[i].str && !inside(again[i].str, again[i].len, scratch.buf, scratch.cap)))
				violation("a second parse gives other values", NULL);
	}

	/* the reference */
	if (n == 0)
		expect_fail(ok2, &err2, -1, "empty message", "not refused as empty");
	else
	{
		bool		is_nul = false;
		size_t		bad = first_bad_byte((const unsigned char *) data, len, &is_nul);
		char		want[SV_REASON_LEN];

		if (bad != len)
		{
			if (ok2 || strstr(err2.reason, is_nul ? "NUL byte (0x00)" : "invalid UTF-8 byte sequence") == NULL)
				violation("bad encoding not refused as such", ok2 ? NULL : &err2);
			snprintf(want, sizeof(want), "at byte offset %zu of the message", bad);
			if (strstr(err2.reason, want) == NULL)
				violation("bad encoding at another offset", &err2);
			if (err2.field != (is_nul ? -1 : ref_field_of(data, bad, delim, ncols)))
				violation("bad encoding in another field", &err2);
		}
		else
		{
			RefResult	r;

			r.buf = malloc(n);
			ref_read(data, n, delim, &r);
			if (r.problem != REF_OK)
			{
				static const char *const what[] = {
					"", "unterminated quoted field (opened at byte offset %zu)",
					"extra data after the closing quote at byte offset %zu (double a quote inside a quoted field)",
					"unquoted newline at byte offset %zu (quote a field that holds a line break)",
					"unquoted carriage return at byte offset %zu (quote a field that holds a line break)"
				};
				char		tail[200];
				int			field = r.problem_field < ncols ? (int) r.problem_field : -1;

				snprintf(tail, sizeof(tail), what[r.problem], r.problem_at);
				if (field >= 0)
					snprintf(want, sizeof(want), "field %d \"%s\": %s", field + 1,
							 schema.columns[field].name, tail);
				else
					snprintf(want, sizeof(want), "%s", tail);
				expect_fail(ok2, &err2, field, want, "quoting problem differs from the reference");
			}
			else if (r.nfields != ncols)
			{
				snprintf(want, sizeof(want), "expected %d field%s, found %ld", ncols,
						 ncols == 1 ? "" : "s", r.nfields);
				expect_fail(ok2, &err2, -1, want, "field count differs from the reference");
			}
			else
			{
				for (i = 0; i < ncols; i++)
				{
					SvValue		v;
					SvParseError ferr;
					bool		fok;

					fok = r.quoted[i] ?
						sv_parse_value(&schema, i, r.buf + r.start[i], r.len[i], &v, &ferr) :
						sv_parse_field(&schema, i, r.buf + r.start[i], r.len[i], &v, &ferr);
					if (!fok)
					{
						expect_fail(ok2, &err2, i, ferr.reason, "field error differs from the reference");
						break;
					}
					if (!ok2 && err2.field <= i)
						violation("refused at a field the reference reads", &err2);
					if (ok2 && (v.isnull != again[i].isnull || v.len != again[i].len ||
								memcmp(v.str, again[i].str, v.len) != 0 ||
								(!v.isnull && memcmp(&v.v, &again[i].v, sizeof(v.v)) != 0)))
						violation("value differs from the reference", NULL);
				}
				if (i == ncols && !ok2)
					violation("refused, but the reference reads every field", &err2);
			}
			free(r.buf);
		}
	}

	/* no quotes or line breaks: exactly the delimited format */
	if (memchr(data, '"', len) == NULL && memchr(data, '\n', len) == NULL &&
		memchr(data, '\r', len) == NULL)
	{
		SvSchema	dl = schema;
		SvParseError derr;
		bool		dok;

		dl.format = SV_FORMAT_DELIMITED;
		memset(again, 0x33, sizeof(SvValue) * (size_t) ncols);
		dok = sv_parse_message(&dl, data, len, again, &derr);
		if (dok != ok || (!ok && (derr.field != err.field || strcmp(derr.reason, err.reason) != 0)))
			violation("differs from the delimited format", ok ? NULL : &err);
		if (ok)
			for (i = 0; i < ncols; i++)
				if (again[i].isnull != values[i].isnull || again[i].str != values[i].str ||
					again[i].len != values[i].len ||
					memcmp(&again[i].v, &values[i].v, sizeof(values[i].v)) != 0)
					violation("values differ from the delimited format's", NULL);
	}

	/*
	 * A LF appended changes nothing (but for bad UTF-8, whose reason shows
	 * the bytes that follow the bad one).
	 */
	if ((len == 0 || data[len - 1] != '\n') &&
		first_bad_byte((const unsigned char *) data, len, &(bool) {false}) == len)
	{
		char	   *lf = malloc(len + 1);
		SvScratch	s2;

		memcpy(lf, data, len);
		lf[len] = '\n';
		s2.cap = len + 1;
		s2.buf = malloc(len + 1);
		schema.scratch = &s2;
		memset(again, 0x33, sizeof(SvValue) * (size_t) ncols);
		ok2 = sv_parse_message(&schema, lf, len + 1, again, &err2);
		if (ok2 != ok || (!ok && (err.field != err2.field || strcmp(err.reason, err2.reason) != 0)))
			violation("a trailing LF changes the outcome", ok2 ? &err : &err2);
		if (ok)
			for (i = 0; i < ncols; i++)
				if (again[i].isnull != values[i].isnull || again[i].len != values[i].len ||
					(!values[i].isnull && memcmp(&again[i].v, &values[i].v, sizeof(values[i].v)) != 0))
					violation("a trailing LF changes a value", NULL);
		free(s2.buf);
		free(lf);
	}

	free(scratch.buf);
	free(values);
	free(again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *) data;
	SvSchema	zoom_csv = zoom;
	SvSchema	all = {.ncolumns = NALL, .columns = all_cols, .format = SV_FORMAT_CSV,
		.delimiter = "|", .delimiter_len = 1, .null_marker = "\\N", .null_len = 2};

	zoom_csv.format = SV_FORMAT_CSV;
	zoom_csv.delimiter = ",";
	zoom_csv.delimiter_len = 1;
	run(&zoom_csv, s, size);
	run(&all, s, size);

	/* first byte: delimiter, null marker, number of text columns */
	if (size >= 1)
	{
		uint8_t		mode = data[0];
		char		delim[2] = {delimiters[mode % sizeof(delimiters)], '\0'};
		const char *nullm = null_markers[(mode >> 3) % (sizeof(null_markers) / sizeof(null_markers[0]))];
		SvSchema	text = {.ncolumns = 1 + (mode >> 4) % MAXCOLS, .columns = text_cols,
			.format = SV_FORMAT_CSV, .delimiter = delim, .delimiter_len = 1,
		.null_marker = nullm, .null_len = strlen(nullm)};
		char	   *rest = malloc(size - 1 ? size - 1 : 1);

		/* an exact-size copy, so that reads past the end are caught */
		memcpy(rest, s + 1, size - 1);
		run(&text, rest, size - 1);
		all.delimiter = delim;
		all.null_marker = nullm;
		all.null_len = strlen(nullm);
		run(&all, rest, size - 1);
		free(rest);
	}
	return 0;
}
