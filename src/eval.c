/*
 * eval.c - evaluating a query view's expressions on one message
 *
 * The expressions come from query.c's analysis; here they are planned
 * (expression_planner: constants folded, operator functions looked up) and
 * compiled once per session in the session's memory, then run per message
 * with the message's values as the scan tuple. Per-message memory is the
 * expression context's, reset by sv_eval_reset once the caller has kept
 * what it needs.
 *
 * A group key is the GROUP BY values in binary form, one key segment each
 * (window.h), so that equal values make equal keys within a batch; the
 * sink turns segments back into values of the key's type
 * (sv_eval_key_datum), and the results table's unique key merges values
 * that are equal but not binary-equal (1.0 and 1.00).
 */
#include "postgres.h"

#include "executor/executor.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "eval.h"
#include "window.h"

struct SvEval
{
	const SvQuery *query;
	ExprContext *econtext;
	ExprState  *filter;			/* NULL: none */
	ExprState **keys;
	ExprState **args;			/* NULL entries for count(*) */
	ExprState **filters;		/* NULL entries: no FILTER */
};

/* Plans and compiles one expression, or returns NULL for NULL. */
static ExprState *
sv_eval_compile(Expr *expr)
{
	if (expr == NULL)
		return NULL;
	return ExecInitExpr(expression_planner(copyObject(expr)), NULL);
}

/*
 * Compiles a view's expressions into cxt, reading the message from slot.
 * Must run inside a transaction (catalog lookups).
 */
SvEval *
sv_eval_prepare(const SvQuery *query, TupleTableSlot *slot, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	SvEval	   *ev = palloc0(sizeof(SvEval));

	ev->query = query;
	ev->econtext = CreateStandaloneExprContext();
	ev->econtext->ecxt_scantuple = slot;
	if (query->filter)
		ev->filter = ExecInitQual(make_ands_implicit(expression_planner(copyObject(query->filter))),
								  NULL);
	ev->keys = palloc0(sizeof(ExprState *) * Max(1, query->nkeys));
	for (int k = 0; k < query->nkeys; k++)
		ev->keys[k] = sv_eval_compile(query->keys[k].expr);
	ev->args = palloc0(sizeof(ExprState *) * Max(1, query->naggs));
	ev->filters = palloc0(sizeof(ExprState *) * Max(1, query->naggs));
	for (int a = 0; a < query->naggs; a++)
	{
		ev->args[a] = sv_eval_compile(query->aggs[a].arg);
		if (query->aggs[a].filter)
			ev->filters[a] = ExecInitQual(make_ands_implicit(expression_planner(copyObject(query->aggs[a].filter))),
										  NULL);
	}
	MemoryContextSwitchTo(old);
	return ev;
}

/*
 * Appends one key value to keybuf in binary form: by-value types as their
 * Datum, fixed-length ones as their bytes, varlena ones as their detoasted
 * data. Returns the new length, or -1 when it does not fit.
 */
static int
sv_eval_append_key(const SvQueryKey *key, Datum value, bool isnull,
				   char *keybuf, int used, int cap)
{
	if (isnull)
		return sv_key_append_null(keybuf, used, cap);
	if (key->typbyval)
		return sv_key_append(keybuf, used, cap, (const char *) &value, sizeof(Datum));
	if (key->typlen > 0)
		return sv_key_append(keybuf, used, cap, DatumGetPointer(value), key->typlen);
	if (key->typlen == -1)
	{
		struct varlena *v = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(value));

		return sv_key_append(keybuf, used, cap, VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
	}
	return sv_key_append(keybuf, used, cap, DatumGetCString(value),
						 strlen(DatumGetCString(value)));
}

/* A key segment back as a value of the key's type (palloc'd if by reference). */
Datum
sv_eval_key_datum(const SvQueryKey *key, const char *val, int len)
{
	Datum		d;

	if (key->typbyval)
	{
		memcpy(&d, val, sizeof(Datum));
		return d;
	}
	if (key->typlen > 0)
	{
		char	   *copy = palloc(key->typlen);

		memcpy(copy, val, key->typlen);
		return PointerGetDatum(copy);
	}
	if (key->typlen == -1)
	{
		struct varlena *v = palloc(VARHDRSZ + len);

		SET_VARSIZE(v, VARHDRSZ + len);
		memcpy(VARDATA(v), val, len);
		return PointerGetDatum(v);
	}
	return CStringGetDatum(pnstrdup(val, len));
}

/*
 * Evaluates a view on the message in the slot: false when the WHERE does
 * not pass it; otherwise the group key in keybuf and each aggregate's
 * argument and FILTER in result. Raises the expression's own ERROR. A
 * group key longer than keycap is the message's fault, not an error: true
 * with result->keylen -1 and no aggregate evaluated (the caller rejects
 * the message as a count view does).
 */
bool
sv_eval_message(SvEval *ev, char *keybuf, int keycap, SvEvalResult *result)
{
	const SvQuery *q = ev->query;
	ExprContext *econtext = ev->econtext;
	int			keylen = 0;

	if (ev->filter && !ExecQual(ev->filter, econtext))
		return false;
	for (int k = 0; k < q->nkeys; k++)
	{
		bool		isnull;
		Datum		value = ExecEvalExprSwitchContext(ev->keys[k], econtext, &isnull);

		keylen = sv_eval_append_key(&q->keys[k], value, isnull, keybuf, keylen, keycap);
		if (keylen < 0)
		{
			result->keylen = -1;
			return true;
		}
	}
	result->keylen = keylen;
	for (int a = 0; a < q->naggs; a++)
	{
		result->pass[a] = ev->filters[a] == NULL || ExecQual(ev->filters[a], econtext);
		result->isnull[a] = true;
		result->values[a] = (Datum) 0;
		if (result->pass[a] && ev->args[a] != NULL)
			result->values[a] = ExecEvalExprSwitchContext(ev->args[a], econtext,
														  &result->isnull[a]);
	}
	return true;
}

/* Frees what evaluating one message allocated. */
void
sv_eval_reset(SvEval *ev)
{
	ResetExprContext(ev->econtext);
}
