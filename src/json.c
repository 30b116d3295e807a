/*-------------------------------------------------------------------------
 *
 * json.c
 *	  The JSON message format: each message value is one JSON object, and
 *	  each column takes the value of a top-level member of its name, or of
 *	  the member a JSON path gives ("$.trip.pickup.at", "$.items[0].price").
 *
 * Like parse.c this file is pure C: no PostgreSQL header, no backend call,
 * no error raised, and no allocation on the common path.  It is our own
 * single-pass parser, chosen over PostgreSQL's pg_parse_json, json-c and
 * jansson because it was measurably faster on the zoomcamp rides and is
 * fuzzed like parse.c (see the README's measurement table): it validates
 * the whole message as it goes, but materializes only the members that
 * columns take, and converts their text as sv_parse_value() does (through
 * parse.c's sv_parse_field_checked), so a value in JSON converts exactly as
 * the same text in a delimited message would.  Integers without fraction
 * or exponent in int columns are converted in place (json_int_fast), with
 * the same result.
 *
 * How a message is read:
 *   - The members that no column takes are skipped by json_skip(), which
 *     is iterative: it keeps one bit per open object or array (on the stack
 *     for the first 1024 levels, then in a malloc'ed block that doubles), so
 *     nesting of any depth is validated without recursion.
 *   - The parser descends only into members that some column's path goes
 *     through, and paths have at most SV_JSON_PATH_MAX_STEPS steps, so the
 *     recursion of json_parse_container() is bounded by that.
 *   - A top-level member's name is matched to the columns through a 6-bit
 *     key (length, first and last byte) of the columns' first steps, built
 *     per message, so most members are ruled out at once.
 *   - Each column has a little state (JsonCol): how many steps of its path
 *     the current location matches, and how many it has consumed.  A column
 *     that meets a step it already consumed has met a duplicate member name
 *     along its path; duplicates among the other top-level names are found
 *     with a small hash set (also on the stack until it grows).
 *   - Strings are checked (escapes, surrogate pairs, UTF-8, control
 *     characters) 16 bytes (SSE2) or 8 bytes at a time while they hold
 *     nothing special.  A
 *     string that a column takes and that has escapes is decoded into the
 *     schema's scratch buffer; all others are used in place.
 *   - With a plan (sv_json_plan_build), a message of the same shape as a
 *     recent one parsed in full (the same text between its values: most
 *     producers write the same members in the same order) is parsed by
 *     comparing that text and reading only the values (json_shape_parse),
 *     with the same outcome; a miss costs a full parse, and misses make
 *     the parser try less often.
 *
 * Errors: a broken message (invalid JSON, invalid UTF-8 or a NUL byte, not
 * an object) stops the parse at once, with field -1.  A duplicate member
 * name (field -1, or the column whose path met it) and a value that does
 * not convert (its column) are deferred: the parse goes on, converting
 * nothing more, so that a message that is also broken JSON is reported as
 * broken JSON; otherwise the first duplicate is reported, or if there is
 * none, the first value that failed.
 *
 * src/json.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "parse_int.h"

/* what lives on the stack before the parser mallocs (uncommon messages) */
#define COLS_ON_STACK	32		/* columns' states */
#define NAMES_ON_STACK	32		/* hash set slots, a power of two */
#define SKIP_WORDS_ON_STACK 16	/* 64 nesting levels per word */

/* Deferred failures, the weightier last (JsonParser.deferred). */
#define DEFER_NONE		0
#define DEFER_VALUE		1
#define DEFER_DUPLICATE 2

/* The kinds of JSON values. */
typedef enum JsonKind
{
	JK_OBJECT,
	JK_ARRAY,
	JK_STRING,
	JK_NUMBER,
	JK_TRUE,
	JK_FALSE,
	JK_NULL
} JsonKind;

/* One scanned value that a column takes. */
typedef struct JsonToken
{
	JsonKind	kind;
	const char *str;			/* the value's text: a string's contents
								 * (decoded), else the JSON text */
	size_t		len;
	const char *raw;			/* the value's JSON text in the message (a
								 * string's with its quotes and escapes) */
	size_t		raw_len;
} JsonToken;

/* Per-column state while a message is parsed. */
typedef struct JsonCol
{
	const SvJsonStep *steps;	/* the column's path; NULL: its name */
	int			nsteps;
	const char *name0;			/* the first step's name; NULL: an index */
	size_t		len0;
	int			matched;		/* steps of the path equal to the current
								 * location's (the column is a candidate for
								 * members of the current container when
								 * this equals its depth) */
	int			consumed;		/* steps met so far: meeting one again is a
								 * duplicate member along the path */
	bool		pending;		/* takes the member being read */
	int			key_next;		/* the next column (in column order) whose
								 * first step has the same json_key(); -1:
								 * none */
} JsonCol;

/* A top-level member name that no column takes, in the duplicate set. */
typedef struct JsonName
{
	const char *name;			/* decoded; NULL: free slot */
	size_t		len;
	uint64_t	hash;
} JsonName;

/*
 * The shape of a message (see json_shape_parse): the values that columns
 * take or that are skipped, in the order they come, each after the exact
 * text before it (its "glue": brackets, names, colons, commas, white
 * space), and the text after the last one.  Learned by the full parse of
 * the message before a try (json_shape_try), if it accepted the message;
 * otherwise there is no shape until the next such parse.
 */
#define SHAPE_MAX_VALUES	64
#define SHAPE_MAX_GLUE		1024
#define SHAPE_MAX_BACKOFF	1024	/* messages parsed in full after a miss */

typedef struct JsonShapeValue
{
	uint16_t	glue_len;		/* bytes of glue before the value */
	int16_t		col;			/* the column that takes it; -1: skipped */
	char		first;			/* '{', '[', or 's' for a scalar */
} JsonShapeValue;

typedef struct JsonShape
{
	int			nvalues;		/* -1: no shape */
	uint16_t	glue_used;		/* bytes of glue[] in use */
	uint16_t	tail_len;		/* the last tail_len bytes of glue[]: the
								 * text after the last value */
	int			backoff;		/* after a miss, parse this many messages in
								 * full: doubles with each miss, halves with
								 * each hit */
	int			skip;			/* messages still to parse in full */
	uint64_t	hits;			/* messages parsed by the shape */
	JsonShapeValue values[SHAPE_MAX_VALUES];
	char		glue[SHAPE_MAX_GLUE];
} JsonShape;

/* The state of one sv_parse_json() call. */
typedef struct JsonParser
{
	const SvSchema *schema;
	const char *data;
	const char *end;
	SvValue    *values;
	SvParseError *err;
	JsonCol    *cols;
	int			ncols;
	int			deferred;		/* what *err holds: DEFER_NONE, DEFER_VALUE
								 * (a value that failed), DEFER_DUPLICATE */
	char	   *scratch;		/* decoded strings; NULL: none given */
	size_t		scratch_cap;
	size_t		scratch_used;
	JsonName   *names;			/* the duplicate set; NULL until needed */
	size_t		names_cap;
	size_t		names_count;
	uint64_t	names_used;		/* which slots of names_local are used */
	JsonName	names_local[NAMES_ON_STACK];
	JsonShape  *learn;			/* the plan's shape being learned (the full
								 * parse); NULL: none */
	const char *learn_end;		/* where the last value learned ends */

	/*
	 * Which columns' first steps have which json_key() (0..63): bit k of
	 * key_present says some column has key k, and then key_head[k] is the
	 * first of them in column order, and JsonCol.key_next chains the
	 * others (key_tail[k] is the last, while the chains are built).  A
	 * top-level member whose key is absent is no column's, without looking
	 * further; for the others only the chain is compared.
	 */
	uint64_t	key_present;
	int			key_head[64];
	int			key_tail[64];
} JsonParser;


/* ---------------------------------------------------------------------
 * Character helpers
 * ---------------------------------------------------------------------
 */

/* JSON's white space: space, tab, line feed, carriage return. */
static inline bool
json_is_ws(unsigned char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/*
 * Skips JSON white space from p, not beyond e.  Most calls meet no white
 * space or one blank: every byte above ' ' is not white space.
 */
static inline const char *
json_ws(const char *p, const char *e)
{
	while (p < e && (unsigned char) *p <= ' ' && json_is_ws((unsigned char) *p))
		p++;
	return p;
}

/*
 * Bytes that continue a bare token (a number or true/false/null), so that
 * "01", "1x" and "nulls" are read as one bad token, as PostgreSQL does.
 */
static inline bool
json_is_token_char(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') ||
		(c >= 'A' && c <= 'Z') || c == '+' || c == '-' || c == '.' ||
		c == '_';
}

/* Value of one hex digit, or -1. */
static inline int
json_hex(unsigned char c)
{
	if (is_digit(c))
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The 4 hex digits at s as a number, or -1 if they are not 4 hex digits. */
static inline long
json_hex4(const char *s)
{
	int			a = json_hex((unsigned char) s[0]),
				b = json_hex((unsigned char) s[1]),
				c = json_hex((unsigned char) s[2]),
				d = json_hex((unsigned char) s[3]);

	if ((a | b | c | d) < 0)
		return -1;
	return ((long) a << 12) | (b << 8) | (c << 4) | d;
}

/* Writes code point cp (valid, not a surrogate) as UTF-8; returns its length. */
static inline size_t
json_put_utf8(char *out, unsigned long cp)
{
	if (cp < 0x80)
	{
		out[0] = (char) cp;
		return 1;
	}
	if (cp < 0x800)
	{
		out[0] = (char) (0xC0 | (cp >> 6));
		out[1] = (char) (0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000)
	{
		out[0] = (char) (0xE0 | (cp >> 12));
		out[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char) (0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char) (0xF0 | (cp >> 18));
	out[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char) (0x80 | (cp & 0x3F));
	return 4;
}


/* ---------------------------------------------------------------------
 * Failure reasons (never on the success path), built with parse_text.c's
 * reason builder (sv_rb_*) and sv_fail_encoding(), so that a value or a column
 * name is escaped and cut as in the other formats' reasons.
 * ---------------------------------------------------------------------
 */

/*
 * Starts the reason for a failure of column c:
 *   column "name" ($.path): 
 * The path is cut after about REASON_PATH_MAX bytes.
 */
static void
json_rb_column(ReasonBuf *rb, JsonParser *jp, int c)
{
	const SvColumn *col = &jp->schema->columns[c];
	const JsonCol *jc = &jp->cols[c];
	const char *name = col->name ? col->name : "";
	size_t		start;
	int			i;

	sv_rb_init(rb, jp->err->reason, SV_REASON_LEN);
	jp->err->field = c;
	sv_rb_str(rb, "column \"");
	sv_rb_escaped(rb, name, strlen(name), REASON_NAME_MAX, false);
	sv_rb_str(rb, "\" ($");
	start = rb->len;
	if (jc->steps == NULL)
	{
		SvJsonStep	st = {name, strlen(name), 0};

		sv_json_path_append_step(rb, &st);
	}
	else
	{
		for (i = 0; i < jc->nsteps; i++)
		{
			if (rb->len - start > REASON_PATH_MAX)
			{
				sv_rb_str(rb, "...");
				break;
			}
			sv_json_path_append_step(rb, &jc->steps[i]);
		}
	}
	sv_rb_str(rb, "): ");
}

/* "a JSON object" and so on, for reasons. */
static const char *
json_kind_name(JsonKind kind)
{
	switch (kind)
	{
		case JK_OBJECT:
			return "a JSON object";
		case JK_ARRAY:
			return "a JSON array";
		case JK_STRING:
			return "a JSON string";
		case JK_NUMBER:
			return "a JSON number";
		case JK_TRUE:
		case JK_FALSE:
			return "a JSON boolean";
		case JK_NULL:
			break;
	}
	return "a JSON null";
}

/*
 * Reports a NUL byte or invalid UTF-8 at byte pos of the message, worded
 * as parse.c does for a delimited message.  Returns false.
 */
static bool
json_fail_encoding(JsonParser *jp, size_t pos, bool is_nul)
{
	return sv_fail_encoding(jp->schema, -1, jp->data,
							(size_t) (jp->end - jp->data), pos, " of the message",
							is_nul, jp->err);
}

/*
 * Reports invalid JSON found at pos: "invalid JSON at byte N: what", and
 * when tok is given, the offending token in quotes after it.  A NUL byte
 * or invalid UTF-8 at pos is reported as such instead.  Returns false.
 */
static bool
json_fail_syntax(JsonParser *jp, const char *pos, const char *what,
				 const char *tok, size_t toklen)
{
	size_t		off = (size_t) (pos - jp->data);
	size_t		len = (size_t) (jp->end - jp->data);
	ReasonBuf	rb;

	if (off < len)
	{
		const unsigned char *u = (const unsigned char *) pos;

		if (u[0] == 0)
			return json_fail_encoding(jp, off, true);
		if (u[0] >= 0x80 && sv_utf8_sequence_length(u, len - off) == 0)
			return json_fail_encoding(jp, off, false);
	}
	sv_rb_begin(&rb, jp->err, NULL, -1);
	sv_rb_str(&rb, "invalid JSON at byte ");
	sv_rb_num(&rb, (long long) off);
	sv_rb_str(&rb, ": ");
	sv_rb_str(&rb, what);
	if (tok != NULL)
	{
		sv_rb_str(&rb, " ");
		sv_rb_quoted(&rb, tok, toklen);
	}
	return false;
}

/*
 * Reports that something else was expected at pos: "expected what", and
 * ", found the end of the message" when the message ends there.
 */
static bool
json_fail_expected(JsonParser *jp, const char *pos, const char *what)
{
	char		msg[96];

	snprintf(msg, sizeof(msg), "expected %s%s", what,
			 pos >= jp->end ? ", found the end of the message" : "");
	return json_fail_syntax(jp, pos, msg, NULL, 0);
}

/*
 * Records that column c failed with the reason in why (when no earlier
 * column failed): "column "name" ($.path): why".
 */
static void
json_fail_column(JsonParser *jp, int c, const char *why)
{
	ReasonBuf	rb;
	char		tmp[SV_REASON_LEN];

	if (jp->deferred != DEFER_NONE)
		return;
	jp->deferred = DEFER_VALUE;
	/* why may be err->reason itself */
	snprintf(tmp, sizeof(tmp), "%s", why);
	json_rb_column(&rb, jp, c);
	sv_rb_utf8(&rb, tmp);
}

/*
 * Records that sv_parse_value() refused column c's value: its reason,
 * which begins with sv_rb_begin()'s 'field N "name": ', gets our prefix instead.
 */
static void
json_fail_value(JsonParser *jp, int c)
{
	char		prefix[SV_REASON_LEN];
	ReasonBuf	rb;
	const char *why = jp->err->reason;

	sv_rb_init(&rb, prefix, SV_REASON_LEN);
	sv_rb_field(&rb, jp->schema, c);
	if (strncmp(why, prefix, rb.len) == 0)
		why += rb.len;
	json_fail_column(jp, c, why);
}


/* ---------------------------------------------------------------------
 * Scanning: strings, numbers, literals, whole values
 * ---------------------------------------------------------------------
 */

#ifdef SV_HAVE_CTZ_LE
/*
 * The bytes of w (8 bytes of a string) that need a closer look: '"', '\',
 * control characters (below 0x20) and non-ASCII bytes (0x80 and up).  The
 * high bit of each such byte is set in the result, exactly (no carries
 * cross bytes).
 */
static inline uint64_t
json_special_bytes(uint64_t w)
{
	const uint64_t ones = UINT64_C(0x0101010101010101);
	const uint64_t low7 = UINT64_C(0x7f7f7f7f7f7f7f7f);
	const uint64_t highs = UINT64_C(0x8080808080808080);
	uint64_t	xq = w ^ (ones * '"');
	uint64_t	xb = w ^ (ones * '\\');
	uint64_t	zq = ~(((xq & low7) + low7) | xq | low7);
	uint64_t	zb = ~(((xb & low7) + low7) | xb | low7);
	uint64_t	ctl = ~((w & low7) + ones * 0x60);

	return zq | zb | ((ctl | w) & highs);
}
#endif

/*
 * Reports a bad escape sequence, the n bytes at s (a backslash first):
 * "invalid JSON at byte N: before \xyz after".  A NUL byte or invalid
 * UTF-8 right after the backslash is reported as such instead.
 */
static bool
json_fail_escape(JsonParser *jp, const char *s, size_t n, const char *before,
				 const char *after)
{
	size_t		off = (size_t) (s - jp->data);
	size_t		len = (size_t) (jp->end - jp->data);
	const unsigned char *u = (const unsigned char *) s;
	ReasonBuf	rb;

	if (off + 1 < len && u[1] == 0)
		return json_fail_encoding(jp, off + 1, true);
	if (off + 1 < len && u[1] >= 0x80 &&
		sv_utf8_sequence_length(u + 1, len - off - 1) == 0)
		return json_fail_encoding(jp, off + 1, false);
	sv_rb_begin(&rb, jp->err, NULL, -1);
	sv_rb_str(&rb, "invalid JSON at byte ");
	sv_rb_num(&rb, (long long) off);
	sv_rb_str(&rb, ": ");
	sv_rb_str(&rb, before);
	sv_rb_str(&rb, " \\");
	sv_rb_escaped(&rb, s + 1, n - 1, 12, false);
	sv_rb_str(&rb, after);
	return false;
}

/*
 * Checks the escape sequence whose backslash is at s (inside a string that
 * ends by e at the latest).  Returns where it ends, or NULL after reporting
 * it: an unknown escape, \u without 4 hex digits, or a surrogate that is
 * not half of a pair.
 */
static const char *
json_check_escape(JsonParser *jp, const char *s, const char *e)
{
	long		cp;
	long		lo;

	if (e - s < 2)
	{
		json_fail_syntax(jp, e, "unterminated string", NULL, 0);
		return NULL;
	}
	switch (s[1])
	{
		case '"':
		case '\\':
		case '/':
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't':
			return s + 2;
		case 'u':
			break;
		default:
			{
				size_t		n = 2;

				if ((unsigned char) s[1] >= 0x80)
				{
					int			u = sv_utf8_sequence_length((const unsigned char *) s + 1,
															(size_t) (e - s - 1));

					n = 1 + (u > 0 ? (size_t) u : 1);
				}
				json_fail_escape(jp, s, n, "invalid escape sequence", "");
				return NULL;
			}
	}
	cp = (e - s >= 6) ? json_hex4(s + 2) : -1;
	if (cp < 0)
	{
		const char *t = s + 2;

		/* show the hex digits there are and the byte that is not one */
		while (t < e && t < s + 6 && json_hex((unsigned char) *t) >= 0)
			t++;
		if (t < e && t < s + 6)
			t++;
		json_fail_escape(jp, s, (size_t) (t - s), "invalid escape sequence", "");
		return NULL;
	}
	if (cp >= 0xDC00 && cp <= 0xDFFF)
	{
		json_fail_escape(jp, s, 6, "Unicode low surrogate",
						 " must follow a high surrogate");
		return NULL;
	}
	if (cp >= 0xD800 && cp <= 0xDBFF)
	{
		lo = (e - s >= 12 && s[6] == '\\' && s[7] == 'u') ? json_hex4(s + 8) : -1;
		if (lo < 0xDC00 || lo > 0xDFFF)
		{
			json_fail_escape(jp, s, 6, "Unicode high surrogate",
							 " must be followed by a low surrogate");
			return NULL;
		}
		return s + 12;
	}
	return s + 6;
}

#if defined(SV_HAVE_CTZ_LE) && defined(__SSE2__)
/*
 * A mask of the bytes among s[0..15] that end a string's plain run: '"',
 * '\\', and (as signed bytes) everything below 0x20, which includes the
 * bytes of 0x80 and up. The caller makes sure the 16 bytes are the value's.
 */
static inline int
json_special16(const char *s)
{
	__m128i		v = _mm_loadu_si128((const __m128i *) s);
	__m128i		q = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
	__m128i		b = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
	__m128i		lo = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));

	return _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(q, b), lo));
}
#endif

/*
 * Scans the string whose opening quote is at p: checks that it is
 * terminated, its escapes, that it has no control characters and that it
 * is valid UTF-8.  Returns the byte after its closing quote and sets
 * *has_esc when it contains escapes, or reports why and returns NULL.
 */
static const char *
json_scan_string(JsonParser *jp, const char *p, bool *has_esc)
{
	const char *e = jp->end;
	const char *s = p + 1;
	bool		esc = false;

	for (;;)
	{
		unsigned char c;

#ifdef SV_HAVE_CTZ_LE
#ifdef __SSE2__

		/*
		 * 16 bytes at a time: '"', '\\', and (as signed bytes) everything
		 * below 0x20, which includes the bytes of 0x80 and up
		 */
		while (e - s >= 16)
		{
			int			m = json_special16(s);

			if (m != 0)
			{
				s += __builtin_ctz((unsigned) m);
				goto special;
			}
			s += 16;
		}
#endif
		while (e - s >= 8)
		{
			uint64_t	w;
			uint64_t	special;

			memcpy(&w, s, 8);
			special = json_special_bytes(w);
			if (special != 0)
			{
				s += __builtin_ctzll(special) >> 3;
				break;
			}
			s += 8;
		}
#endif
		if (sv_unlikely(s >= e))
		{
			json_fail_syntax(jp, e, "unterminated string", NULL, 0);
			return NULL;
		}
#if defined(SV_HAVE_CTZ_LE) && defined(__SSE2__)
special:
#endif
		c = (unsigned char) *s;
		if (c == '"')
		{
			*has_esc = esc;
			return s + 1;
		}
		if (c == '\\')
		{
			esc = true;
			s = json_check_escape(jp, s, e);
			if (s == NULL)
				return NULL;
		}
		else if (sv_unlikely(c < 0x20))
		{
			char		msg[64];

			if (c == 0)
			{
				json_fail_encoding(jp, (size_t) (s - jp->data), true);
				return NULL;
			}
			snprintf(msg, sizeof(msg), "character with value 0x%02x must be escaped", c);
			json_fail_syntax(jp, s, msg, NULL, 0);
			return NULL;
		}
		else if (c >= 0x80)
		{
			int			n = sv_utf8_sequence_length((const unsigned char *) s,
													(size_t) (e - s));

			if (n == 0)
			{
				json_fail_encoding(jp, (size_t) (s - jp->data), false);
				return NULL;
			}
			s += n;
		}
		else
			s++;
	}
}

/*
 * json_scan_string() with its common case inline: a string of plain ASCII
 * whose closing quote comes within the next 32 bytes (member names,
 * timestamps), checked 16 bytes at a time as there.  Anything else, and
 * the last 32 bytes of the message, go to json_scan_string().
 */
static inline const char *
json_string_end(JsonParser *jp, const char *p, bool *has_esc)
{
#if defined(SV_HAVE_CTZ_LE) && defined(__SSE2__)
	const char *s = p + 1;

	if (sv_likely(jp->end - s >= 32))
	{
		int			i;

		for (i = 0; i < 2; i++, s += 16)
		{
			int			m = json_special16(s);

			if (m != 0)
			{
				s += __builtin_ctz((unsigned) m);
				if (sv_likely(*s == '"'))
				{
					*has_esc = false;
					return s + 1;
				}
				break;
			}
		}
	}
#endif
	return json_scan_string(jp, p, has_esc);
}

/*
 * Decodes the contents s[0..len) of a string that json_scan_string()
 * accepted into out (room for len bytes: decoding never lengthens).
 * Returns the decoded length; *has_nul tells whether it held \u0000.
 */
static size_t
json_decode_string(const char *s, size_t len, char *out, bool *has_nul)
{
	const char *e = s + len;
	char	   *o = out;

	*has_nul = false;
	while (s < e)
	{
		const char *bs = memchr(s, '\\', (size_t) (e - s));
		unsigned long cp;

		if (bs == NULL)
			bs = e;
		memcpy(o, s, (size_t) (bs - s));
		o += bs - s;
		s = bs;
		if (s >= e || e - s < 2)
			break;
		switch (s[1])
		{
			case 'b':
				*o++ = '\b';
				s += 2;
				continue;
			case 'f':
				*o++ = '\f';
				s += 2;
				continue;
			case 'n':
				*o++ = '\n';
				s += 2;
				continue;
			case 'r':
				*o++ = '\r';
				s += 2;
				continue;
			case 't':
				*o++ = '\t';
				s += 2;
				continue;
			case 'u':
				break;
			default:			/* " \ / */
				*o++ = s[1];
				s += 2;
				continue;
		}
		if (e - s < 6)
			break;				/* cannot happen after json_scan_string */
		cp = (unsigned long) json_hex4(s + 2);
		s += 6;
		if (cp >= 0xD800 && cp <= 0xDBFF && e - s >= 6)
		{
			cp = 0x10000 + ((cp - 0xD800) << 10) +
				((unsigned long) json_hex4(s + 2) - 0xDC00);
			s += 6;
		}
		if (cp == 0)
			*has_nul = true;
		o += json_put_utf8(o, cp);
	}
	return (size_t) (o - out);
}

/*
 * Scans the number at p (which starts with '-' or a digit) by JSON's
 * grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, not followed by
 * a letter, digit or dot.  Returns where it ends, or reports the whole bad
 * token and returns NULL.
 */
static const char *
json_scan_number(JsonParser *jp, const char *p)
{
	const char *e = jp->end;
	const char *q = p;

	if (*q == '-')
		q++;
	if (q < e && *q == '0')
		q++;
	else if (q < e && *q >= '1' && *q <= '9')
	{
		while (q < e && is_digit((unsigned char) *q))
			q++;
	}
	else
		goto bad;
	if (q < e && *q == '.')
	{
		q++;
		if (q >= e || !is_digit((unsigned char) *q))
			goto bad;
		while (q < e && is_digit((unsigned char) *q))
			q++;
	}
	if (q < e && (*q == 'e' || *q == 'E'))
	{
		q++;
		if (q < e && (*q == '+' || *q == '-'))
			q++;
		if (q >= e || !is_digit((unsigned char) *q))
			goto bad;
		while (q < e && is_digit((unsigned char) *q))
			q++;
	}
	if (q < e && json_is_token_char((unsigned char) *q))
		goto bad;
	return q;

bad:
	while (q < e && json_is_token_char((unsigned char) *q))
		q++;
	json_fail_syntax(jp, p, "invalid number", p, (size_t) (q - p));
	return NULL;
}

/*
 * Scans the scalar value at p (not white space; p < end) and describes it
 * in *tok (strings: their raw contents, and *has_esc).  Returns where it
 * ends, or reports why and returns NULL.  Objects and arrays are not
 * scalars: the caller handles '{' and '['.
 */
static const char *
json_scan_scalar(JsonParser *jp, const char *p, JsonToken *tok, bool *has_esc)
{
	const char *e = jp->end;
	const char *q;
	unsigned char c = (unsigned char) *p;

	*has_esc = false;
	if (c == '"')
	{
		q = json_string_end(jp, p, has_esc);
		if (q == NULL)
			return NULL;
		tok->kind = JK_STRING;
		tok->str = p + 1;
		tok->len = (size_t) (q - p - 2);
		return q;
	}
	if (c == '-' || is_digit(c))
	{
		q = json_scan_number(jp, p);
		if (q == NULL)
			return NULL;
		tok->kind = JK_NUMBER;
	}
	else if (json_is_token_char(c))
	{
		size_t		n;

		q = p;
		while (q < e && json_is_token_char((unsigned char) *q))
			q++;
		n = (size_t) (q - p);
		if (n == 4 && memcmp(p, "true", 4) == 0)
			tok->kind = JK_TRUE;
		else if (n == 5 && memcmp(p, "false", 5) == 0)
			tok->kind = JK_FALSE;
		else if (n == 4 && memcmp(p, "null", 4) == 0)
			tok->kind = JK_NULL;
		else
		{
			json_fail_syntax(jp, p, "invalid token", p, n);
			return NULL;
		}
	}
	else
	{
		json_fail_expected(jp, p, "a value");
		return NULL;
	}
	tok->str = p;
	tok->len = (size_t) (q - p);
	return q;
}

/*
 * Skips the value at p (after white space), checking it completely, and
 * returns where it ends, or reports why and returns NULL.  Iterative: a
 * bit per open container says whether it is an object (1) or an array
 * (0), on the stack for the first SKIP_WORDS_ON_STACK * 64 levels, then
 * in a malloc'ed block that doubles as needed.
 */
static const char *
json_skip(JsonParser *jp, const char *p)
{
	const char *e = jp->end;
	uint64_t	local[SKIP_WORDS_ON_STACK];
	uint64_t   *bits = local;
	size_t		cap = SKIP_WORDS_ON_STACK * 64;
	size_t		depth = 0;
	const char *result = NULL;

	for (;;)
	{
		/* at a value */
		if (sv_unlikely(p >= e))
		{
			json_fail_expected(jp, p, "a value");
			goto done;
		}
		if (*p == '{' || *p == '[')
		{
			bool		is_obj = (*p == '{');

			if (sv_unlikely(depth == cap))
			{
				uint64_t   *nb = malloc(cap / 4);	/* twice cap bits */

				if (nb == NULL)
				{
					sv_fail_message(jp->err, "out of memory for deeply nested JSON");
					goto done;
				}
				memcpy(nb, bits, cap / 8);
				if (bits != local)
					free(bits);
				bits = nb;
				cap *= 2;
			}
			if (is_obj)
				bits[depth / 64] |= UINT64_C(1) << (depth % 64);
			else
				bits[depth / 64] &= ~(UINT64_C(1) << (depth % 64));
			depth++;
			p = json_ws(p + 1, e);
			if (p < e && *p == (is_obj ? '}' : ']'))
			{
				p++;
				depth--;
			}
			else if (is_obj)
			{
				bool		esc;

				if (p >= e || *p != '"')
				{
					json_fail_expected(jp, p, "a member name or '}'");
					goto done;
				}
				p = json_string_end(jp, p, &esc);
				if (p == NULL)
					goto done;
				p = json_ws(p, e);
				if (p >= e || *p != ':')
				{
					json_fail_expected(jp, p, "':'");
					goto done;
				}
				p = json_ws(p + 1, e);
				continue;
			}
			else
				continue;
		}
		else
		{
			JsonToken	tok;
			bool		esc;

			p = json_scan_scalar(jp, p, &tok, &esc);
			if (p == NULL)
				goto done;
		}

		/* after a value: close containers, or go on to the next value */
		for (;;)
		{
			bool		is_obj;

			if (depth == 0)
			{
				result = p;
				goto done;
			}
			is_obj = (bits[(depth - 1) / 64] >> ((depth - 1) % 64)) & 1;
			p = json_ws(p, e);
			if (p < e && *p == (is_obj ? '}' : ']'))
			{
				p++;
				depth--;
				continue;
			}
			if (p >= e || *p != ',')
			{
				json_fail_expected(jp, p, is_obj ? "',' or '}'" : "',' or ']'");
				goto done;
			}
			p = json_ws(p + 1, e);
			if (is_obj)
			{
				bool		esc;

				if (p >= e || *p != '"')
				{
					json_fail_expected(jp, p, "a member name");
					goto done;
				}
				p = json_string_end(jp, p, &esc);
				if (p == NULL)
					goto done;
				p = json_ws(p, e);
				if (p >= e || *p != ':')
				{
					json_fail_expected(jp, p, "':'");
					goto done;
				}
				p = json_ws(p + 1, e);
			}
			break;
		}
	}

done:
	if (bits != local)
		free(bits);
	return result;
}


/* ---------------------------------------------------------------------
 * Columns: which ones take a member, converting values
 * ---------------------------------------------------------------------
 */

/*
 * Are a[0..len) and b[0..len) equal?  Member names and path steps are
 * short: comparing them inline, a word at a time (the last word overlaps
 * the one before it, so nothing outside either range is read), costs
 * less than a call of memcmp().
 */
static inline bool
json_name_eq(const char *a, const char *b, size_t len)
{
	uint64_t	x,
				y;
	uint32_t	u,
				v;

	if (len >= 8)
	{
		size_t		i;

		for (i = 0; i + 8 < len; i += 8)
		{
			memcpy(&x, a + i, 8);
			memcpy(&y, b + i, 8);
			if (x != y)
				return false;
		}
		memcpy(&x, a + len - 8, 8);
		memcpy(&y, b + len - 8, 8);
		return x == y;
	}
	if (len >= 4)
	{
		memcpy(&u, a, 4);
		memcpy(&v, b, 4);
		if (u != v)
			return false;
		memcpy(&u, a + len - 4, 4);
		memcpy(&v, b + len - 4, 4);
		return u == v;
	}
	if (len == 0)
		return true;
	/* 1 to 3 bytes: these three positions cover them all */
	return a[0] == b[0] && a[len / 2] == b[len / 2] && a[len - 1] == b[len - 1];
}

/*
 * Is column jc a candidate for the member name[0..len) (name != NULL) or
 * the array element index (name == NULL) of a container at depth d: does
 * the current location match its path so far, and step d that member?
 * Depth 0 (the top-level object) compares with the first step kept in
 * the state, length first.
 */
static inline bool
json_col_takes(const JsonCol *jc, int d, const char *name, size_t len,
			   int64_t index)
{
	const SvJsonStep *st;

	if (d == 0)
		return jc->len0 == len && name != NULL && jc->name0 != NULL &&
			json_name_eq(jc->name0, name, len);
	if (jc->matched != d)
		return false;
	st = &jc->steps[d];
	if (name == NULL)
		return st->name == NULL && st->index == index;
	return st->name_len == len && st->name != NULL &&
		json_name_eq(st->name, name, len);
}

/* A 6-bit summary of a member name (length, first and last byte). */
static inline unsigned
json_key(const char *name, size_t len)
{
	if (len == 0)
		return 0;
	return (unsigned) (len + (unsigned char) name[0] * 3u +
					   (unsigned char) name[len - 1] * 7u) & 63u;
}

/* A hash of s[0..len) for the duplicate set. */
static inline uint64_t
json_hash(const char *s, size_t len)
{
	const uint64_t k = UINT64_C(0x9E3779B97F4A7C15);
	uint64_t	h = k ^ (uint64_t) len;
	uint64_t	w;

	while (len >= 8)
	{
		memcpy(&w, s, 8);
		h = (h ^ w) * k;
		h ^= h >> 29;
		s += 8;
		len -= 8;
	}
	if (len > 0)
	{
		size_t		i;

		w = 0;
		for (i = 0; i < len; i++)
			w |= (uint64_t) (unsigned char) s[i] << (8 * i);
		h = (h ^ w) * k;
		h ^= h >> 29;
	}
	return h * UINT64_C(0xBF58476D1CE4E5B9);
}

/* Is slot i of the duplicate set in use? */
static inline bool
json_name_used(const JsonParser *jp, size_t i)
{
	if (jp->names == jp->names_local)
		return (jp->names_used >> i) & 1;
	return jp->names[i].name != NULL;
}

/*
 * Adds the top-level member name[0..len) (decoded; it stays where it is
 * until the message is done) to the duplicate set.  Returns false after
 * a failed allocation; a duplicate (found at pos) is a deferred failure.
 */
static bool
json_names_add(JsonParser *jp, const char *name, size_t len, const char *pos)
{
	uint64_t	h = json_hash(name, len);
	size_t		i;

	if (jp->names == NULL)
	{
		/* slots of names_local are valid where names_used says so */
		jp->names = jp->names_local;
		jp->names_cap = NAMES_ON_STACK;
		jp->names_count = 0;
		jp->names_used = 0;
	}
	if ((jp->names_count + 1) * 4 > jp->names_cap * 3)
	{
		size_t		ncap = jp->names_cap * 2;
		JsonName   *nn = calloc(ncap, sizeof(JsonName));

		if (nn == NULL)
			return sv_fail_message(jp->err, "out of memory for JSON member names");
		for (i = 0; i < jp->names_cap; i++)
		{
			size_t		j;

			if (!json_name_used(jp, i))
				continue;
			j = (size_t) jp->names[i].hash & (ncap - 1);
			while (nn[j].name != NULL)
				j = (j + 1) & (ncap - 1);
			nn[j] = jp->names[i];
		}
		if (jp->names != jp->names_local)
			free(jp->names);
		jp->names = nn;
		jp->names_cap = ncap;
	}
	i = (size_t) h & (jp->names_cap - 1);
	while (json_name_used(jp, i))
	{
		if (jp->names[i].hash == h && jp->names[i].len == len &&
			memcmp(jp->names[i].name, name, len) == 0)
		{
			/* deferred, as a column's duplicate is */
			if (jp->deferred != DEFER_DUPLICATE)
			{
				ReasonBuf	rb;

				sv_rb_begin(&rb, jp->err, NULL, -1);
				sv_rb_str(&rb, "duplicate member name ");
				sv_rb_quoted(&rb, name, len);
				sv_rb_str(&rb, " at byte ");
				sv_rb_num(&rb, (long long) (pos - jp->data));
				jp->deferred = DEFER_DUPLICATE;
			}
			return true;
		}
		i = (i + 1) & (jp->names_cap - 1);
	}
	jp->names[i].name = name;
	jp->names[i].len = len;
	jp->names[i].hash = h;
	jp->names_count++;
	if (jp->names == jp->names_local)
		jp->names_used |= UINT64_C(1) << i;
	return true;
}

/*
 * The everyday integer: a JSON number token of at most 18 digits, no
 * fraction or exponent, into an int2, int4 or int8 column, in range.
 * Sets *v exactly as sv_parse_value() would (the fuzzer checks that) and
 * returns true; anything else returns false and takes the general path,
 * which also words the reasons.
 */
static inline bool
json_int_fast(SvType type, const char *s, size_t len, SvValue *v)
{
	const char *p = s;
	const char *e = s + len;
	bool		neg = false;
	int64_t		acc = 0;
	int64_t		max;

	if (type == SV_TYPE_INT4)
		max = INT32_MAX;
	else if (type == SV_TYPE_INT8)
		max = INT64_MAX;
	else if (type == SV_TYPE_INT2)
		max = INT16_MAX;
	else
		return false;
	if (*p == '-')
	{
		neg = true;
		p++;
	}
	if (e - p > 18)
		return false;
	for (; p < e; p++)
	{
		if (!is_digit((unsigned char) *p))
			return false;
		acc = acc * 10 + (*p - '0');
	}
	/* -max - 1 (the minimum) takes the general path: rare enough */
	if (acc > max)
		return false;
	v->isnull = false;
	v->v.i = neg ? -acc : acc;
	v->str = s;
	v->len = len;
	return true;
}

/*
 * Gives column c the value tok: converts its text as sv_parse_value()
 * does when the column's type takes that kind of JSON value, else records
 * why not.
 * After a first failure values are no longer converted.
 */
static void
json_convert(JsonParser *jp, int c, const JsonToken *tok)
{
	SvType		type = jp->schema->columns[c].type;
	SvValue    *v = &jp->values[c];

	if (jp->deferred != DEFER_NONE)
		return;
	/* json and jsonb take any value but null as its JSON text */
	if (type == SV_TYPE_JSON && tok->kind != JK_NULL)
	{
		v->isnull = false;
		v->str = tok->raw;
		v->len = tok->raw_len;
		return;
	}
	switch (tok->kind)
	{
		case JK_NULL:
			v->isnull = true;
			v->str = tok->str;
			v->len = tok->len;
			return;
		case JK_STRING:
			break;
		case JK_NUMBER:
			if (type == SV_TYPE_BOOL || type == SV_TYPE_DATE ||
				type == SV_TYPE_TIMESTAMP || type == SV_TYPE_TIMESTAMPTZ)
				goto mismatch;
			break;
		case JK_TRUE:
		case JK_FALSE:
			if (type != SV_TYPE_BOOL && type != SV_TYPE_TEXT &&
				type != SV_TYPE_OTHER)
				goto mismatch;
			break;
		case JK_OBJECT:
		case JK_ARRAY:
			if (type != SV_TYPE_TEXT && type != SV_TYPE_OTHER)
				goto mismatch;
			break;
	}
	if (tok->kind == JK_NUMBER && json_int_fast(type, tok->str, tok->len, v))
		return;
	/*
	 * sv_parse_value() without its checks: the text is valid UTF-8 without
	 * NUL bytes (json_scan_string checked the message's strings, decoding
	 * makes valid UTF-8 and \u0000 was refused above; the rest is ASCII),
	 * and the column is one of the schema's.
	 */
	if (sv_likely(sv_parse_field_fast(jp->schema, &jp->schema->columns[c], tok->str,
									  tok->len, v, false)))
		return;
	if (sv_unlikely(!sv_parse_field_checked(jp->schema, c, tok->str, tok->len,
											v, jp->err, false)))
		json_fail_value(jp, c);
	return;

mismatch:
	{
		char		why[128];

		snprintf(why, sizeof(why), "cannot convert %s to type %s",
				 json_kind_name(tok->kind), sv_type_name(type));
		json_fail_column(jp, c, why);
	}
}

/*
 * Reads the value at p that column leaf takes into *tok: the scalar at p,
 * or the container [p, q) when q is given; a string with escapes is
 * decoded into the scratch buffer.  Returns where the value ends, or NULL
 * after a failure that stops the parse.
 */
static inline const char *
json_token(JsonParser *jp, const char *p, const char *q, int leaf,
		   JsonToken *tok)
{
	bool		esc = false;

	if (q != NULL)
	{
		tok->kind = (*p == '{') ? JK_OBJECT : JK_ARRAY;
		tok->str = p;
		tok->len = (size_t) (q - p);
	}
	else
	{
		q = json_scan_scalar(jp, p, tok, &esc);
		if (q == NULL)
			return NULL;
	}
	tok->raw = p;
	tok->raw_len = (size_t) (q - p);
	if (esc && jp->deferred == DEFER_NONE)
	{
		char	   *out;
		bool		has_nul;

		if (jp->scratch == NULL || jp->scratch_cap - jp->scratch_used < tok->len)
		{
			sv_fail_message(jp->err, "invalid schema: no room in the scratch buffer for decoded strings");
			return NULL;
		}
		out = jp->scratch + jp->scratch_used;
		tok->len = json_decode_string(tok->str, tok->len, out, &has_nul);
		tok->str = out;
		jp->scratch_used += tok->len;
		if (has_nul)
			json_fail_column(jp, leaf, "\\u0000 cannot be converted to text");
	}
	return q;
}

/*
 * Gives the columns marked pending (nleaf of them, the last is leaf) the
 * scalar value at p, or the container value [p, q) when q is given.
 * Returns where the value ends, or NULL after a failure that stops the
 * parse.
 */
static const char *
json_take_value(JsonParser *jp, const char *p, const char *q, int nleaf,
				int leaf)
{
	JsonToken	tok;
	int			c;

	q = json_token(jp, p, q, leaf, &tok);
	if (q == NULL)
		return NULL;
	/* (after a failure json_convert converts nothing: flags are cleared) */
	if (nleaf == 1)
	{
		jp->cols[leaf].pending = false;
		json_convert(jp, leaf, &tok);
		return q;
	}
	for (c = 0; c < jp->ncols; c++)
	{
		if (jp->cols[c].pending)
		{
			jp->cols[c].pending = false;
			json_convert(jp, c, &tok);
		}
	}
	return q;
}

/* The first byte of a value as a shape records it: '{', '[' or 's'. */
static inline char
json_first(char c)
{
	return (c == '{' || c == '[') ? c : 's';
}

/*
 * Appends the n bytes at from to the shape's glue; false (and no shape)
 * when they do not fit.
 */
static bool
json_learn_glue(JsonShape *sh, const char *from, size_t n)
{
	if (n > (size_t) (SHAPE_MAX_GLUE - sh->glue_used))
	{
		sh->nvalues = -1;
		return false;
	}
	memcpy(sh->glue + sh->glue_used, from, n);
	sh->glue_used += (uint16_t) n;
	return true;
}

/*
 * Records in the shape being learned that the value [p, q) is column
 * col's (-1: skipped), after the glue since the last value.  A message
 * with too many values or too much glue has no shape.
 */
static void
json_learn(JsonParser *jp, const char *p, const char *q, int col)
{
	JsonShape  *sh = jp->learn;
	size_t		glue = (size_t) (p - jp->learn_end);
	JsonShapeValue *sv;

	if (sh == NULL || sh->nvalues < 0)
		return;
	if (sh->nvalues == SHAPE_MAX_VALUES)
	{
		sh->nvalues = -1;
		return;
	}
	if (!json_learn_glue(sh, jp->learn_end, glue))
		return;
	sv = &sh->values[sh->nvalues++];
	sv->glue_len = (uint16_t) glue;
	sv->col = (int16_t) col;
	sv->first = json_first(*p);
	jp->learn_end = q;
}

/* After a miss, or a message whose shape was not learned: try less often. */
static void
json_shape_back_off(JsonShape *sh)
{
	sh->backoff = sh->backoff == 0 ? 1 :
		sh->backoff < SHAPE_MAX_BACKOFF ? sh->backoff * 2 : SHAPE_MAX_BACKOFF;
	sh->skip = sh->backoff;
}

/*
 * Ends learning after a whole message: the text after the last value is
 * the shape's tail, if the message was accepted; otherwise, or if it does
 * not fit, there is no shape.
 */
static void
json_learn_end(JsonParser *jp, bool ok)
{
	JsonShape  *sh = jp->learn;
	size_t		tail;

	if (sh == NULL)
		return;
	tail = (size_t) (jp->end - jp->learn_end);
	if (!ok)
		sh->nvalues = -1;
	if (sh->nvalues < 0 || !json_learn_glue(sh, jp->learn_end, tail))
	{
		json_shape_back_off(sh);
		return;
	}
	sh->tail_len = (uint16_t) tail;
}

/* Skips the value at p that no column takes (learning that). */
static const char *
json_skip_learn(JsonParser *jp, const char *p)
{
	const char *q = json_skip(jp, p);

	if (q != NULL && jp->learn != NULL)
		json_learn(jp, p, q, -1);
	return q;
}

static const char *json_parse_container(JsonParser *jp, const char *p, int d,
										const int *cand, int ncand);

/*
 * Reads the value at p (after white space) of the member name[0..len)
 * (name != NULL) or of array element index of a container at depth d.
 * The columns that may take it are, at depth 0, the chain of the name's
 * json_key(); below, cand[0..ncand), the columns whose paths led into the
 * container (cand NULL: all columns 0..ncand-1, of which json_col_takes
 * picks those); both in column order.  Columns for which this is the last
 * step of their path take it; if some column's path goes on into it, the
 * parser descends, with those columns as the candidates there; otherwise
 * it is skipped.  name_pos is where the member's name starts (for
 * reasons).  Returns where the value ends, or NULL after a failure that
 * stops the parse.
 */
static const char *
json_member(JsonParser *jp, const char *p, int d, const char *name,
			size_t len, int64_t index, const char *name_pos,
			const int *cand, int ncand)
{
	const char *e = jp->end;
	JsonCol    *cols = jp->cols;
	int			nmatch = 0;
	int			nleaf = 0;
	int			leaf = -1;
	int			child[COLS_ON_STACK];
	int			nchild = 0;
	const char *q = NULL;
	int			c;
	int			i = 0;

	if (sv_unlikely(p >= e))
	{
		json_fail_expected(jp, p, "a value");
		return NULL;
	}
	if (d == 0)
	{
		unsigned	k = json_key(name, len);

		c = ((jp->key_present >> k) & 1) ? jp->key_head[k] : -1;
	}
	else
		c = ncand > 0 ? (cand ? cand[0] : 0) : -1;
	for (; c >= 0;
		 c = (d == 0) ? cols[c].key_next :
		 (++i < ncand ? (cand ? cand[i] : i) : -1))
	{
		JsonCol    *jc = &cols[c];

		if (!json_col_takes(jc, d, name, len, index))
			continue;
		nmatch++;
		if (sv_unlikely(jc->consumed > d))
		{
			/* deferred, so that broken JSON later on is what is reported */
			if (jp->deferred != DEFER_DUPLICATE)
			{
				ReasonBuf	rb;

				json_rb_column(&rb, jp, c);
				sv_rb_str(&rb, "duplicate member name ");
				sv_rb_quoted(&rb, name, len);
				sv_rb_str(&rb, " at byte ");
				sv_rb_num(&rb, (long long) (name_pos - jp->data));
				jp->deferred = DEFER_DUPLICATE;
			}
			return json_skip(jp, p);
		}
		jc->consumed = d + 1;
		if (jc->nsteps == d + 1)
		{
			jc->pending = true;
			nleaf++;
			leaf = c;
		}
		else if ((*p == '{' && jc->steps[d + 1].name != NULL) ||
				 (*p == '[' && jc->steps[d + 1].name == NULL))
		{
			jc->matched = d + 1;
			/* more than fit are all the columns, filtered by matched */
			if (nchild < COLS_ON_STACK)
				child[nchild] = c;
			nchild++;
		}
	}

	if (nmatch == 0)
	{
		if (d == 0 && name != NULL && !json_names_add(jp, name, len, name_pos))
			return NULL;
		return json_skip_learn(jp, p);
	}
	/* a value that several columns take, or also read inside: no shape */
	if (jp->learn != NULL && (nleaf > 1 || (nleaf > 0 && nchild > 0)))
		jp->learn->nvalues = -1;
	if (nchild > 0)
	{
		if (sv_likely(nchild <= COLS_ON_STACK))
		{
			q = json_parse_container(jp, p, d + 1, child, nchild);
			if (q == NULL)
				return NULL;
			for (i = 0; i < nchild; i++)
				cols[child[i]].matched = d;
		}
		else
		{
			q = json_parse_container(jp, p, d + 1, NULL, jp->ncols);
			if (q == NULL)
				return NULL;
			for (c = 0; c < jp->ncols; c++)
			{
				if (cols[c].matched == d + 1)
					cols[c].matched = d;
			}
		}
	}
	else if (nleaf == 0)
		return json_skip_learn(jp, p);
	else if (*p == '{' || *p == '[')
	{
		q = json_skip(jp, p);
		if (q == NULL)
			return NULL;
	}
	if (nleaf > 0)
	{
		const char *end = json_take_value(jp, p, q, nleaf, leaf);

		if (end != NULL && jp->learn != NULL)
			json_learn(jp, p, end, leaf);
		return end;
	}
	return q;
}

/*
 * Parses the object or array at p (its '{' or '['), whose members are at
 * depth d of the columns' paths, with the candidate columns cand[0..ncand)
 * (see json_member).  Returns the byte after its closing bracket, or NULL
 * after a failure that stops the parse.  Recursion (via json_member)
 * happens only along columns' paths, so its depth is at most
 * SV_JSON_PATH_MAX_STEPS.
 */
static const char *
json_parse_container(JsonParser *jp, const char *p, int d, const int *cand,
					 int ncand)
{
	const char *e = jp->end;
	bool		is_obj = (*p == '{');
	char		close = is_obj ? '}' : ']';
	int64_t		index = 0;

	p = json_ws(p + 1, e);
	if (p < e && *p == close)
		return p + 1;
	for (;;)
	{
		if (is_obj)
		{
			const char *name_pos = p;
			const char *name;
			size_t		len;
			const char *q;
			bool		esc;

			if (sv_unlikely(p >= e || *p != '"'))
			{
				json_fail_expected(jp, p, index == 0 ? "a member name or '}'" :
								   "a member name");
				return NULL;
			}
			q = json_string_end(jp, p, &esc);
			if (q == NULL)
				return NULL;
			name = p + 1;
			len = (size_t) (q - p - 2);
			if (sv_unlikely(esc))
			{
				char	   *out;
				bool		has_nul;

				/* decoded where the next value would go; kept if needed */
				if (jp->scratch == NULL ||
					jp->scratch_cap - jp->scratch_used < len)
				{
					sv_fail_message(jp->err, "invalid schema: no room in the scratch buffer for decoded strings");
					return NULL;
				}
				out = jp->scratch + jp->scratch_used;
				len = json_decode_string(name, len, out, &has_nul);
				name = out;
				if (d == 0)
					jp->scratch_used += len;	/* the duplicate set keeps it */
			}
			/* compact JSON has the colon right after the name */
			p = q;
			if (sv_unlikely(p >= e || *p != ':'))
			{
				p = json_ws(p, e);
				if (p >= e || *p != ':')
				{
					json_fail_expected(jp, p, "':'");
					return NULL;
				}
			}
			p = json_ws(p + 1, e);
			p = json_member(jp, p, d, name, len, 0, name_pos, cand, ncand);
		}
		else
			p = json_member(jp, p, d, NULL, 0, index, p, cand, ncand);
		if (p == NULL)
			return NULL;
		/* and the comma or the bracket right after the value */
		if (sv_unlikely(p >= e || (*p != ',' && *p != close)))
			p = json_ws(p, e);
		if (sv_likely(p < e && *p == ','))
		{
			p = json_ws(p + 1, e);
			index++;
			continue;
		}
		if (sv_likely(p < e && *p == close))
			return p + 1;
		json_fail_expected(jp, p, is_obj ? "',' or '}'" : "',' or ']'");
		return NULL;
	}
}


/* ---------------------------------------------------------------------
 * Entry points
 * ---------------------------------------------------------------------
 */

/*
 * A schema's columns' states before a message and their key table
 * (JsonParser), prepared once by sv_json_plan_build, and the shape of
 * messages, which the parser learns and updates as it goes.
 */
struct SvJsonPlan
{
	int			ncols;
	uint64_t	key_present;
	int			key_head[64];
	JsonCol		cols[COLS_ON_STACK];
	JsonShape	shape;			/* learned, and changed by every parse */
};

/*
 * Fills jp->cols[0..ncols) and jp's key table from the schema.  Returns
 * false after refusing the schema.
 */
static bool
json_setup_columns(JsonParser *jp)
{
	const SvSchema *schema = jp->schema;
	int			c;

	jp->key_present = 0;
	for (c = 0; c < jp->ncols; c++)
	{
		JsonCol    *jc = &jp->cols[c];

		jc->steps = NULL;
		jc->nsteps = 1;
		jc->name0 = schema->columns[c].name;
		jc->matched = 0;
		jc->consumed = 0;
		jc->pending = false;
		jc->key_next = -1;
		if (schema->paths != NULL && schema->paths[c].nsteps > 0)
		{
			if (schema->paths[c].steps == NULL ||
				schema->paths[c].nsteps > SV_JSON_PATH_MAX_STEPS)
				return sv_fail_message(jp->err, "invalid schema: a JSON path without steps or with too many");
			jc->steps = schema->paths[c].steps;
			jc->nsteps = schema->paths[c].nsteps;
			jc->name0 = jc->steps[0].name;
			jc->len0 = jc->steps[0].name_len;
		}
		else
			jc->len0 = jc->name0 ? strlen(jc->name0) : 0;
		if (jc->name0 != NULL)
		{
			unsigned	k = json_key(jc->name0, jc->len0);

			if ((jp->key_present >> k) & 1)
				jp->cols[jp->key_tail[k]].key_next = c;
			else
			{
				jp->key_present |= UINT64_C(1) << k;
				jp->key_head[k] = c;
			}
			jp->key_tail[k] = c;
		}
	}
	return true;
}

/*
 * Fills the columns' states (on the stack, or malloc'ed for many columns:
 * *heap then says so), from the schema's plan when it has one.  Returns
 * false after refusing the schema.
 */
static bool
json_init_columns(JsonParser *jp, JsonCol *local, bool *heap)
{
	const SvJsonPlan *plan = jp->schema->json_plan;

	*heap = false;
	jp->cols = local;
	if (plan != NULL && plan->ncols == jp->ncols)
	{
		memcpy(local, plan->cols, sizeof(JsonCol) * (size_t) jp->ncols);
		jp->key_present = plan->key_present;
		memcpy(jp->key_head, plan->key_head, sizeof(jp->key_head));
	}
	else
	{
		if (jp->ncols > COLS_ON_STACK)
		{
			jp->cols = malloc(sizeof(JsonCol) * (size_t) jp->ncols);
			if (jp->cols == NULL)
				return sv_fail_message(jp->err, "out of memory for the columns");
			*heap = true;
		}
		if (!json_setup_columns(jp))
			return false;
	}
	return true;
}

/* Sets every value to NULL. */
static void
json_init_values(JsonParser *jp)
{
	for (int c = 0; c < jp->ncols; c++)
	{
		SvValue    *v = &jp->values[c];

		v->isnull = true;
		v->v.i = 0;
		v->str = jp->data;
		v->len = 0;
	}
}

/*
 * The fast path for a message of the same shape as the last one parsed in
 * full: most producers write the same members in the same order, so that
 * only the values differ.  Compares the message's text between values
 * with the shape's glue, byte for byte, and reads each value as the full
 * parse did: checks it completely (json_skip), or scans and converts it
 * for its column.  Returns true with every value set; false (a "miss")
 * when the text differs, or anything fails, and the caller then parses
 * the message in full, which also reports any failure.
 *
 * Why the outcome is the full parse's: where the glue is the same, the
 * full parse meets the same names at the same places and decides the same
 * (which column takes a value, where it descends, the duplicate checks),
 * except where its decision depends on the value's first byte, which is
 * compared too.  Values are self-delimiting and read by the same
 * functions, so they end where the full parse would end them.  One
 * decision does not depend on the text: whether the scratch buffer has
 * room for decoded strings (the full parse also decodes escaped names
 * into it), so the caller tries the shape only when the buffer can hold
 * the whole message.  The fuzzer (test/fuzz/json_fuzz.c) compares both
 * paths.
 */
static bool
json_shape_parse(JsonParser *jp, const JsonShape *sh)
{
	const char *p = jp->data;
	const char *e = jp->end;
	const char *g = sh->glue;
	int			i;

	for (i = 0; i < sh->nvalues; i++)
	{
		const JsonShapeValue *sv = &sh->values[i];
		const char *q = NULL;

		if ((size_t) (e - p) <= sv->glue_len ||
			!json_name_eq(p, g, sv->glue_len))
			return false;
		p += sv->glue_len;
		g += sv->glue_len;
		if (json_first(*p) != sv->first)
			return false;
		if (sv->col < 0 || sv->first != 's')
		{
			q = json_skip(jp, p);
			if (q == NULL)
				return false;
		}
		if (sv->col >= 0)
		{
			JsonToken	tok;

			q = json_token(jp, p, q, sv->col, &tok);
			if (q == NULL)
				return false;
			json_convert(jp, sv->col, &tok);
		}
		if (jp->deferred != DEFER_NONE)
			return false;
		p = q;
	}
	return (size_t) (e - p) == sh->tail_len &&
		json_name_eq(p, g, sh->tail_len);
}

/* See parse.h. */
size_t
sv_json_plan_size(const SvSchema *schema)
{
	(void) schema;
	return sizeof(SvJsonPlan);
}

/* See parse.h. */
bool
sv_json_plan_build(const SvSchema *schema, SvJsonPlan *plan)
{
	JsonParser	jp;
	SvParseError err;

	if (schema == NULL || schema->columns == NULL || schema->ncolumns <= 0 ||
		schema->ncolumns > COLS_ON_STACK)
		return false;
	jp.schema = schema;
	jp.ncols = schema->ncolumns;
	jp.err = &err;
	jp.cols = plan->cols;
	if (!json_setup_columns(&jp))
		return false;
	plan->ncols = jp.ncols;
	plan->shape.nvalues = -1;
	plan->shape.backoff = 0;
	plan->shape.skip = 0;
	plan->shape.hits = 0;
	plan->key_present = jp.key_present;
	memcpy(plan->key_head, jp.key_head, sizeof(plan->key_head));
	return true;
}

/*
 * Parses the message by the plan's shape when it is time to try it (true:
 * a hit, every value is set).  Otherwise leaves jp ready for the full
 * parse, which learns the message's shape when the next message is to try
 * it: each miss doubles the number of messages parsed in full before the
 * next try (up to SHAPE_MAX_BACKOFF), each hit halves it, so that a
 * producer whose messages change shape costs little more than before.
 */
static bool
json_shape_try(JsonParser *jp, SvJsonPlan *plan)
{
	JsonShape  *sh = &plan->shape;

	if (sh->skip > 0)
		sh->skip--;
	else if (sh->nvalues >= 0 &&
			 jp->scratch_cap >= (size_t) (jp->end - jp->data))
	{
		/* the plan's columns, read only (by reasons) */
		jp->cols = plan->cols;
		if (json_shape_parse(jp, sh))
		{
			sh->backoff /= 2;
			sh->hits++;
			return true;
		}
		/* a miss: start again */
		jp->deferred = DEFER_NONE;
		jp->scratch_used = 0;
		json_init_values(jp);
		json_shape_back_off(sh);
	}
	if (sh->skip == 0)
	{
		jp->learn = sh;
		jp->learn_end = jp->data;
		sh->nvalues = 0;
		sh->glue_used = 0;
	}
	return false;
}

/* See parse.h. */
uint64_t
sv_json_plan_shape_hits(const SvJsonPlan *plan)
{
	return plan->shape.hits;
}

/*
 * Parses one JSON message; see parse.h and the top of this file.  Order of
 * checks: the schema, an empty message, then one pass over the message in
 * which the first broken thing stops the parse; a value that does not
 * convert is reported only if the message is otherwise sound.
 */
bool
sv_parse_json(const SvSchema *schema, const char *data, size_t len,
			  SvValue *values, SvParseError *err)
{
	JsonParser	jp;
	JsonCol		local_cols[COLS_ON_STACK];
	bool		heap_cols = false;
	bool		ok = false;
	const char *p;
	const char *e;

	if (schema == NULL || schema->columns == NULL || schema->ncolumns <= 0)
		return sv_fail_message(err, "invalid schema: no columns");
	if (data == NULL || len == 0)
		return sv_fail_message(err, "empty message");

	jp.schema = schema;
	jp.data = data;
	jp.end = e = data + len;
	jp.values = values;
	jp.err = err;
	jp.ncols = schema->ncolumns;
	jp.deferred = DEFER_NONE;
	jp.scratch = schema->scratch ? schema->scratch->buf : NULL;
	jp.scratch_cap = schema->scratch ? schema->scratch->cap : 0;
	jp.scratch_used = 0;
	jp.names = NULL;
	jp.names_cap = 0;
	jp.names_count = 0;
	jp.names_used = 0;
	jp.learn = NULL;
	json_init_values(&jp);
	if (schema->json_plan != NULL && schema->json_plan->ncols == jp.ncols &&
		json_shape_try(&jp, schema->json_plan))
		return true;
	if (!json_init_columns(&jp, local_cols, &heap_cols))
		goto done;

	p = json_ws(data, e);
	if (sv_likely(p < e && *p == '{'))
		p = json_parse_container(&jp, p, 0, NULL, jp.ncols);
	else if (p >= e)
	{
		json_fail_expected(&jp, p, "a JSON object");
		goto done;
	}
	else
	{
		/* not an object: if it is a sound value, say what it is */
		const char *start = p;

		p = json_skip(&jp, p);
		if (p == NULL)
			goto done;
		p = json_ws(p, e);
		if (p < e)
		{
			json_fail_expected(&jp, p, "the end of the message");
			goto done;
		}
		if (*start == '[')
			sv_fail_message(err, "the message is a JSON array, not an object");
		else if (*start == '"')
			sv_fail_message(err, "the message is a JSON string, not an object");
		else if (*start == 't' || *start == 'f')
			sv_fail_message(err, "the message is a JSON boolean, not an object");
		else if (*start == 'n')
			sv_fail_message(err, "the message is a JSON null, not an object");
		else
			sv_fail_message(err, "the message is a JSON number, not an object");
		goto done;
	}
	if (p == NULL)
		goto done;
	p = json_ws(p, e);
	if (sv_unlikely(p < e))
	{
		json_fail_expected(&jp, p, "the end of the message after the object");
		goto done;
	}
	ok = (jp.deferred == DEFER_NONE);

done:
	json_learn_end(&jp, ok);
	if (heap_cols)
		free(jp.cols);
	if (jp.names != NULL && jp.names != jp.names_local)
		free(jp.names);
	return ok;
}
