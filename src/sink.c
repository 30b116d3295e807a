/* sink.c */
#include "postgres.h"
