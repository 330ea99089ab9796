/*-------------------------------------------------------------------------
 *
 * leakproof.c
 *		The guard that makes tenancy.mark_leakproof() safe: LIKE and ILIKE
 *		are marked LEAKPROOF so that a constant pattern can be an index
 *		condition under row-level security, yet a pattern taken from a row
 *		must never be evaluated before the policy.
 *
 * Why: textlike's one data-dependent error ("LIKE pattern must not end
 * with escape character") depends on the pattern operand.  With a constant
 * pattern, the error reveals nothing about rows.  With a pattern read from
 * a column ('x' LIKE secret), evaluating it below the policy would let an
 * error tell that some other tenant's row ends in a backslash.
 *
 * How: a planner hook (preloaded only) walks each query before planning.
 * Every LIKE-family operator or function call whose pattern argument
 * contains a column reference is redirected to a wrapper function that is
 * NOT leakproof and otherwise calls the same built-in.  The planner then
 * keeps that clause above the security barrier, as stock PostgreSQL does
 * for any non-leakproof clause.  Constant and parameter patterns keep the
 * leakproof built-in and stay index conditions.
 *
 * The guard runs whether or not mark_leakproof() was called: it costs one
 * tree walk per planned query and changes nothing while the built-ins are
 * not leakproof.  No state is kept between queries.
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

PG_FUNCTION_INFO_V1(tenancy_like_row_pattern);
PG_FUNCTION_INFO_V1(tenancy_leakproof_guard_active);

static planner_hook_type prev_planner_hook = NULL;

/* The built-ins whose pattern operand the guard watches, in argument 2. */
static const Oid guarded_funcs[] = {
	F_TEXTLIKE, F_TEXTNLIKE, F_TEXTICLIKE, F_TEXTICNLIKE,
	F_BPCHARLIKE, F_BPCHARICLIKE
};

typedef struct GuardContext
{
	Oid			wrapper;		/* tenancy._like_row_pattern(regproc, ...) */
	bool		looked_up;
} GuardContext;

static bool
is_guarded(Oid funcid)
{
	int			i;

	for (i = 0; i < lengthof(guarded_funcs); i++)
		if (guarded_funcs[i] == funcid)
			return true;
	return false;
}

/*
 * The wrapper's OID: tenancy._like_row_pattern(regproc, text, text).  Looked up
 * only when a query needs it.
 */
static Oid
wrapper_oid(GuardContext *cxt)
{
	if (!cxt->looked_up)
	{
		Oid			argtypes[3] = {REGPROCOID, TEXTOID, TEXTOID};
		List	   *name = list_make2(makeString(TENANCY_SCHEMA),
									  makeString("_like_row_pattern"));

		cxt->wrapper = LookupFuncName(name, 3, argtypes, true);
		cxt->looked_up = true;
	}
	return cxt->wrapper;
}

/*
 * Rewrite "a LIKE col" (operator or function form) into
 * tenancy._like_row_pattern('textlike'::regproc, a, col).
 */
static Node *
guard_call(Oid funcid, List *args, Oid collid, int location, GuardContext *cxt)
{
	Oid			wrapper = wrapper_oid(cxt);
	FuncExpr   *f;
	Node	   *lhs = linitial(args);

	if (!OidIsValid(wrapper))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("function tenancy._like_row_pattern(regproc, text, text) is missing"),
				 errhint("Run ALTER EXTENSION tenancy UPDATE, or turn LIKE back to non-leakproof with tenancy.mark_leakproof(false).")));

	/* bpchar operands become text, as the wrapper takes text. */
	if (exprType(lhs) == BPCHAROID)
		lhs = (Node *) makeRelabelType((Expr *) lhs, TEXTOID, -1, collid,
									   COERCE_IMPLICIT_CAST);

	f = makeFuncExpr(wrapper, BOOLOID,
					 list_make3(makeConst(REGPROCOID, -1, InvalidOid, sizeof(Oid),
										  ObjectIdGetDatum(funcid), false, true),
								lhs, lsecond(args)),
					 InvalidOid, collid, COERCE_EXPLICIT_CALL);
	f->location = location;
	return (Node *) f;
}

static Node *
guard_mutator(Node *node, GuardContext *cxt)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Query))
		return (Node *) query_tree_mutator((Query *) node, guard_mutator, cxt, 0);
	if (IsA(node, OpExpr))
	{
		OpExpr	   *op = (OpExpr *) node;

		set_opfuncid(op);
		if (is_guarded(op->opfuncid) && list_length(op->args) == 2 &&
			contain_var_clause(lsecond(op->args)))
		{
			List	   *args = (List *) expression_tree_mutator((Node *) op->args,
																guard_mutator, cxt);

			return guard_call(op->opfuncid, args, op->inputcollid, op->location, cxt);
		}
	}
	else if (IsA(node, FuncExpr))
	{
		FuncExpr   *f = (FuncExpr *) node;

		if (is_guarded(f->funcid) && list_length(f->args) == 2 &&
			contain_var_clause(lsecond(f->args)))
		{
			List	   *args = (List *) expression_tree_mutator((Node *) f->args,
																guard_mutator, cxt);

			return guard_call(f->funcid, args, f->inputcollid, f->location, cxt);
		}
	}
	return expression_tree_mutator(node, guard_mutator, cxt);
}

/*
 * Planner hook: rewrite row-derived LIKE patterns, then plan as usual.
 * Only when textlike is currently marked leakproof: otherwise there is
 * nothing to guard and the query is left untouched.
 */
static PlannedStmt *
tenancy_planner(Query *parse, const char *query_string, int cursorOptions,
				ParamListInfo boundParams)
{
	if (get_func_leakproof(F_TEXTLIKE) || get_func_leakproof(F_TEXTICLIKE))
	{
		GuardContext cxt = {InvalidOid, false};

		parse = query_tree_mutator(parse, guard_mutator, &cxt, 0);
	}
	if (prev_planner_hook)
		return prev_planner_hook(parse, query_string, cursorOptions, boundParams);
	return standard_planner(parse, query_string, cursorOptions, boundParams);
}

/*
 * tenancy._like_row_pattern(fn regproc, value text, pattern text) RETURNS bool:
 * calls the built-in "fn" (a LIKE-family function).  Deliberately NOT
 * leakproof; see the file header.
 */
Datum
tenancy_like_row_pattern(PG_FUNCTION_ARGS)
{
	Oid			fn = PG_GETARG_OID(0);

	if (!is_guarded(fn))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("function %u is not a LIKE-family function", fn)));
	if (fn == F_BPCHARLIKE)
		fn = F_TEXTLIKE;
	else if (fn == F_BPCHARICLIKE)
		fn = F_TEXTICLIKE;
	return OidFunctionCall2Coll(fn, PG_GET_COLLATION(),
								PG_GETARG_DATUM(1), PG_GETARG_DATUM(2));
}

/* tenancy._leakproof_guard_active() RETURNS bool: is the planner hook in? */
Datum
tenancy_leakproof_guard_active(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(TenancyPreloaded);
}

/* Install the planner hook (preloaded only). */
void
TenancyLeakproofInit(void)
{
	if (!TenancyPreloaded)
		return;
	prev_planner_hook = planner_hook;
	planner_hook = tenancy_planner;
}
