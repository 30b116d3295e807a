/*-------------------------------------------------------------------------
 *
 * tap.h
 *	  What the parser's standalone unit tests (parse_test.c, csv_test.c,
 *	  json_test.c) share: TAP output and a reference UTF-8 check that does
 *	  not share code with src/parse.c.
 *
 * Each test program includes this once; everything is static (inline, so
 * a program that does not use a function gets no unused-function warning).
 * A program ends by printing "1..test_no" and exits non-zero if failures.
 *
 * test/tap.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SV_TEST_TAP_H
#define SV_TEST_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int	test_no = 0;
static int	failures = 0;

/*
 * Prints one TAP line.  Control characters in the description (messages
 * hold line feeds) are shown as \xNN, so that the line stays one line.
 */
static inline void
ok(int cond, const char *fmt,...)
{
	va_list		ap;
	char		buf[600];
	const unsigned char *s;

	test_no++;
	if (!cond)
		failures++;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("%sok %d - ", cond ? "" : "not ", test_no);
	for (s = (const unsigned char *) buf; *s; s++)
	{
		if (*s < 0x20 || *s == 0x7f)
			printf("\\x%02x", *s);
		else
			putchar(*s);
	}
	printf("\n");
}

/* Prints a TAP diagnostic line. */
static inline void
diag(const char *fmt,...)
{
	va_list		ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Is s valid UTF-8 (simple reference implementation, no overlongs)? */
static inline int
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
			return 0;
		for (i = 1; i < n; i++)
		{
			if ((s[i] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i] & 0x3F);
		}
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
			(n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
			(cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		s += n;
	}
	return 1;
}

#endif							/* SV_TEST_TAP_H */
