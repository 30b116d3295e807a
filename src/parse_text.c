/*-------------------------------------------------------------------------
 *
 * parse_text.c
 *	  The parser's text: UTF-8 and NUL validation, and the failure reasons
 *	  (built only when a message fails).
 *
 * Part of the pure-C parser (see parse.h: no PostgreSQL header, no
 * allocation, never raises); parse_int.h states what its files share.
 * Every format (parse.c, csv.c, json.c) reports through these, so that the
 * same problem gets the same reason, worded like PostgreSQL's own message,
 * in every format.  Nothing here is on the path of a message that parses
 * but sv_utf8_check(), which the formats call for non-ASCII messages only.
 *
 * src/parse_text.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"
#include "parse_int.h"

/* how many bytes of an offending value a reason quotes */


/* ---------------------------------------------------------------------
 * UTF-8 and NUL validation
 * ---------------------------------------------------------------------
 */

/*
 * Length of the valid UTF-8 sequence starting at s (1..4), or 0 if the
 * bytes there are not one.  Follows PostgreSQL's pg_utf8_islegal(): no
 * overlong forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF.
 * The caller handles ASCII and so never passes a byte below 0x80.
 */
int
sv_utf8_sequence_length(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80,
				hi = 0xBF;
	int			n;
	int			i;

	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF)
	{
		n = 3;
		if (c == 0xE0)
			lo = 0xA0;			/* overlong */
		else if (c == 0xED)
			hi = 0x9F;			/* surrogates */
	}
	else if (c >= 0xF0 && c <= 0xF4)
	{
		n = 4;
		if (c == 0xF0)
			lo = 0x90;			/* overlong */
		else if (c == 0xF4)
			hi = 0x8F;			/* above U+10FFFF */
	}
	else
		return 0;				/* continuation byte, C0, C1 or F5..FF */

	if (avail < (size_t) n)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
	{
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	}
	return n;
}

/*
 * Checks that s[0..len) is valid UTF-8 without NUL bytes.  Returns len when
 * it is, otherwise the offset of the first bad byte, with *is_nul telling a
 * NUL byte from an invalid sequence.
 *
 * The fast path loads 8 bytes at a time: ((w - 0x01..01) | w) has no high
 * bit set in any byte exactly when every byte of w is in 0x01..0x7F, i.e.
 * ASCII without NUL, which is what nearly every message is.
 */
size_t
sv_utf8_check(const char *data, size_t len, bool *is_nul)
{
	const unsigned char *s = (const unsigned char *) data;
	const uint64_t ones = UINT64_C(0x0101010101010101);
	const uint64_t highs = UINT64_C(0x8080808080808080);
	size_t		i = 0;

	while (i < len)
	{
		unsigned char c;
		int			n;

		if (len - i >= 8)
		{
			uint64_t	w;

			memcpy(&w, s + i, 8);
			if ((((w - ones) | w) & highs) == 0)
			{
				i += 8;
				continue;
			}
		}
		c = s[i];
		if (c < 0x80)
		{
			if (c == 0)
			{
				*is_nul = true;
				return i;
			}
			i++;
			continue;
		}
		n = sv_utf8_sequence_length(s + i, len - i);
		if (n == 0)
		{
			*is_nul = false;
			return i;
		}
		i += (size_t) n;
	}
	return len;
}


/* ---------------------------------------------------------------------
 * Failure reasons (never on the success path)
 * ---------------------------------------------------------------------
 */

/* Starts an empty reason in buf[0..cap). */
void
sv_rb_init(ReasonBuf *rb, char *buf, size_t cap)
{
	rb->buf = buf;
	rb->len = 0;
	rb->cap = cap;
	if (cap > 0)
		buf[0] = '\0';
}

/*
 * Appends an ASCII string, cutting it when the buffer is full (cutting
 * ASCII cannot leave a broken character).
 */
void
sv_rb_str(ReasonBuf *rb, const char *s)
{
	if (rb->cap == 0)
		return;
	while (*s && rb->len < rb->cap - 1)
		rb->buf[rb->len++] = *s++;
	rb->buf[rb->len] = '\0';
}

/* Appends a signed number. */
void
sv_rb_num(ReasonBuf *rb, long long v)
{
	char		tmp[32];

	snprintf(tmp, sizeof(tmp), "%lld", v);
	sv_rb_str(rb, tmp);
}

/*
 * Appends valid UTF-8 text s, cut on a character boundary if the buffer
 * is full.
 */
void
sv_rb_utf8(ReasonBuf *rb, const char *s)
{
	size_t		n = strlen(s);

	if (rb->cap == 0)
		return;
	if (n > rb->cap - 1 - rb->len)
	{
		n = rb->cap - 1 - rb->len;
		while (n > 0 && ((unsigned char) s[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(rb->buf + rb->len, s, n);
	rb->len += n;
	rb->buf[rb->len] = '\0';
}

/*
 * Appends s[0..slen) to buf (holding len bytes, room for cap with its NUL)
 * safely: valid UTF-8 characters are copied, control characters, DEL and
 * bytes that are not valid UTF-8 become \xNN, a backslash becomes \\ (and,
 * with quote_too, a double quote becomes \").  At most maxin input bytes are
 * used; *cut says whether the value was cut (the caller appends "...",
 * for which room is kept).  A character is appended whole or not at all,
 * so the reason stays valid UTF-8 whatever the input was.  Returns the new
 * length.  The one escaper of every format's reasons.
 */
size_t
sv_reason_escape(char *buf, size_t len, size_t cap, const char *str, size_t slen,
				 size_t maxin, bool quote_too, bool *cut)
{
	const unsigned char *s = (const unsigned char *) str;
	size_t		i = 0;

	*cut = false;
	while (i < slen)
	{
		char		piece[8];
		size_t		plen;
		size_t		n;

		if (i >= maxin)
		{
			*cut = true;
			break;
		}
		if (s[i] >= 0x20 && s[i] < 0x7F && s[i] != '\\' &&
			!(quote_too && s[i] == '"'))
		{
			piece[0] = (char) s[i];
			plen = n = 1;
		}
		else if (s[i] == '\\' || s[i] == '"')
		{
			piece[0] = '\\';
			piece[1] = (char) s[i];
			plen = 2;
			n = 1;
		}
		else if (s[i] >= 0x80 &&
				 (n = (size_t) sv_utf8_sequence_length(s + i, slen - i)) > 0)
		{
			if (i + n > maxin)
			{
				*cut = true;
				break;
			}
			memcpy(piece, s + i, n);
			plen = n;
		}
		else
		{
			snprintf(piece, sizeof(piece), "\\x%02x", s[i]);
			plen = 4;
			n = 1;
		}
		/* keep room for a closing quote and "..." */
		if (len + plen + 5 > cap - 1)
		{
			*cut = true;
			break;
		}
		memcpy(buf + len, piece, plen);
		len += plen;
		i += n;
	}
	buf[len] = '\0';
	return len;
}

/* Appends str[0..len) escaped and cut as sv_reason_escape() says. */
void
sv_rb_escaped(ReasonBuf *rb, const char *str, size_t len, size_t maxin,
			  bool quote_too)
{
	bool		cut;

	if (rb->cap == 0)
		return;
	rb->len = sv_reason_escape(rb->buf, rb->len, rb->cap, str, len, maxin,
							   quote_too, &cut);
	if (cut)
		sv_rb_str(rb, "...");
}

/* Appends a value in double quotes, escaped and cut as sv_rb_escaped does. */
void
sv_rb_quoted(ReasonBuf *rb, const char *s, size_t len)
{
	sv_rb_str(rb, "\"");
	sv_rb_escaped(rb, s, len, REASON_VALUE_MAX, false);
	sv_rb_str(rb, "\"");
}

/* Appends 'field N "name": ' (N 1-based, for people). */
void
sv_rb_field(ReasonBuf *rb, const SvSchema *schema, int field)
{
	const char *name = NULL;

	if (schema != NULL && schema->columns != NULL && field < schema->ncolumns)
		name = schema->columns[field].name;
	sv_rb_str(rb, "field ");
	sv_rb_num(rb, (long long) field + 1);
	sv_rb_str(rb, " \"");
	if (name != NULL)
		sv_rb_escaped(rb, name, strlen(name), REASON_NAME_MAX, false);
	sv_rb_str(rb, "\": ");
}

/*
 * Starts a reason for a failed message.  For a field (0-based) the reason
 * begins with: field N "name": (sv_rb_field).
 */
void
sv_rb_begin(ReasonBuf *rb, SvParseError *err, const SvSchema *schema, int field)
{
	sv_rb_init(rb, err->reason, SV_REASON_LEN);
	err->field = field;
	if (field >= 0)
		sv_rb_field(rb, schema, field);
}

/* Reports a message-level failure with a fixed reason; returns false. */
bool
sv_fail_message(SvParseError *err, const char *why)
{
	ReasonBuf	rb;

	sv_rb_begin(&rb, err, NULL, -1);
	sv_rb_str(&rb, why);
	return false;
}

/* PostgreSQL's name for a column type, for reasons (parse_int.h). */
const char *
sv_type_name(SvType type)
{
	switch (type)
	{
		case SV_TYPE_INT2:
			return "smallint";
		case SV_TYPE_INT4:
			return "integer";
		case SV_TYPE_INT8:
			return "bigint";
		case SV_TYPE_FLOAT4:
			return "real";
		case SV_TYPE_FLOAT8:
			return "double precision";
		case SV_TYPE_NUMERIC:
			return "numeric";
		case SV_TYPE_BOOL:
			return "boolean";
		case SV_TYPE_TEXT:
			return "text";
		case SV_TYPE_DATE:
			return "date";
		case SV_TYPE_TIMESTAMP:
			return "timestamp without time zone";
		case SV_TYPE_TIMESTAMPTZ:
			return "timestamp with time zone";
		case SV_TYPE_JSON:
			return "json";
		case SV_TYPE_OTHER:
			break;
	}
	return "unknown";
}

/*
 * Reports that a field failed to convert or to fit its column, with a
 * reason worded like PostgreSQL's own message for that case.  Out of line
 * (cold), so that the reason buffer stays out of the hot callers' frames.
 * Returns false.
 */
sv_cold bool
sv_fail_field(const SvSchema *schema, int field, ParseStatus status,
			  const char *raw, size_t rawlen, SvParseError *err)
{
	const SvColumn *col = &schema->columns[field];
	const char *tname = sv_type_name(col->type);
	ReasonBuf	rb;

	sv_rb_begin(&rb, err, schema, field);
	switch (status)
	{
		case PS_RANGE:
			if (col->type == SV_TYPE_INT2 || col->type == SV_TYPE_INT4 ||
				col->type == SV_TYPE_INT8)
			{
				sv_rb_str(&rb, "value ");
				sv_rb_quoted(&rb, raw, rawlen);
				sv_rb_str(&rb, " is out of range for type ");
				sv_rb_str(&rb, tname);
			}
			else if (col->type == SV_TYPE_DATE)
			{
				sv_rb_str(&rb, "date out of range: ");
				sv_rb_quoted(&rb, raw, rawlen);
			}
			else if (col->type == SV_TYPE_TIMESTAMP ||
					 col->type == SV_TYPE_TIMESTAMPTZ)
			{
				sv_rb_str(&rb, "timestamp out of range: ");
				sv_rb_quoted(&rb, raw, rawlen);
			}
			else if (col->type == SV_TYPE_NUMERIC)
			{
				sv_rb_str(&rb, "value overflows numeric format: ");
				sv_rb_quoted(&rb, raw, rawlen);
			}
			else
			{
				sv_rb_quoted(&rb, raw, rawlen);
				sv_rb_str(&rb, " is out of range for type ");
				sv_rb_str(&rb, tname);
			}
			break;
		case PS_FIELD_RANGE:
			sv_rb_str(&rb, "date/time field value out of range: ");
			sv_rb_quoted(&rb, raw, rawlen);
			break;
		case PS_TZ_RANGE:
			sv_rb_str(&rb, "time zone displacement out of range: ");
			sv_rb_quoted(&rb, raw, rawlen);
			break;
		case PS_SPECIAL:
			{
				const char *s = raw;
				size_t		n = rawlen;

				trim_space(&s, &n);
				sv_rb_quoted(&rb, s, n);
				sv_rb_str(&rb, col->type == SV_TYPE_DATE ?
					   " is not an explicit date" :
					   " is not an explicit timestamp");
				sv_rb_str(&rb, " (special values are refused: a replayed message must give the same value)");
			}
			break;
		case PS_TOO_LONG:
			sv_rb_str(&rb, "value too long for type character varying(");
			sv_rb_num(&rb, col->max_chars);
			sv_rb_str(&rb, "): ");
			sv_rb_quoted(&rb, raw, rawlen);
			break;
		case PS_NUMERIC_OVERFLOW:
			sv_rb_str(&rb, "numeric field overflow: ");
			sv_rb_quoted(&rb, raw, rawlen);
			sv_rb_str(&rb, " does not fit numeric(");
			sv_rb_num(&rb, col->precision);
			sv_rb_str(&rb, ",");
			sv_rb_num(&rb, col->scale);
			sv_rb_str(&rb, ")");
			break;
		case PS_LOCAL_TIME:
			sv_rb_str(&rb, "cannot convert local time ");
			sv_rb_quoted(&rb, raw, rawlen);
			sv_rb_str(&rb, " to UTC");
			break;
		case PS_UNKNOWN_TYPE:
			sv_rb_str(&rb, "unknown column type ");
			sv_rb_num(&rb, (long long) col->type);
			break;
		case PS_SYNTAX:
		case PS_OK:
			sv_rb_str(&rb, "invalid input syntax for type ");
			sv_rb_str(&rb, tname);
			sv_rb_str(&rb, ": ");
			sv_rb_quoted(&rb, raw, rawlen);
			break;
	}
	return false;
}


/*
 * Reports bad UTF-8 or a NUL byte at data[pos], showing the offending bytes
 * in hex as PostgreSQL does ("invalid byte sequence for encoding").
 */
bool
sv_fail_encoding(const SvSchema *schema, int field, const char *data,
				 size_t len, size_t pos, const char *where, bool is_nul,
				 SvParseError *err)
{
	const unsigned char *s = (const unsigned char *) data;
	ReasonBuf	rb;

	sv_rb_begin(&rb, err, schema, field);
	if (is_nul)
	{
		sv_rb_str(&rb, "NUL byte (0x00) at byte offset ");
		sv_rb_num(&rb, (long long) pos);
		sv_rb_str(&rb, where);
	}
	else
	{
		size_t		i;
		size_t		n = 1;
		unsigned char c = s[pos];

		/* show as many bytes as the lead byte announces, like PostgreSQL */
		if (c >= 0xC0 && c < 0xE0)
			n = 2;
		else if (c >= 0xE0 && c < 0xF0)
			n = 3;
		else if (c >= 0xF0 && c < 0xF8)
			n = 4;
		if (n > len - pos)
			n = len - pos;
		sv_rb_str(&rb, "invalid UTF-8 byte sequence at byte offset ");
		sv_rb_num(&rb, (long long) pos);
		sv_rb_str(&rb, where);
		sv_rb_str(&rb, ":");
		for (i = 0; i < n; i++)
		{
			char		hex[8];

			snprintf(hex, sizeof(hex), " 0x%02x", s[pos + i]);
			sv_rb_str(&rb, hex);
		}
		if (c >= 0x80 && c < 0xC0)
			sv_rb_str(&rb, " (unexpected continuation byte)");
	}
	return false;
}
