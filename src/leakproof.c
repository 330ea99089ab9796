/*-------------------------------------------------------------------------
 *
 * leakproof.c
 *		Keep LIKE and ILIKE index conditions under row-level security,
 *		without marking any built-in LEAKPROOF.
 *
 * The problem: under RLS, PostgreSQL uses a user predicate as an index
 * condition (or evaluates it before the policy) only if its function is
 * LEAKPROOF.  textlike and texticlike are not, and rightly so: their one
 * data-dependent error ("LIKE pattern must not end with escape character")
 * depends on the pattern, so with a pattern read from a row ('x' LIKE
 * secret) an error could tell a tenant something about another tenant's
 * row.  So name LIKE 'abc%' becomes a filter over every row of the tenant.
 *
 * The fix, by construction rather than by exception: a planner hook
 * (preloaded only) rewrites each LIKE or ILIKE whose pattern is a constant
 * or a client-supplied parameter known to the plan into a call of
 * tenancy._like or tenancy._ilike.  Those are LEAKPROOF and carry the
 * built-ins' planner support functions, so the planner derives the same
 * prefix index conditions.  LEAKPROOF means they raise no error that
 * depends on a row, and more: they run after the query's other leakproof
 * conditions, so any error at all would tell whether a hidden row got
 * that far.  So the hook leaves the built-in wherever the built-in could
 * raise (a pattern ending in an escape, a nondeterministic or missing
 * collation, a parameter whose value the plan is not made for), and the
 * wrappers answer NULL, never an error, to any call the hook would not
 * have made.  Every other use, a pattern from a column, an outer query,
 * a subquery, an inlined function or LIKE ANY, keeps the non-leakproof
 * built-in and stays behind the policy as in stock PostgreSQL.  Nothing in
 * pg_catalog changes, and a form the hook does not recognise is simply not
 * accelerated.
 *
 * No state is kept between queries.
 *
 *-------------------------------------------------------------------------
 */
#include "tenancy.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/params.h"
#include "optimizer/optimizer.h"
#include "optimizer/planner.h"
#include "parser/parse_func.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"

PG_FUNCTION_INFO_V1(tenancy_like);
PG_FUNCTION_INFO_V1(tenancy_ilike);
PG_FUNCTION_INFO_V1(tenancy_leakproof_guard_active);

static planner_hook_type prev_planner_hook = NULL;

/* GUC tenancy.leakproof_like: the guard can be turned off (to compare). */
static bool tenancy_leakproof_like = true;

typedef struct GuardContext
{
	Oid			like;			/* tenancy._like(text, text) */
	Oid			ilike;			/* tenancy._ilike(text, text) */
	bool		looked_up;
	ParamListInfo params;		/* the values of a custom plan, if any */
} GuardContext;

/* Look the wrappers up once per planned query that needs them. */
static void
lookup_wrappers(GuardContext *cxt)
{
	Oid			argtypes[2] = {TEXTOID, TEXTOID};

	if (cxt->looked_up)
		return;
	cxt->like = LookupFuncName(list_make2(makeString(TENANCY_SCHEMA), makeString("_like")),
							   2, argtypes, true);
	cxt->ilike = LookupFuncName(list_make2(makeString(TENANCY_SCHEMA), makeString("_ilike")),
								2, argtypes, true);
	cxt->looked_up = true;
}

/*
 * Is this pattern safe to evaluate before the policy: a constant, or a
 * parameter the client supplied (never one carrying a row's value from an
 * outer query)?
 */
static Node *
strip_relabel(Node *node)
{
	while (node && IsA(node, RelabelType))
		node = (Node *) ((RelabelType *) node)->arg;
	return node;
}

static bool
pattern_is_safe(Node *pattern)
{
	pattern = strip_relabel(pattern);
	if (IsA(pattern, Const))
		return true;
	if (IsA(pattern, Param))
		return ((Param *) pattern)->paramkind == PARAM_EXTERN;
	return false;
}

/*
 * Does a LIKE pattern end in an unescaped escape character?  That is the
 * built-ins' one data-dependent error, and they raise it only once the
 * characters before it have matched the row.  (A byte walk is exact: in
 * every server encoding a backslash byte is a backslash.)
 */
static bool
pattern_ends_in_escape(text *pattern)
{
	const char *p = VARDATA_ANY(pattern);
	int			len = VARSIZE_ANY_EXHDR(pattern);

	for (int i = 0; i < len; i++)
	{
		if (p[i] == '\\')
		{
			if (i + 1 >= len)
				return true;
			i++;
		}
	}
	return false;
}

/*
 * May the guard rewrite this LIKE?  Only when no error can come of it:
 * tenancy._like runs before the policy, after the query's other leakproof
 * conditions, so an error raised for some row would tell whether a hidden
 * row passed them.  So: a constant pattern that does not end in an escape,
 * or a parameter whose value this (custom) plan is made for and which
 * does not either (a generic plan, whose value comes later, keeps the
 * built-in), and a collation LIKE accepts (a valid, deterministic one).
 */
static bool
rewrite_is_safe(Node *pattern, Oid collid, GuardContext *cxt)
{
	pattern = strip_relabel(pattern);
	if (!OidIsValid(collid) || !get_collation_isdeterministic(collid))
		return false;
	if (IsA(pattern, Const))
	{
		Const	   *c = (Const *) pattern;

		return c->constisnull || !pattern_ends_in_escape(DatumGetTextPP(c->constvalue));
	}
	if (IsA(pattern, Param) && ((Param *) pattern)->paramkind == PARAM_EXTERN)
	{
		Param	   *p = (Param *) pattern;
		ParamListInfo params = cxt->params;
		ParamExternData *prm;
		ParamExternData prmdata;

		if (params == NULL || p->paramid <= 0 || p->paramid > params->numParams)
			return false;
		if (params->paramFetch != NULL)
			prm = params->paramFetch(params, p->paramid, true, &prmdata);
		else
			prm = &params->params[p->paramid - 1];
		if (prm == NULL || prm->ptype != p->paramtype || !(prm->pflags & PARAM_FLAG_CONST))
			return false;
		return prm->isnull || !pattern_ends_in_escape(DatumGetTextPP(prm->value));
	}
	return false;
}

/* The wrapper for a LIKE-family function, or InvalidOid. */
static Oid
wrapper_for(Oid funcid, GuardContext *cxt)
{
	if (funcid != F_TEXTLIKE && funcid != F_TEXTICLIKE)
		return InvalidOid;
	lookup_wrappers(cxt);
	return funcid == F_TEXTLIKE ? cxt->like : cxt->ilike;
}

static Node *
guard_mutator(Node *node, GuardContext *cxt)
{
	Oid			funcid = InvalidOid;
	List	   *args = NIL;
	Oid			collid = InvalidOid;
	int			location = -1;
	Oid			wrapper;

	if (node == NULL)
		return NULL;
	if (IsA(node, Query))
		return (Node *) query_tree_mutator((Query *) node, guard_mutator, cxt, 0);
	if (IsA(node, OpExpr))
	{
		OpExpr	   *op = (OpExpr *) node;

		set_opfuncid(op);
		funcid = op->opfuncid;
		args = op->args;
		collid = op->inputcollid;
		location = op->location;
	}
	else if (IsA(node, FuncExpr))
	{
		FuncExpr   *f = (FuncExpr *) node;

		funcid = f->funcid;
		args = f->args;
		collid = f->inputcollid;
		location = f->location;
	}

	if (OidIsValid(funcid) && list_length(args) == 2 &&
		OidIsValid(wrapper = wrapper_for(funcid, cxt)) &&
		rewrite_is_safe(lsecond(args), collid, cxt))
	{
		FuncExpr   *f;

		args = (List *) expression_tree_mutator((Node *) args, guard_mutator, cxt);
		f = makeFuncExpr(wrapper, BOOLOID, args, InvalidOid, collid,
						 COERCE_EXPLICIT_CALL);
		f->location = location;
		return (Node *) f;
	}
	return expression_tree_mutator(node, guard_mutator, cxt);
}

/*
 * Does the query hold a LIKE or ILIKE the mutator would rewrite?  A walk
 * copies nothing, so queries without one (most) cost a read of the tree.
 */
static bool
guard_needed_walker(Node *node, void *context)
{
	Oid			funcid = InvalidOid;
	List	   *args = NIL;

	if (node == NULL)
		return false;
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, guard_needed_walker, context, 0);
	if (IsA(node, OpExpr))
	{
		set_opfuncid((OpExpr *) node);
		funcid = ((OpExpr *) node)->opfuncid;
		args = ((OpExpr *) node)->args;
	}
	else if (IsA(node, FuncExpr))
	{
		funcid = ((FuncExpr *) node)->funcid;
		args = ((FuncExpr *) node)->args;
	}
	if ((funcid == F_TEXTLIKE || funcid == F_TEXTICLIKE) &&
		list_length(args) == 2 && pattern_is_safe(lsecond(args)))
		return true;
	return expression_tree_walker(node, guard_needed_walker, context);
}

/* Planner hook: rewrite constant-pattern LIKE/ILIKE, then plan as usual. */
static PlannedStmt *
tenancy_planner(Query *parse, const char *query_string, int cursorOptions,
				ParamListInfo boundParams)
{
	if (tenancy_leakproof_like && parse->commandType != CMD_UTILITY &&
		query_tree_walker(parse, guard_needed_walker, NULL, 0))
	{
		GuardContext cxt = {InvalidOid, InvalidOid, false, boundParams};

		parse = query_tree_mutator(parse, guard_mutator, &cxt, 0);
	}
	if (prev_planner_hook)
		return prev_planner_hook(parse, query_string, cursorOptions, boundParams);
	return standard_planner(parse, query_string, cursorOptions, boundParams);
}

/*
 * tenancy._like(value text, pattern text) / tenancy._ilike(...): LIKE and
 * ILIKE, declared LEAKPROOF with the built-ins' support functions.  Only
 * the planner hook puts them in a query, and only with a constant or
 * client-supplied pattern.
 */
/*
 * Is this call one the guard would have made?  The pattern a constant or
 * parameter (not a row's value: a direct call, or a SQL function inlined
 * with a column as its argument), not ending in an escape, the collation
 * deterministic.  The planner hook only makes such calls; anything else
 * yields NULL for every row alike and never an error, since an error
 * raised for some rows would tell whether a hidden row reached the call.
 * Checked once per call site and execution (fn_extra) when the pattern is
 * fixed for it.
 */
static bool
call_is_safe(FunctionCallInfo fcinfo)
{
	FmgrInfo   *flinfo = fcinfo->flinfo;
	Node	   *expr = flinfo ? flinfo->fn_expr : NULL;
	Oid			collid = PG_GET_COLLATION();

	if (flinfo && flinfo->fn_extra == (void *) call_is_safe)
		return true;
	if (expr)
	{
		if (!IsA(expr, FuncExpr) || list_length(((FuncExpr *) expr)->args) != 2 ||
			!pattern_is_safe(lsecond(((FuncExpr *) expr)->args)))
			return false;
	}
	if (!OidIsValid(collid) || !get_collation_isdeterministic(collid) ||
		pattern_ends_in_escape(PG_GETARG_TEXT_PP(1)))
		return false;
	if (expr)
		flinfo->fn_extra = (void *) call_is_safe;
	return true;
}

Datum
tenancy_like(PG_FUNCTION_ARGS)
{
	if (!call_is_safe(fcinfo))
		PG_RETURN_NULL();
	return DirectFunctionCall2Coll(textlike, PG_GET_COLLATION(),
								   PG_GETARG_DATUM(0), PG_GETARG_DATUM(1));
}

Datum
tenancy_ilike(PG_FUNCTION_ARGS)
{
	if (!call_is_safe(fcinfo))
		PG_RETURN_NULL();
	return DirectFunctionCall2Coll(texticlike, PG_GET_COLLATION(),
								   PG_GETARG_DATUM(0), PG_GETARG_DATUM(1));
}

/* tenancy._leakproof_guard_active() RETURNS bool: is the planner hook in? */
Datum
tenancy_leakproof_guard_active(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(TenancyPreloaded);
}

/* Define the setting; install the planner hook (preloaded only). */
void
TenancyLeakproofInit(void)
{
	DefineCustomBoolVariable("tenancy.leakproof_like",
							 "Keep LIKE and ILIKE with constant patterns usable as index conditions under row-level security.",
							 "Needs shared_preload_libraries; off gives stock PostgreSQL behaviour (slower, equally safe).",
							 &tenancy_leakproof_like,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	if (!TenancyPreloaded)
		return;
	prev_planner_hook = planner_hook;
	planner_hook = tenancy_planner;
}
