/*-------------------------------------------------------------------------
 *
 * json_path.c
 *	  JSON column paths ("$.trip.pickup.at", "$.items[0].price",
 *	  $."a name"): compiling a path's text into steps for json.c, and
 *	  writing a step back as path text for its reasons.
 *
 * Pure C like parse.c (see parse.h); not on the per-message path: paths
 * are compiled when a stream's schema is built.
 *
 * src/json_path.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"
#include "parse_int.h"

/* The characters a path may use in a member name without quotes. */
static inline bool
json_is_ident_char(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') ||
		(c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}

/*
 * Appends one path step as the path syntax writes it (parse_int.h): what
 * the reasons of json.c show of a column's path.
 */
void
sv_json_path_append_step(ReasonBuf *rb, const SvJsonStep *st)
{
	size_t		i;
	bool		ident;

	if (st->name == NULL)
	{
		sv_rb_str(rb, "[");
		sv_rb_num(rb, st->index);
		sv_rb_str(rb, "]");
		return;
	}
	ident = st->name_len > 0;
	for (i = 0; i < st->name_len && ident; i++)
		ident = json_is_ident_char((unsigned char) st->name[i]);
	if (ident)
	{
		sv_rb_str(rb, ".");
		sv_rb_escaped(rb, st->name, st->name_len, REASON_PATH_MAX, false);
	}
	else
	{
		sv_rb_str(rb, ".\"");
		sv_rb_escaped(rb, st->name, st->name_len, REASON_PATH_MAX, true);
		sv_rb_str(rb, "\"");
	}
}

/* ---------------------------------------------------------------------
 * The path compiler
 * ---------------------------------------------------------------------
 */

/*
 * Reads the path text[0..len).  With steps == NULL only checks it, and
 * counts its steps (*nsteps) and the bytes its decoded names need
 * (*nbytes, one more each for a terminating NUL); otherwise also fills
 * steps[] with names written to names.  On an error returns false with
 * the byte offset and a description.
 */
static bool
json_path_scan(const char *text, size_t len, SvJsonStep *steps, char *names,
			   int *nsteps, size_t *nbytes, size_t *errpos, const char **what)
{
	size_t		i = 1;
	int			n = 0;
	size_t		bytes = 0;

	if (len == 0 || text[0] != '$')
	{
		*errpos = 0;
		*what = "expected '$'";
		return false;
	}
	while (i < len)
	{
		size_t		start = i;

		if (n == SV_JSON_PATH_MAX_STEPS)
		{
			*errpos = i;
			*what = "a path has at most 64 steps";
			return false;
		}
		if (text[i] == '.')
		{
			size_t		nlen = 0;

			i++;
			if (i < len && text[i] == '"')
			{
				/* ."quoted name", with \" and \\ */
				char	   *out = names ? names + bytes : NULL;

				i++;
				for (;;)
				{
					unsigned char c;

					if (i >= len)
					{
						*errpos = i;
						*what = "unterminated quoted member name";
						return false;
					}
					c = (unsigned char) text[i];
					if (c == '"')
						break;
					if (c == '\\')
					{
						if (i + 1 >= len || (text[i + 1] != '"' && text[i + 1] != '\\'))
						{
							*errpos = i;
							*what = "invalid escape in a quoted member name (only \\\" and \\\\)";
							return false;
						}
						if (out)
							out[nlen] = text[i + 1];
						nlen++;
						i += 2;
						continue;
					}
					if (c == 0)
					{
						*errpos = i;
						*what = "NUL byte in a member name";
						return false;
					}
					if (c >= 0x80)
					{
						int			u = sv_utf8_sequence_length((const unsigned char *) text + i,
																len - i);

						if (u == 0)
						{
							*errpos = i;
							*what = "invalid UTF-8 in a member name";
							return false;
						}
						if (out)
							memcpy(out + nlen, text + i, (size_t) u);
						nlen += (size_t) u;
						i += (size_t) u;
						continue;
					}
					if (out)
						out[nlen] = (char) c;
					nlen++;
					i++;
				}
				i++;			/* the closing quote */
			}
			else
			{
				size_t		s = i;

				while (i < len && json_is_ident_char((unsigned char) text[i]))
					i++;
				if (i == s)
				{
					*errpos = i;
					*what = "expected a member name";
					return false;
				}
				nlen = i - s;
				if (names)
					memcpy(names + bytes, text + s, nlen);
			}
			if (steps)
			{
				names[bytes + nlen] = '\0';
				steps[n].name = names + bytes;
				steps[n].name_len = nlen;
				steps[n].index = 0;
			}
			bytes += nlen + 1;
		}
		else if (text[i] == '[')
		{
			int64_t		v = 0;
			size_t		s;

			i++;
			s = i;
			while (i < len && is_digit((unsigned char) text[i]))
			{
				v = v * 10 + (text[i] - '0');
				if (v > INT32_MAX)
				{
					*errpos = s;
					*what = "array index out of range";
					return false;
				}
				i++;
			}
			if (i == s)
			{
				*errpos = i;
				*what = "expected an array index (a non-negative integer)";
				return false;
			}
			if (i >= len || text[i] != ']')
			{
				*errpos = i;
				*what = "expected ']'";
				return false;
			}
			i++;
			if (steps)
			{
				steps[n].name = NULL;
				steps[n].name_len = 0;
				steps[n].index = (int32_t) v;
			}
		}
		else
		{
			*errpos = start;
			*what = "expected '.' or '['";
			return false;
		}
		n++;
	}
	if (n == 0)
	{
		*errpos = len;
		*what = "expected a step ('.name' or '[N]') after '$'";
		return false;
	}
	*nsteps = n;
	*nbytes = bytes;
	return true;
}

/*
 * Compiles a column's JSON path; see parse.h.  The steps and their names
 * are in one block from alloc.  On failure errbuf says, e.g.:
 *   invalid JSON path "$.a..b" at byte 4: expected a member name
 */
bool
sv_json_path_compile(const char *text, size_t len, void *(*alloc) (size_t),
					 SvJsonPath *out, char *errbuf, size_t errlen)
{
	int			nsteps = 0;
	size_t		nbytes = 0;
	size_t		errpos = 0;
	const char *what = NULL;
	SvJsonStep *steps;
	ReasonBuf	rb;

	if (text == NULL)
	{
		text = "";
		len = 0;
	}
	if (json_path_scan(text, len, NULL, NULL, &nsteps, &nbytes, &errpos, &what))
	{
		steps = alloc(sizeof(SvJsonStep) * (size_t) nsteps + nbytes);
		if (steps == NULL)
		{
			errpos = 0;
			what = "out of memory";
		}
		else
		{
			json_path_scan(text, len, steps, (char *) (steps + nsteps),
						   &nsteps, &nbytes, &errpos, &what);
			out->nsteps = nsteps;
			out->steps = steps;
			return true;
		}
	}
	if (errbuf != NULL && errlen > 0)
	{
		sv_rb_init(&rb, errbuf, errlen);
		sv_rb_str(&rb, "invalid JSON path \"");
		sv_rb_escaped(&rb, text, len, 100, false);
		sv_rb_str(&rb, "\" at byte ");
		sv_rb_num(&rb, (long long) errpos);
		sv_rb_str(&rb, ": ");
		sv_rb_str(&rb, what);
	}
	return false;
}
