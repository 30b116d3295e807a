/*
 * parse_int.h - helpers of parse.c shared with the other formats (csv.c,
 * json.c), so that the same problem gets the same reason in every format.
 * Internal: pure C like parse.h, not for the backend side.
 */
#ifndef STREAMVIEW_PARSE_INT_H
#define STREAMVIEW_PARSE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "parse.h"

/* Builds a failure reason in an SvParseError without overrunning it. */
typedef struct ReasonBuf
{
	char	   *buf;
	size_t		len;
} ReasonBuf;

/*
 * Checks that data[0..len) is valid UTF-8 without NUL bytes.  Returns len
 * when it is, otherwise the offset of the first bad byte, with *is_nul
 * telling a NUL byte from an invalid sequence.
 */
extern size_t utf8_check(const char *data, size_t len, bool *is_nul);
extern int	utf8_sequence_length(const unsigned char *s, size_t avail);
extern size_t reason_escape(char *buf, size_t len, size_t cap, const char *str,
							size_t slen, size_t maxin, bool quote_too, bool *cut);

/* Appends an ASCII string / a signed number to a reason. */
extern void rb_str(ReasonBuf *rb, const char *s);
extern void rb_num(ReasonBuf *rb, long long v);

/*
 * Starts a reason; for a field (0-based) it begins with: field N "name":
 * (N 1-based).  field -1: the whole message.
 */
extern void rb_begin(ReasonBuf *rb, SvParseError *err, const SvSchema *schema,
					 int field);

/* PostgreSQL's name for a column type ("timestamp without time zone"). */
extern const char *type_name(SvType type);

/* A message-level failure with a fixed reason; returns false. */
extern bool fail_message(SvParseError *err, const char *why);

/*
 * Bad UTF-8 or a NUL byte at data[pos] ("invalid UTF-8 byte sequence at
 * byte offset N<where>: 0x..", "NUL byte (0x00) at byte offset N<where>");
 * returns false.
 */
extern bool fail_encoding(const SvSchema *schema, int field, const char *data,
						  size_t len, size_t pos, const char *where,
						  bool is_nul, SvParseError *err);

/*
 * Converts one field by its column, as sv_parse_field() (null_marker_applies)
 * or sv_parse_value() (not) do, for a caller that has already checked that
 * data[0..len) is valid UTF-8 without NUL bytes and that the schema and the
 * field number are good (it checks none of that again).
 */
extern bool parse_field_checked(const SvSchema *schema, int field,
								const char *data, size_t len, SvValue *value,
								SvParseError *err, bool null_marker_applies);

#endif							/* STREAMVIEW_PARSE_INT_H */
