/*-------------------------------------------------------------------------
 *
 * partition.c
 *		Partitions per tenant: plan-time pruning through the tenant context,
 *		and the lookups behind tenancy.partitions and isolate_tenant.
 *
 * The problem: every policy compares the tenant column with
 * tenancy.current_tenant(), which is STABLE, so the planner cannot prune
 * a table partitioned per tenant when it plans.  It plans every partition
 * and leaves pruning to executor start-up; planning time then grows with
 * the number of tenants (tens of milliseconds at a thousand partitions),
 * and a cached generic plan locks every partition at each execution.
 *
 * The fix (preloaded only): a planner hook replaces each call of
 * tenancy.current_tenant() in a query's WHERE and JOIN conditions and in
 * its row-level security quals by the tenant id in force, as a constant,
 * so the planner prunes to one partition as it would for a literal.  Two
 * things keep that exactly as safe as the call it replaces:
 *
 *	- A guard.  Each query level where something was folded gets the
 *	  one-time condition tenancy._tenant_guard('<id>'), evaluated once when
 *	  the plan starts.  It validates the context as current_tenant() does
 *	  (no tenant, a suspended tenant, a revoked membership, a context that
 *	  require_local expired: the same errors) and raises if the tenant in
 *	  force is not the one the plan was made for (which only a tenant
 *	  switch inside one statement can bring about: a function that sets
 *	  tenancy.tenant between two calls of a query it keeps planned).  It
 *	  never returns false, so it never turns an answer into an empty one.
 *	- Invalidation.  Plans that a folded query leaves in the plan cache
 *	  (prepared statements, PL/pgSQL) depend on the guard function; when
 *	  the session enters a different tenant than the one plans were folded
 *	  for, context.c calls TenancyFoldedPlansInvalidate(), which marks
 *	  exactly those cached plans invalid through the plan cache's own
 *	  syscache callback.  They are planned again, for the new tenant, at
 *	  their next use.  Leaving a tenant (RESET, the end of SET LOCAL)
 *	  invalidates nothing: a plan run without a tenant stops at its guard,
 *	  and coming back to the same tenant reuses it.
 *
 * Only queries that read a partitioned table are rewritten: elsewhere
 * folding buys no pruning, and the guard's Result node, which the planner
 * puts right above the scan, would cost every row a plan-node call (15 %
 * of a whole-tenant count(*), measured).  Target lists, RETURNING, CHECK
 * options and HAVING are left alone: folding there buys no pruning either,
 * and PL/pgSQL's fast path for simple expressions needs queries without
 * conditions.  MERGE is left alone too.
 *
 * Cursors and portals (also preloaded only): an execution of a plan that
 * depends on the tenant, folded or not, is pinned to the tenant in force
 * when it started.  Each later run of it (FETCH from a cursor, Execute of
 * a suspended portal) validates the context again and refuses another
 * tenant.  Stock PostgreSQL would go on serving the first tenant's rows
 * through an index scan keyed on current_tenant() (a key is computed once)
 * while filtering them out of a sequential scan; here neither happens.
 *
 * The lookups (tenancy._tenant_partition, tenancy._partition_tenants) read
 * the relcache's partition descriptor under AccessShareLock on the parent.
 *
 *-------------------------------------------------------------------------
 */
#include "tenancy.h"

#include "access/parallel.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/planner.h"
#include "parser/parse_func.h"
#include "partitioning/partbounds.h"
#include "partitioning/partdesc.h"
#include "rewrite/rewriteManip.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/partcache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(tenancy_tenant_guard);
PG_FUNCTION_INFO_V1(tenancy_tenant_partition);
PG_FUNCTION_INFO_V1(tenancy_partition_tenants);
PG_FUNCTION_INFO_V1(tenancy_run_as_owner);

static planner_hook_type prev_planner_hook = NULL;
static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;

/* GUC tenancy.fold_current_tenant: fold (on) or plan as stock (off). */
static bool tenancy_fold_current_tenant = true;

/*
 * OIDs of tenancy.current_tenant() and tenancy._tenant_guard(uuid), looked
 * up once and forgotten on any pg_proc invalidation (CREATE or DROP
 * EXTENSION among them).  InvalidOid with funcs_known: not installed here.
 */
static bool funcs_known = false;
static Oid	current_tenant_oid = InvalidOid;
static Oid	guard_oid = InvalidOid;
static uint32 current_tenant_hash = 0;
static uint32 guard_hash = 0;

/*
 * Executions (QueryDescs) of plans that depend on the tenant, from
 * ExecutorStart to ExecutorEnd, with the tenant each started in.  Emptied
 * at the end of every transaction (an aborted one skips ExecutorEnd).
 */
typedef struct PinnedExecution
{
	QueryDesc  *queryDesc;		/* hash key */
	bool		pinned;			/* false: started with no tenant in force */
	pg_uuid_t	tenant;
} PinnedExecution;

static HTAB *pinned_executions = NULL;

/* The tenant that cached plans were last folded for, if any. */
static bool folded_any = false;
static pg_uuid_t folded_for;
static uint32 folded_guard_hash = 0;

typedef struct FoldContext
{
	Const	   *tenant;			/* the constant that replaces the call */
	bool		folded;			/* something folded at this query level */
	bool		folded_any;		/* ... or at any level */
} FoldContext;

static void fold_query(Query *query, FoldContext *cxt);

static void
forget_funcs(Datum arg, int cacheid, uint32 hashvalue)
{
	funcs_known = false;
}

/* Look up our two functions (in a transaction, from the planner). */
static bool
lookup_funcs(void)
{
	if (!funcs_known)
	{
		Oid			uuid_arg[1] = {UUIDOID};

		current_tenant_oid =
			LookupFuncName(list_make2(makeString(TENANCY_SCHEMA), makeString("current_tenant")),
						   0, NULL, true);
		guard_oid =
			LookupFuncName(list_make2(makeString(TENANCY_SCHEMA), makeString("_tenant_guard")),
						   1, uuid_arg, true);
		current_tenant_hash = GetSysCacheHashValue1(PROCOID, ObjectIdGetDatum(current_tenant_oid));
		guard_hash = GetSysCacheHashValue1(PROCOID, ObjectIdGetDatum(guard_oid));
		funcs_known = true;
	}
	return OidIsValid(current_tenant_oid) && OidIsValid(guard_oid);
}

/* Is this node a call of tenancy.current_tenant()? */
static inline bool
is_current_tenant_call(Node *node)
{
	return IsA(node, FuncExpr) &&
		((FuncExpr *) node)->funcid == current_tenant_oid;
}

/* What the planner hook looks for before it copies or changes anything. */
typedef struct FoldScan
{
	bool		calls_current_tenant;
	bool		reads_partitioned;
} FoldScan;

/*
 * Does the query call tenancy.current_tenant(), and does it read a
 * partitioned table?  Copies nothing; stops once both are known.
 */
static bool
fold_scan_walker(Node *node, FoldScan *scan)
{
	if (node == NULL)
		return false;
	if (is_current_tenant_call(node))
		scan->calls_current_tenant = true;
	else if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;

		if (rte->rtekind == RTE_RELATION && rte->relkind == RELKIND_PARTITIONED_TABLE)
			scan->reads_partitioned = true;
		return false;
	}
	else if (IsA(node, Query))
		return query_tree_walker((Query *) node, fold_scan_walker, scan,
								 QTW_EXAMINE_RTES_BEFORE);
	if (scan->calls_current_tenant && scan->reads_partitioned)
		return true;
	return expression_tree_walker(node, fold_scan_walker, scan);
}

/*
 * Replace current_tenant() calls in an expression by the constant.  A
 * subquery inside it (a SubLink) is folded as a query level of its own.
 */
static Node *
fold_mutator(Node *node, FoldContext *cxt)
{
	if (node == NULL)
		return NULL;
	if (is_current_tenant_call(node))
	{
		cxt->folded = true;
		return (Node *) copyObject(cxt->tenant);
	}
	if (IsA(node, Query))
	{
		fold_query((Query *) node, cxt);
		return node;
	}
	return expression_tree_mutator(node, fold_mutator, cxt);
}

/* Fold the WHERE and JOIN ... ON conditions of a join tree, in place. */
static void
fold_jointree(Node *jtnode, FoldContext *cxt)
{
	ListCell   *lc;

	if (jtnode == NULL)
		return;
	if (IsA(jtnode, FromExpr))
	{
		FromExpr   *f = (FromExpr *) jtnode;

		foreach(lc, f->fromlist)
			fold_jointree(lfirst(lc), cxt);
		f->quals = fold_mutator(f->quals, cxt);
	}
	else if (IsA(jtnode, JoinExpr))
	{
		JoinExpr   *j = (JoinExpr *) jtnode;

		fold_jointree(j->larg, cxt);
		fold_jointree(j->rarg, cxt);
		j->quals = fold_mutator(j->quals, cxt);
	}
}

/*
 * Fold one query level in place (the planner owns its input and may
 * scribble on it), then the levels below it; guard each level that
 * folded something.
 */
static void
fold_query(Query *query, FoldContext *cxt)
{
	bool		outer_folded = cxt->folded;
	ListCell   *lc;

	cxt->folded = false;
	if (query->commandType != CMD_UTILITY && !TENANCY_IS_MERGE(query))
	{
		foreach(lc, query->rtable)
		{
			RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

			rte->securityQuals = (List *) fold_mutator((Node *) rte->securityQuals, cxt);
			if (rte->rtekind == RTE_SUBQUERY)
				fold_query(rte->subquery, cxt);
		}
		foreach(lc, query->cteList)
		{
			CommonTableExpr *cte = lfirst_node(CommonTableExpr, lc);

			if (IsA(cte->ctequery, Query))
				fold_query((Query *) cte->ctequery, cxt);
		}
		if (query->setOperations == NULL)
			fold_jointree((Node *) query->jointree, cxt);
	}

	if (cxt->folded)
	{
		FuncExpr   *guard;

		guard = makeFuncExpr(guard_oid, BOOLOID,
							 list_make1(copyObject(cxt->tenant)),
							 InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
		AddQual(query, (Node *) guard);
		cxt->folded_any = true;
	}
	cxt->folded = outer_folded;
}

/*
 * Planner hook: fold, plan, and record that the plan depends on the
 * guard function even if the planner proved the guard away.
 */
static PlannedStmt *
tenancy_partition_planner(Query *parse, const char *query_string,
						  int cursorOptions, ParamListInfo boundParams)
{
	PlannedStmt *result;
	FoldContext cxt = {NULL, false, false};
	FoldScan	scan = {false, false};
	pg_uuid_t	tenant;

	if (tenancy_fold_current_tenant &&
		parse->commandType != CMD_UTILITY &&
		lookup_funcs() &&
		TenancyContextTenantId(&tenant) &&
		(query_tree_walker(parse, fold_scan_walker, &scan, QTW_EXAMINE_RTES_BEFORE) ||
		 (scan.calls_current_tenant && scan.reads_partitioned)))
	{
		pg_uuid_t  *value = (pg_uuid_t *) palloc(sizeof(pg_uuid_t));

		*value = tenant;
		cxt.tenant = makeConst(UUIDOID, -1, InvalidOid, UUID_LEN,
							   UUIDPGetDatum(value), false, false);
		fold_query(parse, &cxt);
	}

	if (prev_planner_hook)
		result = prev_planner_hook(parse, query_string, cursorOptions, boundParams);
	else
		result = standard_planner(parse, query_string, cursorOptions, boundParams);

	if (cxt.folded_any)
	{
		PlanInvalItem *item = makeNode(PlanInvalItem);

		item->cacheId = PROCOID;
		item->hashValue = guard_hash;
		result->invalItems = lappend(result->invalItems, item);

		folded_any = true;
		folded_for = tenant;
		folded_guard_hash = item->hashValue;
	}
	return result;
}

/*
 * Does a plan depend on the tenant context?  The planner records every
 * non-built-in function a plan calls in its invalItems: current_tenant()
 * for plans that were not folded, the guard for those that were.
 */
static bool
plan_is_tenant_scoped(PlannedStmt *stmt)
{
	ListCell   *lc;

	if (stmt->commandType == CMD_UTILITY || !lookup_funcs())
		return false;
	foreach(lc, stmt->invalItems)
	{
		PlanInvalItem *item = lfirst_node(PlanInvalItem, lc);

		if (item->cacheId == PROCOID &&
			(item->hashValue == current_tenant_hash || item->hashValue == guard_hash))
			return true;
	}
	return false;
}

/* ExecutorStart hook: pin a tenant-scoped execution to the tenant in force. */
static void
tenancy_partition_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);

	/* A QueryDesc's address may be reused: forget what was there. */
	if (hash_get_num_entries(pinned_executions) > 0)
		hash_search(pinned_executions, &queryDesc, HASH_REMOVE, NULL);
	if ((eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0 && !IsParallelWorker() &&
		plan_is_tenant_scoped(queryDesc->plannedstmt))
	{
		PinnedExecution *entry;

		/* With no tenant in force yet, the first run pins it. */
		entry = hash_search(pinned_executions, &queryDesc, HASH_ENTER, NULL);
		entry->pinned = TenancyContextTenantId(&entry->tenant);
	}
}

/*
 * ExecutorRun hook: a pinned execution runs again (a FETCH, a portal's
 * next Execute) only in its own tenant, with the context valid for the
 * current role.
 */
static void
tenancy_partition_ExecutorRun(QueryDesc *queryDesc, ScanDirection direction,
							  uint64 count, bool execute_once)
{
	if (hash_get_num_entries(pinned_executions) > 0)
	{
		PinnedExecution *entry = hash_search(pinned_executions, &queryDesc,
											 HASH_FIND, NULL);

		if (entry != NULL && !entry->pinned)
		{
			/* Started with no tenant: the first run in a tenant pins it. */
			entry->pinned = TenancyContextTenantId(&entry->tenant);
		}
		else if (entry != NULL)
		{
			TenancyTenant tenant;

			TenancyCurrentTenant(&tenant, false);
			if (memcmp(&tenant.id, &entry->tenant, sizeof(pg_uuid_t)) != 0)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("tenancy: a cursor opened in another tenant cannot be read in tenant \"%s\"",
								tenant.slug),
						 errhint("Close cursors (and finish portals) before switching tenants.")));
		}
	}
	if (prev_ExecutorRun)
		prev_ExecutorRun(queryDesc, direction, count, execute_once);
	else
		standard_ExecutorRun(queryDesc, direction, count, execute_once);
}

static void
tenancy_partition_ExecutorEnd(QueryDesc *queryDesc)
{
	if (hash_get_num_entries(pinned_executions) > 0)
		hash_search(pinned_executions, &queryDesc, HASH_REMOVE, NULL);
	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

static void
forget_pinned_executions(XactEvent event, void *arg)
{
	HASH_SEQ_STATUS status;
	PinnedExecution *entry;

	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PREPARE)
		return;
	if (hash_get_num_entries(pinned_executions) == 0)
		return;
	hash_seq_init(&status, pinned_executions);
	while ((entry = hash_seq_search(&status)) != NULL)
		hash_search(pinned_executions, &entry->queryDesc, HASH_REMOVE, NULL);
}

/*
 * Called by the tenant GUC's assign hook with the tenant now in force (NULL
 * for none).  Entering a tenant other than the one plans were folded for
 * invalidates those plans.  Touches no catalog: only the plan cache's
 * flags, through its own callback.
 */
void
TenancyFoldedPlansInvalidate(const pg_uuid_t *tenant)
{
	if (!folded_any || tenant == NULL ||
		memcmp(tenant, &folded_for, sizeof(pg_uuid_t)) == 0)
		return;
	CallSyscacheCallbacks(PROCOID, folded_guard_hash);
	folded_any = false;
}

/*
 * tenancy._tenant_guard(tenant uuid) RETURNS boolean: the one-time check of
 * a folded plan.  Validates the context exactly as current_tenant() does,
 * and refuses to run a plan made for another tenant.  Returns true or
 * raises.
 */
Datum
tenancy_tenant_guard(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *planned = PG_GETARG_UUID_P(0);
	TenancyTenant tenant;

	TenancyCurrentTenant(&tenant, false);
	if (memcmp(&tenant.id, planned, sizeof(pg_uuid_t)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tenancy: the tenant changed to \"%s\" while a statement planned for another tenant was running",
						tenant.slug),
				 errdetail("A function called by the statement switched tenants between two calls of a query it had planned."),
				 errhint("Switch tenants between statements, not inside one; or SET tenancy.fold_current_tenant = off for such statements.")));
	PG_RETURN_BOOL(true);
}

/*
 * Open a parent for the lookups below: it must be partitioned by LIST on
 * one uuid column.  Returns NULL (and nothing locked) when it is not, with
 * missing_ok; raises otherwise.
 */
static Relation
open_tenant_partitioned(Oid relid)
{
	Relation	rel = table_open(relid, AccessShareLock);
	PartitionKey key;

	if (rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("table \"%s\" is not partitioned", RelationGetRelationName(rel)),
				 errhint("Declare it with PARTITION BY LIST (tenant_id).")));
	key = RelationGetPartitionKey(rel);
	if (key->strategy != PARTITION_STRATEGY_LIST || key->partnatts != 1 ||
		key->partattrs[0] == 0 || key->parttypid[0] != UUIDOID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
				 errmsg("table \"%s\" is not partitioned by list of a uuid column",
						RelationGetRelationName(rel)),
				 errhint("Declare it with PARTITION BY LIST (tenant_id).")));
	return rel;
}

/*
 * tenancy._tenant_partition(parent regclass, tenant uuid) RETURNS regclass:
 * the list partition holding exactly this tenant, or NULL (the tenant's
 * rows, if any, go to the default partition).  A binary search in the
 * partition bounds: constant time in practice at any tenant count.
 */
Datum
tenancy_tenant_partition(PG_FUNCTION_ARGS)
{
	Oid			parent = PG_GETARG_OID(0);
	Datum		tenant = PG_GETARG_DATUM(1);
	bool		exclusive = (PG_NARGS() < 3) || PG_GETARG_BOOL(2);
	Relation	rel = open_tenant_partitioned(parent);
	PartitionKey key = RelationGetPartitionKey(rel);
	PartitionDesc desc = RelationGetPartitionDesc(rel, true);
	Oid			result = InvalidOid;

	if (desc->nparts > 0 && desc->boundinfo->ndatums > 0)
	{
		bool		equal = false;
		int			i;

		i = partition_list_bsearch(&key->partsupfunc[0], key->partcollation,
								   desc->boundinfo, tenant, &equal);
		if (i >= 0 && equal && desc->boundinfo->indexes[i] >= 0)
		{
			PartitionBoundInfo bi = desc->boundinfo;
			int			part = bi->indexes[i];
			int			values = (bi->null_index == part) ? 1 : 0;
			int			j;

			/* Only a partition of this tenant alone is "its" partition. */
			for (j = 0; j < bi->ndatums && values < 2; j++)
				if (bi->indexes[j] == part)
					values++;
			if (values == 1 || !exclusive)
				result = desc->oids[part];
		}
	}
	table_close(rel, AccessShareLock);
	if (!OidIsValid(result))
		PG_RETURN_NULL();
	PG_RETURN_OID(result);
}

#if PG_VERSION_NUM < 150000
/* InitMaterializedSRF for PostgreSQL 14: a tuplestore for the whole result. */
static void
tenancy_init_materialized_srf(FunctionCallInfo fcinfo)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext oldcxt;
	TupleDesc	tupdesc;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		(rsinfo->allowedModes & SFRM_Materialize) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	oldcxt = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = tuplestore_begin_heap(true, false, work_mem);
	rsinfo->setDesc = CreateTupleDescCopy(tupdesc);
	MemoryContextSwitchTo(oldcxt);
}
#endif

/*
 * tenancy._partition_tenants(parent regclass)
 *		RETURNS TABLE (partition regclass, tenant_id uuid, kind text)
 * Every partition of the parent: 'tenant' partitions with the tenant whose
 * value they hold (one row per value), the 'default' partition, and the
 * 'bucket' partitions of a partitioned default.
 */
Datum
tenancy_partition_tenants(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Relation	rel;
	PartitionDesc desc;
	int			default_index = -1;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	rel = open_tenant_partitioned(PG_GETARG_OID(0));
	desc = RelationGetPartitionDesc(rel, true);

	if (desc->nparts > 0)
	{
		PartitionBoundInfo bounds = desc->boundinfo;

		default_index = bounds->default_index;
		for (i = 0; i < bounds->ndatums; i++)
		{
			Datum		values[3];
			bool		nulls[3] = {false, false, false};

			if (bounds->indexes[i] < 0)
				continue;
			values[0] = ObjectIdGetDatum(desc->oids[bounds->indexes[i]]);
			values[1] = bounds->datums[i][0];
			values[2] = CStringGetTextDatum("tenant");
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	if (default_index >= 0)
	{
		Oid			defoid = desc->oids[default_index];
		Datum		values[3];
		bool		nulls[3] = {false, true, false};

		values[0] = ObjectIdGetDatum(defoid);
		values[1] = (Datum) 0;
		values[2] = CStringGetTextDatum("default");
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);

		if (get_rel_relkind(defoid) == RELKIND_PARTITIONED_TABLE)
		{
			Relation	defrel = table_open(defoid, AccessShareLock);
			PartitionDesc buckets = RelationGetPartitionDesc(defrel, true);

			for (i = 0; i < buckets->nparts; i++)
			{
				values[0] = ObjectIdGetDatum(buckets->oids[i]);
				values[2] = CStringGetTextDatum("bucket");
				tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			}
			table_close(defrel, AccessShareLock);
		}
	}
	table_close(rel, AccessShareLock);
	return (Datum) 0;
}

/* Define the setting; install the planner hook (preloaded only). */
void
TenancyPartitionInit(void)
{
	DefineCustomBoolVariable("tenancy.fold_current_tenant",
							 "Plan tenant-scoped queries for the tenant in force, so that partitions per tenant are pruned when planning.",
							 "Needs shared_preload_libraries; off gives stock PostgreSQL planning (run-time pruning only, equally safe).",
							 &tenancy_fold_current_tenant,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	if (!TenancyPreloaded)
		return;
	CacheRegisterSyscacheCallback(PROCOID, forget_funcs, (Datum) 0);
	prev_planner_hook = planner_hook;
	planner_hook = tenancy_partition_planner;

	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(QueryDesc *);
		ctl.entrysize = sizeof(PinnedExecution);
		pinned_executions = hash_create("tenancy pinned executions", 16, &ctl,
										HASH_ELEM | HASH_BLOBS);
	}
	RegisterXactCallback(forget_pinned_executions, NULL);
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = tenancy_partition_ExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = tenancy_partition_ExecutorRun;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = tenancy_partition_ExecutorEnd;
}

/*
 * tenancy._run_as_owner(rel regclass, statement text, tenant uuid) RETURNS
 * bigint: run one statement ($1 = tenant, when given) as the owner of rel,
 * an ordinary or partitioned table that is not temporary, the way
 * PostgreSQL runs maintenance on a table (REFRESH MATERIALIZED VIEW, index
 * builds): the owner's user id and a security-restricted operation; for a
 * row move by a superuser caller (a tenant given), also the owner's own
 * FORCE ROW LEVEL SECURITY not applied (SECURITY_NOFORCE_RLS, as for
 * foreign-key checks).  Every statement the
 * extension runs on an application table goes through it (DDL of
 * registration and partitioning, moves, counts): planning a query on the
 * table folds its owner's IMMUTABLE functions in index predicates, and
 * foreign-key checks, triggers, CHECK constraints, generated columns and
 * casts are the owner's code, which must never run with the rights of the
 * extension's owner or of an administrator.  The caller must have the
 * privileges of the owner already (a superuser, as the extension's
 * SECURITY DEFINER functions are, or the owner): switching to the owner
 * only ever gives rights up.  Returns the value of a statement that yields
 * one bigint (SELECT count(*)), else the number of rows processed.
 */
Datum
tenancy_run_as_owner(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *query;
	Datum		arg;
	Oid			argtypes[1] = {UUIDOID};
	HeapTuple	tup;
	Oid			owner;
	Oid			save_userid;
	int			save_sec;
	int			sec;
	char		relkind;
	char		relpersistence;
	int			rc;
	int64		result;
	bool		isnull = false;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table and statement must not be null")));
	relid = PG_GETARG_OID(0);
	query = text_to_cstring(PG_GETARG_TEXT_PP(1));
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	relkind = ((Form_pg_class) GETSTRUCT(tup))->relkind;
	relpersistence = ((Form_pg_class) GETSTRUCT(tup))->relpersistence;
	ReleaseSysCache(tup);
	if ((relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE) ||
		relpersistence == RELPERSISTENCE_TEMP)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an application table", get_rel_name(relid)),
				 errhint("tenancy._run_as_owner() runs statements on ordinary and partitioned tables only.")));

	GetUserIdAndSecContext(&save_userid, &save_sec);
	if (!has_privs_of_role(save_userid, owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of table %s", get_rel_name(relid)),
				 errhint("Ask the table's owner, or a superuser, to run this.")));
	/*
	 * The owner's FORCE ROW LEVEL SECURITY is set aside only for moving a
	 * tenant's rows (a tenant given), and only for a superuser caller (the
	 * extension's SECURITY DEFINER isolate_tenant): the flag holds for
	 * everything the statement calls, the owner's definer functions too.
	 */
	sec = save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION;
	if (!PG_ARGISNULL(2) && superuser_arg(save_userid))
		sec |= SECURITY_NOFORCE_RLS;
	SetUserIdAndSecContext(owner, sec);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (PG_ARGISNULL(2))
		rc = SPI_execute(query, false, 0);
	else
	{
		arg = PG_GETARG_DATUM(2);
		rc = SPI_execute_with_args(query, 1, argtypes, &arg, NULL, false, 0);
	}
	if (rc < 0)
		elog(ERROR, "statement run as table owner failed: %s", SPI_result_code_string(rc));
	if (SPI_tuptable != NULL && SPI_processed == 1 &&
		SPI_tuptable->tupdesc->natts == 1 &&
		TupleDescAttr(SPI_tuptable->tupdesc, 0)->atttypid == INT8OID)
		result = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
											 SPI_tuptable->tupdesc, 1, &isnull));
	else
		result = (int64) SPI_processed;
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
	/* (an error above is undone by the (sub)transaction's abort) */
	SetUserIdAndSecContext(save_userid, save_sec);
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_INT64(result);
}
