/*
 * ride_notes.h - sv_produce's random numbers and the pieces of the note
 * that its --format csv and json give a ride, shared with
 * test/parse_bench.c, which draws the same rides.
 */
#ifndef STREAMVIEW_RIDE_NOTES_H
#define STREAMVIEW_RIDE_NOTES_H

#include <stdint.h>

/*
 * splitmix64: small, fast, good enough, and the same on every platform.
 */
static uint64_t
next_random(uint64_t *state)
{
	uint64_t	z = (*state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}


/*
 * Pieces of notes: commas, quotes, line breaks, tabs, backslashes, '/' and
 * UTF-8 of two, three and four bytes (U+00E9, U+00BD, U+20AC, U+1F695).
 */
static const char *const note_pieces[] = {
	"late, rush hour",
	"driver said \"hi\"",
	"a,b,,c",
	"first line\nsecond line",
	"windows line\r\nnext line",
	"caf\xc3\xa9",
	"taxi \xf0\x9f\x9a\x95",
	"back\\slash",
	"tab\there",
	"\"quoted\"",
	", starts with a comma",
	"ends with a quote\"",
	"plain",
	"50/50 split",
	"\xc2\xbd price",
	"\xe2\x82\xac" "5 tip",
};
static const char *const note_separators[] = {" ", ", ", "; ", " / "};

#endif							/* STREAMVIEW_RIDE_NOTES_H */
