/*-------------------------------------------------------------------------
 *
 * parse.c
 *	  Turn one delimited message into typed field values.
 *
 * This file is pure C on purpose: no PostgreSQL header, no backend call, no
 * allocation, no error raised.  The worker calls sv_parse_message() once per
 * Kafka message, so the common path is one pass over the message that, 8
 * bytes at a time, both checks that it is ASCII without NUL bytes and finds
 * the delimiters, then one pass per field to convert it.  A message with
 * non-ASCII bytes takes two passes instead (a full UTF-8 check, then the
 * split).  Everything that is slow (snprintf, building a reason) happens
 * only when a message fails.
 *
 * The input rules follow PostgreSQL 15's own input functions (int4in,
 * float4in, numeric_in, boolin, varchar_input, date_in, timestamp_in) where
 * that is cheap.  Where PostgreSQL is looser we are stricter, and each such
 * place says so in a comment marked "Stricter than PostgreSQL".  The main
 * ones: dates and timestamps must be ISO 8601 (YYYY-MM-DD[ HH:MM[:SS[.f]]]
 * with an optional numeric zone), and their special words (now, today,
 * epoch, infinity, ...) are refused because a replayed message must give the
 * same value; floats must be plain decimal (no hex floats, no "nan(...)").
 * Also, an empty message is always refused, even for a one-column schema
 * where PostgreSQL's COPY would read it as one empty field.
 *
 * Results follow the conventions of parse.h.  For a NULL field (a field
 * exactly equal to the null marker), isnull is true and str/len is the raw
 * field, so len equals the null marker's length (0 for the default "").
 * For int, float, numeric, bool, date and timestamp fields str/len is the
 * field without its surrounding white space; for text and SV_TYPE_OTHER it
 * is the raw field (for varchar(n), minus trailing spaces cut off as
 * PostgreSQL does).
 *
 * Floats are converted with strtod()/strtof(), which use the C library's
 * LC_NUMERIC.  The PostgreSQL backend always runs with LC_NUMERIC "C", and so
 * do the standalone tests.
 *
 * The UTF-8 checks and the failure reasons, which every format shares, are
 * in parse_text.c (off the path of an ASCII message that parses).  The conversions stay
 * here with the per-field dispatch that calls them: in separate files
 * (tried: numbers and dates in files of their own) the calls lose inlining
 * and cost 10% of a delimited message's parse.
 *
 * src/parse.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "parse_int.h"

/* PostgreSQL's timestamp constants (datatype/timestamp.h), epoch 2000-01-01 */
#define USECS_PER_SEC	INT64_C(1000000)
#define USECS_PER_MINUTE INT64_C(60000000)
#define USECS_PER_HOUR	INT64_C(3600000000)
#define USECS_PER_DAY	INT64_C(86400000000)
#define MIN_TIMESTAMP	INT64_C(-211813488000000000)	/* 4714-11-24 BC */
#define END_TIMESTAMP	INT64_C(9223371331200000000)	/* 294277-01-01 */
#define TIMESTAMP_END_DAYS INT64_C(106751983)	/* 294277-01-01 in days */
#define TIMESTAMP_MAX_YEAR 294277
#define DATE_MAX_YEAR	5874897 /* last year fully inside PostgreSQL's date */
#define MAX_TZDISP_HOUR 15		/* as PostgreSQL */

/* numeric limits (utils/numeric.h and numeric.c in PostgreSQL 15) */
#define NUMERIC_MAX_EXPONENT 1000	/* NUMERIC_MAX_PRECISION */
#define NUMERIC_MAX_INT_DIGITS INT64_C(131072)	/* (NUMERIC_WEIGHT_MAX+1)*4 */
#define NUMERIC_MAX_DSCALE INT64_C(16383)	/* NUMERIC_DSCALE_MAX */

/* longest float text we copy to the stack for strtod(); longer: the heap */
#define FLOAT_BUF_LEN	128

/* longest run of fraction-of-second digits we accept (see parse_fraction) */
#define MAX_FRAC_DIGITS 60

/*
 * A decimal number as written, found by scan_decimal(): the pieces point
 * into the field.  Used by floats (for the fast path) and by numeric (for
 * precision and scale checks without converting anything).
 */
typedef struct DecimalText
{
	bool		neg;
	const char *int_digits;		/* digits before the point */
	size_t		int_len;
	const char *frac_digits;	/* digits after the point */
	size_t		frac_len;
	int64_t		exponent;		/* after e/E; clamped to +-EXPONENT_CLAMP */
	uint64_t	mantissa;		/* all digits as an integer, if nsig <= 19 */
	int			nsig;			/* significant digits (capped at 20) */
} DecimalText;

#define EXPONENT_CLAMP INT64_C(1000000000)


/* ---------------------------------------------------------------------
 * Integers
 * ---------------------------------------------------------------------
 */

/*
 * Parses an integer as PostgreSQL's pg_strtoint16/32/64 do: optional sign,
 * at least one decimal digit (the white space around it is already gone:
 * all the parsers below get trimmed text).  The range check is exact and
 * cannot overflow: leading zeros are skipped, more than 19 significant
 * digits is out of range for any type, and 19 digits fit in a uint64.
 */
ParseStatus
sv_parse_int(const char *s, size_t len, int64_t min, int64_t max, int64_t *out)
{
	const char *p = s;
	const char *e = s + len;
	bool		neg = false;
	uint64_t	acc = 0;
	uint64_t	limit;
	const char *digits;
	size_t		ndigits;

	/* the usual: 1 to 18 digits, no sign (their value fits in a uint64) */
	if (len - 1 < 18)
	{
		size_t		i;

		for (i = 0; i < len && is_digit((unsigned char) s[i]); i++)
			acc = acc * 10 + (uint64_t) (s[i] - '0');
		if (i == len)
		{
			if (acc > (uint64_t) max)
				return PS_RANGE;
			*out = (int64_t) acc;
			return PS_OK;
		}
		acc = 0;
	}
	if (p < e && (*p == '+' || *p == '-'))
	{
		neg = (*p == '-');
		p++;
	}
	if (p == e)
		return PS_SYNTAX;
	digits = p;
	while (p < e && is_digit((unsigned char) *p))
		p++;
	if (p != e)
		return PS_SYNTAX;

	/* all digits; skip leading zeros, then count what is left */
	p = digits;
	while (p < e - 1 && *p == '0')
		p++;
	ndigits = (size_t) (e - p);
	if (ndigits > 19)
		return PS_RANGE;
	while (p < e)
		acc = acc * 10 + (uint64_t) (*p++ - '0');

	if (neg)
	{
		limit = (uint64_t) (-(min + 1)) + 1;
		if (acc > limit)
			return PS_RANGE;
		*out = (acc == limit) ? min : -(int64_t) acc;
	}
	else
	{
		if (acc > (uint64_t) max)
			return PS_RANGE;
		*out = (int64_t) acc;
	}
	return PS_OK;
}


/* ---------------------------------------------------------------------
 * Decimal numbers: float4, float8, numeric
 * ---------------------------------------------------------------------
 */

/*
 * Reads the digits at p (up to e) into the mantissa *m and the count of
 * significant digits *nsig; after 19 significant digits *m would overflow,
 * so it stops growing and *nsig says 20. Returns where the digits end.
 */
static inline const char *
scan_digits(const char *p, const char *e, uint64_t *m, int *nsig)
{
	for (; p < e && is_digit((unsigned char) *p); p++)
	{
		if (*nsig < 19)
		{
			*m = *m * 10 + (uint64_t) (*p - '0');
			*nsig += (*m != 0);
		}
		else
			*nsig = 20;
	}
	return p;
}

/*
 * Checks that s[0..len) (already trimmed) is a plain decimal number:
 * [+-] digits [. [digits]] | [+-] . digits, then optionally e|E [+-] digits.
 * This is the syntax numeric_in accepts and the part of strtod()'s syntax
 * PostgreSQL's float input meets in practice.  Fills *d.
 * Stricter than PostgreSQL: numeric_in reads the exponent with strtol(),
 * which would also take white space between the e and the digits.
 */
static bool
scan_decimal(const char *s, size_t len, DecimalText *d)
{
	const char *p = s;
	const char *e = s + len;
	uint64_t	m = 0;
	int			nsig = 0;

	d->neg = false;
	d->exponent = 0;
	d->frac_len = 0;
	if (p < e && (*p == '+' || *p == '-'))
	{
		d->neg = (*p == '-');
		p++;
	}

	/* collect the digits into m on the way, for the float fast path */
	d->int_digits = p;
	p = scan_digits(p, e, &m, &nsig);
	d->int_len = (size_t) (p - d->int_digits);
	d->frac_digits = p;
	if (p < e && *p == '.')
	{
		p++;
		d->frac_digits = p;
		p = scan_digits(p, e, &m, &nsig);
		d->frac_len = (size_t) (p - d->frac_digits);
	}
	d->mantissa = m;
	d->nsig = nsig;
	if (d->int_len == 0 && d->frac_len == 0)
		return false;
	if (p < e && (*p == 'e' || *p == 'E'))
	{
		bool		eneg = false;
		int64_t		x = 0;

		p++;
		if (p < e && (*p == '+' || *p == '-'))
		{
			eneg = (*p == '-');
			p++;
		}
		if (p == e || !is_digit((unsigned char) *p))
			return false;
		while (p < e && is_digit((unsigned char) *p))
		{
			if (x < EXPONENT_CLAMP)
				x = x * 10 + (*p - '0');
			p++;
		}
		d->exponent = eneg ? -x : x;
	}
	return p == e;
}

/*
 * Recognizes the float special values as PostgreSQL-on-glibc does:
 * [+-] NaN | Infinity | inf, case-insensitive.
 */
static bool
float_special(const char *s, size_t len, double *out)
{
	bool		neg = false;

	if (len > 0 && (*s == '+' || *s == '-'))
	{
		neg = (*s == '-');
		s++;
		len--;
	}
	if (equals_word(s, len, "nan"))
	{
		*out = NAN;
		return true;
	}
	if (equals_word(s, len, "infinity") || equals_word(s, len, "inf"))
	{
		*out = neg ? -INFINITY : INFINITY;
		return true;
	}
	return false;
}

#if defined(__FLT_EVAL_METHOD__) && __FLT_EVAL_METHOD__ == 0
/* Exact powers of ten for the fast path below. */
static const double pow10_double[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};
static const float pow10_float[] = {
	1e0f, 1e1f, 1e2f, 1e3f, 1e4f, 1e5f, 1e6f, 1e7f, 1e8f, 1e9f, 1e10f
};
#endif

/*
 * Clinger's fast path: when the digits form an integer m that the target
 * type holds exactly and the decimal exponent k is small enough that 10^|k|
 * is exact too, then m * 10^k (or m / 10^-k) is one correctly rounded IEEE
 * operation, i.e. the same result strtod()/strtof() give.  Returns false
 * when the number does not qualify; the caller then uses the C library.
 *
 * This needs arithmetic done in the type's own precision (no x87 excess
 * precision), which __FLT_EVAL_METHOD__ == 0 guarantees; elsewhere the fast
 * path is simply off.
 */
static bool
decimal_fast_path(const DecimalText *d, bool is_float4, double *out)
{
#if defined(__FLT_EVAL_METHOD__) && __FLT_EVAL_METHOD__ == 0
	const int	max_digits = is_float4 ? 7 : 15;	/* m < 2^24 resp. 2^53 */
	const int64_t max_k = is_float4 ? 10 : 22;
	int64_t		k;

	if (d->nsig > max_digits)
		return false;
	if (d->mantissa == 0)
	{
		*out = d->neg ? -0.0 : 0.0;
		return true;
	}
	/* fraction digits, leading zeros included, scale the mantissa down */
	k = d->exponent - (int64_t) d->frac_len;
	if (k < -max_k || k > max_k)
		return false;
	if (is_float4)
	{
		float		f = (float) d->mantissa;

		f = (k < 0) ? f / pow10_float[-k] : f * pow10_float[k];
		*out = d->neg ? -(double) f : (double) f;
	}
	else
	{
		double		v = (double) d->mantissa;

		v = (k < 0) ? v / pow10_double[-k] : v * pow10_double[k];
		*out = d->neg ? -v : v;
	}
	return true;
#else
	(void) d;
	(void) is_float4;
	(void) out;
	return false;
#endif
}

/*
 * The everyday float, "123.45": unsigned digits with at most one point and
 * few enough digits for decimal_fast_path()'s exact arithmetic (leading
 * zeros counted too, which only makes it stricter). Computes exactly what
 * scan_decimal() and decimal_fast_path() would, in one pass; returns false
 * for anything else, which then takes that general path.
 */
static inline bool
parse_float_plain(const char *s, size_t len, bool is_float4, double *out)
{
#if defined(__FLT_EVAL_METHOD__) && __FLT_EVAL_METHOD__ == 0
	const size_t max_digits = is_float4 ? 7 : 15;
	uint64_t	m = 0;
	size_t		point = len;	/* where the '.' is; len: none */
	size_t		ndigits;
	size_t		frac;
	size_t		i;

	if (len == 0 || len > max_digits + 1)
		return false;
	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (is_digit(c))
			m = m * 10 + (c - '0');
		else if (c == '.' && point == len)
			point = i;
		else
			return false;
	}
	ndigits = (point == len) ? len : len - 1;
	if (ndigits == 0 || ndigits > max_digits)
		return false;
	frac = (point == len) ? 0 : len - point - 1;
	if (is_float4)
		*out = (double) ((float) m / pow10_float[frac]);
	else
		*out = (double) m / pow10_double[frac];
	return true;
#else
	(void) s;
	(void) len;
	(void) is_float4;
	(void) out;
	return false;
#endif
}

/*
 * The general float path: strtof/strtod (as float4in/float8in use) on a
 * NUL-terminated copy of the field in buf, which has room for len + 1.
 */
static ParseStatus
parse_float_strtod(const char *s, size_t len, bool is_float4, char *buf,
				   double *out)
{
	char	   *end;

	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	if (is_float4)
	{
		float		f = strtof(buf, &end);

		if (errno == ERANGE && (f == 0.0f || isinf(f)))
			return PS_RANGE;
		*out = (double) f;
	}
	else
	{
		double		v = strtod(buf, &end);

		if (errno == ERANGE && (v == 0.0 || isinf(v)))
			return PS_RANGE;
		*out = v;
	}
	if (end != buf + len)
		return PS_SYNTAX;		/* cannot happen after scan_decimal */
	return PS_OK;
}

/*
 * Parses a float4 or float8 field.  Same accepted forms and range rules as
 * PostgreSQL's float4in/float8in: a result that overflows to infinity or
 * underflows to zero from a non-zero input is out of range; denormals are
 * kept.  float4 uses strtof() directly, as float4in does, so there is no
 * double rounding.
 *
 * Stricter than PostgreSQL: only plain decimal syntax (no hex floats, no
 * "nan(...)"), and at most FLOAT_BUF_LEN - 1 characters after trimming.
 */
ParseStatus
sv_parse_float(const char *s, size_t len, bool is_float4, double *out)
{
	DecimalText d;
	char		buf[FLOAT_BUF_LEN];

	if (len == 0)
		return PS_SYNTAX;
	if (sv_likely(parse_float_plain(s, len, is_float4, out)))
		return PS_OK;
	if (!scan_decimal(s, len, &d))
		return float_special(s, len, out) ? PS_OK : PS_SYNTAX;
	if (decimal_fast_path(&d, is_float4, out))
		return PS_OK;
	if (len < FLOAT_BUF_LEN)
		return parse_float_strtod(s, len, is_float4, buf, out);
	else
	{
		/* as long as PostgreSQL's own input takes: no limit but the message's */
		char	   *heap = malloc(len + 1);
		ParseStatus st;

		if (heap == NULL)
			return PS_RANGE;
		st = parse_float_strtod(s, len, is_float4, heap, out);
		free(heap);
		return st;
	}
}

/* The i-th digit (0-based) of the digit string int_digits || frac_digits. */
static inline char
decimal_digit(const DecimalText *d, int64_t i)
{
	if (i < (int64_t) d->int_len)
		return d->int_digits[i];
	return d->frac_digits[i - (int64_t) d->int_len];
}

/*
 * Checks a numeric field.  The syntax is numeric_in's; the value itself is
 * not converted (the backend does that from str/len).  What can fail here
 * is what numeric_in would refuse:
 *	- an exponent beyond +-1000 (PostgreSQL 15 calls that a syntax error);
 *	- unconstrained numeric: more than 131072 digits before the decimal
 *	  point or a display scale above 16383 ("value overflows numeric format");
 *	- numeric(p,s): after rounding to s decimal places (half away from zero,
 *	  as round_var does), more than p - s digits before the point ("numeric
 *	  field overflow"), or an infinity.
 * The rounding is done on the text without building the rounded number:
 * only the position of the rounded value's leading digit matters.
 */
static ParseStatus
check_numeric(const char *s, size_t len, const SvColumn *col, bool *overflow)
{
	DecimalText d;
	int64_t		n;				/* number of digits */
	int64_t		point;			/* digits before the decimal point */
	int64_t		first;			/* index of the first non-zero digit */
	int64_t		lead;			/* 10^(lead-1) <= |value| < 10^lead */
	bool		constrained = col->precision > 0;

	*overflow = false;
	if (len == 0)
		return PS_SYNTAX;

	/* special values, as numeric_in: NaN unsigned, infinities signed */
	if (equals_word(s, len, "nan"))
		return PS_OK;
	{
		const char *w = s;
		size_t		wl = len;

		if (*w == '+' || *w == '-')
		{
			w++;
			wl--;
		}
		if (equals_word(w, wl, "infinity") || equals_word(w, wl, "inf"))
		{
			/* apply_typmod_special: a constrained numeric holds no infinity */
			if (constrained)
			{
				*overflow = true;
				return PS_RANGE;
			}
			return PS_OK;
		}
	}

	if (!scan_decimal(s, len, &d))
		return PS_SYNTAX;
	if (d.exponent > NUMERIC_MAX_EXPONENT || d.exponent < -NUMERIC_MAX_EXPONENT)
		return PS_SYNTAX;

	n = (int64_t) (d.int_len + d.frac_len);
	point = (int64_t) d.int_len + d.exponent;
	for (first = 0; first < n && decimal_digit(&d, first) == '0'; first++)
		;

	if (!constrained)
	{
		int64_t		dscale = (int64_t) d.frac_len - d.exponent;

		if (dscale > NUMERIC_MAX_DSCALE)
			return PS_RANGE;
		if (first < n && point - first > NUMERIC_MAX_INT_DIGITS)
			return PS_RANGE;
		return PS_OK;
	}
	else
	{
		int64_t		scale = col->scale;
		int64_t		keep = point + scale;	/* digits kept after rounding */
		int64_t		maxdigits = (int64_t) col->precision - scale;

		if (keep < n)
		{
			/* rounding happens; the digit at index keep decides */
			bool		up = keep >= 0 && decimal_digit(&d, keep) >= '5';

			if (!up)
			{
				if (first >= keep)
					return PS_OK;	/* rounds to zero */
				lead = point - first;
			}
			else if (first >= keep)
				lead = 1 - scale;	/* becomes one unit in the last place */
			else
			{
				int64_t		i;

				/* a carry out of all-nines moves the leading digit up */
				for (i = first; i < keep && decimal_digit(&d, i) == '9'; i++)
					;
				lead = (i == keep) ? point - first + 1 : point - first;
			}
		}
		else
		{
			if (first >= n)
				return PS_OK;	/* zero */
			lead = point - first;
		}
		if (lead > maxdigits)
		{
			*overflow = true;
			return PS_RANGE;
		}
		return PS_OK;
	}
}


/* ---------------------------------------------------------------------
 * Booleans
 * ---------------------------------------------------------------------
 */

/*
 * PostgreSQL's parse_bool_with_len() after trimming: unique prefixes of
 * true/false/yes/no, on/off with at least two letters, and 1/0; all
 * case-insensitive.
 */
static ParseStatus
parse_bool(const char *s, size_t len, bool *out)
{
	if (len == 0)
		return PS_SYNTAX;
	switch (*s)
	{
		case 't':
		case 'T':
			if (is_prefix_of(s, len, "true"))
			{
				*out = true;
				return PS_OK;
			}
			break;
		case 'f':
		case 'F':
			if (is_prefix_of(s, len, "false"))
			{
				*out = false;
				return PS_OK;
			}
			break;
		case 'y':
		case 'Y':
			if (is_prefix_of(s, len, "yes"))
			{
				*out = true;
				return PS_OK;
			}
			break;
		case 'n':
		case 'N':
			if (is_prefix_of(s, len, "no"))
			{
				*out = false;
				return PS_OK;
			}
			break;
		case 'o':
		case 'O':
			/* "o" alone is ambiguous */
			if (len >= 2 && is_prefix_of(s, len, "on"))
			{
				*out = true;
				return PS_OK;
			}
			if (len >= 2 && is_prefix_of(s, len, "off"))
			{
				*out = false;
				return PS_OK;
			}
			break;
		case '1':
			if (len == 1)
			{
				*out = true;
				return PS_OK;
			}
			break;
		case '0':
			if (len == 1)
			{
				*out = false;
				return PS_OK;
			}
			break;
		default:
			break;
	}
	return PS_SYNTAX;
}


/* ---------------------------------------------------------------------
 * Dates and timestamps
 * ---------------------------------------------------------------------
 */

/* Parsed pieces of an ISO date/time; the zone is seconds east of UTC. */
typedef struct IsoDateTime
{
	int64_t		year;
	int			month;
	int			day;
	int			hour;
	int			minute;
	int			second;
	int64_t		usec;			/* 0..1000000 (1000000 after rounding) */
	bool		has_zone;
	int			zone_sec;
} IsoDateTime;

static inline bool
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int64_t y, int m)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return (m == 2 && is_leap(y)) ? 29 : mdays[m - 1];
}

/*
 * Days from 2000-01-01 to y-m-d in the proleptic Gregorian calendar (which
 * PostgreSQL uses), by Howard Hinnant's days_from_civil.  Callers pass
 * year >= 1, so the arithmetic can be unsigned, which makes the divisions
 * by constants cheaper.
 */
static int64_t
days_from_2000(int64_t year, int m, int d)
{
	uint64_t	y = (uint64_t) year - (m <= 2);
	uint64_t	era = y / 400;
	uint64_t	yoe = y - era * 400;
	uint64_t	doy = (uint64_t) ((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
	uint64_t	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return (int64_t) (era * 146097 + doe) - 719468 - 10957;
}

/*
 * days_from_2000() through a one-entry cache of the month's first day: the
 * timestamps of a stream are mostly close together. The entry is one 64-bit
 * word (month in bits 0-3, year in 4-26, the day number + 2^35 above), read
 * and written atomically, so the parser stays safe to call from several
 * threads without thread-local storage (slow in a loaded library).
 */
static int64_t
days_from_2000_cached(int64_t year, int m, int d)
{
#if (defined(__GNUC__) || defined(__clang__)) && __SIZEOF_POINTER__ == 8
	/* 64-bit targets only: elsewhere a 64-bit atomic may need libatomic */
	static uint64_t cache = 0;	/* year 0: empty */
	const uint64_t bias = UINT64_C(1) << 35;
	uint64_t	key;
	uint64_t	entry;
	int64_t		first;

	if (year < 1 || year >= (INT64_C(1) << 23))
		return days_from_2000(year, m, d);
	key = ((uint64_t) year << 4) | (uint64_t) m;
	entry = __atomic_load_n(&cache, __ATOMIC_RELAXED);
	if ((entry & ((UINT64_C(1) << 27) - 1)) == key)
		return (int64_t) ((entry >> 27) - bias) + d - 1;
	first = days_from_2000(year, m, 1);
	__atomic_store_n(&cache, (((uint64_t) first + bias) << 27) | key, __ATOMIC_RELAXED);
	return first + d - 1;
#else
	return days_from_2000(year, m, d);
#endif
}

/* Reads exactly n (<= 9) digits at *p; returns -1 if they are not there. */
static inline int
read_fixed_digits(const char **p, const char *e, int n)
{
	const char *q = *p;
	int			v = 0;
	int			i;

	if (e - q < n)
		return -1;
	for (i = 0; i < n; i++)
	{
		if (!is_digit((unsigned char) q[i]))
			return -1;
		v = v * 10 + (q[i] - '0');
	}
	*p = q + n;
	return v;
}

/*
 * Does the trimmed text start with one of PostgreSQL's special date/time
 * words?  Those are refused rather than misreported as syntax errors.
 */
static bool
is_special_datetime(const char *s, size_t len)
{
	static const char *const words[] = {
		"now", "today", "tomorrow", "yesterday", "epoch", "infinity",
		"-infinity", "+infinity", "allballs", NULL
	};
	int			i;

	for (i = 0; words[i] != NULL; i++)
	{
		size_t		wl = strlen(words[i]);

		if (len >= wl && equals_word(s, wl, words[i]) &&
			(len == wl || is_space((unsigned char) s[wl])))
			return true;
	}
	return false;
}

/*
 * Parses a numeric zone suffix: Z, or +hh, +hh:mm, +hhmm, +hh:mm:ss (also
 * with -), hh <= 15 and mm, ss <= 59 as PostgreSQL's DecodeTimezone.
 * Stricter than PostgreSQL: two-digit fields only, no zone names.
 */
static ParseStatus
parse_zone(const char *p, const char *e, int *zone_sec)
{
	int			sign;
	int			hh;
	int			mm = 0;
	int			ss = 0;

	if (e - p == 1 && (*p == 'Z' || *p == 'z'))
	{
		*zone_sec = 0;
		return PS_OK;
	}
	if (p == e || (*p != '+' && *p != '-'))
		return PS_SYNTAX;
	sign = (*p == '-') ? -1 : 1;
	p++;
	if ((hh = read_fixed_digits(&p, e, 2)) < 0)
		return PS_SYNTAX;
	if (p < e && *p == ':')
	{
		p++;
		if ((mm = read_fixed_digits(&p, e, 2)) < 0)
			return PS_SYNTAX;
		if (p < e && *p == ':')
		{
			p++;
			if ((ss = read_fixed_digits(&p, e, 2)) < 0)
				return PS_SYNTAX;
		}
	}
	else if (p < e)
	{
		if ((mm = read_fixed_digits(&p, e, 2)) < 0)
			return PS_SYNTAX;
	}
	if (p != e)
		return PS_SYNTAX;
	if (hh > MAX_TZDISP_HOUR || mm > 59 || ss > 59)
		return PS_TZ_RANGE;
	*zone_sec = sign * ((hh * 60 + mm) * 60 + ss);
	return PS_OK;
}

/*
 * Parses a fraction of a second: the digits after the '.', at p[0..n).  Up
 * to six digits are exact.  With more, PostgreSQL's ParseFractionalSecond
 * computes rint(strtod(".ddd...") * 1000000), so we do exactly that (which
 * rounds half to even, and may give 1000000).
 * Stricter than PostgreSQL: at most MAX_FRAC_DIGITS digits.
 */
static ParseStatus
parse_fraction(const char *p, size_t n, int64_t *usec)
{
	int64_t		v = 0;
	size_t		i;

	if (n == 0)
		return PS_SYNTAX;
	if (n <= 6)
	{
		for (i = 0; i < n; i++)
			v = v * 10 + (p[i] - '0');
		for (; i < 6; i++)
			v *= 10;
		*usec = v;
		return PS_OK;
	}
	else
	{
		char		buf[MAX_FRAC_DIGITS + 2];

		if (n > MAX_FRAC_DIGITS)
			return PS_SYNTAX;
		buf[0] = '.';
		memcpy(buf + 1, p, n);
		buf[n + 1] = '\0';
		*usec = (int64_t) rint(strtod(buf, NULL) * 1000000.0);
		return PS_OK;
	}
}

/*
 * Parses a trimmed ISO 8601 date, optionally followed (allow_time) by a time
 * and a zone:
 *		YYYY-MM-DD
 *		YYYY-MM-DD{ |T}HH:MM[:SS[.fraction]][[ ]zone]
 * The year has at least four digits.  Field values are checked as
 * PostgreSQL's DecodeDateTime does: month and day must exist (leap years
 * included), year >= 1, hour <= 24 with 24:00:00 only, minute <= 59,
 * second <= 60 (a leap second rolls over).
 *
 * Stricter than PostgreSQL: only this layout (no other DateStyle orders,
 * month names, BC, Julian days, two-digit years, or zone names), and a date
 * column takes no time part.
 */
#ifdef SV_HAVE_CTZ_LE
/*
 * Are all 8 bytes of w ASCII digits?  A byte is a digit exactly when its
 * high nibble is 3 and adding 6 keeps it there; a carry out of a byte can
 * only come from one that already failed the first test.
 */
static inline bool
all_digits8(uint64_t w)
{
	const uint64_t highs = UINT64_C(0xF0F0F0F0F0F0F0F0);
	const uint64_t threes = UINT64_C(0x3030303030303030);

	return (w & highs) == threes &&
		((w + UINT64_C(0x0606060606060606)) & highs) == threes;
}

/* The value of two ASCII digits at p (already checked). */
static inline int
two_digits(const char *p)
{
	return (p[0] - '0') * 10 + (p[1] - '0');
}

/*
 * The common shapes, "YYYY-MM-DD" and "YYYY-MM-DD HH:MM:SS" (or with T),
 * checked 8 bytes at a time.  Returns false, having set nothing but *tm's
 * fields, whenever the text is anything else or a field is outside the
 * everyday range (month 1-12, valid day, hour 0-23, minute and second
 * 0-59): parse_iso_datetime() then takes the general path, which gives the
 * same result or the right error.  On success every field of *tm is set
 * (no zone, no fraction), so the caller need not clear it first.
 */
static bool
parse_iso_datetime_fast(const char *s, size_t len, bool allow_time,
						IsoDateTime *tm)
{
	/* "YYYY-MM-" with the separators replaced by '0' must be all digits */
	const uint64_t seps = UINT64_C(0xFF0000FF00000000);
	const uint64_t dashes = UINT64_C(0x2D00002D00000000);
	const uint64_t zeros = UINT64_C(0x3030303030303030);
	uint64_t	w;

	if (len != 10 && !(len == 19 && allow_time))
		return false;
	tm->hour = tm->minute = tm->second = 0;
	tm->usec = 0;
	tm->has_zone = false;
	tm->zone_sec = 0;
	memcpy(&w, s, 8);
	if ((w & seps) != dashes || !all_digits8((w & ~seps) | (zeros & seps)) ||
		!is_digit((unsigned char) s[8]) || !is_digit((unsigned char) s[9]))
		return false;
	tm->year = two_digits(s) * 100 + two_digits(s + 2);
	tm->month = two_digits(s + 5);
	tm->day = two_digits(s + 8);
	if (tm->year < 1 || tm->month < 1 || tm->month > 12 || tm->day < 1 ||
		tm->day > days_in_month(tm->year, tm->month))
		return false;
	if (len == 19)
	{
		/* "DD HH:MM" from byte 8: the day again, then the time */
		const uint64_t tseps = UINT64_C(0x0000FF0000FF0000);
		const uint64_t colons = UINT64_C(0x00003A0000200000);
		uint64_t	t;

		memcpy(&t, s + 8, 8);
		if (s[10] == 'T' || s[10] == 't')
			t = (t & ~UINT64_C(0x0000000000FF0000)) | UINT64_C(0x0000000000200000);
		if ((t & tseps) != colons || !all_digits8((t & ~tseps) | (zeros & tseps)) ||
			s[16] != ':' || !is_digit((unsigned char) s[17]) ||
			!is_digit((unsigned char) s[18]))
			return false;
		tm->hour = two_digits(s + 11);
		tm->minute = two_digits(s + 14);
		tm->second = two_digits(s + 17);
		if (tm->hour > 23 || tm->minute > 59 || tm->second > 59)
			return false;
	}
	return true;
}
#endif

/*
 * Reads an ISO 8601 date ("YYYY-MM-DD", four or more year digits) and, with
 * allow_time, a time after ' ' or 'T' ("HH:MM[:SS[.fraction]]") and a zone
 * (parse_zone(), after at most one space) into *tm, as
 * PostgreSQL's input functions take these shapes; years above max_year
 * stop accumulating (PS_RANGE).  Field ranges are checked in PostgreSQL's
 * order, so that the same text gets the same error class.  The common
 * shapes go through parse_iso_datetime_fast() first.
 */
static ParseStatus
parse_iso_datetime(const char *s, size_t len, bool allow_time,
				   int64_t max_year, IsoDateTime *tm)
{
	const char *p = s;
	const char *e = s + len;
	const char *ydigits = p;
	int64_t		year = 0;
	int			ndig;

#ifdef SV_HAVE_CTZ_LE
	if (sv_likely(parse_iso_datetime_fast(s, len, allow_time, tm)))
		return PS_OK;
#endif
	memset(tm, 0, sizeof(*tm));

	/* year: four or more digits, then '-' */
	while (p < e && is_digit((unsigned char) *p))
	{
		if (year <= max_year)
			year = year * 10 + (*p - '0');
		p++;
	}
	ndig = (int) (p - ydigits);
	if (ndig < 4 || p == e || *p != '-')
		return PS_SYNTAX;
	p++;
	if ((tm->month = read_fixed_digits(&p, e, 2)) < 0)
		return PS_SYNTAX;
	if (p == e || *p != '-')
		return PS_SYNTAX;
	p++;
	if ((tm->day = read_fixed_digits(&p, e, 2)) < 0)
		return PS_SYNTAX;
	tm->year = year;

	if (p < e)
	{
		const char *zone;
		ParseStatus st;

		if (!allow_time || (*p != ' ' && *p != 'T' && *p != 't'))
			return PS_SYNTAX;
		p++;
		if ((tm->hour = read_fixed_digits(&p, e, 2)) < 0)
			return PS_SYNTAX;
		if (p == e || *p != ':')
			return PS_SYNTAX;
		p++;
		if ((tm->minute = read_fixed_digits(&p, e, 2)) < 0)
			return PS_SYNTAX;
		if (p < e && *p == ':')
		{
			p++;
			if ((tm->second = read_fixed_digits(&p, e, 2)) < 0)
				return PS_SYNTAX;
			if (p < e && *p == '.')
			{
				const char *f = ++p;

				while (p < e && is_digit((unsigned char) *p))
					p++;
				st = parse_fraction(f, (size_t) (p - f), &tm->usec);
				if (st != PS_OK)
					return st;
			}
		}
		/* zone, possibly after one space */
		zone = p;
		if (zone < e && *zone == ' ')
			zone++;
		if (zone < e)
		{
			st = parse_zone(zone, e, &tm->zone_sec);
			if (st != PS_OK)
				return st;
			tm->has_zone = true;
		}
		else if (zone != p)
			return PS_SYNTAX;	/* cannot happen: input is trimmed */
	}

	/* field ranges, in the order PostgreSQL checks them */
	if (tm->month < 1 || tm->month > 12 || tm->day < 1)
		return PS_FIELD_RANGE;
	if (year > max_year)
		return PS_RANGE;
	if (year < 1)
		return PS_FIELD_RANGE;	/* year 0 does not exist; no BC here */
	if (tm->day > days_in_month(year, tm->month))
		return PS_FIELD_RANGE;
	if (tm->minute > 59 || tm->second > 60 || tm->usec > USECS_PER_SEC ||
		tm->hour > 24 ||
		(tm->hour == 24 && (tm->minute > 0 || tm->second > 0 || tm->usec > 0)))
		return PS_FIELD_RANGE;
	return PS_OK;
}

/*
 * Parses a date column: days since 2000-01-01.
 */
static ParseStatus
parse_date(const char *s, size_t len, int64_t *out)
{
	IsoDateTime tm;
	ParseStatus st;

	st = parse_iso_datetime(s, len, false, DATE_MAX_YEAR, &tm);
	if (st == PS_SYNTAX && is_special_datetime(s, len))
		return PS_SPECIAL;
	if (st != PS_OK)
		return st;
	*out = days_from_2000(tm.year, tm.month, tm.day);
	return PS_OK;
}

/*
 * Parses a timestamp or timestamptz column into microseconds since
 * 2000-01-01.  A zone suffix is checked but ignored for timestamp, as
 * PostgreSQL does, and applied for timestamptz; a timestamptz without one
 * is local time, converted by schema->local_to_utc (UTC when NULL).  The
 * result must lie in PostgreSQL's range [4714-11-24 BC, 294277-01-01).
 */
ParseStatus
sv_parse_timestamp(const SvSchema *schema, const char *s, size_t len, bool with_tz,
				   int64_t *out, bool *conv_failed)
{
	IsoDateTime tm;
	ParseStatus st;
	int64_t		days;
	int64_t		t;

	*conv_failed = false;
	st = parse_iso_datetime(s, len, true, TIMESTAMP_MAX_YEAR, &tm);
	if (st == PS_SYNTAX && is_special_datetime(s, len))
		return PS_SPECIAL;
	if (st != PS_OK)
		return st;

	/*
	 * Year <= 294277 keeps days * USECS_PER_DAY far from int64 overflow
	 * only up to 294277-01-01; later days of that year are out of range for
	 * any zone, so stop there.
	 */
	days = days_from_2000_cached(tm.year, tm.month, tm.day);
	if (days > TIMESTAMP_END_DAYS)
		return PS_RANGE;
	t = days * USECS_PER_DAY + tm.hour * USECS_PER_HOUR +
		tm.minute * USECS_PER_MINUTE + tm.second * USECS_PER_SEC + tm.usec;

	if (with_tz)
	{
		if (tm.has_zone)
			t -= (int64_t) tm.zone_sec * USECS_PER_SEC;
		else if (schema->local_to_utc != NULL)
		{
			int64_t		utc;

			if (!schema->local_to_utc(t, &utc, schema->local_to_utc_arg))
			{
				*conv_failed = true;
				return PS_RANGE;
			}
			t = utc;
		}
	}
	if (t < MIN_TIMESTAMP || t >= END_TIMESTAMP)
		return PS_RANGE;
	*out = t;
	return PS_OK;
}


/* ---------------------------------------------------------------------
 * Fields and messages
 * ---------------------------------------------------------------------
 */

/*
 * Converts one field, already known to be valid UTF-8 without NUL bytes,
 * by its column's type; the reason when it does not convert. The general
 * per-field work of every format, which callers try after
 * sv_parse_field_fast() (parse_int.h).
 */
bool
sv_parse_field_checked(const SvSchema *schema, int field, const char *data,
					   size_t len, SvValue *value, SvParseError *err,
					   bool null_marker_applies)
{
	const SvColumn *col = &schema->columns[field];
	const char *null_marker = schema->null_marker ? schema->null_marker : "";
	size_t		null_len = schema->null_marker ? schema->null_len : 0;
	ParseStatus st = PS_OK;
	const char *t = data;
	size_t		tlen = len;

	value->str = data;
	value->len = len;
	value->v.i = 0;
	if (null_marker_applies && len == null_len &&
		(len == 0 || memcmp(data, null_marker, len) == 0))
	{
		value->isnull = true;
		return true;
	}
	value->isnull = false;

	if (col->type == SV_TYPE_OTHER || col->type == SV_TYPE_JSON)
		return true;
	if (col->type == SV_TYPE_TEXT)
	{
		if (col->max_chars >= 0 && len > (size_t) col->max_chars)
		{
			const unsigned char *u = (const unsigned char *) data;
			size_t		off = 0;
			size_t		j;
			int32_t		nchars = 0;

			/* byte offset just after max_chars characters */
			while (off < len && nchars < col->max_chars)
			{
				off++;
				while (off < len && (u[off] & 0xC0) == 0x80)
					off++;
				nchars++;
			}
			/* as varchar_input: the rest may only be spaces, cut off */
			for (j = off; j < len; j++)
			{
				if (data[j] != ' ')
					return sv_fail_field(schema, field, PS_TOO_LONG,
										 data, len, err);
			}
			value->len = off;
		}
		return true;
	}

	/*
	 * All other types ignore surrounding white space, as PostgreSQL's input
	 * functions do; str/len is the trimmed text, the reason quotes the raw
	 * field.
	 */
	trim_space(&t, &tlen);
	switch (col->type)
	{
		case SV_TYPE_INT2:
			st = sv_parse_int(t, tlen, INT16_MIN, INT16_MAX, &value->v.i);
			break;
		case SV_TYPE_INT4:
			st = sv_parse_int(t, tlen, INT32_MIN, INT32_MAX, &value->v.i);
			break;
		case SV_TYPE_INT8:
			st = sv_parse_int(t, tlen, INT64_MIN, INT64_MAX, &value->v.i);
			break;
		case SV_TYPE_FLOAT4:
			st = sv_parse_float(t, tlen, true, &value->v.f);
			break;
		case SV_TYPE_FLOAT8:
			st = sv_parse_float(t, tlen, false, &value->v.f);
			break;
		case SV_TYPE_NUMERIC:
			{
				bool		overflow;

				st = check_numeric(t, tlen, col, &overflow);
				if (st == PS_RANGE && overflow)
					return sv_fail_field(schema, field, PS_NUMERIC_OVERFLOW,
										 data, len, err);
			}
			break;
		case SV_TYPE_BOOL:
			st = parse_bool(t, tlen, &value->v.b);
			break;
		case SV_TYPE_DATE:
			st = parse_date(t, tlen, &value->v.i);
			break;
		case SV_TYPE_TIMESTAMP:
		case SV_TYPE_TIMESTAMPTZ:
			{
				bool		conv_failed;

				st = sv_parse_timestamp(schema, t, tlen,
										col->type == SV_TYPE_TIMESTAMPTZ,
										&value->v.i, &conv_failed);
				if (conv_failed)
					return sv_fail_field(schema, field, PS_LOCAL_TIME,
										 data, len, err);
			}
			break;
		default:
			return sv_fail_field(schema, field, PS_UNKNOWN_TYPE,
								 data, len, err);
	}
	if (sv_unlikely(st != PS_OK))
		return sv_fail_field(schema, field, st, data, len, err);
	value->str = t;
	value->len = tlen;
	return true;
}

/*
 * Do the bytes after q's first one match the rest of the delimiter?  The
 * caller knows q[0] matches and that dlen bytes are readable.  Delimiters
 * are short, so a loop beats calling memcmp().
 */
static inline bool
delimiter_rest_matches(const char *q, const char *delim, size_t dlen)
{
	size_t		i;

	for (i = 1; i < dlen; i++)
	{
		if (q[i] != delim[i])
			return false;
	}
	return true;
}

/*
 * Finds the first byte c in [p, e), or returns NULL.  Fields are short, and
 * for a span of a few bytes the call into memchr() costs more than the
 * search, so the first 32 bytes are searched inline, 8 at a time: a byte of
 * w ^ (c repeated) is zero exactly where w holds c, and
 * (x - 0x01..01) & ~x & 0x80..80 is non-zero exactly when x has a zero
 * byte.  Longer spans go to memchr(), which is vectorized.
 */
static inline const char *
find_byte(const char *p, const char *e, unsigned char c)
{
	const uint64_t ones = UINT64_C(0x0101010101010101);
	const uint64_t highs = UINT64_C(0x8080808080808080);
	const uint64_t pattern = ones * c;
	const char *inline_end = (e - p > 32) ? p + 32 : e;

	while (inline_end - p >= 8)
	{
		uint64_t	w;
		uint64_t	hit;

		memcpy(&w, p, 8);
		w ^= pattern;
		hit = (w - ones) & ~w & highs;
		if (hit != 0)
		{
#ifdef SV_HAVE_CTZ_LE
			/*
			 * The lowest flagged byte is the first match (the trick only
			 * over-reports bytes above a real zero byte).
			 */
			return p + (__builtin_ctzll(hit) >> 3);
#else
			break;				/* c is in these 8 bytes */
#endif
		}
		p += 8;
	}
	for (; p < inline_end; p++)
	{
		if ((unsigned char) *p == c)
			return p;
	}
	if (p == e)
		return NULL;
	return memchr(p, c, (size_t) (e - p));
}

/*
 * Finds the first occurrence of delim[0..dlen) in [p, e), or returns NULL.
 * find_byte() looks for the delimiter's first byte, the rest is compared
 * in place.
 */
static inline const char *
find_delimiter(const char *p, const char *e, const char *delim, size_t dlen)
{
	const unsigned char first = (unsigned char) delim[0];

	while ((size_t) (e - p) >= dlen)
	{
		const char *q = find_byte(p, e - dlen + 1, first);

		if (q == NULL)
			return NULL;
		if (delimiter_rest_matches(q, delim, dlen))
			return q;
		p = q + 1;
	}
	return NULL;
}

#ifdef SV_HAVE_CTZ_LE
/* Splitting state of split_ascii(): fields found, where the next starts. */
typedef struct SplitState
{
	SvValue    *values;
	int			ncols;
	long		nfields;
	size_t		start;
} SplitState;

/*
 * Takes the delimiter candidates flagged in mask (bit j: byte base + j is
 * the delimiter's first byte) as split_ascii() describes.
 */
static inline void
split_candidates(SplitState *st, const char *data, size_t len, size_t base,
				 uint64_t mask, int bits_per_byte, const char *delim, size_t dlen)
{
	while (mask != 0)
	{
		size_t		pos = base + ((size_t) __builtin_ctzll(mask) / bits_per_byte);

		mask &= mask - 1;
		if (pos < st->start)
			continue;			/* inside the previous delimiter */
		if (dlen > 1 && (len - pos < dlen ||
						 !delimiter_rest_matches(data + pos, delim, dlen)))
			continue;
		if (st->nfields < st->ncols)
		{
			st->values[st->nfields].str = data + st->start;
			st->values[st->nfields].len = pos - st->start;
		}
		st->nfields++;
		st->start = pos + dlen;
	}
}

/*
 * One pass over a message that is plain ASCII (the usual case): checks for
 * NUL and non-ASCII bytes and splits at the same time, 16 bytes per step with SSE2, else 8.
 * Returns false as soon as it meets a NUL or a byte >= 0x80; the caller
 * then starts over with the general path (full UTF-8 check, then split),
 * which gives the same fields.  On success sets *nfields to the number of
 * fields and fills values[0..min(nfields, ncols)) with their slices.
 *
 * Delimiter candidates are the bytes equal to the delimiter's first byte,
 * found exactly with ~(((x & 0x7f..) + 0x7f..) | x | 0x7f..), which sets
 * the high bit of exactly the zero bytes of x = word ^ (byte repeated).
 * Matches do not overlap, as in find_delimiter(): after a delimiter the
 * search resumes behind it.
 */
static bool
split_ascii(const char *data, size_t len, const char *delim, size_t dlen,
			SvValue *values, int ncols, long *nfields)
{
	const uint64_t ones = UINT64_C(0x0101010101010101);
	const uint64_t highs = UINT64_C(0x8080808080808080);
	const uint64_t low7 = UINT64_C(0x7f7f7f7f7f7f7f7f);
	const unsigned char first = (unsigned char) delim[0];
	const uint64_t pattern = ones * first;
	SplitState	st = {values, ncols, 0, 0};
	size_t		i = 0;

#ifdef __SSE2__
	{
		const __m128i firsts = _mm_set1_epi8((char) first);
		const __m128i zero = _mm_setzero_si128();

		for (; i + 16 <= len; i += 16)
		{
			__m128i		v = _mm_loadu_si128((const __m128i *) (data + i));

			/* high bit set: non-ASCII; equal to zero: NUL */
			if (sv_unlikely((_mm_movemask_epi8(v) |
							 _mm_movemask_epi8(_mm_cmpeq_epi8(v, zero))) != 0))
				return false;
			split_candidates(&st, data, len, i,
							 (uint64_t) _mm_movemask_epi8(_mm_cmpeq_epi8(v, firsts)),
							 1, delim, dlen);
		}
	}
#endif
	for (; i + 8 <= len; i += 8)
	{
		uint64_t	w;
		uint64_t	x;

		memcpy(&w, data + i, 8);
		if (sv_unlikely((((w - ones) | w) & highs) != 0))
			return false;		/* NUL or non-ASCII: general path */
		x = w ^ pattern;
		/* the high bit of each byte of x that is zero; low bits clear */
		split_candidates(&st, data, len, i, ~(((x & low7) + low7) | x | low7),
						 8, delim, dlen);
	}
	for (; i < len; i++)
	{
		unsigned char c = (unsigned char) data[i];

		if (sv_unlikely(c == 0 || c >= 0x80))
			return false;
		if (c == first)
			split_candidates(&st, data, len, i, 1, 1, delim, dlen);
	}
	if (st.nfields < ncols)
	{
		values[st.nfields].str = data + st.start;
		values[st.nfields].len = len - st.start;
	}
	*nfields = st.nfields + 1;
	return true;
}
#endif

/*
 * Which field (0-based) holds byte offset pos, for reporting bad UTF-8
 * where it is; -1 if pos lies in a delimiter or past the last column.
 * Only used on the failure path.
 */
static int
field_of_offset(const SvSchema *schema, const char *data, size_t len,
				size_t pos)
{
	const char *p = data;
	const char *e = data + len;
	int			field = 0;

	for (;;)
	{
		const char *q = find_delimiter(p, e, schema->delimiter,
									   schema->delimiter_len);

		if (q == NULL || (size_t) (q - data) > pos)
			break;
		if ((size_t) (q - data) + schema->delimiter_len > pos)
			return -1;
		field++;
		p = q + schema->delimiter_len;
	}
	return field < schema->ncolumns ? field : -1;
}

/* Refuses a schema the parser cannot use; false with a reason if so. */
static bool
check_schema(const SvSchema *schema, SvParseError *err)
{
	if (schema == NULL || schema->columns == NULL || schema->ncolumns <= 0)
		return sv_fail_message(err, "invalid schema: no columns");
	if (schema->delimiter == NULL || schema->delimiter_len == 0)
		return sv_fail_message(err, "invalid schema: empty delimiter");
	return true;
}

/*
 * Parses one message; see parse.h.  Order of checks: empty message, NUL
 * bytes and UTF-8 over the whole message, field count, then each field from
 * left to right (the first failing field is reported).
 */
bool
sv_parse_message(const SvSchema *schema, const char *data, size_t len,
				 SvValue *values, SvParseError *err)
{
	const char *p;
	const char *e;
	const char *delim;
	size_t		dlen;
	size_t		bad;
	bool		is_nul = false;
	int			ncols;
	long		nfields = 0;
	int			i;

	if (schema != NULL && schema->format == SV_FORMAT_CSV)
		return sv_parse_csv(schema, data, len, values, err);
	if (schema != NULL && schema->format == SV_FORMAT_JSON)
		return sv_parse_json(schema, data, len, values, err);
	if (sv_unlikely(!check_schema(schema, err)))
		return false;
	if (sv_unlikely(data == NULL || len == 0))
		return sv_fail_message(err, "empty message");

	ncols = schema->ncolumns;
	delim = schema->delimiter;
	dlen = schema->delimiter_len;

#ifdef SV_HAVE_CTZ_LE
	if (sv_likely(split_ascii(data, len, delim, dlen, values, ncols, &nfields)))
		goto split_done;
	nfields = 0;
#endif

	bad = sv_utf8_check(data, len, &is_nul);
	if (sv_unlikely(bad != len))
	{
		int			field = is_nul ? -1 : field_of_offset(schema, data, len, bad);

		return sv_fail_encoding(schema, field, data, len, bad, " of the message",
								is_nul, err);
	}

	/* split; count every field so that the reason can say how many */
	p = data;
	e = data + len;
	for (;;)
	{
		const char *q = find_delimiter(p, e, delim, dlen);
		const char *fend = q ? q : e;

		if (sv_likely(nfields < ncols))
		{
			values[nfields].str = p;
			values[nfields].len = (size_t) (fend - p);
		}
		nfields++;
		if (q == NULL)
			break;
		p = q + dlen;
	}

#ifdef SV_HAVE_CTZ_LE
split_done:
#endif
	if (sv_unlikely(nfields != ncols))
	{
		ReasonBuf	rb;

		sv_rb_begin(&rb, err, schema, -1);
		sv_rb_str(&rb, "expected ");
		sv_rb_num(&rb, ncols);
		sv_rb_str(&rb, ncols == 1 ? " field, found " : " fields, found ");
		sv_rb_num(&rb, nfields);
		return false;
	}

	for (i = 0; i < ncols; i++)
	{
		const char *raw = values[i].str;
		size_t		rawlen = values[i].len;

		if (sv_likely(sv_parse_field_fast(schema, &schema->columns[i], raw, rawlen,
										  &values[i], true)))
			continue;
		if (sv_unlikely(!sv_parse_field_checked(schema, i, raw, rawlen, &values[i],
												err, true)))
			return false;
	}
	return true;
}

/*
 * Parses one field that the caller split out itself; see parse.h.  The
 * field gets the same NUL and UTF-8 checks as a whole message would.
 */
bool
sv_parse_field(const SvSchema *schema, int field, const char *data,
			   size_t len, SvValue *value, SvParseError *err)
{
	size_t		bad;
	bool		is_nul = false;

	if (!check_schema(schema, err))
		return false;
	if (field < 0 || field >= schema->ncolumns)
		return sv_fail_message(err, "field number out of range for the schema");
	if (data == NULL)
	{
		if (len != 0)
			return sv_fail_message(err, "no data");
		data = "";
	}
	bad = sv_utf8_check(data, len, &is_nul);
	if (bad != len)
		return sv_fail_encoding(schema, field, data, len, bad, " of the field",
								is_nul, err);
	return sv_parse_field_checked(schema, field, data, len, value, err, true);
}

/*
 * Parses one value by one column without the null marker; see parse.h.
 * The same NUL and UTF-8 checks as sv_parse_field.
 */
bool
sv_parse_value(const SvSchema *schema, int field, const char *data,
			   size_t len, SvValue *value, SvParseError *err)
{
	size_t		bad;
	bool		is_nul = false;

	if (schema == NULL || schema->columns == NULL || field < 0 ||
		field >= schema->ncolumns)
		return sv_fail_message(err, "field number out of range for the schema");
	if (data == NULL)
	{
		if (len != 0)
			return sv_fail_message(err, "no data");
		data = "";
	}
	bad = sv_utf8_check(data, len, &is_nul);
	if (bad != len)
		return sv_fail_encoding(schema, field, data, len, bad, " of the field",
								is_nul, err);
	return sv_parse_field_checked(schema, field, data, len, value, err, false);
}
