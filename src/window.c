/*
 * window.c - window arithmetic and the shared window hash
 */
#include "postgres.h"

#include "window.h"

void
sv_window_shmem_request(void)
{
}

void
sv_window_shmem_startup(void)
{
}
