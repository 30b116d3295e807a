/*
 * eval.h - evaluating a query view's expressions on one message
 *
 * A query view's WHERE, GROUP BY expressions and aggregate arguments and
 * filters are compiled once per worker session (ExecInitExpr) and evaluated
 * by PostgreSQL's executor on a virtual tuple holding the message's values
 * (the caller fills it). Evaluation may raise an ERROR (a division by zero,
 * say): the caller runs it inside a subtransaction it can roll back, and
 * sets the message aside for that view.
 */
#ifndef STREAMVIEW_EVAL_H
#define STREAMVIEW_EVAL_H

#include "postgres.h"

#include "executor/tuptable.h"

#include "aggregate.h"
#include "query.h"

typedef struct SvEval SvEval;

/* What one message gives a view, when it passes the WHERE. */
typedef struct SvEvalResult
{
	int			keylen;			/* the group key, in the caller's buffer;
								 * -1: longer than the buffer */
	Datum	   *values;			/* per aggregate: its argument */
	bool	   *isnull;
	bool	   *pass;			/* per aggregate: passed its FILTER */
} SvEvalResult;

extern SvEval *sv_eval_prepare(const SvQuery *query, TupleTableSlot *slot,
							   MemoryContext cxt);
extern bool sv_eval_message(SvEval *eval, char *keybuf, int keycap,
							SvEvalResult *result);
extern void sv_eval_reset(SvEval *eval);
extern Datum sv_eval_key_datum(const SvQueryKey *key, const char *val, int len);

#endif							/* STREAMVIEW_EVAL_H */
