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
 * left to right.  Field-count and encoding reasons are those of parse.c and
 * parse_text.c, so a message that is wrong in the same way gets the same
 * reason in both formats.
 *
 * Speed: a line of ASCII without quotes, CR or LF takes a fast path like
 * parse.c's split_ascii(): one pass that checks for NUL and non-ASCII
 * bytes, looks for quotes and line breaks and splits at the delimiter, 16
 * bytes at a time with SSE2.  A line whose quoted fields are whole fields
 * (doubled quotes, delimiters, CR and LF inside them allowed) or that has
 * non-ASCII bytes takes a second fast path, which follows the quotes with
 * bit masks of 64 bytes at a time and no branch per quote (a stream's
 * lines quote their fields in any mix, and branches would mispredict); the
 * UTF-8 check of parse_text.c follows it when the line is not ASCII.  What
 * neither takes (a quote inside an unquoted field, problems) goes to the
 * general path, byte by byte, which also words the reasons.  Each field is
 * then converted as
 * sv_parse_field() converts an unquoted field (the null marker applies) and
 * sv_parse_value() a field with quotes (it does not), by parse.c's
 * sv_parse_field_checked() as sv_parse_message() does, since the whole message
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

/* Outcome of a fast path's scan. */
typedef enum CsvScan
{
	CSV_SCAN_DONE,				/* split: every field a slice of the message */
	CSV_SCAN_SPECIAL,			/* quotes or line breaks it cannot take */
	CSV_SCAN_NOT_ASCII			/* csv_split_plain(): a NUL or a byte >= 0x80 */
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
		return sv_fail_message(err, "invalid schema: no columns");
	if (schema->delimiter == NULL || schema->delimiter_len == 0)
		return sv_fail_message(err, "invalid schema: empty delimiter");
	d = (unsigned char) schema->delimiter[0];
	if (schema->delimiter_len != 1 || d == 0 || d >= 0x80 ||
		d == CSV_QUOTE || d == '\r' || d == '\n')
		return sv_fail_message(err, "invalid schema: a csv delimiter must be one ASCII character other than '\"', CR, LF and NUL");
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

/* Where the bytes that matter are in a block of 64 bytes: bit i, byte i. */
typedef struct CsvMasks
{
	uint64_t	quote;
	uint64_t	delim;
	uint64_t	eol;			/* CR or LF */
	uint64_t	high;			/* NUL or >= 0x80 */
} CsvMasks;

/*
 * The masks of the last, short block of a message: data[base..len), fewer
 * than 64 bytes.  With 16 bytes or more in the message, a piece shorter
 * than 16 is loaded as the 16 bytes that end at len and its masks shifted,
 * so nothing outside data[0..len) is read and nothing is copied.  high is
 * only zero or not.
 */
static inline void
csv_tail_masks(const char *data, size_t len, size_t base, unsigned char delim,
			   CsvMasks *m)
{
	size_t		off;

	m->quote = m->delim = m->eol = m->high = 0;
#ifdef CSV_HAVE_SSE2
	if (csv_likely(len >= 16))
	{
		const __m128i quotes = _mm_set1_epi8(CSV_QUOTE);
		const __m128i delims = _mm_set1_epi8((char) delim);
		const __m128i crs = _mm_set1_epi8('\r');
		const __m128i lfs = _mm_set1_epi8('\n');
		__m128i		any = _mm_setzero_si128();
		__m128i		least = _mm_set1_epi8((char) 0xff);

		for (off = base; off < len; off += 16)
		{
			size_t		at = (off + 16 <= len) ? off : len - 16;
			int			drop = (int) (off - at);	/* bytes before off */
			int			shift = (int) (off - base);
			__m128i		v = _mm_loadu_si128((const __m128i *) (data + at));

			any = _mm_or_si128(any, v);
			least = _mm_min_epu8(least, v);
			m->quote |= (uint64_t) ((unsigned int) _mm_movemask_epi8(_mm_cmpeq_epi8(v, quotes)) >> drop) << shift;
			m->delim |= (uint64_t) ((unsigned int) _mm_movemask_epi8(_mm_cmpeq_epi8(v, delims)) >> drop) << shift;
			m->eol |= (uint64_t) ((unsigned int) _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, crs),
																				 _mm_cmpeq_epi8(v, lfs))) >> drop) << shift;
		}
		/* a byte >= 0x80 sets a high bit of the OR, a NUL zeroes the minimum */
		m->high = (uint64_t) (unsigned int) (_mm_movemask_epi8(any) |
											 _mm_movemask_epi8(_mm_cmpeq_epi8(least, _mm_setzero_si128())));
		return;
	}
#endif
	for (off = base; off < len; off++)
	{
		unsigned char c = (unsigned char) data[off];
		uint64_t	bit = UINT64_C(1) << (off - base);

		if (c == CSV_QUOTE)
			m->quote |= bit;
		if (c == delim)
			m->delim |= bit;
		if (c == '\r' || c == '\n')
			m->eol |= bit;
		if (c == 0 || c >= 0x80)
			m->high |= bit;
	}
}

/*
 * The masks of the 64 bytes at p, all of them inside the message; high is
 * only non-zero or zero here (the caller only asks whether there is one).
 */
static inline void
csv_block_masks(const char *p, unsigned char delim, CsvMasks *m)
{
#ifdef CSV_HAVE_SSE2
	const __m128i quotes = _mm_set1_epi8(CSV_QUOTE);
	const __m128i delims = _mm_set1_epi8((char) delim);
	const __m128i crs = _mm_set1_epi8('\r');
	const __m128i lfs = _mm_set1_epi8('\n');
	__m128i		v[4];
	__m128i		any,
				least;
	int			k;

	m->quote = m->delim = m->eol = 0;
	for (k = 0; k < 4; k++)
	{
		v[k] = _mm_loadu_si128((const __m128i *) (p + 16 * k));
		m->quote |= (uint64_t) (unsigned int) _mm_movemask_epi8(_mm_cmpeq_epi8(v[k], quotes)) << (16 * k);
		m->delim |= (uint64_t) (unsigned int) _mm_movemask_epi8(_mm_cmpeq_epi8(v[k], delims)) << (16 * k);
		m->eol |= (uint64_t) (unsigned int) _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v[k], crs),
																			_mm_cmpeq_epi8(v[k], lfs))) << (16 * k);
	}
	/* a byte >= 0x80 sets a high bit of the OR, a NUL zeroes the minimum */
	any = _mm_or_si128(_mm_or_si128(v[0], v[1]), _mm_or_si128(v[2], v[3]));
	least = _mm_min_epu8(_mm_min_epu8(v[0], v[1]), _mm_min_epu8(v[2], v[3]));
	m->high = (uint64_t) (unsigned int) (_mm_movemask_epi8(any) |
										 _mm_movemask_epi8(_mm_cmpeq_epi8(least, _mm_setzero_si128())));
#else
	csv_tail_masks(p, 64, 0, delim, m);
#endif
}

/*
 * Bit i of the result is the parity of bits 0..i of x.  Of the quote bits
 * of a block: the bytes inside quotes, opening quotes included and closing
 * quotes not.
 */
static inline uint64_t
csv_prefix_xor(uint64_t x)
{
	x ^= x << 1;
	x ^= x << 2;
	x ^= x << 4;
	x ^= x << 8;
	x ^= x << 16;
	x ^= x << 32;
	return x;
}

/*
 * Records a field data[start..end) found by csv_split_quoted(), which has
 * checked that a field starting with a quote ends with its closing quote:
 * such a field's value is the slice inside the quotes, and v->isnull notes
 * that it was quoted.  first is the field's first byte (the caller reads
 * it, and passes a non-quote for an empty last field, which has none).
 * Without branches: the lines of a stream quote their fields in any mix.
 */
static inline void
csv_quoted_field(SvValue *v, const char *data, size_t start, size_t end,
				 char first)
{
	size_t		quoted = first == CSV_QUOTE;

	v->isnull = quoted;
	v->str = data + start + quoted;
	v->len = end - start - 2 * quoted;
}

/*
 * The fast path for lines with quotes (or non-ASCII bytes): splits
 * data[0..len) 64 bytes at a time by bit masks, without a branch per
 * byte or per quote.  It takes the lines whose quoted fields are whole
 * fields: a field that starts with a quote ends with its closing quote,
 * which the delimiter or the end follows; inside quotes anything goes, a
 * doubled quote included.  Anything else (a quote inside an unquoted field,
 * data after a closing quote, an unterminated quote, CR or LF outside
 * quotes) gives CSV_SCAN_SPECIAL, for the general path.  On CSV_SCAN_DONE
 * *nfields is the number of fields and values[0..min(nfields, ncols)) hold
 * their slices, isnull true for quoted ones (a doubled quote is still two
 * quotes there: *first_doubled is the offset of the first doubled quote's
 * second quote, or len if there is none); *high says whether the
 * line has NUL or non-ASCII bytes, which the caller then checks.
 *
 * The bits inside quotes are the prefix XOR of the quote bits, carried
 * from block to block.  A quote bit inside is an opening quote, outside a
 * closing one.  Delimiters count outside quotes only.  An opening quote
 * must start a field, or follow a closing quote at once (the second quote
 * of a doubled one, which reopens); after a closing quote comes a
 * delimiter, such a reopening quote, or the end.
 */
static CsvScan
csv_split_quoted(const char *data, size_t len, unsigned char delim,
				 SvValue *values, int ncols, long *nfields, size_t *first_doubled,
				 bool *high)
{
	uint64_t	in_quotes = 0;	/* all ones when a block starts in quotes */
	uint64_t	field_start = 1;	/* bit 0 of this block starts a field */
	uint64_t	after_close = 0;	/* bit 0 of this block follows a closing
									 * quote */
	size_t		doubled_at = len;
	uint64_t	any_high = 0;
	long		nf = 0;
	size_t		start = 0;
	size_t		base;

	for (base = 0; base < len; base += 64)
	{
		uint64_t	valid = (len - base >= 64) ? ~UINT64_C(0) :
			(UINT64_C(1) << (len - base)) - 1;
		uint64_t	inside,
					delims,
					opening,
					closing,
					after,
					reopening;
		CsvMasks	m;

		if (csv_likely(len - base >= 64))
			csv_block_masks(data + base, delim, &m);
		else
			csv_tail_masks(data, len, base, delim, &m);
		any_high |= m.high;
		inside = csv_prefix_xor(m.quote) ^ in_quotes;
		in_quotes = (uint64_t) 0 - (inside >> 63);
		delims = m.delim & ~inside;
		opening = m.quote & inside;
		closing = m.quote & ~inside;
		after = (closing << 1) | after_close;
		reopening = opening & after;
		if (csv_unlikely(((m.eol & ~inside) |
						  (opening & ~(((delims << 1) | field_start) | after)) |
						  (after & valid & ~(delims | reopening))) != 0))
			return CSV_SCAN_SPECIAL;
		if (csv_unlikely(reopening != 0) && doubled_at == len)
			doubled_at = base + (size_t) __builtin_ctzll(reopening);
		field_start = delims >> 63;
		after_close = closing >> 63;

		while (delims != 0)
		{
			size_t		pos = base + (size_t) __builtin_ctzll(delims);

			/*
			 * start <= pos < len: the field's first byte (the delimiter
			 * when it is empty) can be read without a bounds check
			 */
			if (csv_likely(nf < ncols))
				csv_quoted_field(&values[nf], data, start, pos, data[start]);
			nf++;
			start = pos + 1;
			delims &= delims - 1;
		}
	}
	if (in_quotes)
		return CSV_SCAN_SPECIAL;	/* unterminated */
	/* the last field, empty when the line ends with the delimiter */
	if (nf < ncols)
		csv_quoted_field(&values[nf], data, start, len,
						 start < len ? data[start] : (char) delim);
	*nfields = nf + 1;
	*first_doubled = doubled_at;
	*high = any_high != 0;
	return CSV_SCAN_DONE;
}

/*
 * Turns the doubled quotes of the quoted fields that csv_split_quoted()
 * found in data[0..len) into single ones, in the scratch buffer; the first
 * doubled quote is at offset first (fields before it have none).  Returns
 * false with a reason when there is no scratch buffer of at least len
 * bytes.
 */
static bool
csv_undouble(const SvSchema *schema, const char *data, size_t len,
			 size_t first, SvValue *values, long nfields, SvParseError *err)
{
	char	   *out = NULL;
	long		i;

	for (i = 0; i < nfields && i < schema->ncolumns; i++)
	{
		SvValue    *v = &values[i];
		const char *src = v->str;
		size_t		srclen = v->len;
		const char *q;
		size_t		j,
					n;

		if (!v->isnull || (size_t) (src - data) + srclen < first ||
			(q = memchr(src, CSV_QUOTE, srclen)) == NULL)
			continue;
		if (out == NULL)
		{
			if (schema->scratch == NULL || schema->scratch->buf == NULL ||
				schema->scratch->cap < len)
				return sv_fail_message(err, "invalid schema: the scratch buffer is missing or smaller than the message");
			out = schema->scratch->buf;
		}
		/* inside the quotes, quotes come in pairs: copy the runs between */
		j = n = (size_t) (q - src);
		memcpy(out, src, n);
		while (j < srclen)
		{
			size_t		e;

			out[n++] = CSV_QUOTE;
			j += 2;
			q = (j < srclen) ? memchr(src + j, CSV_QUOTE, srclen - j) : NULL;
			e = q ? (size_t) (q - src) : srclen;
			memcpy(out + n, src + j, e - j);
			n += e - j;
			j = e;
		}
		v->str = out;
		v->len = n;
		out += n;
	}
	return true;
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

	sv_rb_begin(&rb, err, schema, field < schema->ncolumns ? (int) field : -1);
	switch (problem)
	{
		case CSV_UNTERMINATED:
			sv_rb_str(&rb, "unterminated quoted field (opened at byte offset ");
			sv_rb_num(&rb, (long long) pos);
			sv_rb_str(&rb, ")");
			break;
		case CSV_AFTER_QUOTE:
			sv_rb_str(&rb, "extra data after the closing quote at byte offset ");
			sv_rb_num(&rb, (long long) pos);
			sv_rb_str(&rb, " (double a quote inside a quoted field)");
			break;
		case CSV_NEWLINE:
			sv_rb_str(&rb, "unquoted newline at byte offset ");
			sv_rb_num(&rb, (long long) pos);
			sv_rb_str(&rb, " (quote a field that holds a line break)");
			break;
		case CSV_CARRIAGE_RETURN:
			sv_rb_str(&rb, "unquoted carriage return at byte offset ");
			sv_rb_num(&rb, (long long) pos);
			sv_rb_str(&rb, " (quote a field that holds a line break)");
			break;
		case CSV_OK:
			sv_rb_str(&rb, "no problem");
			break;
	}
	return false;
}

/* Reports the wrong number of fields, worded as parse.c does; false. */
static bool
csv_fail_count(const SvSchema *schema, long nfields, SvParseError *err)
{
	ReasonBuf	rb;

	sv_rb_begin(&rb, err, schema, -1);
	sv_rb_str(&rb, "expected ");
	sv_rb_num(&rb, schema->ncolumns);
	sv_rb_str(&rb, schema->ncolumns == 1 ? " field, found " : " fields, found ");
	sv_rb_num(&rb, nfields);
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
						return sv_fail_message(err, "invalid schema: the scratch buffer is missing or smaller than the message");
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
		return sv_fail_message(err, "empty message");
	n = csv_without_terminator(data, len);
	if (csv_unlikely(n == 0))
		return sv_fail_message(err, "empty message");

	/*
	 * Plain ASCII lines take the first fast path, lines with whole quoted
	 * fields or other bytes the second (the UTF-8 check comes after it, but
	 * before anything is reported), the rest the general path.
	 */
	scan = data[0] == CSV_QUOTE ? CSV_SCAN_SPECIAL :
		csv_split_plain(data, n, delim, values, schema->ncolumns, &nfields);
	if (csv_unlikely(scan != CSV_SCAN_DONE))
	{
		size_t		first_doubled = n;
		bool		high = true;

		scan = csv_split_quoted(data, n, delim, values, schema->ncolumns,
								&nfields, &first_doubled, &high);
		if (high)
		{
			bool		is_nul = false;
			size_t		bad = sv_utf8_check(data, len, &is_nul);

			if (bad != len)
				return sv_fail_encoding(schema,
										is_nul ? -1 : csv_field_of_offset(schema, data, bad),
										data, len, bad, " of the message", is_nul, err);
		}
		if (scan != CSV_SCAN_DONE)
		{
			if (!csv_split_general(schema, data, n, values, &nfields, err))
				return false;
		}
		else if (first_doubled < n &&
				 !csv_undouble(schema, data, n, first_doubled, values, nfields, err))
			return false;
	}

	if (csv_unlikely(nfields != schema->ncolumns))
		return csv_fail_count(schema, nfields, err);

	for (i = 0; i < schema->ncolumns; i++)
	{
		SvValue    *v = &values[i];
		const char *raw = v->str;
		size_t		rawlen = v->len;
		bool		unquoted = !v->isnull;

		/*
		 * sv_parse_field() for unquoted fields (the null marker applies),
		 * sv_parse_value() for the others, minus the UTF-8 check that the
		 * whole message has had already.
		 */
		if (csv_likely(sv_parse_field_fast(schema, &schema->columns[i], raw, rawlen,
										   v, unquoted)))
			continue;
		if (csv_unlikely(!sv_parse_field_checked(schema, i, raw, rawlen, v,
												 err, unquoted)))
			return false;
	}
	return true;
}
