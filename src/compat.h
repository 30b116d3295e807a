/*
 * compat.h - the differences between the PostgreSQL versions streamview
 * builds against, in one place
 *
 * Every call whose signature changed between PostgreSQL 15 and later
 * majors goes through one of these; nothing else in the code looks at
 * PG_VERSION_NUM. Tested on 15; the 16+ branches follow the release notes
 * and headers of 16 and 17 (stringToQualifiedNameList and
 * AdjustTimestampForTypmod gained an escontext in 16, the *_ownercheck and
 * *_aclcheck functions of single catalogs became object_* in 16, and
 * CreateWaitEventSet takes a ResourceOwner instead of a memory context in
 * 17). PostgreSQL 18 dropped pg_attribute_noreturn() for pg_noreturn and
 * added RTE_GROUP to grouped queries. One librdkafka version matters too.
 */
#ifndef STREAMVIEW_COMPAT_H
#define STREAMVIEW_COMPAT_H

#include "postgres.h"

#include "access/genam.h"
#include "access/tableam.h"
#include "catalog/pg_class.h"
#include "catalog/pg_proc.h"
#if PG_VERSION_NUM >= 160000
#include "nodes/miscnodes.h"
#endif
#include "executor/executor.h"
#include "storage/latch.h"
#include "utils/acl.h"
#include "utils/datetime.h"
#include "utils/regproc.h"
#if PG_VERSION_NUM >= 180000
#include "optimizer/optimizer.h"
#endif

/*
 * Declares an SQL-callable function, exported from the library, which is
 * built with hidden visibility (see the Makefile). From 16 on
 * PG_FUNCTION_INFO_V1 declares the function PGDLLEXPORT itself; 15's does so
 * only for its pg_finfo_ record, and the fmgr looks both up by name.
 */
#if PG_VERSION_NUM < 160000
#define SV_FUNCTION_INFO_V1(funcname) \
	extern PGDLLEXPORT Datum funcname(PG_FUNCTION_ARGS); \
	PG_FUNCTION_INFO_V1(funcname)
#else
#define SV_FUNCTION_INFO_V1(funcname) PG_FUNCTION_INFO_V1(funcname)
#endif

/*
 * Marks a function that never returns. PostgreSQL 18 replaced the suffix
 * pg_attribute_noreturn() with the prefix pg_noreturn (C11's _Noreturn);
 * before 18, gcc and clang take the attribute as a prefix as well.
 */
#if PG_VERSION_NUM < 180000
#define pg_noreturn pg_attribute_noreturn()
#endif

/*
 * PostgreSQL 18's parser gives a grouped query an RTE_GROUP range table
 * entry, and the Vars of its target list and HAVING that stand for grouped
 * expressions point to it. sv_flatten_group_vars puts the grouped
 * expressions back, as 15 and 17 leave them (no planner: NULL root is
 * right for a query without grouping sets, which views refuse);
 * sv_rte_is_group tells that entry apart.
 */
#if PG_VERSION_NUM >= 180000
static inline void
sv_flatten_group_vars(Query *q)
{
	if (!q->hasGroupRTE)
		return;
	q->targetList = (List *) flatten_group_exprs(NULL, q, (Node *) q->targetList);
	q->havingQual = flatten_group_exprs(NULL, q, q->havingQual);
}
#define sv_rte_is_group(rte) ((rte)->rtekind == RTE_GROUP)
#else
#define sv_flatten_group_vars(q) ((void) (q))
#define sv_rte_is_group(rte) ((void) (rte), false)
#endif

/*
 * librdkafka: the first version (rd_kafka_version(), 0xMMmmrrxx) whose
 * consumer has fetch.queue.backoff.ms (2.2.0). kafka.c compares the
 * library it runs with against it; no other librdkafka difference matters
 * between 2.0.2 (Debian 12), 2.8 (13) and 2.14 (unstable).
 */
#define SV_RDKAFKA_QUEUE_BACKOFF_VERSION 0x020200ff

/* "schema.name" as a List of String nodes; errors are raised. */
#if PG_VERSION_NUM >= 160000
#define sv_qualified_name_list(s) stringToQualifiedNameList((s), NULL)
#else
#define sv_qualified_name_list(s) stringToQualifiedNameList(s)
#endif

/* Whether role owns a relation, or may execute a function. */
#if PG_VERSION_NUM >= 160000
#define sv_owns_relation(relid, role) object_ownercheck(RelationRelationId, (relid), (role))
#define sv_may_execute(funcid, role) \
	(object_aclcheck(ProcedureRelationId, (funcid), (role), ACL_EXECUTE) == ACLCHECK_OK)
#else
#define sv_owns_relation(relid, role) pg_class_ownercheck((relid), (role))
#define sv_may_execute(funcid, role) \
	(pg_proc_aclcheck((funcid), (role), ACL_EXECUTE) == ACLCHECK_OK)
#endif

/*
 * Rounds a timestamp to timestamp(typmod)'s precision as the type's input
 * does (typmod < 0: unchanged). Returns false when the result is out of
 * range. The one place timestamps are rounded by typmod.
 */
static inline bool
sv_round_timestamp(Timestamp *ts, int32 typmod)
{
	if (typmod < 0)
		return true;
#if PG_VERSION_NUM >= 160000
	{
		ErrorSaveContext escontext = {T_ErrorSaveContext};

		return AdjustTimestampForTypmod(ts, typmod, (Node *) &escontext);
	}
#else
	{
		bool		bad = false;

		/* true when it could round (the PostgreSQL 16+ contract as well) */
		return AdjustTimestampForTypmodError(ts, typmod, &bad) && !bad;
	}
#endif
}

/* A wait event set for a worker, freed by FreeWaitEventSet. */
#if PG_VERSION_NUM >= 170000
#define sv_wait_event_set(cxt, nevents) CreateWaitEventSet(NULL, (nevents))
#else
#define sv_wait_event_set(cxt, nevents) CreateWaitEventSet((cxt), (nevents))
#endif

/*
 * Writing rows without the executor (bulk.c): an index scan (18 adds
 * instrumentation), an update that says which indexes need new entries
 * (16 tells summarizing indexes apart), and index entries for a row (16
 * adds onlySummarizing).
 */
#if PG_VERSION_NUM >= 180000
#define sv_index_beginscan(heap, index, snap, nkeys) \
	index_beginscan((heap), (index), (snap), NULL, (nkeys), 0)
#else
#define sv_index_beginscan(heap, index, snap, nkeys) \
	index_beginscan((heap), (index), (snap), (nkeys), 0)
#endif

#define SV_INDEXES_NONE 0
#define SV_INDEXES_ALL 1
#define SV_INDEXES_SUMMARIZING 2

static inline TM_Result
sv_tuple_update(Relation rel, ItemPointer otid, TupleTableSlot *slot,
				CommandId cid, Snapshot snapshot, TM_FailureData *tmfd,
				int *indexes)
{
	LockTupleMode lockmode;
	TM_Result	res;
#if PG_VERSION_NUM >= 160000
	TU_UpdateIndexes update_indexes = TU_None;

	res = table_tuple_update(rel, otid, slot, cid, snapshot, InvalidSnapshot,
							 true, tmfd, &lockmode, &update_indexes);
	*indexes = update_indexes == TU_None ? SV_INDEXES_NONE :
		update_indexes == TU_Summarizing ? SV_INDEXES_SUMMARIZING : SV_INDEXES_ALL;
#else
	bool		update_indexes = false;

	res = table_tuple_update(rel, otid, slot, cid, snapshot, InvalidSnapshot,
							 true, tmfd, &lockmode, &update_indexes);
	*indexes = update_indexes ? SV_INDEXES_ALL : SV_INDEXES_NONE;
#endif
	return res;
}

#if PG_VERSION_NUM >= 160000
#define sv_insert_index_tuples(rri, slot, estate, summarizing) \
	ExecInsertIndexTuples((rri), (slot), (estate), false, false, NULL, NIL, (summarizing))
#else
#define sv_insert_index_tuples(rri, slot, estate, summarizing) \
	ExecInsertIndexTuples((rri), (slot), (estate), false, false, NULL, NIL)
#endif

#endif							/* STREAMVIEW_COMPAT_H */
