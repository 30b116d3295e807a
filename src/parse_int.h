/*
 * parse_int.h - what the parser's files share: parse_text.c's UTF-8 checks
 * and failure reasons, which every format uses so that the same problem
 * gets the same reason in every format; parse.c's conversion of one field
 * by its column, which csv.c and json.c use too; and the helpers of all of
 * them.  Internal: pure C like parse.h, not for the backend side.
 */
#ifndef STREAMVIEW_PARSE_INT_H
#define STREAMVIEW_PARSE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "parse.h"

#if defined(__GNUC__) || defined(__clang__)
#define sv_likely(x)	__builtin_expect(!!(x), 1)
#define sv_unlikely(x)	__builtin_expect(!!(x), 0)
#define sv_cold __attribute__((cold, noinline))
#else
#define sv_likely(x)	(x)
#define sv_unlikely(x)	(x)
#define sv_cold
#endif

/*
 * The word-at-a-time searches (parse.c's split and timestamp fast path) need count-trailing-zeros and a
 * little-endian load to find the first matching byte of a word; elsewhere
 * they fall back to byte loops (and the one-pass split is not used).
 */
#if (defined(__GNUC__) || defined(__clang__)) && \
	defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SV_HAVE_CTZ_LE 1
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#endif

/* Outcome of the per-type helpers, mapped to a reason by the caller. */
typedef enum ParseStatus
{
	PS_OK,
	PS_SYNTAX,					/* invalid input syntax */
	PS_RANGE,					/* value out of range for the type */
	PS_FIELD_RANGE,				/* date/time field value out of range */
	PS_TZ_RANGE,				/* time zone displacement out of range */
	PS_SPECIAL,					/* now, today, epoch, infinity, ... */
	PS_TOO_LONG,				/* varchar(n) and more than n characters */
	PS_NUMERIC_OVERFLOW,		/* numeric(p,s) and too many digits */
	PS_LOCAL_TIME,				/* a local time the time zone cannot map */
	PS_UNKNOWN_TYPE				/* cannot happen: a type the schema lacks */
} ParseStatus;


/* Character helpers (inline: they are on every field's path). */

/* PostgreSQL trims with isspace() in the C locale: space, \t \n \v \f \r. */
static inline bool
is_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static inline bool
is_digit(unsigned char c)
{
	return (unsigned char) (c - '0') < 10;
}

static inline unsigned char
to_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char) (c + ('a' - 'A')) : c;
}

/*
 * Cuts leading and trailing white space off [*s, *s + *len).
 */
static inline void
trim_space(const char **s, size_t *len)
{
	const char *p = *s;
	const char *e = p + *len;

	while (p < e && is_space((unsigned char) *p))
		p++;
	while (e > p && is_space((unsigned char) e[-1]))
		e--;
	*s = p;
	*len = (size_t) (e - p);
}

/*
 * Case-insensitive comparison of s[0..len) with the lower-case word w.
 */
static inline bool
equals_word(const char *s, size_t len, const char *w)
{
	size_t		i;

	for (i = 0; i < len; i++)
	{
		if (w[i] == '\0' || to_lower((unsigned char) s[i]) != (unsigned char) w[i])
			return false;
	}
	return w[len] == '\0';
}

/*
 * True when s[0..len) is a non-empty case-insensitive prefix of the
 * lower-case word w (PostgreSQL's pg_strncasecmp(value, w, len) == 0 as used
 * by parse_bool_with_len).
 */
static inline bool
is_prefix_of(const char *s, size_t len, const char *w)
{
	size_t		i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++)
	{
		if (w[i] == '\0' || to_lower((unsigned char) s[i]) != (unsigned char) w[i])
			return false;
	}
	return true;
}

/*
 * Builds a failure reason in a buffer of cap bytes (an SvParseError's, or
 * the path compiler's caller's) without overrunning it; what is appended
 * is cut, on a character boundary, when the buffer is full.  The one
 * builder of every format's reasons, so that a value or a column name is
 * escaped and cut the same way in all of them.
 */
typedef struct ReasonBuf
{
	char	   *buf;
	size_t		len;
	size_t		cap;
} ReasonBuf;

/* how many bytes of a value, a column name and a JSON path a reason shows */
#define REASON_VALUE_MAX 40
#define REASON_NAME_MAX 64
#define REASON_PATH_MAX 80

/*
 * Checks that data[0..len) is valid UTF-8 without NUL bytes.  Returns len
 * when it is, otherwise the offset of the first bad byte, with *is_nul
 * telling a NUL byte from an invalid sequence.
 */
extern size_t sv_utf8_check(const char *data, size_t len, bool *is_nul);
extern int	sv_utf8_sequence_length(const unsigned char *s, size_t avail);
extern size_t sv_reason_escape(char *buf, size_t len, size_t cap, const char *str,
							   size_t slen, size_t maxin, bool quote_too, bool *cut);

/* Starts an empty reason in buf[0..cap). */
extern void sv_rb_init(ReasonBuf *rb, char *buf, size_t cap);

/* Appends an ASCII string / a signed number / valid UTF-8 text. */
extern void sv_rb_str(ReasonBuf *rb, const char *s);
extern void sv_rb_num(ReasonBuf *rb, long long v);
extern void sv_rb_utf8(ReasonBuf *rb, const char *s);

/*
 * Appends str[0..len) escaped as sv_reason_escape() says (double quotes too
 * with quote_too), at most maxin bytes of it, then "..." if it was cut.
 */
extern void sv_rb_escaped(ReasonBuf *rb, const char *str, size_t len,
						  size_t maxin, bool quote_too);

/* Appends a value in double quotes, escaped, at most REASON_VALUE_MAX bytes. */
extern void sv_rb_quoted(ReasonBuf *rb, const char *s, size_t len);

/* Appends 'field N "name": ' for field (0-based) of the schema. */
extern void sv_rb_field(ReasonBuf *rb, const SvSchema *schema, int field);

/*
 * Starts a reason; for a field (0-based) it begins with: field N "name":
 * (N 1-based).  field -1: the whole message.
 */
extern void sv_rb_begin(ReasonBuf *rb, SvParseError *err, const SvSchema *schema,
						int field);

/* PostgreSQL's name for a column type ("timestamp without time zone"). */
extern const char *sv_type_name(SvType type);

/* A message-level failure with a fixed reason; returns false. */
extern bool sv_fail_message(SvParseError *err, const char *why);

/*
 * Bad UTF-8 or a NUL byte at data[pos] ("invalid UTF-8 byte sequence at
 * byte offset N<where>: 0x..", "NUL byte (0x00) at byte offset N<where>");
 * returns false.
 */
extern bool sv_fail_encoding(const SvSchema *schema, int field, const char *data,
							 size_t len, size_t pos, const char *where,
							 bool is_nul, SvParseError *err);

/*
 * Reports that a field failed to convert or to fit its column, with a
 * reason worded like PostgreSQL's own message for that case.  Out of line
 * (cold), so that the reason buffer stays out of the hot callers' frames.
 * Returns false.
 */
extern sv_cold bool sv_fail_field(const SvSchema *schema, int field, ParseStatus status,
								  const char *raw, size_t rawlen, SvParseError *err);

/* Appends one JSON path step as the path syntax writes it (json_path.c). */
extern void sv_json_path_append_step(ReasonBuf *rb, const SvJsonStep *st);

/*
 * Converts one field by its column, as sv_parse_field() (null_marker_applies)
 * or sv_parse_value() (not) do, for a caller that has already checked that
 * data[0..len) is valid UTF-8 without NUL bytes and that the schema and the
 * field number are good (it checks none of that again).
 */
extern bool sv_parse_field_checked(const SvSchema *schema, int field,
								   const char *data, size_t len, SvValue *value,
								   SvParseError *err, bool null_marker_applies);

/*
 * The conversions of the common types (parse.c): trimmed text in, the
 * value out, PS_OK or why not, as sv_parse_field_checked() uses them.
 */
extern ParseStatus sv_parse_int(const char *s, size_t len, int64_t min, int64_t max,
								int64_t *out);
extern ParseStatus sv_parse_float(const char *s, size_t len, bool is_float4, double *out);
extern ParseStatus sv_parse_timestamp(const SvSchema *schema, const char *s, size_t len,
									  bool with_tz, int64_t *out, bool *conv_failed);

/*
 * Converts a field of the usual kinds (an integer, float, timestamp or
 * text column's value) inline, by the same null marker rule and the same
 * conversion functions as sv_parse_field_checked(), which the caller calls
 * for every field this does not take (other types, varchar(n), a field
 * that does not convert: false, and that function then gives the same
 * value or the reason from the raw field). Inline in each format's loop,
 * it saves a call and the general function's cases per field: 10% of the
 * instructions of a delimited zoomcamp ride.
 */
static inline bool
sv_parse_field_fast(const SvSchema *schema, const SvColumn *col,
					const char *data, size_t len, SvValue *value,
					bool null_marker_applies)
{
	const char *null_marker = schema->null_marker ? schema->null_marker : "";
	size_t		null_len = schema->null_marker ? schema->null_len : 0;
	ParseStatus st = PS_OK;
	bool		conv_failed;

	value->str = data;
	value->len = len;
	value->v.i = 0;
	value->isnull = null_marker_applies && len == null_len &&
		(len == 0 || memcmp(data, null_marker, len) == 0);
	if (value->isnull)
		return true;
	if (col->type == SV_TYPE_TEXT)
		return col->max_chars < 0;	/* the slice itself */
	/* as the general path: the trimmed text (str/len) is converted */
	trim_space(&value->str, &value->len);
	switch (col->type)
	{
		case SV_TYPE_INT2:
			st = sv_parse_int(value->str, value->len, INT16_MIN, INT16_MAX, &value->v.i);
			break;
		case SV_TYPE_INT4:
			st = sv_parse_int(value->str, value->len, INT32_MIN, INT32_MAX, &value->v.i);
			break;
		case SV_TYPE_INT8:
			st = sv_parse_int(value->str, value->len, INT64_MIN, INT64_MAX, &value->v.i);
			break;
		case SV_TYPE_FLOAT4:
			st = sv_parse_float(value->str, value->len, true, &value->v.f);
			break;
		case SV_TYPE_FLOAT8:
			st = sv_parse_float(value->str, value->len, false, &value->v.f);
			break;
		case SV_TYPE_TIMESTAMP:
		case SV_TYPE_TIMESTAMPTZ:
			st = sv_parse_timestamp(schema, value->str, value->len,
									col->type == SV_TYPE_TIMESTAMPTZ,
									&value->v.i, &conv_failed);
			break;
		default:
			return false;
	}
	return st == PS_OK;
}

#endif							/* STREAMVIEW_PARSE_INT_H */
