/*
 * bulk.c - a count view's batch written straight into its results table
 *
 * The upsert (sink.c) costs, per window row, a cast of its text key, a
 * second GROUP BY, a speculative insertion with its own index probe, and a
 * RETURNING row converted back to text: with 100k keys it was 85% of a
 * worker's time. Here a count view's rows are written the way COPY writes:
 *
 *  1. the keys' text becomes values of the columns' types (input functions),
 *     and the rows are sorted in the primary key's order, equal keys merged
 *     (so successive lookups and inserts touch the same index pages);
 *  2. in that order, each row is looked up in the primary key index with a
 *     dirty snapshot (as ON CONFLICT does: a row another transaction is
 *     writing is waited for); a row that exists is locked and updated in
 *     place, count + delta (HOT when its page has room), unless it is final;
 *  3. the new rows go in with table_multi_insert and their index entries
 *     (ExecInsertIndexTuples, so users' own indexes are kept too), up to a
 *     thousand at a time and, with several workers, always before the next
 *     existing row is locked: locks and index entries are then taken in key
 *     order, so workers writing the same windows cannot deadlock on each
 *     other.
 *
 * The count each row holds afterwards is known without reading it back, and
 * the key as the table holds it is the output function's text, for shared
 * memory.
 *
 * A lookup that finds nothing costs as much as the insert after it. So a
 * writer that alone writes a table (one worker, no user statement since:
 * the caller resets it otherwise) keeps what it knows across batches
 * (SvBulkKnown): the windows that held no row when it first wrote to them
 * (one index probe per window), and a Bloom filter of the rows it wrote to
 * those. A key of such a window that the filter has not seen is not in the
 * table, and goes in without a lookup. Knowledge only ever saves lookups:
 * were it wrong, the unique index would say so (and the upsert take over).
 *
 * It all runs in a subtransaction. If an insert meets a key that exists (a
 * concurrent worker inserted it after the lookup, or two keys of the batch
 * that differ as text are one value), the unique index raises
 * unique_violation: the subtransaction is rolled back and the caller writes
 * the batch with the upsert, so no count is lost or doubled.
 *
 * Only tables as create_window_view makes them are written this way: a plain
 * table with the view's columns only, the primary key (window_start, group
 * columns), no triggers, rules, row security or check constraints, and the
 * view's owner allowed to select, insert and update. Anything else is the
 * upsert's, which gives all of PostgreSQL's semantics. The sink runs it as
 * the view's owner in a security-restricted context, as the upsert.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "common/int.h"
#include "datatype/timestamp.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/sortsupport.h"
#include "utils/typcache.h"

#include "bulk.h"
#include "compat.h"
#include "streamview.h"
#include "window.h"

/* Rows looked up, then inserted together. */
#define SV_BULK_CHUNK 1000

/*
 * The Bloom filter of rows written (4 MB, two bits a row): made for the
 * first batch of at least SV_BULK_KNOWN_MIN rows, and started afresh (with
 * every window forgotten) past SV_BULK_BLOOM_MAX rows, when about 4.5% of
 * new keys would take a lookup anyway.
 */
#define SV_BULK_BLOOM_BITS (UINT64CONST(1) << 25)
#define SV_BULK_BLOOM_MAX (SV_BULK_BLOOM_BITS / 8)
#define SV_BULK_KNOWN_MIN 1000

/* A window's state in what a writer knows. */
typedef struct SvBulkWindow
{
	int64		window_start;	/* hash key */
	bool		complete;		/* all its rows are in the filter */
} SvBulkWindow;

struct SvBulkKnown
{
	MemoryContext cxt;
	HTAB	   *windows;		/* SvBulkWindow by window start */
	uint64	   *bloom;			/* NULL: not made yet */
	uint64		nbloom;			/* rows added to it */
};

/* The results table, opened and checked for one write. */
typedef struct SvBulkTable
{
	Relation	rel;
	ResultRelInfo *rri;
	EState	   *estate;
	Relation	pkey;			/* the primary key index (rri's) */
	IndexInfo  *pkey_info;
	int			natts;
	int			ngroup;
	AttrNumber	start_att;		/* attribute numbers, from 1 */
	AttrNumber	end_att;
	AttrNumber	count_att;
	AttrNumber	final_att;
	AttrNumber	key_att[INDEX_MAX_KEYS];
	FmgrInfo	key_in[INDEX_MAX_KEYS];
	Oid			key_ioparam[INDEX_MAX_KEYS];
	int32		key_typmod[INDEX_MAX_KEYS];
	FmgrInfo	key_out[INDEX_MAX_KEYS];
	SortSupportData key_sort[INDEX_MAX_KEYS];
	FmgrInfo	key_hash[INDEX_MAX_KEYS];	/* the type's hash function, */
	bool		key_hashable[INDEX_MAX_KEYS];	/* if it has one */
	Oid			key_collation[INDEX_MAX_KEYS];
	int16		key_typlen[INDEX_MAX_KEYS];
	bool		key_byval[INDEX_MAX_KEYS];
} SvBulkTable;

/* A row being written: its typed key and where it came from. */
typedef struct SvBulkItem
{
	int64		window_start;
	int64		delta;			/* of the row and the rows merged into it */
	Datum	   *keys;
	SvBulkRow  *row;
} SvBulkItem;

/* The attribute number of a column by name, or InvalidAttrNumber. */
static AttrNumber
sv_bulk_attnum(TupleDesc desc, const char *name)
{
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			return att->attnum;
	}
	return InvalidAttrNumber;
}

/* Whether an attribute (from 1) has the given type. */
static bool
sv_bulk_atttype_is(TupleDesc desc, AttrNumber att, Oid type)
{
	return att != InvalidAttrNumber && TupleDescAttr(desc, att - 1)->atttypid == type;
}

/*
 * Checks that the results table is one the bulk writer may write (see the
 * header comment) and fills in its attribute numbers. The caller holds
 * RowExclusiveLock on it, so nothing checked here changes during the write.
 */
static bool
sv_bulk_eligible(const SvBulkView *view, Relation rel, SvBulkTable *t)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			ours = 0;
	int			live = 0;

	if (rel->rd_rel->relkind != RELKIND_RELATION || rel->rd_rel->relispartition ||
		rel->trigdesc != NULL || rel->rd_rules != NULL || rel->rd_rel->relrowsecurity ||
		(desc->constr != NULL && desc->constr->num_check > 0) ||
		view->ngroup + 1 > INDEX_MAX_KEYS)
		return false;
	if (pg_class_aclcheck(view->relid, view->owner,
						  ACL_SELECT | ACL_INSERT | ACL_UPDATE) != ACLCHECK_OK)
		return false;
	t->start_att = sv_bulk_attnum(desc, "window_start");
	t->end_att = sv_bulk_attnum(desc, "window_end");
	t->count_att = sv_bulk_attnum(desc, "count");
	t->final_att = sv_bulk_attnum(desc, "final");
	if (!sv_bulk_atttype_is(desc, t->start_att, view->time_type) ||
		!sv_bulk_atttype_is(desc, t->end_att, view->time_type) ||
		!sv_bulk_atttype_is(desc, t->count_att, INT8OID) ||
		!sv_bulk_atttype_is(desc, t->final_att, BOOLOID))
		return false;
	ours = 4;
	for (int g = 0; g < view->ngroup; g++)
	{
		t->key_att[g] = sv_bulk_attnum(desc, view->group_by[g]);
		if (!sv_bulk_atttype_is(desc, t->key_att[g], view->group_types[g]))
			return false;
		ours++;
	}
	/*
	 * the times as the upsert writes them (no typmod to round to), and no
	 * column of the user's (it might have a default to fill in), identity
	 * or generated
	 */
	if (TupleDescAttr(desc, t->start_att - 1)->atttypmod != -1 ||
		TupleDescAttr(desc, t->end_att - 1)->atttypmod != -1)
		return false;
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped)
			continue;
		if (att->attidentity != '\0' || att->attgenerated != '\0')
			return false;
		live++;
	}
	if (live != ours)
		return false;
	t->natts = desc->natts;
	t->ngroup = view->ngroup;
	return true;
}

/*
 * Finds the primary key among the opened indexes and checks that it is
 * (window_start, group columns), immediate, on plain columns.
 */
static bool
sv_bulk_find_pkey(SvBulkTable *t)
{
	Oid			pkoid;

	(void) RelationGetIndexList(t->rel);	/* sets rd_pkindex */
	pkoid = t->rel->rd_pkindex;
	if (!OidIsValid(pkoid))
		return false;
	for (int i = 0; i < t->rri->ri_NumIndices; i++)
	{
		Relation	idx = t->rri->ri_IndexRelationDescs[i];
		IndexInfo  *info = t->rri->ri_IndexRelationInfo[i];

		if (idx == NULL || RelationGetRelid(idx) != pkoid)
			continue;
		if (!idx->rd_index->indimmediate || info->ii_Expressions != NIL ||
			info->ii_Predicate != NIL || info->ii_UniqueProcs == NULL ||
			info->ii_NumIndexKeyAttrs != t->ngroup + 1 ||
			info->ii_IndexAttrNumbers[0] != t->start_att)
			return false;
		for (int g = 0; g < t->ngroup; g++)
			if (info->ii_IndexAttrNumbers[g + 1] != t->key_att[g])
				return false;
		t->pkey = idx;
		t->pkey_info = info;
		return true;
	}
	return false;
}

/* Looks up the key columns' input, output and sort functions. */
static void
sv_bulk_prepare_keys(SvBulkTable *t)
{
	TupleDesc	desc = RelationGetDescr(t->rel);

	for (int g = 0; g < t->ngroup; g++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, t->key_att[g] - 1);
		Oid			infunc;
		Oid			outfunc;
		bool		varlena;
		TypeCacheEntry *tc = lookup_type_cache(att->atttypid,
											   TYPECACHE_LT_OPR | TYPECACHE_HASH_PROC_FINFO);
		SortSupport ssup = &t->key_sort[g];

		getTypeInputInfo(att->atttypid, &infunc, &t->key_ioparam[g]);
		fmgr_info(infunc, &t->key_in[g]);
		getTypeOutputInfo(att->atttypid, &outfunc, &varlena);
		fmgr_info(outfunc, &t->key_out[g]);
		t->key_typmod[g] = att->atttypmod;
		t->key_collation[g] = t->pkey->rd_indcollation[g + 1];
		t->key_typlen[g] = att->attlen;
		t->key_byval[g] = att->attbyval;
		t->key_hashable[g] = OidIsValid(tc->hash_proc_finfo.fn_oid);
		if (t->key_hashable[g])
			fmgr_info_copy(&t->key_hash[g], &tc->hash_proc_finfo, CurrentMemoryContext);
		memset(ssup, 0, sizeof(SortSupportData));
		ssup->ssup_cxt = CurrentMemoryContext;
		ssup->ssup_collation = t->pkey->rd_indcollation[g + 1];
		ssup->ssup_nulls_first = false;
		/* a primary key's type has a btree opclass, so a "<" */
		if (!OidIsValid(tc->lt_opr))
			elog(ERROR, "type %u of a primary key has no \"<\"", att->atttypid);
		PrepareSortSupportFromOrderingOp(tc->lt_opr, ssup);
	}
}

/* Orders items by window start, then by their keys as the key's type sorts. */
static int
sv_bulk_item_cmp(const void *a, const void *b, void *arg)
{
	const SvBulkItem *x = a;
	const SvBulkItem *y = b;
	SvBulkTable *t = arg;

	if (x->window_start != y->window_start)
		return x->window_start < y->window_start ? -1 : 1;
	for (int g = 0; g < t->ngroup; g++)
	{
		int			c = ApplySortComparator(x->keys[g], false, y->keys[g], false,
											&t->key_sort[g]);

		if (c != 0)
			return c;
	}
	return 0;
}

/*
 * Converts the rows' text keys into values of the columns' types, sorts the
 * rows in the primary key's order and merges rows with equal keys (the
 * merged-away ones are marked SV_BULK_MERGED). Returns the items to write.
 */
static SvBulkItem *
sv_bulk_items(SvBulkTable *t, SvBulkRow *rows, int nrows, int *nitems)
{
	SvBulkItem *items = palloc(sizeof(SvBulkItem) * Max(nrows, 1));
	Datum	   *keys = palloc(sizeof(Datum) * Max(nrows * t->ngroup, 1));
	char		buf[SV_KEY_MAX + 1];
	int			n = 0;

	for (int i = 0; i < nrows; i++)
	{
		int			pos = 0;

		items[i].window_start = rows[i].window_start;
		items[i].delta = rows[i].delta;
		items[i].keys = &keys[i * t->ngroup];
		items[i].row = &rows[i];
		for (int g = 0; g < t->ngroup; g++)
		{
			const char *val = NULL;
			int			len = sv_key_segment(rows[i].key, rows[i].keylen, &pos, &val);

			/* count views reject NULL keys before counting */
			if (len < 0 || len == SV_KEY_NULL)
				elog(ERROR, "group key of a count view without a value");
			memcpy(buf, val, len);
			buf[len] = '\0';
			items[i].keys[g] = InputFunctionCall(&t->key_in[g], buf,
												 t->key_ioparam[g], t->key_typmod[g]);
		}
	}
	qsort_arg(items, nrows, sizeof(SvBulkItem), sv_bulk_item_cmp, t);
	for (int i = 0; i < nrows; i++)
	{
		if (n > 0 && sv_bulk_item_cmp(&items[n - 1], &items[i], t) == 0)
		{
			/* "01" and "1" of an int key: one row */
			items[n - 1].delta += items[i].delta;
			items[i].row->count = SV_BULK_MERGED;
			continue;
		}
		items[n++] = items[i];
	}
	*nitems = n;
	return items;
}

/*
 * Looks an item's key up in the primary key index with a dirty snapshot,
 * waiting for a transaction that is inserting or deleting it, then locks
 * the row found. Returns true with the row in slot (locked), false when
 * there is none.
 */
static bool
sv_bulk_lookup(SvBulkTable *t, IndexScanDesc scan, ScanKey skeys,
			   SnapshotData *dirty, const SvBulkItem *item,
			   TupleTableSlot *found, TupleTableSlot *locked)
{
	int			nkeys = t->ngroup + 1;

	skeys[0].sk_argument = Int64GetDatum(item->window_start);
	for (int g = 0; g < t->ngroup; g++)
		skeys[g + 1].sk_argument = item->keys[g];
	for (;;)
	{
		bool		retry = false;
		bool		have = false;

		index_rescan(scan, skeys, nkeys, NULL, 0);
		while (index_getnext_slot(scan, ForwardScanDirection, found))
		{
			TransactionId xwait = TransactionIdIsValid(dirty->xmin) ?
				dirty->xmin : dirty->xmax;

			if (TransactionIdIsValid(xwait))
			{
				/* being inserted or deleted: wait for the outcome, look again */
				XactLockTableWait(xwait, t->rel, &found->tts_tid, XLTW_InsertIndex);
				retry = true;
				break;
			}
			have = true;
			break;
		}
		if (retry)
			continue;
		if (!have)
			return false;
		{
			TM_FailureData tmfd;
			TM_Result	res;

			res = table_tuple_lock(t->rel, &found->tts_tid, GetActiveSnapshot(),
								   locked, GetCurrentCommandId(true),
								   LockTupleNoKeyExclusive, LockWaitBlock, 0, &tmfd);
			switch (res)
			{
				case TM_Ok:
					return true;
				case TM_Updated:
				case TM_Deleted:
					/* changed since the lookup: look again */
					continue;
				case TM_SelfModified:
				case TM_Invisible:
					/*
					 * two of the batch's keys are one row (under an index
					 * whose equality is not the sort's: found invisible when
					 * inserted by this command): the upsert merges them
					 */
					ereport(ERROR,
							(errcode(ERRCODE_UNIQUE_VIOLATION),
							 errmsg("a batch updated one window row twice")));
					break;
				default:
					elog(ERROR, "unexpected result %d locking a window row", (int) res);
			}
		}
	}
}

/*
 * Adds an item's delta to the locked row in locked (unless it is final),
 * with new index entries only when the update is not HOT. Sets the row's
 * count.
 */
static void
sv_bulk_update(SvBulkTable *t, const SvBulkItem *item, TupleTableSlot *locked,
			   TupleTableSlot *upd)
{
	bool		isnull;
	int64		count;
	TM_FailureData tmfd;
	TM_Result	res;
	int			indexes;

	slot_getallattrs(locked);
	if (DatumGetBool(locked->tts_values[t->final_att - 1]))
	{
		item->row->count = SV_BULK_FINAL;
		return;
	}
	isnull = locked->tts_isnull[t->count_att - 1];
	count = isnull ? 0 : DatumGetInt64(locked->tts_values[t->count_att - 1]);
	if (pg_add_s64_overflow(count, item->delta, &count))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("bigint out of range")));
	ExecClearTuple(upd);
	memcpy(upd->tts_values, locked->tts_values, sizeof(Datum) * t->natts);
	memcpy(upd->tts_isnull, locked->tts_isnull, sizeof(bool) * t->natts);
	upd->tts_values[t->count_att - 1] = Int64GetDatum(count);
	upd->tts_isnull[t->count_att - 1] = false;
	ExecStoreVirtualTuple(upd);
	/* its own copy: the locked row's values point into its buffer */
	ExecMaterializeSlot(upd);
	res = sv_tuple_update(t->rel, &locked->tts_tid, upd, GetCurrentCommandId(true),
						  GetActiveSnapshot(), &tmfd, &indexes);
	if (res != TM_Ok)
		elog(ERROR, "unexpected result %d updating a locked window row", (int) res);
	if (indexes != SV_INDEXES_NONE)
		(void) sv_insert_index_tuples(t->rri, upd, t->estate,
									  indexes == SV_INDEXES_SUMMARIZING);
	item->row->count = count;
}

/*
 * Inserts a chunk's new rows together, then their index entries. The rows
 * go through a bulk-insert state (a 16 MB ring of buffers, as COPY's), so a
 * batch of many new rows does not fill shared buffers with pages it will
 * not read again (and the worker's resident memory with them).
 */
static void
sv_bulk_insert(SvBulkTable *t, const SvBulkView *view, SvBulkItem **items,
			   int n, TupleTableSlot **slots, BulkInsertState bistate)
{
	for (int i = 0; i < n; i++)
	{
		TupleTableSlot *s = slots[i];
		const SvBulkItem *it = items[i];
		int64		end;

		ExecClearTuple(s);
		for (int a = 0; a < t->natts; a++)
		{
			s->tts_values[a] = (Datum) 0;
			s->tts_isnull[a] = true;
		}
		s->tts_values[t->start_att - 1] = Int64GetDatum(it->window_start);
		s->tts_isnull[t->start_att - 1] = false;
		if (pg_add_s64_overflow(it->window_start, view->size_usec, &end) ||
			!IS_VALID_TIMESTAMP(end))
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("timestamp out of range"),
					 errdetail("A window starting at the last representable times ends past them.")));
		s->tts_values[t->end_att - 1] = Int64GetDatum(end);
		s->tts_isnull[t->end_att - 1] = false;
		for (int g = 0; g < t->ngroup; g++)
		{
			s->tts_values[t->key_att[g] - 1] = it->keys[g];
			s->tts_isnull[t->key_att[g] - 1] = false;
		}
		s->tts_values[t->count_att - 1] = Int64GetDatum(it->delta);
		s->tts_isnull[t->count_att - 1] = false;
		s->tts_values[t->final_att - 1] = BoolGetDatum(false);
		s->tts_isnull[t->final_att - 1] = false;
		ExecStoreVirtualTuple(s);
		it->row->count = it->delta;
	}
	table_multi_insert(t->rel, slots, n, GetCurrentCommandId(true), 0, bistate);
	for (int i = 0; i < n; i++)
		(void) sv_insert_index_tuples(t->rri, slots[i], t->estate, false);
}

/*
 * Inserts the new rows gathered so far (in chunk_cxt, reset afterwards) and
 * empties the list.
 */
static void
sv_bulk_flush(SvBulkTable *t, const SvBulkView *view, SvBulkItem **fresh,
			  int *nfresh, TupleTableSlot **slots, BulkInsertState bistate,
			  MemoryContext chunk_cxt)
{
	MemoryContext old;

	if (*nfresh == 0)
		return;
	old = MemoryContextSwitchTo(chunk_cxt);
	sv_bulk_insert(t, view, fresh, *nfresh, slots, bistate);
	for (int i = 0; i < *nfresh; i++)
		ExecClearTuple(slots[i]);
	ResetPerTupleExprContext(t->estate);
	MemoryContextSwitchTo(old);
	MemoryContextReset(chunk_cxt);
	*nfresh = 0;
}

/* An empty store of what a writer knows, in cxt (which must outlive it). */
SvBulkKnown *
sv_bulk_known_create(MemoryContext cxt)
{
	SvBulkKnown *known = MemoryContextAllocZero(cxt, sizeof(SvBulkKnown));
	HASHCTL		ctl;

	known->cxt = cxt;
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(SvBulkWindow);
	ctl.hcxt = cxt;
	known->windows = hash_create("streamview known windows", 256, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	return known;
}

/* Forgets everything (the table may have rows the writer did not write). */
void
sv_bulk_known_reset(SvBulkKnown *known)
{
	HASH_SEQ_STATUS seq;
	SvBulkWindow *w;

	if (known == NULL)
		return;
	hash_seq_init(&seq, known->windows);
	while ((w = hash_seq_search(&seq)) != NULL)
		(void) hash_search(known->windows, &w->window_start, HASH_REMOVE, NULL);
	if (known->bloom)
		memset(known->bloom, 0, SV_BULK_BLOOM_BITS / 8);
	known->nbloom = 0;
}

/* Mixes 64 bits (MurmurHash3's finalizer; PostgreSQL 15 has no murmurhash64). */
static inline uint64
sv_bulk_mix64(uint64 h)
{
	h ^= h >> 33;
	h *= UINT64CONST(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64CONST(0xc4ceb9fe1a85ec53);
	h ^= h >> 33;
	return h;
}

/* An item's row as 64 bits: its window start and its keys' hashes. */
static uint64
sv_bulk_item_hash(SvBulkTable *t, const SvBulkItem *item)
{
	uint64		h = sv_bulk_mix64((uint64) item->window_start);

	for (int g = 0; g < t->ngroup; g++)
	{
		Datum		d = item->keys[g];
		uint64		kh;

		/* equal values hash alike with the type's hash (1.0 and 1.00) */
		if (t->key_hashable[g])
			kh = DatumGetUInt32(FunctionCall1Coll(&t->key_hash[g], t->key_collation[g], d));
		else if (t->key_byval[g])
			kh = sv_bulk_mix64((uint64) d);
		else if (t->key_typlen[g] > 0)
			kh = hash_bytes((const unsigned char *) DatumGetPointer(d), t->key_typlen[g]);
		else
			kh = hash_bytes((const unsigned char *) VARDATA_ANY(DatumGetPointer(d)),
							VARSIZE_ANY_EXHDR(DatumGetPointer(d)));
		h = hash_combine64(h, sv_bulk_mix64(kh + g));
	}
	return h;
}

/* Whether the filter may hold a row (false: it certainly does not). */
static inline bool
sv_bulk_bloom_test(const SvBulkKnown *known, uint64 h)
{
	uint64		a = h & (SV_BULK_BLOOM_BITS - 1);
	uint64		b = (h >> 32 ^ h >> 7) & (SV_BULK_BLOOM_BITS - 1);

	return (known->bloom[a / 64] & (UINT64CONST(1) << (a % 64))) &&
		(known->bloom[b / 64] & (UINT64CONST(1) << (b % 64)));
}

static inline void
sv_bulk_bloom_add(SvBulkKnown *known, uint64 h)
{
	uint64		a = h & (SV_BULK_BLOOM_BITS - 1);
	uint64		b = (h >> 32 ^ h >> 7) & (SV_BULK_BLOOM_BITS - 1);

	known->bloom[a / 64] |= UINT64CONST(1) << (a % 64);
	known->bloom[b / 64] |= UINT64CONST(1) << (b % 64);
	known->nbloom++;
}

/*
 * Whether every row of a window is one the writer wrote: the first time
 * it meets the window, it is so if the table has no row of it (a row being
 * inserted by another transaction counts).
 */
static bool
sv_bulk_window_complete(SvBulkTable *t, SvBulkKnown *known, int64 window_start,
						SnapshotData *dirty, TupleTableSlot *slot)
{
	SvBulkWindow *w;
	bool		found;

	w = hash_search(known->windows, &window_start, HASH_ENTER, &found);
	if (!found)
	{
		ScanKeyData key;
		IndexScanDesc scan;

		w->complete = false;	/* (until the probe below says otherwise) */

		ScanKeyEntryInitialize(&key, 0, 1, t->pkey_info->ii_UniqueStrats[0],
							   InvalidOid, t->pkey->rd_indcollation[0],
							   t->pkey_info->ii_UniqueProcs[0],
							   Int64GetDatum(window_start));
		scan = sv_index_beginscan(t->rel, t->pkey, dirty, 1);
		index_rescan(scan, &key, 1, NULL, 0);
		w->complete = !index_getnext_slot(scan, ForwardScanDirection, slot);
		index_endscan(scan);
		ExecClearTuple(slot);
	}
	return w->complete;
}

/*
 * Writes the items in key order: each is looked up (unless knowledge says
 * it is new: a key new to a complete window) and, if it exists, locked and
 * updated; new rows gather and go in together, at most SV_BULK_CHUNK at a
 * time and, when other workers write the table too, always before the next
 * row that exists is locked. So every row lock and index entry is taken in
 * key order, and two workers writing the same windows wait for each other
 * without deadlocking (a chunk's updates before its inserts did deadlock
 * them).
 */
static void
sv_bulk_write_items(SvBulkTable *t, const SvBulkView *view, SvBulkKnown *known,
					SvBulkItem *items, int nitems)
{
	int			nkeys = t->ngroup + 1;
	ScanKeyData skeys[INDEX_MAX_KEYS];
	SnapshotData dirty;
	IndexScanDesc scan;
	TupleTableSlot *found = table_slot_create(t->rel, NULL);
	TupleTableSlot *locked = table_slot_create(t->rel, NULL);
	TupleTableSlot *upd = MakeSingleTupleTableSlot(RelationGetDescr(t->rel),
												   &TTSOpsVirtual);
	TupleTableSlot *slots[SV_BULK_CHUNK];
	SvBulkItem *fresh[SV_BULK_CHUNK];
	MemoryContext chunk_cxt = AllocSetContextCreate(CurrentMemoryContext,
													"streamview bulk chunk",
													ALLOCSET_DEFAULT_SIZES);
	int			nfresh = 0;
	int64		window = 0;
	bool		complete = false;
	int			nslots = Min(nitems, SV_BULK_CHUNK);
	BulkInsertState bistate = GetBulkInsertState();

	if (known != NULL && known->bloom == NULL && nitems >= SV_BULK_KNOWN_MIN)
		known->bloom = MemoryContextAllocExtended(known->cxt, SV_BULK_BLOOM_BITS / 8,
												  MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	if (known != NULL && known->nbloom + nitems > SV_BULK_BLOOM_MAX)
		sv_bulk_known_reset(known);
	if (known != NULL && known->bloom == NULL)
		known = NULL;
	/* as many slots as a chunk can use (a few-key view's batch is small) */
	for (int i = 0; i < nslots; i++)
		slots[i] = table_slot_create(t->rel, NULL);
	InitDirtySnapshot(dirty);
	for (int k = 0; k < nkeys; k++)
		ScanKeyEntryInitialize(&skeys[k], 0, k + 1, t->pkey_info->ii_UniqueStrats[k],
							   InvalidOid, t->pkey->rd_indcollation[k],
							   t->pkey_info->ii_UniqueProcs[k], (Datum) 0);
	scan = sv_index_beginscan(t->rel, t->pkey, &dirty, nkeys);
	for (int i = 0; i < nitems; i++)
	{
		uint64		h = 0;
		bool		lookup = true;

		if (i % SV_BULK_CHUNK == 0)
			CHECK_FOR_INTERRUPTS();
		if (known != NULL)
		{
			/* items come sorted by window: one hash lookup per window */
			if (i == 0 || items[i].window_start != window)
			{
				window = items[i].window_start;
				complete = sv_bulk_window_complete(t, known, window, &dirty, found);
			}
			if (complete)
			{
				h = sv_bulk_item_hash(t, &items[i]);
				/* certainly new: no lookup */
				lookup = sv_bulk_bloom_test(known, h);
				if (!lookup)
					sv_bulk_bloom_add(known, h);
			}
		}
		if (lookup &&
			sv_bulk_lookup(t, scan, skeys, &dirty, &items[i], found, locked))
		{
			/*
			 * Another worker may write these windows: rows are locked in key
			 * order, the new ones before this go in first. (Alone, new rows
			 * go in a thousand at a time: 16% less CPU for the 100k-key view.)
			 */
			if (!view->sole_writer)
				sv_bulk_flush(t, view, fresh, &nfresh, slots, bistate, chunk_cxt);
			sv_bulk_update(t, &items[i], locked, upd);
			ExecClearTuple(found);
			ExecClearTuple(locked);
			continue;
		}
		if (lookup && complete && known != NULL)
			sv_bulk_bloom_add(known, h);
		fresh[nfresh++] = &items[i];
		if (nfresh == SV_BULK_CHUNK)
			sv_bulk_flush(t, view, fresh, &nfresh, slots, bistate, chunk_cxt);
	}
	ExecClearTuple(found);
	ExecClearTuple(locked);
	sv_bulk_flush(t, view, fresh, &nfresh, slots, bistate, chunk_cxt);
	index_endscan(scan);
	FreeBulkInsertState(bistate);
	for (int i = 0; i < nslots; i++)
		ExecDropSingleTupleTableSlot(slots[i]);
	ExecDropSingleTupleTableSlot(found);
	ExecDropSingleTupleTableSlot(locked);
	ExecDropSingleTupleTableSlot(upd);
	MemoryContextDelete(chunk_cxt);
}

/*
 * The written rows' keys as the table holds them (the output functions'
 * text, as segments), for shared memory.
 */
static void
sv_bulk_out_keys(SvBulkTable *t, SvBulkItem *items, int nitems,
				 MemoryContext out_cxt)
{
	char		buf[SV_KEY_MAX];

	for (int i = 0; i < nitems; i++)
	{
		SvBulkRow  *row = items[i].row;
		int			len = 0;

		if (row->count < 0)
			continue;
		for (int g = 0; g < t->ngroup && len >= 0; g++)
		{
			char	   *s = OutputFunctionCall(&t->key_out[g], items[i].keys[g]);

			len = sv_key_append(buf, len, sizeof(buf), s, strlen(s));
			pfree(s);
		}
		row->out_keylen = len;
		if (len >= 0)
		{
			row->out_key = MemoryContextAlloc(out_cxt, Max(len, 1));
			memcpy(row->out_key, buf, len);
		}
	}
}

/*
 * Writes a count view's batch rows into its results table (see the header
 * comment). The caller holds RowExclusiveLock on the table and runs in the
 * batch's transaction. Returns SV_BULK_NOT_ELIGIBLE or SV_BULK_CONFLICT
 * when nothing was written (the caller then uses the upsert); with
 * SV_BULK_WRITTEN every row's count is set (and with want_keys its out_key,
 * in out_cxt). The caller runs it as the view's owner, security-restricted
 * (index expressions and predicates run as that role).
 */
SvBulkResult
sv_bulk_write(const SvBulkView *view, SvBulkKnown *known, SvBulkRow *rows,
			  int nrows, bool want_keys, MemoryContext out_cxt)
{
	MemoryContext caller = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	MemoryContext work;
	SvBulkTable t;
	Relation	rel;
	bool		eligible;
	volatile SvBulkResult result = SV_BULK_WRITTEN;

	memset(&t, 0, sizeof(t));
	rel = table_open(view->relid, RowExclusiveLock);
	eligible = sv_bulk_eligible(view, rel, &t);
	table_close(rel, NoLock);
	if (!eligible)
		return SV_BULK_NOT_ELIGIBLE;

	work = AllocSetContextCreate(caller, "streamview bulk write",
								 ALLOCSET_DEFAULT_SIZES);
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(work);
	PG_TRY();
	{
		SvBulkItem *items;
		int			nitems;

		t.rel = table_open(view->relid, RowExclusiveLock);
		/* a table published for updates needs a replica identity, as in SQL */
		CheckCmdReplicaIdentity(t.rel, CMD_INSERT);
		CheckCmdReplicaIdentity(t.rel, CMD_UPDATE);
		t.estate = CreateExecutorState();
		t.rri = makeNode(ResultRelInfo);
		InitResultRelInfo(t.rri, t.rel, 0, NULL, 0);
		/* "speculative": the unique index's equality procedures for lookups */
		ExecOpenIndices(t.rri, true);
		if (sv_bulk_find_pkey(&t))
		{
			sv_bulk_prepare_keys(&t);
			items = sv_bulk_items(&t, rows, nrows, &nitems);
			sv_bulk_write_items(&t, view, known, items, nitems);
			/* for tests: what another worker's insert would do, after the writes */
			if (sv_test_bulk_conflict)
				ereport(ERROR,
						(errcode(ERRCODE_UNIQUE_VIOLATION),
						 errmsg("a window row was inserted concurrently (streamview.test_bulk_conflict)")));
			if (want_keys)
				sv_bulk_out_keys(&t, items, nitems, out_cxt);
		}
		else
			result = SV_BULK_NOT_ELIGIBLE;
		ExecCloseIndices(t.rri);
		FreeExecutorState(t.estate);
		table_close(t.rel, NoLock);

		if (result == SV_BULK_WRITTEN)
			ReleaseCurrentSubTransaction();
		else
			RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(caller);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(caller);
		edata = CopyErrorData();
		FlushErrorState();
		/* undoes the writes */
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(caller);
		CurrentResourceOwner = owner;
		/*
		 * a key inserted meanwhile, or a deadlock with another writer of the
		 * table (its rows locked first, then new ones inserted, not in key
		 * order): the upsert does it instead
		 */
		if (edata->sqlerrcode != ERRCODE_UNIQUE_VIOLATION &&
			edata->sqlerrcode != ERRCODE_T_R_DEADLOCK_DETECTED)
			ReThrowError(edata);
		FreeErrorData(edata);
		/* what it knew was wrong, or is now: rows it wrote were rolled back */
		sv_bulk_known_reset(known);
		result = SV_BULK_CONFLICT;
	}
	PG_END_TRY();
	MemoryContextDelete(work);
	if (result == SV_BULK_WRITTEN)
		CommandCounterIncrement();
	return result;
}
