/* worker.c */
#include "postgres.h"
