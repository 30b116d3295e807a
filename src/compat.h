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
 * 17).
 */
#ifndef STREAMVIEW_COMPAT_H
#define STREAMVIEW_COMPAT_H

#include "postgres.h"

#include "catalog/pg_class.h"
#include "catalog/pg_proc.h"
#if PG_VERSION_NUM >= 160000
#include "nodes/miscnodes.h"
#endif
#include "storage/latch.h"
#include "utils/acl.h"
#include "utils/datetime.h"
#include "utils/regproc.h"

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

#endif							/* STREAMVIEW_COMPAT_H */
