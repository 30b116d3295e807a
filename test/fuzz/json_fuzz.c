/*-------------------------------------------------------------------------
 *
 * json_fuzz.c
 *	  libFuzzer harness for src/json.c (the JSON format).
 *
 * Every input is parsed as a JSON message by three schemas: the zoomcamp
 * columns by name, one column of each type by name, and columns of several
 * types by paths into nested objects and arrays.  Each parse gets a scratch
 * buffer of exactly the message's length (malloc'ed, so AddressSanitizer
 * sees any write past it), and the input itself is an exactly sized block.
 * Besides crashes and sanitizer reports, the harness aborts when a result
 * breaks the contract:
 *   - a value's str/len outside the message and the scratch buffer, or a
 *     value no PostgreSQL type could hold, or one that sv_parse_value()
 *     does not reproduce from its own text;
 *   - a reason that is empty, unterminated, not valid UTF-8, or whose field
 *     is out of range or does not match its "column ..." prefix;
 *   - a second parse of the same input (with other garbage in the outputs
 *     and the scratch buffer) that differs;
 *   - a parse by a shape learned from the input (see json_shape_parse) of
 *     a variant of it with other values (variant()) that differs from the
 *     parse of that variant without a plan;
 *   - a disagreement with a naive reference parser (recursive, below): on
 *     whether the message is valid JSON, valid UTF-8 without NUL bytes, an
 *     object, and has duplicate top-level names; and, for the by-name
 *     schema, on which member each column takes and its text.
 *
 * Build and run (the Makefile's fuzz-json target does this):
 *	  clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
 *		  -o test/fuzz/json_fuzz test/fuzz/json_fuzz.c src/parse.c src/parse_text.c src/csv.c src/json.c src/json_path.c -lm
 *	  mkdir -p /tmp/json_corpus
 *	  ./test/fuzz/json_fuzz -max_total_time=180 /tmp/json_corpus test/fuzz/corpus-json
 *
 * test/fuzz/json_fuzz.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "../zoomcamp_schema.h"

#define END_TIMESTAMP	INT64_C(9223371331200000000)
#define MIN_TIMESTAMP	INT64_C(-211813488000000000)
#define MAXCOLS 16
#define REF_MAX_DEPTH 400		/* deeper: the reference gives up */
#define REF_MAX_MEMBERS 64		/* top-level members the reference keeps */

/* One column of each type, by name. */
static const SvColumn all_cols[] = {
	{"i2", SV_TYPE_INT2, -1, -1, -1},
	{"i4", SV_TYPE_INT4, -1, -1, -1},
	{"i8", SV_TYPE_INT8, -1, -1, -1},
	{"f4", SV_TYPE_FLOAT4, -1, -1, -1},
	{"f8", SV_TYPE_FLOAT8, -1, -1, -1},
	{"n", SV_TYPE_NUMERIC, -1, 10, 2},
	{"b", SV_TYPE_BOOL, -1, -1, -1},
	{"t", SV_TYPE_TEXT, -1, -1, -1},
	{"v", SV_TYPE_TEXT, 5, -1, -1},
	{"d", SV_TYPE_DATE, -1, -1, -1},
	{"ts", SV_TYPE_TIMESTAMP, -1, -1, -1},
	{"tz", SV_TYPE_TIMESTAMPTZ, -1, -1, -1},
	{"o", SV_TYPE_OTHER, -1, -1, -1},
	{"\xc3\xa9", SV_TYPE_TEXT, -1, -1, -1},
};

#define NALL ((int) (sizeof(all_cols) / sizeof(all_cols[0])))

/* Columns by paths. */
static const SvJsonStep p_a[] = {{"a", 1, 0}};
static const SvJsonStep p_ab[] = {{"a", 1, 0}, {"b", 1, 0}};
static const SvJsonStep p_a0[] = {{"a", 1, 0}, {NULL, 0, 0}};
static const SvJsonStep p_a1b[] = {{"a", 1, 0}, {NULL, 0, 1}, {"b", 1, 0}};
static const SvJsonStep p_xy[] = {{"x y", 3, 0}, {"\"", 1, 0}};
static const SvJsonStep p_bcd[] = {{"b", 1, 0}, {"c", 1, 0}, {"d", 1, 0}};
static const SvJsonStep p_0[] = {{NULL, 0, 0}};
static const SvJsonStep p_e[] = {{"", 0, 0}, {NULL, 0, 2}};

static const SvColumn path_cols[] = {
	{"a_text", SV_TYPE_TEXT, -1, -1, -1},
	{"ab_int", SV_TYPE_INT4, -1, -1, -1},
	{"ab_other", SV_TYPE_OTHER, -1, -1, -1},
	{"a0_float", SV_TYPE_FLOAT8, -1, -1, -1},
	{"a1b_bool", SV_TYPE_BOOL, -1, -1, -1},
	{"xy_ts", SV_TYPE_TIMESTAMP, -1, -1, -1},
	{"bcd_num", SV_TYPE_NUMERIC, -1, -1, -1},
	{"root0", SV_TYPE_TEXT, -1, -1, -1},
	{"e2_date", SV_TYPE_DATE, -1, -1, -1},
	{"b", SV_TYPE_TEXT, -1, -1, -1},
};
static const SvJsonPath path_paths[] = {
	{1, p_a}, {2, p_ab}, {2, p_ab}, {2, p_a0}, {3, p_a1b}, {2, p_xy},
	{3, p_bcd}, {1, p_0}, {2, p_e}, {0, NULL}
};

#define NPATH ((int) (sizeof(path_cols) / sizeof(path_cols[0])))

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
valid_utf8_len(const unsigned char *s, size_t len, bool nul_ok)
{
	size_t		i = 0;

	while (i < len)
	{
		unsigned int cp;
		size_t		n,
					k;

		if (s[i] == 0 && !nul_ok)
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


/* ---- the reference parser: recursive, simple, slow ---- */

typedef struct RefMember
{
	char		name[64];		/* decoded, cut */
	size_t		name_len;		/* decoded length (may exceed 64) */
	bool		name_nul;		/* the name has \u0000 */
	const char *val;			/* the value's JSON text */
	size_t		val_len;
	bool		val_esc;		/* a string with escapes */
} RefMember;

typedef struct Ref
{
	const char *p;
	const char *e;
	bool		too_deep;
	int			nmembers;		/* top-level members */
	bool		dup;			/* duplicate top-level names (decoded) */
	bool		dup_unknown;	/* names too long or too many to tell */
	RefMember	m[REF_MAX_MEMBERS];
} Ref;

static bool ref_value(Ref *r, int depth);

static void
ref_ws(Ref *r)
{
	while (r->p < r->e && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static int
ref_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static long
ref_hex4(const char *s, const char *e)
{
	long		v = 0;
	int			i;

	if (e - s < 4)
		return -1;
	for (i = 0; i < 4; i++)
	{
		int			h = ref_hex(s[i]);

		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/*
 * A string at r->p (its quote): checks it, decodes up to outcap bytes of
 * it into out (if given), sets *dlen to the decoded length, *nul and *esc.
 */
static bool
ref_string(Ref *r, char *out, size_t outcap, size_t *dlen, bool *nul, bool *esc)
{
	const char *s = r->p + 1;
	size_t		n = 0;

	*nul = *esc = false;
	for (;;)
	{
		unsigned char c;
		const char *run = s;

		while (s < r->e && *s != '"' && *s != '\\' && (unsigned char) *s >= 0x20)
			s++;
		if (!valid_utf8_len((const unsigned char *) run, (size_t) (s - run), false))
			return false;
		for (; run < s; run++, n++)
			if (out && n < outcap)
				out[n] = *run;
		if (s >= r->e)
			return false;
		c = (unsigned char) *s;
		if (c == '"')
			break;
		if (c < 0x20)
			return false;
		/* an escape */
		*esc = true;
		if (r->e - s < 2)
			return false;
		if (strchr("\"\\/bfnrt", s[1]) != NULL && s[1] != '\0')
		{
			if (out && n < outcap)
			{
				const char *from = "\"\\/bfnrt";
				const char *to = "\"\\/\b\f\n\r\t";

				out[n] = to[strchr(from, s[1]) - from];
			}
			n++;
			s += 2;
			continue;
		}
		if (s[1] != 'u')
			return false;
		{
			long		cp = ref_hex4(s + 2, r->e);

			if (cp < 0 || (cp >= 0xDC00 && cp <= 0xDFFF))
				return false;
			if (cp >= 0xD800 && cp <= 0xDBFF)
			{
				long		lo;

				if (r->e - s < 12 || s[6] != '\\' || s[7] != 'u')
					return false;
				lo = ref_hex4(s + 8, r->e);
				if (lo < 0xDC00 || lo > 0xDFFF)
					return false;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				s += 12;
			}
			else
				s += 6;
			if (cp == 0)
				*nul = true;
			/* decoded: as UTF-8 */
			{
				char		u[4];
				int			k,
							m;

				if (cp < 0x80)
					u[0] = (char) cp, m = 1;
				else if (cp < 0x800)
					u[0] = (char) (0xC0 | (cp >> 6)), u[1] = (char) (0x80 | (cp & 0x3F)), m = 2;
				else if (cp < 0x10000)
					u[0] = (char) (0xE0 | (cp >> 12)), u[1] = (char) (0x80 | ((cp >> 6) & 0x3F)),
						u[2] = (char) (0x80 | (cp & 0x3F)), m = 3;
				else
					u[0] = (char) (0xF0 | (cp >> 18)), u[1] = (char) (0x80 | ((cp >> 12) & 0x3F)),
						u[2] = (char) (0x80 | ((cp >> 6) & 0x3F)), u[3] = (char) (0x80 | (cp & 0x3F)), m = 4;
				for (k = 0; k < m; k++, n++)
					if (out && n < outcap)
						out[n] = u[k];
			}
		}
	}
	r->p = s + 1;
	*dlen = n;
	return true;
}

/* A number by JSON's grammar, not followed by a token character. */
static bool
ref_number(Ref *r)
{
	const char *s = r->p;
	const char *e = r->e;

	if (s < e && *s == '-')
		s++;
	if (s < e && *s == '0')
		s++;
	else if (s < e && *s >= '1' && *s <= '9')
		while (s < e && *s >= '0' && *s <= '9')
			s++;
	else
		return false;
	if (s < e && *s == '.')
	{
		s++;
		if (!(s < e && *s >= '0' && *s <= '9'))
			return false;
		while (s < e && *s >= '0' && *s <= '9')
			s++;
	}
	if (s < e && (*s == 'e' || *s == 'E'))
	{
		s++;
		if (s < e && (*s == '+' || *s == '-'))
			s++;
		if (!(s < e && *s >= '0' && *s <= '9'))
			return false;
		while (s < e && *s >= '0' && *s <= '9')
			s++;
	}
	if (s < e && (((*s | 0x20) >= 'a' && (*s | 0x20) <= 'z') || (*s >= '0' && *s <= '9') ||
				  *s == '.' || *s == '+' || *s == '-' || *s == '_'))
		return false;
	r->p = s;
	return true;
}

/* A literal, not followed by a token character. */
static bool
ref_literal(Ref *r, const char *w)
{
	size_t		n = strlen(w);
	const char *s = r->p + n;

	if ((size_t) (r->e - r->p) < n || memcmp(r->p, w, n) != 0)
		return false;
	if (s < r->e && (((*s | 0x20) >= 'a' && (*s | 0x20) <= 'z') || (*s >= '0' && *s <= '9') ||
					 *s == '.' || *s == '+' || *s == '-' || *s == '_'))
		return false;
	r->p = s;
	return true;
}

/*
 * A value at r->p (after white space).  At depth 0 an object's members
 * are recorded.
 */
static bool
ref_value(Ref *r, int depth)
{
	if (depth > REF_MAX_DEPTH)
	{
		r->too_deep = true;
		return false;
	}
	if (r->p >= r->e)
		return false;
	switch (*r->p)
	{
		case '{':
			r->p++;
			ref_ws(r);
			if (r->p < r->e && *r->p == '}')
			{
				r->p++;
				return true;
			}
			for (;;)
			{
				char		name[64];
				size_t		nlen;
				bool		nul,
							esc;
				const char *v;

				if (r->p >= r->e || *r->p != '"')
					return false;
				if (!ref_string(r, name, sizeof(name), &nlen, &nul, &esc))
					return false;
				ref_ws(r);
				if (r->p >= r->e || *r->p != ':')
					return false;
				r->p++;
				ref_ws(r);
				v = r->p;
				if (!ref_value(r, depth + 1))
					return false;
				if (depth == 0 && nlen > sizeof(name))
					r->dup_unknown = true;
				if (depth == 0 && r->nmembers < REF_MAX_MEMBERS)
				{
					RefMember  *m = &r->m[r->nmembers++];
					int			i;

					memcpy(m->name, name, sizeof(name));
					m->name_len = nlen;
					m->name_nul = nul;
					m->val = v;
					m->val_len = (size_t) (r->p - v);
					m->val_esc = false;
					if (*v == '"')
					{
						Ref			t = *r;
						size_t		dl;
						bool		tn,
									te;

						t.p = v;
						ref_string(&t, NULL, 0, &dl, &tn, &te);
						m->val_esc = te;
					}
					for (i = 0; i < r->nmembers - 1; i++)
					{
						if (r->m[i].name_len == nlen && nlen <= sizeof(name) &&
							memcmp(r->m[i].name, name, nlen) == 0)
							r->dup = true;
					}
				}
				else if (depth == 0)
				{
					r->nmembers++;
					r->dup_unknown = true;
				}
				ref_ws(r);
				if (r->p < r->e && *r->p == ',')
				{
					r->p++;
					ref_ws(r);
					continue;
				}
				if (r->p < r->e && *r->p == '}')
				{
					r->p++;
					return true;
				}
				return false;
			}
		case '[':
			r->p++;
			ref_ws(r);
			if (r->p < r->e && *r->p == ']')
			{
				r->p++;
				return true;
			}
			for (;;)
			{
				if (!ref_value(r, depth + 1))
					return false;
				ref_ws(r);
				if (r->p < r->e && *r->p == ',')
				{
					r->p++;
					ref_ws(r);
					continue;
				}
				if (r->p < r->e && *r->p == ']')
				{
					r->p++;
					return true;
				}
				return false;
			}
		case '"':
			{
				size_t		dl;
				bool		nul,
							esc;

				return ref_string(r, NULL, 0, &dl, &nul, &esc);
			}
		case 't':
			return ref_literal(r, "true");
		case 'f':
			return ref_literal(r, "false");
		case 'n':
			return ref_literal(r, "null");
		default:
			return ref_number(r);
	}
}


/* ---- the checks ---- */

/* Does [s, s + len) lie inside [base, base + blen)? */
static bool
within(const char *s, size_t len, const char *base, size_t blen)
{
	return s >= base && len <= blen && (size_t) (s - base) <= blen - len;
}

/* Checks a failure's reason. */
static void
check_reason(const SvSchema *schema, const SvParseError *err)
{
	size_t		rlen = strnlen(err->reason, SV_REASON_LEN);

	if (rlen == 0 || rlen >= SV_REASON_LEN)
		violation("reason empty or not terminated", NULL);
	if (!valid_utf8_len((const unsigned char *) err->reason, rlen, false))
		violation("reason is not valid UTF-8", err);
	if (err->field < -1 || err->field >= schema->ncolumns)
		violation("field number out of range", err);
	if ((err->field >= 0) != (strncmp(err->reason, "column \"", 8) == 0))
		violation("field and 'column' prefix disagree", err);
}

/* Checks one successful value of column c. */
static void
check_value(const SvSchema *schema, int c, const SvValue *v, const char *data,
			size_t len, const char *scratch, size_t scap)
{
	const SvColumn *col = &schema->columns[c];
	SvValue		w;
	SvParseError err;

	if (!within(v->str, v->len, data, len) && !within(v->str, v->len, scratch, scap))
		violation("value outside the message and the scratch buffer", NULL);
	if (v->isnull)
		return;
	switch (col->type)
	{
		case SV_TYPE_INT2:
			if (v->v.i < INT16_MIN || v->v.i > INT16_MAX)
				violation("int2 out of range", NULL);
			break;
		case SV_TYPE_INT4:
			if (v->v.i < INT32_MIN || v->v.i > INT32_MAX)
				violation("int4 out of range", NULL);
			break;
		case SV_TYPE_FLOAT4:
			if (isfinite(v->v.f) && (double) (float) v->v.f != v->v.f)
				violation("float4 not representable", NULL);
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
	/* sv_parse_value reproduces the value from its own text */
	memset(&w, 0x33, sizeof(w));
	if (!sv_parse_value(schema, c, v->str, v->len, &w, &err))
		violation("sv_parse_value refuses a value's own text", &err);
	if (w.isnull || w.str != v->str || w.len != v->len ||
		memcmp(&w.v, &v->v, sizeof(w.v)) != 0)
		violation("sv_parse_value gives another value for the same text", NULL);
}

/*
 * For the by-name schema: the column takes the member of its name (the
 * last, if the reference saw a duplicate, but then the parse failed).
 */
static void
check_by_name(const SvSchema *schema, const Ref *ref, const SvValue *values)
{
	int			c;

	if (ref->nmembers > REF_MAX_MEMBERS)
		return;
	for (c = 0; c < schema->ncolumns; c++)
	{
		const char *name = schema->columns[c].name;
		size_t		nlen = strlen(name);
		const RefMember *m = NULL;
		const SvValue *v = &values[c];
		int			i;

		for (i = 0; i < ref->nmembers; i++)
		{
			if (ref->m[i].name_len == nlen && nlen <= sizeof(ref->m[i].name) &&
				!ref->m[i].name_nul && memcmp(ref->m[i].name, name, nlen) == 0)
				m = &ref->m[i];
		}
		if (m == NULL || (m->val_len == 4 && memcmp(m->val, "null", 4) == 0))
		{
			if (!v->isnull)
				violation("a missing or null member gave a value", NULL);
			continue;
		}
		if (v->isnull)
			violation("a member gave NULL", NULL);
		if (*m->val == '{' || *m->val == '[')
		{
			if (v->str != m->val || v->len != m->val_len)
				violation("an object or array is not its exact text", NULL);
		}
		else if (*m->val == '"' && !m->val_esc && schema->columns[c].type == SV_TYPE_TEXT &&
				 schema->columns[c].max_chars < 0)
		{
			if (v->str != m->val + 1 || v->len != m->val_len - 2)
				violation("a string without escapes is not its contents", NULL);
		}
		else if (*m->val != '"' && (schema->columns[c].type == SV_TYPE_TEXT ||
									schema->columns[c].type == SV_TYPE_OTHER) &&
				 schema->columns[c].max_chars < 0)
		{
			if (v->str != m->val || v->len != m->val_len)
				violation("a number or literal is not its text", NULL);
		}
	}
}

/*
 * Is the reason a duplicate's: 'duplicate member name "..." at byte N',
 * alone or after a column's prefix (not inside a quoted value)?
 */
static bool
is_duplicate(const SvParseError *err)
{
	const char *r = err->reason;

	if (err->field >= 0)
	{
		/* column "name" (path): -- the name and path are ours, no ": " */
		r = strstr(r, "): ");
		if (r == NULL)
			return false;
		r += 3;
	}
	return strncmp(r, "duplicate member name \"", 23) == 0;
}

/*
 * Variants of a message with (mostly) the same text between values, so that
 * a shape learned from the message is tried on them (json_shape_parse):
 * 0: the same message; 1: every digit d made d + 1 (mod 10); 2: every run
 * of digits one digit longer; 3: '1' made [0,[1],"2020-07-01"] and '2'
 * made {"b":0,"c":{"d":0},"\"":"2020-07-01 00:25:32"}, so that values
 * change kind, and the paths then find something.
 * Returns a malloc'ed block of exactly *blen bytes.
 */
static char *
variant(int which, const char *a, size_t alen, size_t *blen)
{
	char	   *b = malloc(alen * 64 + 1);
	size_t		n = 0;
	size_t		i;

	for (i = 0; i < alen; i++)
	{
		char		c = a[i];
		bool		digit = c >= '0' && c <= '9';

		if (which == 1 && digit)
			c = (char) ('0' + (c - '0' + 1) % 10);
		else if (which == 2 && digit && (i == 0 || a[i - 1] < '0' || a[i - 1] > '9'))
			b[n++] = '7';
		else if (which == 3 && (c == '1' || c == '2'))
		{
			const char *with = c == '1' ? "[0,[1],\"2020-07-01\"]" :
				"{\"b\":0,\"c\":{\"d\":0},\"\\\"\":\"2020-07-01 00:25:32\"}";

			memcpy(b + n, with, strlen(with));
			n += strlen(with);
			continue;
		}
		b[n++] = c;
	}
	*blen = n;
	return realloc(b, n > 0 ? n : 1);
}

/*
 * Learns a shape from a[0..alen) (a plan's first parse), then parses each
 * variant of it with that plan and without a plan: the outcomes must be
 * the same (a value's text may be decoded elsewhere, but not differ).
 */
static void
shape_run(const SvSchema *base, const char *a, size_t alen)
{
	SvSchema	schema = *base;
	SvJsonPlan *plan = malloc(sv_json_plan_size(&schema));
	SvScratch	scratch;
	SvValue		vs[MAXCOLS];
	SvValue		vf[MAXCOLS];
	SvParseError es;
	SvParseError ef;

	schema.format = SV_FORMAT_JSON;
	schema.scratch = &scratch;
	if (!sv_json_plan_build(&schema, plan))
	{
		free(plan);
		return;
	}
	for (int which = 0; which < 4; which++)
	{
		size_t		blen;
		char	   *b = variant(which, a, alen, &blen);
		size_t		cap = (blen > alen ? blen : alen) + 1;
		char	   *bufs = malloc(cap);
		char	   *buff = malloc(cap);
		bool		oks;
		bool		okf;

		/* learn from a (a fresh plan learns from its first message) */
		sv_json_plan_build(&schema, plan);
		scratch.buf = bufs;
		scratch.cap = cap;
		schema.json_plan = plan;
		sv_parse_message(&schema, a, alen, vs, &es);
		memset(vs, 0x5a, sizeof(vs));
		memset(&es, 0x5a, sizeof(es));
		oks = sv_parse_message(&schema, b, blen, vs, &es);
		schema.json_plan = NULL;
		scratch.buf = buff;
		memset(vf, 0xa5, sizeof(vf));
		memset(&ef, 0xa5, sizeof(ef));
		okf = sv_parse_message(&schema, b, blen, vf, &ef);
		if (oks != okf)
			violation("a learned shape gives another outcome", oks ? &ef : &es);
		if (!oks && !okf && (es.field != ef.field || strcmp(es.reason, ef.reason) != 0))
			violation("a learned shape gives another reason", &es);
		for (int c = 0; oks && okf && c < schema.ncolumns; c++)
		{
			const SvValue *x = &vs[c],
					   *y = &vf[c];
			bool		x_in = within(x->str, x->len, b, blen);
			bool		y_in = within(y->str, y->len, b, blen);

			if (x->isnull != y->isnull || x->len != y->len ||
				(!x->isnull && memcmp(&x->v, &y->v, sizeof(x->v)) != 0) ||
				(x_in && y_in && x->str != y->str) ||
				(!(x_in && y_in) && memcmp(x->str, y->str, x->len) != 0))
				violation("a learned shape gives other values", NULL);
		}
		free(bufs);
		free(buff);
		free(b);
	}
	free(plan);
}

/* Parses data[0..len) by schema twice and checks everything. */
static void
run(const SvSchema *base, const char *data, size_t len, const Ref *ref,
	int ref_ok, bool by_name)
{
	SvSchema	schema = *base;
	SvScratch	scratch;
	SvValue		values[MAXCOLS];
	SvValue		values2[MAXCOLS];
	SvParseError err;
	SvParseError err2;
	char	   *buf = malloc(len > 0 ? len : 1);
	bool		ok;
	bool		ok2;
	int			c;

	scratch.buf = buf;
	scratch.cap = len;
	schema.scratch = &scratch;
	schema.format = SV_FORMAT_JSON;

	memset(values, 0x5a, sizeof(values));
	memset(&err, 0x5a, sizeof(err));
	memset(buf, 0x77, len > 0 ? len : 1);
	ok = sv_parse_message(&schema, data, len, values, &err);

	/*
	 * determinism: other garbage, and the column lookup built once (as the
	 * worker has it, sv_json_plan_build) instead of for the message: same
	 * outcome
	 */
	memset(values2, 0xa5, sizeof(values2));
	memset(&err2, 0xa5, sizeof(err2));
	{
		char	   *buf2 = malloc(len > 0 ? len : 1);
		SvJsonPlan *plan = malloc(sv_json_plan_size(&schema));

		memset(buf2, 0x11, len > 0 ? len : 1);
		scratch.buf = buf2;
		if (sv_json_plan_build(&schema, plan))
			schema.json_plan = plan;
		ok2 = sv_parse_message(&schema, data, len, values2, &err2);
		schema.json_plan = NULL;
		free(plan);
		if (ok != ok2)
			violation("a second parse has another outcome", &err);
		if (!ok && (err.field != err2.field || strcmp(err.reason, err2.reason) != 0))
			violation("a second parse has another reason", &err2);
		for (c = 0; ok && c < schema.ncolumns; c++)
		{
			const SvValue *a = &values[c],
					   *b = &values2[c];
			bool		a_in = within(a->str, a->len, data, len);

			if (a->isnull != b->isnull || a->len != b->len ||
				(!a->isnull && memcmp(&a->v, &b->v, sizeof(a->v)) != 0) ||
				(a_in && a->str != b->str) ||
				(!a_in && (b->str - buf2 != a->str - buf ||
						   memcmp(a->str, b->str, a->len) != 0)))
				violation("a second parse has other values", NULL);
		}
		free(buf2);
		scratch.buf = buf;
	}

	if (!ok)
		check_reason(&schema, &err);
	else
	{
		for (c = 0; c < schema.ncolumns; c++)
			check_value(&schema, c, &values[c], data, len, buf, len);
	}

	/* the reference */
	if (len == 0 || !valid_utf8_len((const unsigned char *) data, len, false))
	{
		if (ok)
			violation("accepted an empty message, bad UTF-8 or a NUL byte", NULL);
	}
	else if (ref_ok == 0)
	{
		if (ok || err.field != -1 ||
			(strncmp(err.reason, "invalid JSON at byte ", 21) != 0))
			violation("the reference says invalid JSON", &err);
	}
	else if (ref_ok == 1)
	{
		size_t		i = 0;

		while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r'))
			i++;
		if (data[i] != '{')
		{
			if (ok || err.field != -1 || strncmp(err.reason, "the message is a JSON ", 22) != 0)
				violation("not an object, yet not refused as such", &err);
		}
		else if (ref->dup_unknown)
			;
		else if (ref->dup)
		{
			if (ok || !is_duplicate(&err))
				violation("the reference saw a duplicate top-level name", &err);
		}
		else if (!ok && err.field == -1)
			violation("valid JSON without duplicates refused as a whole", &err);
		else if (!ok && by_name && is_duplicate(&err))
			violation("a duplicate the reference did not see", &err);
		if (ok && by_name)
			check_by_name(&schema, ref, values);
	}
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *) data;
	SvSchema	zj = zoom;
	SvSchema	all = {.ncolumns = NALL, .columns = all_cols};
	SvSchema	paths = {.ncolumns = NPATH, .columns = path_cols, .paths = path_paths};
	Ref			ref;
	int			ref_ok = -1;	/* -1: the reference gave up */

	memset(&ref, 0, sizeof(ref));
	ref.p = s;
	ref.e = s + size;
	ref_ws(&ref);
	if (size > 0 && valid_utf8_len(data, size, false))
	{
		bool		good = ref_value(&ref, 0);

		if (good)
		{
			ref_ws(&ref);
			good = ref.p == ref.e;
		}
		if (!ref.too_deep)
			ref_ok = good ? 1 : 0;
	}

	zj.paths = NULL;
	run(&zj, s, size, &ref, ref_ok, true);
	run(&all, s, size, &ref, ref_ok, true);
	run(&paths, s, size, &ref, ref_ok, false);
	shape_run(&zj, s, size);
	shape_run(&all, s, size);
	shape_run(&paths, s, size);
	return 0;
}
