/*
 * streamview.h - settings and entry points shared by every module
 *
 * streamview.c owns the settings (GUCs) and the shared-memory hooks; the
 * other modules read the settings through these variables.
 */
#ifndef STREAMVIEW_H
#define STREAMVIEW_H

/* Settings (see the README's settings table). */
extern char *sv_database;
extern int	sv_max_windows;
extern int	sv_max_streams;
extern int	sv_max_key_bytes;
extern int	sv_batch_max_messages;
extern int	sv_batch_max_ms;
extern int	sv_max_message_bytes;
extern char *sv_test_crash_point;
extern bool sv_test_bulk_conflict;

/* The name the extension's objects live under. */
#define SV_SCHEMA "streamview"

#endif							/* STREAMVIEW_H */
