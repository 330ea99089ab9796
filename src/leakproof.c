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
 * or a client-supplied parameter into a call of tenancy._like or
 * tenancy._ilike.  Those are LEAKPROOF (their only error cannot depend on
 * a row when the pattern is not a row's) and carry the built-ins' planner
 * support functions, so the planner derives the same prefix index
 * conditions.  Every other use, a pattern from a column, an outer query,
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

/* A constant pattern the built-in would reject only for matching rows. */
static bool
const_pattern_invalid(Node *pattern)
{
	Const	   *c;

	pattern = strip_relabel(pattern);
	if (!IsA(pattern, Const))
		return false;
	c = (Const *) pattern;
	return !c->constisnull && pattern_ends_in_escape(DatumGetTextPP(c->constvalue));
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
		pattern_is_safe(lsecond(args)) && !const_pattern_invalid(lsecond(args)))
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
		GuardContext cxt = {InvalidOid, InvalidOid, false};

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
 * Before any row is looked at: refuse a pattern that is not the query's
 * own (a direct call with a column as the pattern), and raise the
 * built-in's escape error for every row alike, never only for the rows it
 * would have matched.  The checks are made once per call site and
 * execution (fn_extra), when the pattern is a constant or parameter.
 */
static void
check_pattern(FunctionCallInfo fcinfo, const char *name)
{
	FmgrInfo   *flinfo = fcinfo->flinfo;
	Node	   *expr = flinfo ? flinfo->fn_expr : NULL;
	Node	   *pattern = NULL;

	if (flinfo && flinfo->fn_extra == (void *) check_pattern)
		return;
	if (expr && IsA(expr, FuncExpr) && list_length(((FuncExpr *) expr)->args) == 2)
		pattern = lsecond(((FuncExpr *) expr)->args);
	if (expr && (pattern == NULL || !pattern_is_safe(pattern)))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("%s accepts only a constant or parameter as its pattern", name),
				 errdetail("It is LEAKPROOF, so it may run on rows the policy hides; a pattern taken from a row could reveal them."),
				 errhint("Use the LIKE or ILIKE operator; the planner puts %s in place where it is safe.", name)));
	if (pattern_ends_in_escape(PG_GETARG_TEXT_PP(1)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_ESCAPE_SEQUENCE),
				 errmsg("LIKE pattern must not end with escape character"),
				 errhint("Escape a trailing backslash as \\\\, or give another escape character with ESCAPE.")));
	if (expr)
		flinfo->fn_extra = (void *) check_pattern;
}

Datum
tenancy_like(PG_FUNCTION_ARGS)
{
	check_pattern(fcinfo, "tenancy._like");
	return DirectFunctionCall2Coll(textlike, PG_GET_COLLATION(),
								   PG_GETARG_DATUM(0), PG_GETARG_DATUM(1));
}

Datum
tenancy_ilike(PG_FUNCTION_ARGS)
{
	check_pattern(fcinfo, "tenancy._ilike");
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
