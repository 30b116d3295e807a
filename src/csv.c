/*
 * csv.c - the CSV format (not implemented yet: every message is rejected)
 */
#include <stdio.h>

#include "parse.h"

/* Rejects every message: the format is not implemented yet. */
bool
sv_parse_csv(const SvSchema *schema, const char *data, size_t len,
			SvValue *values, SvParseError *err)
{
	(void) schema;
	(void) data;
	(void) len;
	(void) values;
	err->field = -1;
	snprintf(err->reason, sizeof(err->reason), "the csv format is not implemented yet");
	return false;
}
