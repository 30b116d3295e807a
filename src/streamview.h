/*
 * streamview.h - settings and entry points shared by every module
 *
 * streamview.c owns the settings (GUCs) and the shared-memory hooks; the
 * other modules read the settings through these variables. It also owns
 * sv_as_owner_begin/end, which every module that runs code as another
 * user calls.
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

/*
 * Running code as another user, the one way it is done: as owner, in a
 * security-restricted operation (no SET ROLE, no temporary tables, no
 * cursors held past it), and with search_path set when one is given (its
 * GUC nest level is then undone at the end). So what a view's owner wrote
 * (its query's expressions, triggers, policies and index expressions on
 * its results table) never runs with the worker's superuser rights, and
 * the catalog's fixed queries run as the catalog's owner. An error in
 * between needs no sv_as_owner_end: the (sub)transaction's abort restores
 * both the user and the settings.
 */
typedef struct SvAsOwner
{
	Oid			user;			/* the user and context to go back to */
	int			sec;
	int			nestlevel;		/* GUC nest level, or -1 when none was taken */
} SvAsOwner;

extern void sv_as_owner_begin(Oid owner, const char *search_path, SvAsOwner *save);

/*
 * The same, and with settings ("name=value" elements of a text[], as
 * pg_proc.proconfig) in force until the end as well: a view's query is
 * analysed again under the DateStyle etc. it was written under.
 */
struct ArrayType;
extern void sv_as_owner_begin_with(Oid owner, const char *search_path,
								   struct ArrayType *settings, SvAsOwner *save);

/*
 * The search_path for code we run that must not find a user's operators,
 * casts or functions first: the catalog's queries, the sink's writes.
 */
#define SV_SAFE_SEARCH_PATH "pg_catalog, pg_temp"
extern void sv_as_owner_end(const SvAsOwner *save);

/* The name the extension's objects live under. */
#define SV_SCHEMA "streamview"

#endif							/* STREAMVIEW_H */
