/*
 * launcher.c - the launcher: which streams run, starting and stopping workers
 */
#include "postgres.h"

#include "launcher.h"

void
sv_launcher_register(void)
{
}

void
sv_launcher_shmem_request(void)
{
}

void
sv_launcher_shmem_startup(void)
{
}

void
sv_launcher_start_stream(int stream_id, const char *name)
{
}

void
sv_launcher_stop_stream(int stream_id, bool dropped)
{
}

void
sv_launcher_stream_changed(int stream_id)
{
}
