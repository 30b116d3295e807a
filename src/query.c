/*
 * query.c - a view defined by a SELECT over a stream (create_view)
 *
 * The query text is parsed by PostgreSQL's raw parser; the stream named in
 * FROM is replaced by a subquery of typed NULLs with the stream's columns,
 * so that PostgreSQL's own analysis resolves every name, operator, cast and
 * aggregate (and reports its own errors with their positions). The
 * analysed Query is then checked for what streamview can maintain and
 * described as an SvQuery. The checks follow pg_ivm's create_immv and
 * TimescaleDB's continuous aggregates: refuse clearly what cannot be kept
 * up to date, naming the construct.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/analyze.h"
#include "parser/parse_func.h"
#include "parser/parser.h"
#include "parser/parsetree.h"
#include "commands/extension.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/ruleutils.h"
#include "utils/typcache.h"

#include "compat.h"
#include "query.h"
#include "schema.h"
#include "streamview.h"
#include "window.h"

/* What create_view supports, for hints. */
#define SV_QUERY_HINT \
	"A view is SELECT window_start [, window_end], GROUP BY items and aggregates " \
	"(count, sum, avg, min, max, each optionally with FILTER) FROM one stream and " \
	"streamview.hop() or streamview.tumble() [WHERE ...] GROUP BY window_start [, ...]."

/* Raises the refusal of a construct a view cannot have. */
static void
sv_query_refuse(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("%s not supported in a streamview view", what),
			 errhint(SV_QUERY_HINT)));
}

/*
 * Parses the text: exactly one SELECT, without the clauses a continuously
 * maintained view cannot have (checked here, before analysis, so that the
 * refusal names the clause).
 */
static SelectStmt *
sv_query_parse(const char *sql)
{
	List	   *stmts = raw_parser(sql, RAW_PARSE_DEFAULT);
	SelectStmt *select;

	if (list_length(stmts) != 1 ||
		!IsA(linitial_node(RawStmt, stmts)->stmt, SelectStmt))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the query of a view must be one SELECT statement"),
				 errhint(SV_QUERY_HINT)));
	select = (SelectStmt *) linitial_node(RawStmt, stmts)->stmt;
	if (select->op != SETOP_NONE)
		sv_query_refuse("set operations (UNION, INTERSECT, EXCEPT) are");
	if (select->valuesLists != NIL)
		sv_query_refuse("VALUES is");
	if (select->withClause != NULL)
		sv_query_refuse("WITH (common table expressions) is");
	if (select->distinctClause != NIL)
		sv_query_refuse("DISTINCT is");
	if (select->havingClause != NULL)
		sv_query_refuse("HAVING is");
	if (select->sortClause != NIL)
		sv_query_refuse("ORDER BY is");
	if (select->limitCount != NULL || select->limitOffset != NULL)
		sv_query_refuse("LIMIT and OFFSET are");
	if (select->windowClause != NIL)
		sv_query_refuse("WINDOW clauses are");
	if (select->lockingClause != NIL)
		sv_query_refuse("FOR UPDATE and FOR SHARE are");
	if (select->intoClause != NULL)
		sv_query_refuse("SELECT INTO is");
	return select;
}

/*
 * Finds the stream in FROM: FROM must list exactly one stream (by name, as
 * an identifier) and one window function; joins and subqueries are refused.
 */
static RangeVar *
sv_query_from(SelectStmt *select)
{
	RangeVar   *stream = NULL;
	int			nfunctions = 0;
	ListCell   *lc;

	foreach(lc, select->fromClause)
	{
		Node	   *item = lfirst(lc);

		if (IsA(item, JoinExpr))
			sv_query_refuse("joins are");
		else if (IsA(item, RangeSubselect))
			sv_query_refuse("subqueries are");
		else if (IsA(item, RangeFunction))
			nfunctions++;
		else if (IsA(item, RangeVar) && stream == NULL)
			stream = (RangeVar *) item;
		else if (IsA(item, RangeVar))
			sv_query_refuse("a view over several streams is");
		else
			sv_query_refuse("this FROM item is");
	}
	if (stream == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the query of a view must read a stream in FROM"),
				 errhint(SV_QUERY_HINT)));
	if (nfunctions != 1)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the query of a view must have one streamview.hop() or streamview.tumble() window in FROM"),
				 errhint(SV_QUERY_HINT)));
	return stream;
}

/*
 * Loads the stream a RangeVar names. A name that is a table or view, or
 * that is qualified with a schema, is not a stream.
 */
static SvStream *
sv_query_stream(RangeVar *rv)
{
	SvStream   *stream = NULL;

	if (rv->schemaname == NULL && rv->catalogname == NULL)
		stream = sv_catalog_get_stream(rv->relname, true);
	if (stream != NULL)
		return stream;
	if (OidIsValid(RangeVarGetRelid(rv, NoLock, true)))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("\"%s\" is not a stream", rv->relname),
				 errdetail("A view reads one stream; tables and views cannot be read."),
				 errhint("Streams are listed in streamview.streams.")));
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_TABLE),
			 errmsg("stream \"%s\" does not exist", rv->relname),
			 errhint("Name a stream in FROM as an identifier; streams are listed in streamview.streams.")));
	return NULL;				/* keep compiler quiet */
}

/*
 * A subquery standing for the stream: SELECT NULL::type AS column, ... with
 * the stream's columns, under the stream's name (or the alias given to it).
 */
static RangeSubselect *
sv_query_stream_subquery(const SvStream *stream, RangeVar *rv)
{
	StringInfoData sql;
	List	   *stmts;
	RangeSubselect *sub = makeNode(RangeSubselect);

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	for (int i = 0; i < stream->ncolumns; i++)
		appendStringInfo(&sql, "%sNULL::%s AS %s", i > 0 ? ", " : "",
						 stream->columns[i].type,
						 quote_identifier(stream->columns[i].name));
	stmts = raw_parser(sql.data, RAW_PARSE_DEFAULT);
	sub->subquery = linitial_node(RawStmt, stmts)->stmt;
	sub->alias = rv->alias ? rv->alias : makeAlias(rv->relname, NIL);
	return sub;
}

/*
 * Refuses a function the current user may not execute, one not immutable,
 * a temporary one (the results table would depend on it, and go when its
 * session ends; the worker cannot see it anyway) and streamview's own (the
 * results table would depend on the extension, and DROP EXTENSION ...
 * CASCADE take it).
 */
static bool
sv_query_check_function(Oid funcid, void *context)
{
	if (!sv_may_execute(funcid, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for function %s", get_func_name(funcid))));
	if (isAnyTempNamespace(get_func_namespace(funcid)))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("temporary function %s is not supported in a streamview view",
						get_func_name(funcid)),
				 errdetail("The view outlives the session, and its worker does not see the session's temporary objects.")));
	if (getExtensionOfObject(ProcedureRelationId, funcid) ==
		get_extension_oid("streamview", true))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("streamview's own function %s is not supported in a view's expressions",
						get_func_name(funcid)),
				 errhint("hop() and tumble() belong in FROM.")));
	if (func_volatile(funcid) != PROVOLATILE_IMMUTABLE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("function %s is not immutable, which is not supported in a streamview view",
						get_func_name(funcid)),
				 errdetail("A view's expressions are evaluated once per message, so their result must depend on the message alone."),
				 errhint("Use immutable functions and operators only; now(), random() and the like are refused.")));
	return false;
}

/* Context of sv_query_check_walker. */
typedef struct SvCheckContext
{
	int			window_rte;		/* the hop/tumble RTE, which expressions may not read */
} SvCheckContext;

/*
 * Checks an expression that the worker evaluates per message: immutable
 * functions the user may execute, no reference to the window's columns, no
 * aggregates.
 */
static bool
sv_query_check_walker(Node *node, SvCheckContext *ctx)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var) && ((Var *) node)->varno == ctx->window_rte)
		sv_query_refuse("window_start and window_end other than as GROUP BY items of their own are");
	if (IsA(node, Var) && ((Var *) node)->varattno <= 0)
		sv_query_refuse("whole-row references to the stream are");
	if (IsA(node, Aggref))
		sv_query_refuse("aggregates inside expressions are");
	if (IsA(node, SQLValueFunction))
		sv_query_refuse("CURRENT_DATE, LOCALTIMESTAMP, CURRENT_USER and the like are");
	(void) check_functions_in_node(node, sv_query_check_function, NULL);
	return expression_tree_walker(node, sv_query_check_walker, (void *) ctx);
}

static void
sv_query_check_expr(Node *expr, int window_rte)
{
	SvCheckContext ctx = {window_rte};

	(void) sv_query_check_walker(expr, &ctx);
}

/* Whether a function is streamview.<name>. */
static bool
sv_query_is_ours(Oid funcid, const char *name)
{
	return get_func_namespace(funcid) == get_namespace_oid(SV_SCHEMA, false) &&
		strcmp(get_func_name(funcid), name) == 0;
}

/* A constant interval argument of the window function, as microseconds. */
static int64
sv_query_interval_arg(Node *arg, const char *argname)
{
	Node	   *value = eval_const_expressions(NULL, arg);

	if (!IsA(value, Const) || ((Const *) value)->consttype != INTERVALOID ||
		((Const *) value)->constisnull)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the %s of a view's window must be a constant interval", argname),
				 errhint("Write it as a literal, for example '10 minutes'.")));
	return sv_window_interval(DatumGetIntervalP(((Const *) value)->constvalue),
							  argname, false);
}

/*
 * Reads the window function of the FROM list: hop(ts, size, slide) or
 * tumble(ts, size) of streamview, ts a column of the stream.
 */
static void
sv_query_window(Query *q, int stream_rte, int window_rte, SvQuery *out)
{
	RangeTblEntry *rte = rt_fetch(window_rte, q->rtable);
	RangeTblFunction *rtf;
	FuncExpr   *fn;
	Var		   *ts;

	if (list_length(rte->functions) != 1 || rte->funcordinality)
		sv_query_refuse("ROWS FROM and WITH ORDINALITY are");
	rtf = linitial_node(RangeTblFunction, rte->functions);
	fn = (FuncExpr *) rtf->funcexpr;
	if (!IsA(fn, FuncExpr) ||
		!(sv_query_is_ours(fn->funcid, "hop") || sv_query_is_ours(fn->funcid, "tumble")))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the function in FROM must be streamview.hop() or streamview.tumble()"),
				 errhint(SV_QUERY_HINT)));
	ts = (Var *) linitial(fn->args);
	if (!IsA(ts, Var) || ts->varno != stream_rte || ts->varlevelsup != 0 ||
		ts->varattno <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the time of a view's window must be a column of the stream"),
				 errhint("Pass a timestamp or timestamptz column of the stream to hop() or tumble().")));
	out->time_column = ts->varattno - 1;
	out->time_type = ts->vartype;
	out->window_args = list_copy_tail(fn->args, 1);
	out->size_usec = sv_query_interval_arg(lsecond(fn->args), "size");
	out->slide_usec = list_length(fn->args) > 2 ?
		sv_query_interval_arg(lthird(fn->args), "slide") : out->size_usec;
	sv_window_check(out->size_usec, out->slide_usec);
}

/*
 * Whether an aggregate is hll_add_agg(hll_hashval) of the hll extension; if
 * so, describes it as a sketch: each batch builds a group's hll with
 * hll_empty() and hll_add(), and the table unions them (hll_union,
 * hll_union_agg), all looked up in the extension's schema.
 */
static bool
sv_query_sketch(Aggref *agg, SvQueryAgg *out)
{
	Oid			hll = get_extension_oid("hll", true);
	Oid			nsp = get_func_namespace(agg->aggfnoid);
	char	   *nspname;
	Oid			two[2];

	if (!OidIsValid(hll) || strcmp(get_func_name(agg->aggfnoid), "hll_add_agg") != 0 ||
		getExtensionOfObject(ProcedureRelationId, agg->aggfnoid) != hll ||
		list_length(agg->args) != 1)
		return false;
	nspname = get_namespace_name(nsp);
	out->kind = SV_AGG_SKETCH;
	out->acc = SV_ACC_SKETCH;
	out->emptyfn = LookupFuncName(list_make2(makeString(nspname), makeString("hll_empty")),
								  0, NULL, false);
	two[0] = agg->aggtype;
	two[1] = out->argtype;
	out->addfn = LookupFuncName(list_make2(makeString(nspname), makeString("hll_add")),
								2, two, false);
	out->union_sql = psprintf("%s.hll_union", quote_identifier(nspname));
	out->union_agg_sql = psprintf("%s.hll_union_agg", quote_identifier(nspname));
	return true;
}

/*
 * Describes one supported aggregate, or refuses it: count, sum, avg, min and
 * max of pg_catalog, with one argument (count: or *), without DISTINCT or
 * ORDER BY, optionally with FILTER; and hll_add_agg of the hll extension.
 */
static void
sv_query_aggregate(Aggref *agg, int window_rte, SvQueryAgg *out)
{
	const char *name = get_func_name(agg->aggfnoid);
	Oid			argtype = InvalidOid;

	memset(out, 0, sizeof(SvQueryAgg));
	if (agg->aggdistinct == NIL && agg->aggorder == NIL && agg->args != NIL)
	{
		out->arg = linitial_node(TargetEntry, agg->args)->expr;
		out->argtype = exprType((Node *) out->arg);
		if (sv_query_sketch(agg, out))
		{
			sv_query_check_expr((Node *) out->arg, window_rte);
			out->filter = agg->aggfilter;
			if (out->filter)
				sv_query_check_expr((Node *) out->filter, window_rte);
			out->restype = agg->aggtype;
			return;
		}
	}
	if (get_func_namespace(agg->aggfnoid) != PG_CATALOG_NAMESPACE ||
		agg->aggkind != AGGKIND_NORMAL || list_length(agg->args) > 1 ||
		!(strcmp(name, "count") == 0 || strcmp(name, "sum") == 0 ||
		  strcmp(name, "avg") == 0 || strcmp(name, "min") == 0 ||
		  strcmp(name, "max") == 0))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("aggregate %s is not supported in a streamview view", name),
				 errhint("Use count, sum, avg, min or max, each optionally with FILTER (WHERE ...), or hll_add_agg of the hll extension.")));
	if (agg->aggdistinct != NIL)
		sv_query_refuse("DISTINCT in aggregates is");
	if (agg->aggorder != NIL)
		sv_query_refuse("ORDER BY in aggregates is");
	memset(out, 0, sizeof(SvQueryAgg));
	if (agg->args != NIL)
	{
		out->arg = linitial_node(TargetEntry, agg->args)->expr;
		argtype = exprType((Node *) out->arg);
		sv_query_check_expr((Node *) out->arg, window_rte);
	}
	out->filter = agg->aggfilter;
	if (out->filter)
		sv_query_check_expr((Node *) out->filter, window_rte);
	out->argtype = argtype;
	out->restype = agg->aggtype;
	out->collation = agg->inputcollid;
	if (strcmp(name, "count") == 0)
	{
		out->kind = SV_AGG_COUNT;
		out->acc = SV_ACC_NONE;
		return;
	}
	if (strcmp(name, "min") == 0 || strcmp(name, "max") == 0)
	{
		TypeCacheEntry *tc = lookup_type_cache(argtype, TYPECACHE_CMP_PROC);

		out->kind = name[1] == 'i' ? SV_AGG_MIN : SV_AGG_MAX;
		out->acc = SV_ACC_ORDER;
		if (!OidIsValid(tc->cmp_proc) || type_is_array(argtype))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("%s of type %s is not supported in a streamview view", name,
							format_type_be(argtype)),
					 errhint("The min and max aggregates take a type with a default btree ordering.")));
		return;
	}
	out->kind = strcmp(name, "sum") == 0 ? SV_AGG_SUM : SV_AGG_AVG;
	switch (argtype)
	{
		case INT2OID:
		case INT4OID:
			out->acc = SV_ACC_INT;
			out->sumtype = INT8OID;
			break;
		case INT8OID:
		case NUMERICOID:
			out->acc = SV_ACC_NUMERIC;
			out->sumtype = NUMERICOID;
			break;
		case FLOAT4OID:
		case FLOAT8OID:
			out->acc = SV_ACC_FLOAT;
			out->sumtype = FLOAT8OID;
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("%s of type %s is not supported in a streamview view", name,
							format_type_be(argtype)),
					 errhint("The sum and avg aggregates take smallint, integer, bigint, real, double precision or numeric.")));
	}
}

/* The GROUP BY clause whose sort-group reference is ref, or NULL. */
static SortGroupClause *
sv_query_group_clause(Query *q, Index ref)
{
	ListCell   *lc;

	foreach(lc, q->groupClause)
	{
		SortGroupClause *sgc = lfirst(lc);

		if (sgc->tleSortGroupRef == ref)
			return sgc;
	}
	return NULL;
}

/* Whether an expression is the window RTE's column attno (1 start, 2 end). */
static bool
sv_query_is_window_col(Expr *expr, int window_rte, AttrNumber attno)
{
	return IsA(expr, Var) && ((Var *) expr)->varno == window_rte &&
		((Var *) expr)->varattno == attno && ((Var *) expr)->varlevelsup == 0;
}

/* Refuses a results column name used twice or reserved by streamview. */
static void
sv_query_check_name(SvQuery *out, const char *name)
{
	if (strcmp(name, "final") == 0 || strcmp(name, SV_ROWS_COLUMN) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_COLUMN),
				 errmsg("column name \"%s\" is reserved for streamview's own column", name),
				 errhint("Give the select-list item another name with AS.")));
	for (int i = 0; i < out->ncolumns; i++)
	{
		if (strcmp(out->columns[i].name, name) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_COLUMN),
					 errmsg("column name \"%s\" appears more than once in the select list", name),
					 errhint("Give the select-list items distinct names with AS; they name the results table's columns.")));
	}
}

/*
 * Reads the select list in order: window_start, window_end, GROUP BY items
 * and aggregates; anything else is refused. Every GROUP BY item must be in
 * the select list (it keys the results table).
 */
static void
sv_query_select_list(Query *q, int window_rte, SvQuery *out)
{
	ListCell   *lc;
	bool		has_start = false;
	bool		has_end = false;

	out->columns = palloc0(sizeof(SvQueryColumn) * list_length(q->targetList));
	out->keys = palloc0(sizeof(SvQueryKey) * Max(1, list_length(q->targetList)));
	out->aggs = palloc0(sizeof(SvQueryAgg) * Max(1, list_length(q->targetList)));
	foreach(lc, q->targetList)
	{
		TargetEntry *tle = lfirst(lc);
		SvQueryColumn *col = &out->columns[out->ncolumns];
		bool		grouped = tle->ressortgroupref != 0 &&
			sv_query_group_clause(q, tle->ressortgroupref) != NULL;

		if (tle->resjunk)
		{
			if (grouped)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("every GROUP BY item must be in the select list of a streamview view"),
						 errdetail("The GROUP BY items key the results table."),
						 errhint("Add the item to the select list.")));
			continue;
		}
		sv_query_check_name(out, tle->resname);
		col->name = pstrdup(tle->resname);
		if (grouped && sv_query_is_window_col(tle->expr, window_rte, 1))
		{
			if (has_start)
				sv_query_refuse("selecting window_start more than once is");
			col->kind = SV_COL_WINDOW_START;
			has_start = true;
		}
		else if (grouped && sv_query_is_window_col(tle->expr, window_rte, 2))
		{
			if (has_end)
				sv_query_refuse("selecting window_end more than once is");
			col->kind = SV_COL_WINDOW_END;
			has_end = true;
		}
		else if (grouped)
		{
			SvQueryKey *key = &out->keys[out->nkeys];

			sv_query_check_expr((Node *) tle->expr, window_rte);
			key->expr = tle->expr;
			key->type = exprType((Node *) tle->expr);
			key->typmod = exprTypmod((Node *) tle->expr);
			key->collation = exprCollation((Node *) tle->expr);
			/* the worker groups keys by their bytes: equal only if equal */
			if (OidIsValid(key->collation) &&
				!get_collation_isdeterministic(key->collation))
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("GROUP BY item \"%s\" has the nondeterministic collation \"%s\", which is not supported in a streamview view",
								col->name, get_collation_name(key->collation)),
						 errdetail("Streamview groups values that are equal byte for byte; a nondeterministic collation also treats other values as equal."),
						 errhint("Group by a normalised value instead, such as lower(name).")));
			if (!OidIsValid(get_array_type(key->type)) || type_is_array(key->type))
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("GROUP BY item \"%s\" of type %s is not supported in a streamview view",
								col->name, format_type_be(key->type)),
						 errhint("Group by values of scalar types; arrays and types without an array type are not supported.")));
			get_typlenbyval(key->type, &key->typlen, &key->typbyval);
			key->column = col->name;
			col->kind = SV_COL_KEY;
			col->index = out->nkeys++;
		}
		else if (IsA(tle->expr, Aggref))
		{
			sv_query_aggregate((Aggref *) tle->expr, window_rte, &out->aggs[out->naggs]);
			if (out->aggs[out->naggs].kind == SV_AGG_AVG &&
				strlen(col->name) + strlen(SV_AVG_COUNT_SUFFIX) >= NAMEDATALEN)
				ereport(ERROR,
						(errcode(ERRCODE_NAME_TOO_LONG),
						 errmsg("the name of avg column \"%s\" is too long", col->name),
						 errdetail("The results table keeps its state in columns \"%s%s\" and \"%s%s\", which must fit in %d bytes.",
								   col->name, SV_AVG_SUM_SUFFIX, col->name, SV_AVG_COUNT_SUFFIX,
								   NAMEDATALEN - 1),
						 errhint("Give the column a shorter name with AS.")));
			out->aggs[out->naggs].column = col->name;
			col->kind = SV_COL_AGG;
			col->index = out->naggs++;
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("select-list item \"%s\" is neither a GROUP BY item nor an aggregate, which is not supported in a streamview view",
							tle->resname),
					 errhint("Expressions over aggregates are computed when the results table is queried.")));
		out->ncolumns++;
	}
	if (!has_start)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("a streamview view must GROUP BY window_start and select it"),
				 errhint(SV_QUERY_HINT)));
	/* an avg column's state columns must not clash with another column */
	for (int a = 0; a < out->naggs; a++)
	{
		if (out->aggs[a].kind != SV_AGG_AVG)
			continue;
		sv_query_check_name(out, psprintf("%s" SV_AVG_SUM_SUFFIX, out->aggs[a].column));
		sv_query_check_name(out, psprintf("%s" SV_AVG_COUNT_SUFFIX, out->aggs[a].column));
	}
}

/* Collects the stream columns an expression reads (0-based). */
static Bitmapset *
sv_query_used(Node *expr, int stream_rte, Bitmapset *used)
{
	Bitmapset  *attnos = NULL;
	int			x = -1;

	pull_varattnos(expr, stream_rte, &attnos);
	while ((x = bms_next_member(attnos, x)) >= 0)
		used = bms_add_member(used, x + FirstLowInvalidHeapAttributeNumber - 1);
	return used;
}

static SvQuery *sv_query_describe(const char *sql);

/* Checks the analysed query as a whole, before its parts are read. */
static void
sv_query_check_query(Query *q)
{
	if (q->hasWindowFuncs)
		sv_query_refuse("window functions (OVER) are");
	if (q->hasSubLinks)
		sv_query_refuse("subqueries are");
	if (q->hasTargetSRFs)
		sv_query_refuse("set-returning functions in the select list are");
	if (q->groupingSets != NIL)
		sv_query_refuse("GROUPING SETS, ROLLUP and CUBE are");
	if (q->groupClause == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("a streamview view must GROUP BY window_start"),
				 errhint(SV_QUERY_HINT)));
	if (q->hasDistinctOn || q->distinctClause != NIL || q->havingQual != NULL ||
		q->sortClause != NIL || q->limitCount != NULL || q->cteList != NIL ||
		q->setOperations != NULL || q->rowMarks != NIL)
		sv_query_refuse("this clause is");
}

/*
 * Error context while a view's query is analysed: a position in it is shown
 * as a position in the query (LINE and QUERY), not in the statement that
 * called create_view, as PostgreSQL does for an SQL function's body.
 */
static void
sv_query_error_context(void *arg)
{
	int			pos = geterrposition();

	if (pos > 0)
	{
		errposition(0);
		internalerrposition(pos);
		internalerrquery((const char *) arg);
	}
	errcontext("query of the streamview view");
}

/*
 * Analyses a view's query as the current user and describes it. Raises
 * PostgreSQL's own errors (unknown column, type mismatch) with their
 * positions in the query, and 0A000 for what a view cannot be.
 */
SvQuery *
sv_query_analyze(const char *sql)
{
	ErrorContextCallback ctx;
	SvQuery    *out;

	ctx.callback = sv_query_error_context;
	ctx.arg = (void *) sql;
	ctx.previous = error_context_stack;
	error_context_stack = &ctx;
	out = sv_query_describe(sql);
	error_context_stack = ctx.previous;
	return out;
}

/* sv_query_analyze's work, under its error context. */
static SvQuery *
sv_query_describe(const char *sql)
{
	SelectStmt *select = sv_query_parse(sql);
	RangeVar   *rv = sv_query_from(select);
	SvStream   *stream = sv_query_stream(rv);
	RawStmt    *raw = makeNode(RawStmt);
	SvQuery    *out = palloc0(sizeof(SvQuery));
	Query	   *q;
	int			stream_rte = 0;
	int			window_rte = 0;
	ListCell   *lc;

	/* the stream stands in FROM as a subquery with its columns */
	foreach(lc, select->fromClause)
	{
		if (lfirst(lc) == (void *) rv)
			lfirst(lc) = sv_query_stream_subquery(stream, rv);
	}
	raw->stmt = (Node *) select;
	raw->stmt_location = 0;
	raw->stmt_len = 0;
	q = parse_analyze_fixedparams(raw, sql, NULL, 0, NULL);
	sv_query_check_query(q);
	sv_flatten_group_vars(q);
	for (int i = 1; i <= list_length(q->rtable); i++)
	{
		RangeTblEntry *rte = rt_fetch(i, q->rtable);

		if (sv_rte_is_group(rte))
			continue;
		else if (rte->rtekind == RTE_SUBQUERY)
			stream_rte = i;
		else if (rte->rtekind == RTE_FUNCTION)
			window_rte = i;
		else
			sv_query_refuse("this FROM item is");
	}
	out->stream = pstrdup(stream->name);
	out->stream_rte = stream_rte;
	sv_query_window(q, stream_rte, window_rte, out);
	if (q->jointree->quals)
	{
		sv_query_check_expr(q->jointree->quals, window_rte);
		out->filter = (Expr *) q->jointree->quals;
	}
	sv_query_select_list(q, window_rte, out);
	out->used = bms_make_singleton(out->time_column);
	out->used = sv_query_used((Node *) out->filter, stream_rte, out->used);
	for (int k = 0; k < out->nkeys; k++)
		out->used = sv_query_used((Node *) out->keys[k].expr, stream_rte, out->used);
	for (int a = 0; a < out->naggs; a++)
	{
		out->used = sv_query_used((Node *) out->aggs[a].arg, stream_rte, out->used);
		out->used = sv_query_used((Node *) out->aggs[a].filter, stream_rte, out->used);
	}
	return out;
}

/*
 * Records in pg_depend that the results table relid depends on what the
 * view's expressions use (functions, operators, types, collations of the
 * window's size and slide, the WHERE, the GROUP BY keys and the
 * aggregates' arguments and FILTERs), as
 * a PostgreSQL view does: DROP FUNCTION of one of them is then refused
 * (2BP01) unless CASCADE, which drops the results table (and so the view).
 * The worker analyses the query again from its text each time it starts,
 * and would otherwise fail on a dropped function and stop the stream.
 * Built-in objects are pinned and not recorded; the window function
 * (hop/tumble, the extension's own) is not among these expressions and
 * the others may not call streamview's functions, so DROP EXTENSION
 * streamview does not reach the results tables. pg_dump does not keep
 * these rows: a restored view is unguarded until it is created again.
 */
void
sv_query_record_dependencies(const SvQuery *q, Oid relid)
{
	ObjectAddress table;
	List	   *rtable = NIL;
	List	   *exprs = NIL;

	/* the expressions' Vars are the stream's: a subquery, no column deps */
	for (int i = 0; i < q->stream_rte; i++)
	{
		RangeTblEntry *rte = makeNode(RangeTblEntry);

		rte->rtekind = RTE_SUBQUERY;
		rtable = lappend(rtable, rte);
	}
	exprs = list_concat(exprs, q->window_args);
	if (q->filter != NULL)
		exprs = lappend(exprs, q->filter);
	for (int k = 0; k < q->nkeys; k++)
		exprs = lappend(exprs, q->keys[k].expr);
	for (int a = 0; a < q->naggs; a++)
	{
		if (q->aggs[a].arg != NULL)
			exprs = lappend(exprs, q->aggs[a].arg);
		if (q->aggs[a].filter != NULL)
			exprs = lappend(exprs, q->aggs[a].filter);
	}
	ObjectAddressSet(table, RelationRelationId, relid);
	recordDependencyOnExpr(&table, (Node *) exprs, rtable, DEPENDENCY_NORMAL);
}

/* The name of the results column that holds window_start. */
const char *
sv_query_window_start(const SvQuery *q)
{
	for (int i = 0; i < q->ncolumns; i++)
	{
		if (q->columns[i].kind == SV_COL_WINDOW_START)
			return q->columns[i].name;
	}
	elog(ERROR, "view query without window_start");
	return NULL;				/* keep compiler quiet */
}

/*
 * The SQL type of an aggregate's results column, without a typmod, and
 * for min/max of a collatable type with the aggregate's collation.
 */
char *
sv_query_agg_type(const SvQueryAgg *agg)
{
	char	   *type = format_type_extended(agg->restype, -1, FORMAT_TYPE_TYPEMOD_GIVEN);

	if (agg->acc == SV_ACC_ORDER && OidIsValid(agg->collation) &&
		agg->collation != DEFAULT_COLLATION_OID)
		return psprintf("%s COLLATE %s", type,
						generate_collation_name(agg->collation));
	return type;
}

/* The SQL type of a results column. */
static char *
sv_query_column_type(const SvQuery *q, const SvQueryColumn *col)
{
	switch (col->kind)
	{
		case SV_COL_WINDOW_START:
		case SV_COL_WINDOW_END:
			return format_type_be(q->time_type);
		case SV_COL_KEY:
			return format_type_with_typemod(q->keys[col->index].type,
											q->keys[col->index].typmod);
		case SV_COL_AGG:
			/* without a typmod: min(char(3)) is bpchar, not char(1) */
			return sv_query_agg_type(&q->aggs[col->index]);
	}
	return NULL;				/* keep compiler quiet */
}

/*
 * CREATE TABLE for a view's results: the select list's columns in order,
 * final, the rows of each group (for live_counts), then the hidden state of
 * avg columns ("<column>.sum" and "<column>.count"); keyed on window_start
 * and the GROUP BY items (NULLS NOT DISTINCT: a NULL key value is a group
 * like any other).
 */
char *
sv_query_table_sql(const SvQuery *q, const char *qualified)
{
	StringInfoData sql;
	StringInfoData key;

	initStringInfo(&sql);
	initStringInfo(&key);
	appendStringInfo(&sql, "CREATE TABLE %s (", qualified);
	for (int i = 0; i < q->ncolumns; i++)
	{
		const SvQueryColumn *col = &q->columns[i];
		bool		not_null = col->kind == SV_COL_WINDOW_START ||
			col->kind == SV_COL_WINDOW_END ||
			(col->kind == SV_COL_AGG && q->aggs[col->index].kind == SV_AGG_COUNT);

		appendStringInfo(&sql, "%s %s%s, ", quote_identifier(col->name),
						 sv_query_column_type(q, col), not_null ? " NOT NULL" : "");
		if (col->kind == SV_COL_WINDOW_START || col->kind == SV_COL_KEY)
			appendStringInfo(&key, "%s%s", key.len ? ", " : "", quote_identifier(col->name));
	}
	appendStringInfoString(&sql, "final boolean NOT NULL DEFAULT false, "
						   "\"" SV_ROWS_COLUMN "\" bigint NOT NULL DEFAULT 0");
	for (int a = 0; a < q->naggs; a++)
	{
		if (q->aggs[a].kind != SV_AGG_AVG)
			continue;
		appendStringInfo(&sql, ", %s %s, %s bigint NOT NULL DEFAULT 0",
						 quote_identifier(psprintf("%s" SV_AVG_SUM_SUFFIX, q->aggs[a].column)),
						 format_type_be(q->aggs[a].sumtype),
						 quote_identifier(psprintf("%s" SV_AVG_COUNT_SUFFIX, q->aggs[a].column)));
	}
	if (q->nkeys == 0)
		appendStringInfo(&sql, ", PRIMARY KEY (%s))", key.data);
	else
		appendStringInfo(&sql, ", UNIQUE NULLS NOT DISTINCT (%s))", key.data);
	return sql.data;
}
