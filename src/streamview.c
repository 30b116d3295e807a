/*
 * streamview.c - module entry: settings and shared-memory hooks, and the
 * one way code runs as another user (sv_as_owner_begin)
 *
 * The library must be preloaded (shared_preload_libraries): it reserves
 * shared memory for window state and worker slots, and registers the
 * launcher background worker. Everything else lives in its own module.
 */
#include "postgres.h"

#include "fmgr.h"
#include "catalog/namespace.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_class.h"
#include "commands/dbcommands.h"
#include "executor/executor.h"
#include "parser/parsetree.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "tcop/utility.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "compat.h"
#include "launcher.h"
#include "sink.h"
#include "streamview.h"
#include "window.h"

PG_MODULE_MAGIC;

char	   *sv_database = NULL;
int			sv_max_windows = 262144;
int			sv_max_streams = 16;
int			sv_max_key_bytes = 64;
int			sv_batch_max_messages = 100000;
int			sv_batch_max_ms = 500;
int			sv_max_message_bytes = 1048576;
char	   *sv_test_crash_point = NULL;
bool		sv_test_bulk_conflict = false;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static ProcessUtility_hook_type prev_process_utility_hook = NULL;
static ExecutorFinish_hook_type prev_executor_finish_hook = NULL;
static object_access_hook_type prev_object_access_hook = NULL;

/* exported: the library is built with hidden visibility (see the Makefile) */
extern PGDLLEXPORT void _PG_init(void);
static void sv_shmem_request(void);
static void sv_shmem_startup(void);
static void sv_define_settings(void);
static void sv_process_utility(PlannedStmt *pstmt, const char *queryString,
							   bool readOnlyTree, ProcessUtilityContext context,
							   ParamListInfo params, QueryEnvironment *queryEnv,
							   DestReceiver *dest, QueryCompletion *qc);
static void sv_executor_finish(QueryDesc *queryDesc);
static void sv_object_access(ObjectAccessType access, Oid classId, Oid objectId,
							 int subId, void *arg);

SV_FUNCTION_INFO_V1(streamview_check_database);

/*
 * Module load: refuse to work unless preloaded, since shared memory can only
 * be reserved at server start; then define settings and hooks and register
 * the launcher.
 */
void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("streamview must be loaded via shared_preload_libraries"),
				 errhint("Add streamview to shared_preload_libraries in postgresql.conf and restart the server.")));

	sv_define_settings();

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = sv_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = sv_shmem_startup;
	prev_process_utility_hook = ProcessUtility_hook;
	ProcessUtility_hook = sv_process_utility;
	prev_executor_finish_hook = ExecutorFinish_hook;
	ExecutorFinish_hook = sv_executor_finish;
	prev_object_access_hook = object_access_hook;
	object_access_hook = sv_object_access;

	sv_launcher_register();
}

/* Defines every streamview.* setting, with units and ranges. */
static void
sv_define_settings(void)
{
	DefineCustomStringVariable("streamview.database",
							   "Database in which streamview runs its streams.",
							   NULL, &sv_database, "postgres",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("streamview.max_windows",
							"Window slots kept in shared memory, for all views together.",
							NULL, &sv_max_windows, 262144, 1024, 100000000,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("streamview.max_streams",
							"Stream workers that can run at the same time.",
							NULL, &sv_max_streams, 16, 1, 1024,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("streamview.max_key_bytes",
							"Bytes of group key a shared-memory window slot holds.",
							"Windows with longer keys are counted in the results table only.",
							&sv_max_key_bytes, 64, 8, 1024,
							PGC_POSTMASTER, GUC_UNIT_BYTE, NULL, NULL, NULL);
	DefineCustomIntVariable("streamview.batch_max_messages",
							"Messages after which a micro-batch is committed.",
							NULL, &sv_batch_max_messages, 100000, 1, 10000000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("streamview.batch_max_ms",
							"Time after which a micro-batch is committed.",
							NULL, &sv_batch_max_ms, 500, 1, 3600000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("streamview.max_message_bytes",
							"Message values larger than this are rejected.",
							NULL, &sv_max_message_bytes, 1048576, 16, 1073741823,
							PGC_SIGHUP, GUC_UNIT_BYTE, NULL, NULL, NULL);
	DefineCustomStringVariable("streamview.test_crash_point",
							   "For tests: a named point at which a stream worker kills itself.",
							   NULL, &sv_test_crash_point, "",
							   PGC_SUSET, GUC_NOT_IN_SAMPLE, NULL, NULL, NULL);
	DefineCustomBoolVariable("streamview.test_bulk_conflict",
							 "For tests: the bulk writer finds every batch's keys inserted meanwhile.",
							 "Each batch of a count view is written, rolled back and written again by the upsert.",
							 &sv_test_bulk_conflict, false,
							 PGC_SUSET, GUC_NOT_IN_SAMPLE, NULL, NULL, NULL);
	MarkGUCPrefixReserved("streamview");
}

/* Reserves the shared memory and locks of every module. */
static void
sv_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	sv_window_shmem_request();
	sv_launcher_shmem_request();
}

/* Creates or attaches to every module's shared memory. */
static void
sv_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	sv_window_shmem_startup();
	sv_launcher_shmem_startup();
	LWLockRelease(AddinShmemInitLock);
}

/*
 * Whether a statement drops the extension: DROP EXTENSION streamview, or
 * DROP SCHEMA streamview (which with CASCADE takes the extension along).
 */
static bool
sv_drops_extension(Node *stmt)
{
	DropStmt   *drop;
	ListCell   *lc;

	if (!IsA(stmt, DropStmt))
		return false;
	drop = (DropStmt *) stmt;
	if (drop->removeType != OBJECT_EXTENSION &&
		(drop->removeType != OBJECT_SCHEMA || drop->behavior != DROP_CASCADE))
		return false;
	foreach(lc, drop->objects)
	{
		Node	   *obj = lfirst(lc);

		if (IsA(obj, String) && strcmp(strVal(obj), SV_SCHEMA) == 0)
			return true;
	}
	return false;
}

/*
 * The OIDs of the tables a TRUNCATE names (those it can resolve), taken
 * before it runs; NIL for any other statement.
 */
static List *
sv_truncated_tables(Node *stmt)
{
	List	   *relids = NIL;
	ListCell   *lc;

	if (!IsA(stmt, TruncateStmt))
		return NIL;
	foreach(lc, ((TruncateStmt *) stmt)->relations)
	{
		Oid			relid = RangeVarGetRelid(lfirst_node(RangeVar, lc), NoLock, true);

		if (OidIsValid(relid))
			relids = lappend_oid(relids, relid);
	}
	return relids;
}

/*
 * Before the extension is dropped, every stream's worker is stopped (and
 * waited for), so none fails on the dropped catalog; if the drop fails or
 * its transaction aborts, the streams run again. After a TRUNCATE of a
 * results table, live_counts() forgets the view's windows.
 */
static void
sv_process_utility(PlannedStmt *pstmt, const char *queryString,
				   bool readOnlyTree, ProcessUtilityContext context,
				   ParamListInfo params, QueryEnvironment *queryEnv,
				   DestReceiver *dest, QueryCompletion *qc)
{
	List	   *truncated = sv_truncated_tables(pstmt->utilityStmt);
	ListCell   *lc;

	if (MyDatabaseId != InvalidOid && sv_drops_extension(pstmt->utilityStmt) &&
		strcmp(get_database_name(MyDatabaseId), sv_database) == 0)
		sv_launcher_stop_all();
	if (prev_process_utility_hook)
		prev_process_utility_hook(pstmt, queryString, readOnlyTree, context,
								  params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
	foreach(lc, truncated)
		sv_window_table_changed(lfirst_oid(lc));
}

/*
 * After a statement has changed its result tables (all its rows written),
 * live_counts() forgets the windows of those that are results tables,
 * unless the stream's own sink wrote them. UPDATE, DELETE, MERGE and
 * INSERT alike: only rows a count came from matter, and INSERT cannot
 * change those, but telling the kinds apart is not worth the risk.
 */
static void
sv_executor_finish(QueryDesc *queryDesc)
{
	PlannedStmt *stmt = queryDesc->plannedstmt;
	ListCell   *lc;

	if (prev_executor_finish_hook)
		prev_executor_finish_hook(queryDesc);
	else
		standard_ExecutorFinish(queryDesc);
	foreach(lc, stmt->resultRelations)
	{
		RangeTblEntry *rte = rt_fetch(lfirst_int(lc), stmt->rtable);

		if (!sv_sink_is_writing(rte->relid))
			sv_window_table_changed(rte->relid);
	}
}

/*
 * Before a relation is dropped, however (DROP TABLE, DROP SCHEMA ...
 * CASCADE, DROP OWNED, drop_window_view, also with event triggers off):
 * if it is a results table, shared memory forgets its windows, and its
 * registration once the drop commits.
 */
static void
sv_object_access(ObjectAccessType access, Oid classId, Oid objectId,
				 int subId, void *arg)
{
	if (prev_object_access_hook)
		prev_object_access_hook(access, classId, objectId, subId, arg);
	if (access == OAT_DROP && classId == RelationRelationId && subId == 0)
		sv_window_drop_view(objectId);
}

/*
 * Becomes owner as streamview.h says; search_path NULL leaves the settings
 * alone (no GUC nest level: undoing one walks every setting in 15, too
 * much per message).
 */
void
sv_as_owner_begin(Oid owner, const char *search_path, SvAsOwner *save)
{
	sv_as_owner_begin_with(owner, search_path, NULL, save);
}

/*
 * sv_as_owner_begin with settings as well, all set in one GUC nest level
 * (as fmgr does for a function's SET clauses) that sv_as_owner_end undoes.
 */
void
sv_as_owner_begin_with(Oid owner, const char *search_path, ArrayType *settings,
					   SvAsOwner *save)
{
	GetUserIdAndSecContext(&save->user, &save->sec);
	SetUserIdAndSecContext(owner, save->sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	save->nestlevel = -1;
	if (search_path == NULL && settings == NULL)
		return;
	save->nestlevel = NewGUCNestLevel();
	if (search_path != NULL)
		(void) set_config_option("search_path", search_path, PGC_USERSET,
								 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	if (settings != NULL)
		ProcessGUCArray(settings, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE);
}

/* Back to the user, context and settings from before sv_as_owner_begin. */
void
sv_as_owner_end(const SvAsOwner *save)
{
	if (save->nestlevel >= 0)
		AtEOXact_GUC(false, save->nestlevel);
	SetUserIdAndSecContext(save->user, save->sec);
}

/*
 * Called by the install script: streamview serves one database per cluster,
 * so CREATE EXTENSION anywhere else is refused with a hint.
 */
Datum
streamview_check_database(PG_FUNCTION_ARGS)
{
	const char *current = get_database_name(MyDatabaseId);

	if (strcmp(current, sv_database) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("streamview can only be installed in database \"%s\"",
						sv_database),
				 errdetail("The current database is \"%s\".", current),
				 errhint("Set streamview.database in postgresql.conf and restart the server to use another database.")));
	PG_RETURN_VOID();
}
