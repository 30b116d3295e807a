/*-------------------------------------------------------------------------
 *
 * csv.c
 *	  The csv format: one message is one line of RFC 4180 CSV, read as
 *	  PostgreSQL 15's COPY ... (FORMAT csv) reads a line.
 *
 * Same contract as parse.c (see parse.h): pure C, no PostgreSQL header, no
 * allocation, never raises, never reads outside data[0..len); a failure is
 * false with err->field and err->reason.
 *
 * The rules, as COPY's CopyReadAttributesCSV() applies them with its
 * defaults (QUOTE '"', ESCAPE '"'):
 *   - the delimiter is one byte (schema->delimiter; the backend defaults it
 *     to ','); the quote is '"';
 *   - a field may be quoted; inside quotes the delimiter, CR and LF are
 *     data, and a quote is written twice ("");
 *   - an unquoted field equal to the null marker (schema->null_marker, ""
 *     by default) is NULL; a field with a quote is never NULL, so with the
 *     default marker an empty field is NULL and "" is an empty string;
 *   - white space is data: nothing is trimmed (the numeric, date and
 *     timestamp input functions ignore the spaces around a value, as they do
 *     under COPY);
 *   - a quote inside a field that does not start with one opens a quoted
 *     part, which runs to the next lone quote: a"b,c"d is the one value
 *     ab,cd, and " x" after a space is the value ' x' (COPY does exactly
 *     this; the value is never NULL).
 *
 * Where COPY is looser we are stricter, and say so in a comment marked
 * "Stricter than PostgreSQL":
 *   - a field that starts with a quote ends at its closing quote: anything
 *     but the delimiter or the end of the message after it is refused
 *     (COPY would append it: "ab"cd is abcd there).  This is almost always
 *     a quote that should have been doubled ("say "hi"").
 *   - a message is one row: a CR or LF outside quotes is refused, except
 *     one line terminator at the very end ("\n", "\r\n" or "\r", which COPY
 *     takes as the end of the row, so we do too).  COPY would start a new
 *     row there.
 *   - an empty message (or one that is only a line terminator) is refused,
 *     as by parse.c; COPY reads no row, or for one column, one NULL.
 *   - "\." on its own is data here (one field); COPY may read it as its
 *     end-of-data marker.
 *
 * Order of checks, as in parse.c: the schema, an empty message, NUL bytes
 * and UTF-8 over the whole message, then the quoting from left to right
 * (the first problem is reported), the field count, then each field from
 * left to right.  Field-count and encoding reasons are parse.c's own, so a
 * message that is wrong in the same way gets the same reason in both
 * formats.
 *
 * Speed: a line without quotes, CR or LF (the usual case) takes a fast path
 * like parse.c's split_ascii(): one pass that checks for NUL and non-ASCII
 * bytes, looks for quotes and line breaks and splits at the delimiter, 16
 * bytes at a time with SSE2.  A line whose quoted fields are whole fields
 * without doubled quotes takes a second fast path of the same kind that
 * also follows the quotes.  Non-ASCII lines take them after a UTF-8 check;
 * everything else (doubled quotes, quotes inside fields, problems) takes
 * the general path, byte by byte.  Each field is then converted as
 * sv_parse_field() converts an unquoted field (the null marker applies) and
 * sv_parse_value() a field with quotes (it does not), by parse.c's
 * parse_field_checked() as sv_parse_message() does, since the whole message
 * is known to be valid UTF-8 already.  A quoted field is a slice of the
 * message when it holds no doubled quote, else decoded into
 * schema->scratch.
 *
 * src/csv.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "parse.h"
#include "parse_int.h"

#if defined(__GNUC__) || defined(__clang__)
#define csv_likely(x)	__builtin_expect(!!(x), 1)
#define csv_unlikely(x)	__builtin_expect(!!(x), 0)
#else
#define csv_likely(x)	(x)
#define csv_unlikely(x)	(x)
#endif

/* CSV_NO_SSE2: test the portable loops on x86 too */
#if (defined(__GNUC__) || defined(__clang__)) && defined(__SSE2__) && \
	!defined(CSV_NO_SSE2)
#define CSV_HAVE_SSE2 1
#include <emmintrin.h>
#endif

#define CSV_QUOTE	'"'

/* Outcome of the fast path's scan. */
typedef enum CsvScan
{
	CSV_SCAN_DONE,				/* split: every field a slice of the message */
	CSV_SCAN_SPECIAL,			/* quotes or line breaks it cannot take */
	CSV_SCAN_NOT_ASCII			/* a NUL or a byte >= 0x80: check UTF-8 first */
} CsvScan;

/* What is wrong with a message's quoting or line breaks. */
typedef enum CsvProblem
{
	CSV_OK,
	CSV_UNTERMINATED,			/* a quote is never closed */
	CSV_AFTER_QUOTE,			/* data after a quoted field's closing quote */
	CSV_NEWLINE,				/* LF outside quotes, not the terminator */
	CSV_CARRIAGE_RETURN			/* CR outside quotes, not the terminator */
} CsvProblem;

/* Splitting state of csv_split_plain(): fields found, where the next starts. */
typedef struct CsvSplit
{
	SvValue    *values;
	int			ncols;
	long		nfields;
	size_t		start;
} CsvSplit;


/*
 * Checks what parse.c's check_schema() checks, plus csv's delimiter rule:
 * one byte, ASCII, not the quote, CR, LF or NUL (COPY refuses these too).
 * Returns false with a reason when the schema cannot be used.
 */
static bool
csv_check_schema(const SvSchema *schema, SvParseError *err)
{
	unsigned char d;

	if (schema == NULL || schema->columns == NULL || schema->ncolumns <= 0)
		return fail_message(err, "invalid schema: no columns");
	if (schema->delimiter == NULL || schema->delimiter_len == 0)
		return fail_message(err, "invalid schema: empty delimiter");
	d = (unsigned char) schema->delimiter[0];
	if (schema->delimiter_len != 1 || d == 0 || d >= 0x80 ||
		d == CSV_QUOTE || d == '\r' || d == '\n')
		return fail_message(err, "invalid schema: a csv delimiter must be one ASCII character other than '\"', CR, LF and NUL");
	return true;
}

/*
 * The length of data[0..len) without one line terminator at its end: "\n",
 * "\r\n" or "\r".  COPY ends a row at any of the three, so a message that is
 * one COPY line with its terminator reads as the line alone.  A terminator
 * inside quotes cannot be the last byte of a well-formed message (its
 * closing quote would follow), so cutting it first never changes a message
 * that is accepted.
 */
static inline size_t
csv_without_terminator(const char *data, size_t len)
{
	if (len >= 2 && data[len - 2] == '\r' && data[len - 1] == '\n')
		return len - 2;
	if (len >= 1 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		return len - 1;
	return len;
}

/* Records a field data[st->start..end) found by the fast path. */
static inline void
csv_take_field(CsvSplit *st, const char *data, size_t end)
{
	if (csv_likely(st->nfields < st->ncols))
	{
		st->values[st->nfields].str = data + st->start;
		st->values[st->nfields].len = end - st->start;
		st->values[st->nfields].isnull = false;	/* unquoted */
	}
	st->nfields++;
	st->start = end + 1;
}

/*
 * The fast path: one pass over data[0..len) that splits at the delimiter
 * and gives up as soon as it meets a byte that needs more care: a quote,
 * CR or LF (CSV_SCAN_SPECIAL), or a NUL or non-ASCII byte
 * (CSV_SCAN_NOT_ASCII).  On CSV_SCAN_DONE *nfields is the number of fields
 * and values[0..min(nfields, ncols)) hold their slices, all unquoted.
 */
static CsvScan
csv_split_plain(const char *data, size_t len, unsigned char delim,
				SvValue *values, int ncols, long *nfields)
{
	CsvSplit	st = {values, ncols, 0, 0};
	size_t		i = 0;

#ifdef CSV_HAVE_SSE2
	{
		const __m128i delims = _mm_set1_epi8((char) delim);
		const __m128i quotes = _mm_set1_epi8(CSV_QUOTE);
		const __m128i crs = _mm_set1_epi8('\r');
		const __m128i lfs = _mm_set1_epi8('\n');
		const __m128i zero = _mm_setzero_si128();

		for (; i + 16 <= len; i += 16)
		{
			__m128i		v = _mm_loadu_si128((const __m128i *) (data + i));
			unsigned int mask;

			/* high bit set: non-ASCII; equal to zero: NUL */
			if (csv_unlikely((_mm_movemask_epi8(v) |
							  _mm_movemask_epi8(_mm_cmpeq_epi8(v, zero))) != 0))
				return CSV_SCAN_NOT_ASCII;
			if (csv_unlikely(_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quotes),
																		  _mm_cmpeq_epi8(v, crs)),
															_mm_cmpeq_epi8(v, lfs))) != 0))
				return CSV_SCAN_SPECIAL;
			mask = (unsigned int) _mm_movemask_epi8(_mm_cmpeq_epi8(v, delims));
			while (mask != 0)
			{
				csv_take_field(&st, data, i + (size_t) __builtin_ctz(mask));
				mask &= mask - 1;
			}
		}
	}
#endif
	for (; i < len; i++)
	{
		unsigned char c = (unsigned char) data[i];

		if (c == delim)
			csv_take_field(&st, data, i);
		else if (csv_unlikely(c == 0 || c >= 0x80))
			return CSV_SCAN_NOT_ASCII;
		else if (csv_unlikely(c == CSV_QUOTE || c == '\r' || c == '\n'))
			return CSV_SCAN_SPECIAL;
	}
	if (st.nfields < ncols)
	{
		values[st.nfields].str = data + st.start;
		values[st.nfields].len = len - st.start;
		values[st.nfields].isnull = false;
	}
	*nfields = st.nfields + 1;
	return CSV_SCAN_DONE;
}

/* Splitting state of csv_split_quoted(). */
typedef struct CsvQuotedSplit
{
	SvValue    *values;
	int			ncols;
	long		nfields;
	size_t		start;			/* where the current field starts */
	bool		in_quotes;		/* between a field's quotes */
	bool		quoted;			/* the current field starts with a quote */
} CsvQuotedSplit;

/*
 * Takes one byte of csv_split_quoted() that matters, data[p]: a quote, the
 * delimiter, CR or LF.  Returns false when the line needs the general path:
 * a quote that does not start a field or end a quoted one (doubled quotes,
 * quotes inside unquoted fields, data after a closing quote), or CR or LF
 * outside quotes.
 */
static inline bool
csv_quoted_event(CsvQuotedSplit *st, const char *data, size_t len, size_t p,
				 char delim)
{
	char		c = data[p];

	if (c == CSV_QUOTE)
	{
		if (st->in_quotes)
		{
			/* the closing quote, if the delimiter or the end follows */
			st->in_quotes = false;
			return p + 1 == len || data[p + 1] == delim;
		}
		if (p != st->start)
			return false;
		st->in_quotes = true;
		st->quoted = true;
		return true;
	}
	if (st->in_quotes)
		return true;			/* the delimiter, CR or LF inside quotes */
	if (c != delim)
		return false;			/* CR or LF outside quotes */
	if (csv_likely(st->nfields < st->ncols))
	{
		SvValue    *v = &st->values[st->nfields];

		/* a quoted field ends with its closing quote at p - 1 */
		v->isnull = st->quoted;
		v->str = data + st->start + st->quoted;
		v->len = p - st->start - 2 * (size_t) st->quoted;
	}
	st->nfields++;
	st->start = p + 1;
	st->quoted = false;
	return true;
}

/*
 * The fast path for lines with quotes: like csv_split_plain(), one pass
 * that splits at the delimiter, here outside quotes, and takes a field in
 * quotes as the slice inside them.  It gives up (CSV_SCAN_SPECIAL) on
 * anything else with quotes or line breaks (see csv_quoted_event()), and
 * unless allow_high (the caller has checked the message's UTF-8) on NUL
 * and non-ASCII bytes (CSV_SCAN_NOT_ASCII).  On CSV_SCAN_DONE, as
 * csv_split_plain(), with values[i].isnull true for quoted fields.
 */
static CsvScan
csv_split_quoted(const char *data, size_t len, unsigned char delim,
				 SvValue *values, int ncols, long *nfields, bool allow_high)
{
	CsvQuotedSplit st = {values, ncols, 0, 0, false, false};
	size_t		i = 0;

#ifdef CSV_HAVE_SSE2
	{
		const __m128i delims = _mm_set1_epi8((char) delim);
		const __m128i quotes = _mm_set1_epi8(CSV_QUOTE);
		const __m128i crs = _mm_set1_epi8('\r');
		const __m128i lfs = _mm_set1_epi8('\n');
		const __m128i zero = _mm_setzero_si128();

		for (; i + 16 <= len; i += 16)
		{
			__m128i		v = _mm_loadu_si128((const __m128i *) (data + i));
			unsigned int mask;

			if (!allow_high &&
				csv_unlikely((_mm_movemask_epi8(v) |
							  _mm_movemask_epi8(_mm_cmpeq_epi8(v, zero))) != 0))
				return CSV_SCAN_NOT_ASCII;
			mask = (unsigned int) _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, delims),
																			  _mm_cmpeq_epi8(v, quotes)),
																 _mm_or_si128(_mm_cmpeq_epi8(v, crs),
																			  _mm_cmpeq_epi8(v, lfs))));
			while (mask != 0)
			{
				if (csv_unlikely(!csv_quoted_event(&st, data, len,
												   i + (size_t) __builtin_ctz(mask),
												   (char) delim)))
					return CSV_SCAN_SPECIAL;
				mask &= mask - 1;
			}
		}
	}
#endif
	for (; i < len; i++)
	{
		unsigned char c = (unsigned char) data[i];

		if (c == delim || c == CSV_QUOTE || c == '\r' || c == '\n')
		{
			if (csv_unlikely(!csv_quoted_event(&st, data, len, i, (char) delim)))
				return CSV_SCAN_SPECIAL;
		}
		else if (!allow_high && csv_unlikely(c == 0 || c >= 0x80))
			return CSV_SCAN_NOT_ASCII;
	}
	if (st.in_quotes)
		return CSV_SCAN_SPECIAL;	/* unterminated */
	if (st.nfields < ncols)
	{
		SvValue    *v = &values[st.nfields];

		v->isnull = st.quoted;
		v->str = data + st.start + st.quoted;
		v->len = len - st.start - 2 * (size_t) st.quoted;
	}
	*nfields = st.nfields + 1;
	return CSV_SCAN_DONE;
}

/*
 * Finds the end of the quoted part whose opening quote is at data[open]:
 * returns the offset of its closing quote, or len if there is none.  Sets
 * *doubled when the part holds a doubled quote ("").
 */
static size_t
csv_closing_quote(const char *data, size_t len, size_t open, bool *doubled)
{
	size_t		i = open + 1;

	for (;;)
	{
		const char *q = (i < len) ? memchr(data + i, CSV_QUOTE, len - i) : NULL;

		if (q == NULL)
			return len;
		i = (size_t) (q - data);
		if (i + 1 < len && data[i + 1] == CSV_QUOTE)
		{
			*doubled = true;
			i += 2;
			continue;
		}
		return i;
	}
}

/*
 * Decodes the raw field raw[0..rawlen) as COPY does (a quote toggles
 * between quoted and unquoted text; inside quotes "" is one quote) into
 * out, which has room for rawlen bytes.  The caller has checked that every
 * quote is closed.  Returns the decoded length.
 */
static size_t
csv_decode(const char *raw, size_t rawlen, char *out)
{
	size_t		i = 0;
	size_t		n = 0;
	bool		quoted = false;

	while (i < rawlen)
	{
		char		c = raw[i++];

		if (c == CSV_QUOTE)
		{
			if (quoted && i < rawlen && raw[i] == CSV_QUOTE)
			{
				out[n++] = CSV_QUOTE;
				i++;
			}
			else
				quoted = !quoted;
			continue;
		}
		out[n++] = c;
	}
	return n;
}

/*
 * Which field (0-based) holds byte offset pos, for reporting bad UTF-8
 * where it is: quotes toggle between quoted and unquoted text, and a
 * delimiter outside quotes ends a field.  Returns -1 past the schema's
 * columns.  Only used on the failure path.
 */
static int
csv_field_of_offset(const SvSchema *schema, const char *data, size_t pos)
{
	const char	delim = schema->delimiter[0];
	bool		quoted = false;
	int			field = 0;
	size_t		i;

	for (i = 0; i < pos; i++)
	{
		if (data[i] == CSV_QUOTE)
			quoted = !quoted;
		else if (!quoted && data[i] == delim)
			field++;
	}
	return field < schema->ncolumns ? field : -1;
}

/*
 * Reports a problem with quotes or line breaks in field (0-based; beyond
 * the schema's columns the reason has no field prefix and err->field is
 * -1) at byte offset pos.  Returns false.
 */
static bool
csv_fail_problem(const SvSchema *schema, long field, CsvProblem problem,
				 size_t pos, SvParseError *err)
{
	ReasonBuf	rb;

	rb_begin(&rb, err, schema, field < schema->ncolumns ? (int) field : -1);
	switch (problem)
	{
		case CSV_UNTERMINATED:
			rb_str(&rb, "unterminated quoted field (opened at byte offset ");
			rb_num(&rb, (long long) pos);
			rb_str(&rb, ")");
			break;
		case CSV_AFTER_QUOTE:
			rb_str(&rb, "extra data after the closing quote at byte offset ");
			rb_num(&rb, (long long) pos);
			rb_str(&rb, " (double a quote inside a quoted field)");
			break;
		case CSV_NEWLINE:
			rb_str(&rb, "unquoted newline at byte offset ");
			rb_num(&rb, (long long) pos);
			rb_str(&rb, " (quote a field that holds a line break)");
			break;
		case CSV_CARRIAGE_RETURN:
			rb_str(&rb, "unquoted carriage return at byte offset ");
			rb_num(&rb, (long long) pos);
			rb_str(&rb, " (quote a field that holds a line break)");
			break;
		case CSV_OK:
			rb_str(&rb, "no problem");
			break;
	}
	return false;
}

/* Reports the wrong number of fields, worded as parse.c does; false. */
static bool
csv_fail_count(const SvSchema *schema, long nfields, SvParseError *err)
{
	ReasonBuf	rb;

	rb_begin(&rb, err, schema, -1);
	rb_str(&rb, "expected ");
	rb_num(&rb, schema->ncolumns);
	rb_str(&rb, schema->ncolumns == 1 ? " field, found " : " fields, found ");
	rb_num(&rb, nfields);
	return false;
}

/*
 * The general path, for lines with quotes or line breaks (data[0..len) is
 * already known to be valid UTF-8 without NUL bytes, and the line
 * terminator is cut off).  Splits into fields, decoding those that need it
 * into the scratch buffer; values[i].isnull is true for a field that had a
 * quote (so the null marker does not apply to it) until the caller parses
 * the field.  Returns false with a reason on the first problem with quotes
 * or line breaks; otherwise sets *nfields.
 */
static bool
csv_split_general(const SvSchema *schema, const char *data, size_t len,
				  SvValue *values, long *nfields, SvParseError *err)
{
	const char	delim = schema->delimiter[0];
	const int	ncols = schema->ncolumns;
	char	   *out = NULL;		/* next free byte of the scratch buffer */
	long		field = 0;
	size_t		p = 0;

	for (;;)
	{
		size_t		start = p;
		size_t		end;		/* the raw field is data[start..end) */
		bool		decode = false;	/* the value is not one slice */
		bool		quoted = false;

		if (p < len && data[p] == CSV_QUOTE)
		{
			/* a quoted field: a closing quote, then the delimiter or the end */
			size_t		close = csv_closing_quote(data, len, p, &decode);

			if (close == len)
				return csv_fail_problem(schema, field, CSV_UNTERMINATED, p, err);
			end = close + 1;
			quoted = true;

			/*
			 * Stricter than PostgreSQL: COPY would go on reading the field
			 * after the closing quote ("ab"cd is abcd there).
			 */
			if (end < len && data[end] != delim)
				return csv_fail_problem(schema, field, CSV_AFTER_QUOTE, end, err);
		}
		else
		{
			/* unquoted, maybe with quoted parts inside as COPY reads them */
			end = p;
			while (end < len && data[end] != delim)
			{
				char		c = data[end];

				if (c == CSV_QUOTE)
				{
					size_t		close = csv_closing_quote(data, len, end, &decode);

					if (close == len)
						return csv_fail_problem(schema, field, CSV_UNTERMINATED,
												end, err);
					quoted = true;
					decode = true;
					end = close + 1;
					continue;
				}
				/* Stricter than PostgreSQL: COPY would start a new row */
				if (c == '\n')
					return csv_fail_problem(schema, field, CSV_NEWLINE, end, err);
				if (c == '\r')
					return csv_fail_problem(schema, field, CSV_CARRIAGE_RETURN,
											end, err);
				end++;
			}
		}

		if (field < ncols)
		{
			SvValue    *v = &values[field];

			v->isnull = quoted;
			if (!quoted)
			{
				v->str = data + start;
				v->len = end - start;
			}
			else if (!decode)
			{
				/* "text": the slice inside the quotes */
				v->str = data + start + 1;
				v->len = end - start - 2;
			}
			else
			{
				if (out == NULL)
				{
					if (schema->scratch == NULL || schema->scratch->buf == NULL ||
						schema->scratch->cap < len)
						return fail_message(err, "invalid schema: the scratch buffer is missing or smaller than the message");
					out = schema->scratch->buf;
				}
				/* decoded values are shorter than their raw text: all fit */
				v->str = out;
				v->len = csv_decode(data + start, end - start, out);
				out += v->len;
			}
		}
		field++;
		if (end >= len)
			break;
		p = end + 1;			/* past the delimiter */
	}
	*nfields = field;
	return true;
}

/*
 * Parses one CSV message; see parse.h and the top of this file.
 */
bool
sv_parse_csv(const SvSchema *schema, const char *data, size_t len,
			 SvValue *values, SvParseError *err)
{
	size_t		n;
	long		nfields = 0;
	CsvScan		scan;
	unsigned char delim;
	int			i;

	if (csv_unlikely(!csv_check_schema(schema, err)))
		return false;
	delim = (unsigned char) schema->delimiter[0];
	if (csv_unlikely(data == NULL))
		return fail_message(err, "empty message");
	n = csv_without_terminator(data, len);
	if (csv_unlikely(n == 0))
		return fail_message(err, "empty message");

	/*
	 * Plain lines, then lines with quotes, then (after a UTF-8 check) lines
	 * with other bytes take a fast path; whatever is left, the general one.
	 */
	scan = csv_split_plain(data, n, delim, values, schema->ncolumns, &nfields);
	if (csv_unlikely(scan == CSV_SCAN_SPECIAL))
		scan = csv_split_quoted(data, n, delim, values, schema->ncolumns,
								&nfields, false);
	if (csv_unlikely(scan != CSV_SCAN_DONE))
	{
		bool		is_nul = false;
		size_t		bad = utf8_check(data, len, &is_nul);

		if (bad != len)
			return fail_encoding(schema,
								 is_nul ? -1 : csv_field_of_offset(schema, data, bad),
								 data, len, bad, " of the message", is_nul, err);
		if (scan == CSV_SCAN_NOT_ASCII)
			scan = csv_split_quoted(data, n, delim, values, schema->ncolumns,
									&nfields, true);
		if (scan != CSV_SCAN_DONE &&
			!csv_split_general(schema, data, n, values, &nfields, err))
			return false;
	}

	if (csv_unlikely(nfields != schema->ncolumns))
		return csv_fail_count(schema, nfields, err);

	for (i = 0; i < schema->ncolumns; i++)
	{
		SvValue    *v = &values[i];

		/*
		 * sv_parse_field() for unquoted fields (the null marker applies),
		 * sv_parse_value() for the others, minus the UTF-8 check that the
		 * whole message has had already.
		 */
		if (csv_unlikely(!parse_field_checked(schema, i, v->str, v->len, v,
											  err, !v->isnull)))
			return false;
	}
	return true;
}
