/*-------------------------------------------------------------------------
 *
 * audit.c
 *		The audit trigger (tenancy._audit_trigger) and the keyed hash used
 *		to seal the audit trail (tenancy._audit_mac).
 *
 * The trigger is an AFTER ROW trigger for INSERT, UPDATE and DELETE and an
 * AFTER STATEMENT trigger for TRUNCATE.  Its arguments are the tenant
 * column and the excluded columns, so no catalog is read per row.  What it
 * needs per relation (key columns, tenant column, how to turn each column
 * into jsonb) is built once and kept in a backend-local hash table in
 * "tenancy audit cache" (a child of TopMemoryContext); a relcache
 * invalidation of the relation (or of all relations) drops its entry.
 *
 * Each entry is written inside the caller's transaction (so a rollback,
 * of the transaction or of a savepoint, takes the entry with it): straight
 * into the month's partition of tenancy.audit_log (heap insert and index
 * maintenance; the partition found once per transaction as tuple routing
 * would), or, when that partition is not a plain table laid out like the
 * parent, by an SPI INSERT prepared once per backend.  The relations are
 * opened and closed per row, so DDL on the log later in the same
 * transaction is not blocked.  The write runs as the owner of
 * tenancy.audit_log
 * (SetUserIdAndSecContext with SECURITY_LOCAL_USERID_CHANGE, as
 * PostgreSQL's RI triggers do), so tenant roles need, and have, no
 * privilege on the log: nobody can forge an entry.  The previous user is
 * restored afterwards, and by (sub)transaction abort on error.
 *
 * tenancy._audit_event() writes lifecycle entries (OFFBOARD) the same way.
 * tenancy._audit_mac() keys HMAC-SHA256 with a key derived from the master
 * key (TenancyDeriveMasterKey), kept for one transaction and wiped at its
 * end.
 *
 * Per-row memory lives in a context reset after every row.
 *
 *-------------------------------------------------------------------------
 */
#include "tenancy.h"

#include <math.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/attmap.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "common/shortest_dec.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "port/pg_bswap.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_relation.h"
#include "partitioning/partbounds.h"
#include "partitioning/partdesc.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inet.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/partcache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

PG_FUNCTION_INFO_V1(tenancy_audit_trigger);
PG_FUNCTION_INFO_V1(tenancy_audit_mac);
PG_FUNCTION_INFO_V1(tenancy_audit_event);
PG_FUNCTION_INFO_V1(tenancy_audit_tag);

/* How a column's value becomes a jsonb value. */
typedef enum AuditCategory
{
	AUDIT_CAT_INT,				/* int2, int4, int8: a number */
	AUDIT_CAT_FLOAT,			/* float4, float8: a number if finite */
	AUDIT_CAT_NUMERIC,			/* numeric: a number if finite */
	AUDIT_CAT_BOOL,				/* boolean */
	AUDIT_CAT_TEXT,				/* text, varchar, bpchar: the string */
	AUDIT_CAT_OUTPUT,			/* uuid, name, ...: the output function */
	AUDIT_CAT_JSONB,			/* jsonb: nested as is */
	AUDIT_CAT_DATETIME,			/* date, timestamp[tz]: ISO 8601 */
	AUDIT_CAT_OTHER				/* anything else: to_jsonb() */
} AuditCategory;

typedef struct AuditColumn
{
	AuditCategory category;
	Oid			typid;
	Oid			basetype;
	int16		typlen;
	bool		typbyval;
	bool		audited;		/* not dropped and not excluded */
	char	   *name;
	FmgrInfo	func;			/* output function or to_jsonb */
} AuditColumn;

/* Per-relation information, keyed by the relation the trigger fired on. */
typedef struct AuditRelInfo
{
	Oid			relid;			/* hash key, must be first */
	bool		valid;
	Oid			tgoid;			/* the trigger whose arguments it follows */
	MemoryContext cxt;			/* holds everything below; NULL if none */
	char	   *table_name;		/* qualified name of the registered root */
	AttrNumber	tenant_attnum;	/* 0: no tenant column */
	int			nkeys;			/* 0: no key, the whole row identifies */
	AttrNumber *keys;
	int			natts;
	AuditColumn *cols;
	AttrNumber *order;			/* audited columns in jsonb key order */
	int			norder;
} AuditRelInfo;

static MemoryContext audit_cxt = NULL;
static HTAB *audit_rels = NULL;
static MemoryContext audit_row_cxt = NULL;
static SPIPlanPtr audit_plan = NULL;
static Oid	audit_log_relid = InvalidOid;
static Oid	audit_log_owner = InvalidOid;
static Oid	audit_log_seq = InvalidOid;

/*
 * The partition this transaction's entries go to ("at" is the transaction
 * start, so it is one partition per transaction), and whether it can be
 * written directly (a plain table laid out like the parent) or only
 * through the SPI INSERT.
 */
static LocalTransactionId target_lxid = InvalidLocalTransactionId;
static Oid	target_part = InvalidOid;
static bool target_direct = false;

/* Names of the last users seen, and this backend's client address. */
static Oid	cached_user = InvalidOid;
static text *cached_user_name = NULL;
static Oid	cached_session_user = InvalidOid;
static text *cached_session_user_name = NULL;
static bool client_addr_known = false;
static Datum client_addr = (Datum) 0;
static bool client_addr_null = true;

/* The sealing key, derived once per transaction and wiped at its end. */
static uint8 seal_key[32];
static bool seal_key_loaded = false;

/* A relation changed: forget what we know about it (or about all). */
static void
audit_relcache_callback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	AuditRelInfo *info;

	if (relid == InvalidOid || relid == audit_log_relid || relid == target_part)
	{
		audit_log_relid = InvalidOid;
		audit_log_owner = InvalidOid;
		audit_log_seq = InvalidOid;
		target_lxid = InvalidLocalTransactionId;
		target_part = InvalidOid;
	}
	if (audit_rels == NULL)
		return;
	if (relid != InvalidOid)
	{
		info = hash_search(audit_rels, &relid, HASH_FIND, NULL);
		if (info)
			info->valid = false;
		return;
	}
	hash_seq_init(&status, audit_rels);
	while ((info = hash_seq_search(&status)) != NULL)
		info->valid = false;
}

/* Role names can change: forget the cached ones. */
static void
audit_authid_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	cached_user = InvalidOid;
	cached_session_user = InvalidOid;
}

/* The sealing key never outlives the transaction that derived it. */
static void
audit_xact_callback(XactEvent event, void *arg)
{
	if (seal_key_loaded &&
		(event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		 event == XACT_EVENT_PARALLEL_COMMIT ||
		 event == XACT_EVENT_PARALLEL_ABORT || event == XACT_EVENT_PREPARE))
	{
		explicit_bzero(seal_key, sizeof(seal_key));
		seal_key_loaded = false;
	}
}

/* Called from _PG_init: register the invalidation callbacks. */
void
TenancyAuditInit(void)
{
	CacheRegisterRelcacheCallback(audit_relcache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHOID, audit_authid_callback, (Datum) 0);
	RegisterXactCallback(audit_xact_callback, NULL);
}

/* Create the cache context and hash table on first use. */
static void
audit_init_cache(void)
{
	HASHCTL		ctl;

	if (audit_rels != NULL)
		return;
	audit_cxt = AllocSetContextCreate(TopMemoryContext, "tenancy audit cache",
									  ALLOCSET_SMALL_SIZES);
	audit_row_cxt = AllocSetContextCreate(audit_cxt, "tenancy audit row",
										  ALLOCSET_DEFAULT_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(AuditRelInfo);
	ctl.hcxt = audit_cxt;
	audit_rels = hash_create("tenancy audit relations", 64, &ctl,
							 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/* The owner of tenancy.audit_log, as whom entries are written. */
static Oid
audit_owner(void)
{
	HeapTuple	tup;

	if (OidIsValid(audit_log_owner))
		return audit_log_owner;
	audit_log_relid = TenancyCatalogRelid("audit_log", false);
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(audit_log_relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", audit_log_relid);
	audit_log_owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	audit_log_seq = get_relname_relid("audit_log_id_seq",
									  ((Form_pg_class) GETSTRUCT(tup))->relnamespace);
	ReleaseSysCache(tup);
	return audit_log_owner;
}

/*
 * Is tenancy.audit_log laid out as audit_direct_insert() fills it (the
 * columns of this version, in this order, none dropped)?  A later version
 * that changes the table makes the trigger fall back to the SPI INSERT
 * until its library knows the new layout.
 */
static bool
audit_log_layout_ok(TupleDesc desc)
{
	static const char *const names[13] = {
		"id", "tenant_id", "at", "txid", "table_name", "op", "row_key",
		"old", "new", "db_user", "session_user", "application_name",
		"client_addr"
	};
	int			i;

	if (desc->natts != 13)
		return false;
	for (i = 0; i < 13; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || strcmp(NameStr(att->attname), names[i]) != 0)
			return false;
	}
	return true;
}

/*
 * Find the partition of tenancy.audit_log that "at" (the transaction's
 * start) falls in, as the executor's tuple routing would, once per
 * transaction; and decide whether it can be written directly: a plain
 * table with the parent's columns in the parent's order (else the SPI
 * INSERT routes and converts).  The caller holds a lock on the parent.
 */
static void
audit_find_target(Relation parent)
{
	PartitionKey key;
	PartitionDesc pd;
	PartitionBoundInfo bi;
	Datum		at = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	int			idx = -1;
	bool		equal;

	if (target_lxid == TENANCY_CURRENT_LXID && OidIsValid(target_part))
		return;
	target_part = InvalidOid;
	target_direct = false;
	key = RelationGetPartitionKey(parent);
	pd = RelationGetPartitionDesc(parent, true);
	bi = pd->boundinfo;
	if (key && key->strategy == PARTITION_STRATEGY_RANGE &&
		key->partnatts == 1 && pd->nparts > 0 && bi)
	{
		int			off = partition_range_datum_bsearch(key->partsupfunc,
														key->partcollation,
														bi, 1, &at, &equal);

		idx = bi->indexes[off + 1];
		if (idx < 0)
			idx = bi->default_index;
	}
	if (idx >= 0)
	{
		Relation	part = table_open(pd->oids[idx], RowExclusiveLock);

		target_part = RelationGetRelid(part);
		target_direct = part->rd_rel->relkind == RELKIND_RELATION &&
			audit_log_layout_ok(RelationGetDescr(parent)) &&
			build_attrmap_by_name_if_req(RelationGetDescr(parent),
										 RelationGetDescr(part)) == NULL;
		table_close(part, NoLock);
	}
	target_lxid = TENANCY_CURRENT_LXID;
}

/*
 * Insert an entry straight into its partition: heap insert plus index
 * maintenance, as the executor's INSERT would, without planning, routing
 * and executor start-up per row.  values/nulls are the 11 columns of the
 * SPI INSERT; id and at are filled in here.  Returns false when the
 * partition cannot be written directly (the caller then uses SPI).
 */
static bool
audit_direct_insert(Datum *values, const char *nulls)
{
	Oid			parent_oid = audit_log_relid;
	Oid			seq_oid = audit_log_seq;
	Relation	parent;
	Relation	part;
	ResultRelInfo *rri;
	EState	   *estate;
	TupleTableSlot *slot;
	int			i;

	/* (copies: invalidations processed while locking reset the statics) */
	if (!OidIsValid(parent_oid) || !OidIsValid(seq_oid))
		return false;

	/*
	 * Later rows of the transaction go straight to the partition found for
	 * the first one.  Its lock is normally held already; if it had to be
	 * taken again (the savepoint that took it was rolled back), the
	 * invalidations received meanwhile (a detached partition) reset the
	 * cache, and the partition is looked up again through the parent.
	 */
	part = NULL;
	if (target_lxid == TENANCY_CURRENT_LXID && OidIsValid(target_part) &&
		target_direct)
	{
		part = table_open(target_part, RowExclusiveLock);
		if (target_lxid != TENANCY_CURRENT_LXID ||
			target_part != RelationGetRelid(part))
		{
			table_close(part, NoLock);
			part = NULL;
		}
	}
	if (part == NULL)
	{
		LockRelationOid(parent_oid, RowExclusiveLock);
		parent = RelationIdGetRelation(parent_oid);
		if (!RelationIsValid(parent))
			elog(ERROR, "could not open relation with OID %u", parent_oid);
		PG_TRY();
		{
			audit_find_target(parent);
		}
		PG_FINALLY();
		{
			RelationClose(parent);
		}
		PG_END_TRY();
		if (!target_direct)
			return false;
		part = table_open(target_part, RowExclusiveLock);
	}
	estate = CreateExecutorState();
	rri = makeNode(ResultRelInfo);
	InitResultRelInfo(rri, part, 0, NULL, 0);
	ExecOpenIndices(rri, false);
	slot = table_slot_create(part, NULL);
	ExecClearTuple(slot);
	slot->tts_values[0] = Int64GetDatum(nextval_internal(seq_oid, false));
	slot->tts_isnull[0] = false;
	slot->tts_values[2] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	slot->tts_isnull[2] = false;
	for (i = 0; i < 11; i++)
	{
		int			col = (i == 0) ? 1 : i + 2;

		slot->tts_values[col] = values[i];
		slot->tts_isnull[col] = (nulls[i] == 'n');
	}
	ExecStoreVirtualTuple(slot);
	table_tuple_insert(part, slot, GetCurrentCommandId(true), 0, NULL);
	if (rri->ri_NumIndices > 0)
		(void) ExecInsertIndexTuples(rri, slot, estate, false, false, NULL, NIL);
	ExecDropSingleTupleTableSlot(slot);
	ExecCloseIndices(rri);
	FreeExecutorState(estate);
	table_close(part, NoLock);
	return true;
}

/*
 * Build the to_jsonb() call for a column of a type we do not convert
 * ourselves: to_jsonb(anyelement) learns its argument's type from the
 * call expression, so give it one.
 */
static void
audit_init_to_jsonb(MemoryContext cxt, AuditColumn *col, Oid typid, int32 typmod,
					Oid collid)
{
	FuncExpr   *expr;
	MemoryContext old;

	fmgr_info_cxt(F_TO_JSONB, &col->func, cxt);
	old = MemoryContextSwitchTo(cxt);
	expr = makeFuncExpr(F_TO_JSONB, JSONBOID,
						list_make1(makeNullConst(typid, typmod, collid)),
						InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
	MemoryContextSwitchTo(old);
	col->func.fn_expr = (Node *) expr;
}

/* Choose how each column is converted. */
static void
audit_init_column(MemoryContext cxt, AuditColumn *col, Form_pg_attribute att)
{
	Oid			typid = getBaseType(att->atttypid);
	Oid			outfunc;
	bool		varlena;

	col->typid = att->atttypid;
	col->basetype = typid;
	col->typlen = att->attlen;
	col->typbyval = att->attbyval;
	col->name = MemoryContextStrdup(cxt, NameStr(att->attname));
	switch (typid)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
			col->category = AUDIT_CAT_INT;
			return;
		case FLOAT4OID:
		case FLOAT8OID:
			col->category = AUDIT_CAT_FLOAT;
			return;
		case NUMERICOID:
			col->category = AUDIT_CAT_NUMERIC;
			return;
		case BOOLOID:
			col->category = AUDIT_CAT_BOOL;
			return;
		case TEXTOID:
		case VARCHAROID:
			col->category = AUDIT_CAT_TEXT;
			return;
		case JSONBOID:
			col->category = AUDIT_CAT_JSONB;
			return;
		case DATEOID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			col->category = AUDIT_CAT_DATETIME;
			return;
		case TIMEOID:
		case TIMETZOID:
		case UUIDOID:
		case NAMEOID:
		case BPCHAROID:
		case INETOID:
		case CIDROID:
		case MACADDROID:
		case BYTEAOID:
		case OIDOID:
			col->category = AUDIT_CAT_OUTPUT;
			getTypeOutputInfo(typid, &outfunc, &varlena);
			fmgr_info_cxt(outfunc, &col->func, cxt);
			return;
		default:
			col->category = AUDIT_CAT_OTHER;
			audit_init_to_jsonb(cxt, col, att->atttypid, att->atttypmod,
								att->attcollation);
			return;
	}
}

/*
 * The qualified name of the registered table this relation belongs to:
 * its topmost partition ancestor (a partition's trigger is a clone of the
 * parent's), or itself.
 */
static char *
audit_root_name(Relation rel)
{
	Oid			root = RelationGetRelid(rel);

	if (rel->rd_rel->relispartition)
	{
		List	   *ancestors = get_partition_ancestors(root);

		root = llast_oid(ancestors);
		list_free(ancestors);
	}
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(root)),
									  get_rel_name(root));
}

/* Sort attribute numbers by their column names in jsonb key order. */
static void
audit_sort_attnums(AuditRelInfo *info, AttrNumber *attnums, int n)
{
	int			i,
				j;

	for (i = 1; i < n; i++)
	{
		AttrNumber	a = attnums[i];
		const char *an = info->cols[a - 1].name;
		size_t		al = strlen(an);

		for (j = i; j > 0; j--)
		{
			const char *bn = info->cols[attnums[j - 1] - 1].name;
			size_t		bl = strlen(bn);

			if (bl < al || (bl == al && memcmp(bn, an, al) <= 0))
				break;
			attnums[j] = attnums[j - 1];
		}
		attnums[j] = a;
	}
}

/* Build (or rebuild) the cached information for a relation. */
static AuditRelInfo *
audit_rel_info(Relation rel, Trigger *trigger)
{
	Oid			relid = RelationGetRelid(rel);
	TupleDesc	tupdesc = RelationGetDescr(rel);
	AuditRelInfo *info;
	bool		found;
	MemoryContext old;
	Oid			keyidx;
	int			i;

	audit_init_cache();
	info = hash_search(audit_rels, &relid, HASH_ENTER, &found);

	/*
	 * Built for this very trigger: the row trigger and the TRUNCATE trigger
	 * of a table carry different arguments, and a TRUNCATE processes the
	 * table's invalidation before its trigger runs.
	 */
	if (found && info->valid && info->tgoid == trigger->tgoid)
		return info;
	/* New or stale: start from an empty context of its own. */
	if (found && info->cxt)
		MemoryContextDelete(info->cxt);
	info->cxt = NULL;
	info->valid = false;
	info->tgoid = trigger->tgoid;
	info->table_name = NULL;
	info->keys = NULL;
	info->order = NULL;
	info->norder = 0;
	info->cols = NULL;
	info->natts = 0;
	info->nkeys = 0;
	info->tenant_attnum = 0;
	info->cxt = AllocSetContextCreate(audit_cxt, "tenancy audit relation",
									  ALLOCSET_SMALL_SIZES);

	if (trigger->tgnargs < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("audit trigger \"%s\" on table \"%s\" has no tenant column argument",
						trigger->tgname, RelationGetRelationName(rel)),
				 errhint("Create the trigger with tenancy.enable_audit().")));

	old = MemoryContextSwitchTo(info->cxt);
	info->table_name = audit_root_name(rel);
	info->natts = tupdesc->natts;
	info->cols = palloc0(sizeof(AuditColumn) * tupdesc->natts);
	MemoryContextSwitchTo(old);

	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		info->cols[i].audited = !att->attisdropped;
		if (!att->attisdropped)
			audit_init_column(info->cxt, &info->cols[i], att);
	}

	/* The tenant column (first argument); it must exist. */
	info->tenant_attnum = attnameAttNum(rel, trigger->tgargs[0], false);
	if (info->tenant_attnum <= 0 ||
		TupleDescAttr(tupdesc, info->tenant_attnum - 1)->atttypid != UUIDOID)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("tenant column \"%s\" of audited table \"%s\" is missing or not of type uuid",
						trigger->tgargs[0], RelationGetRelationName(rel)),
				 errhint("Run tenancy.enable_audit() on the table again.")));

	/*
	 * Excluded columns (further arguments): the current names, then, after
	 * an empty argument, names they had before a rename or drop (kept by
	 * the event trigger, tenancy._audit_follow_columns).  A current name
	 * that no longer exists (renamed or dropped behind the event trigger's
	 * back) fails the write rather than exposing the renamed column; a
	 * former name excludes any column that takes it again.
	 */
	{
		bool		former = false;

		for (i = 1; i < trigger->tgnargs; i++)
		{
			AttrNumber	attnum;

			if (trigger->tgargs[i][0] == '\0')
			{
				former = true;
				continue;
			}
			attnum = attnameAttNum(rel, trigger->tgargs[i], false);
			if (attnum > 0)
				info->cols[attnum - 1].audited = false;
			else if (!former)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("excluded column \"%s\" of audited table \"%s\" does not exist",
								trigger->tgargs[i], RelationGetRelationName(rel)),
						 errdetail("It was renamed or dropped after tenancy.enable_audit() excluded it."),
						 errhint("Run tenancy.enable_audit() on the table again with the current column names.")));
		}
	}

	/* The key: the primary key, else the replica identity index. */
	keyidx = RelationGetPrimaryKeyIndex(rel);
	if (!OidIsValid(keyidx))
		keyidx = RelationGetReplicaIndex(rel);
	if (OidIsValid(keyidx))
	{
		Relation	idx = index_open(keyidx, AccessShareLock);
		int			n = idx->rd_index->indnkeyatts;
		int			k = 0;

		info->keys = MemoryContextAlloc(info->cxt, sizeof(AttrNumber) * Max(n, 1));
		for (i = 0; i < n; i++)
		{
			AttrNumber	a = idx->rd_index->indkey.values[i];

			if (a > 0 && info->cols[a - 1].audited)
				info->keys[k++] = a;
		}
		info->nkeys = k;
		index_close(idx, AccessShareLock);
	}

	/*
	 * jsonb stores object keys sorted (shorter first, then bytewise) and
	 * sorts what it is given; handing them over in that order makes the
	 * sort a single pass.
	 */
	info->order = MemoryContextAlloc(info->cxt, sizeof(AttrNumber) * Max(info->natts, 1));
	for (i = 0; i < info->natts; i++)
		if (info->cols[i].audited)
			info->order[info->norder++] = i + 1;
	audit_sort_attnums(info, info->order, info->norder);
	audit_sort_attnums(info, info->keys, info->nkeys);
	info->valid = true;
	return info;
}

/* A jsonb number from a numeric, or a string when it is not finite. */
static void
audit_numeric_value(Numeric num, JsonbValue *v)
{
	if (numeric_is_nan(num) || numeric_is_inf(num))
	{
		char	   *s = DatumGetCString(DirectFunctionCall1(numeric_out,
															NumericGetDatum(num)));

		v->type = jbvString;
		v->val.string.val = s;
		v->val.string.len = strlen(s);
		return;
	}
	v->type = jbvNumeric;
	v->val.numeric = num;
}

/* Push one column's value (not NULL) as a jsonb value. */
static void
audit_push_value(JsonbParseState **state, AuditColumn *col, Datum value)
{
	JsonbValue	v;
	Jsonb	   *jb;

	switch (col->category)
	{
		case AUDIT_CAT_INT:
			if (col->typlen == 2)
				audit_numeric_value(int64_to_numeric(DatumGetInt16(value)), &v);
			else if (col->typlen == 4)
				audit_numeric_value(int64_to_numeric(DatumGetInt32(value)), &v);
			else
				audit_numeric_value(int64_to_numeric(DatumGetInt64(value)), &v);
			break;
		case AUDIT_CAT_FLOAT:
			{
				/*
				 * The shortest decimal that reads back as the same value,
				 * whatever the writer's extra_float_digits (which can make
				 * float8out round away digits).
				 */
				char		buf[DOUBLE_SHORTEST_DECIMAL_LEN];
				bool		f4 = (col->typlen == 4);
				float8		f = f4 ? (float8) DatumGetFloat4(value) : DatumGetFloat8(value);

				if (isnan(f) || isinf(f))
				{
					v.type = jbvString;
					v.val.string.val = isnan(f) ? "NaN" : (f > 0 ? "Infinity" : "-Infinity");
					v.val.string.len = strlen(v.val.string.val);
					break;
				}
				if (f4)
					float_to_shortest_decimal_buf(DatumGetFloat4(value), buf);
				else
					double_to_shortest_decimal_buf(f, buf);
				audit_numeric_value(DatumGetNumeric(DirectFunctionCall3(numeric_in,
																		CStringGetDatum(buf),
																		ObjectIdGetDatum(InvalidOid),
																		Int32GetDatum(-1))), &v);
				break;
			}
		case AUDIT_CAT_NUMERIC:
			audit_numeric_value(DatumGetNumeric(value), &v);
			break;
		case AUDIT_CAT_BOOL:
			v.type = jbvBool;
			v.val.boolean = DatumGetBool(value);
			break;
		case AUDIT_CAT_TEXT:
			{
				text	   *t = DatumGetTextPP(value);

				v.type = jbvString;
				v.val.string.val = VARDATA_ANY(t);
				v.val.string.len = VARSIZE_ANY_EXHDR(t);
				break;
			}
		case AUDIT_CAT_OUTPUT:
			{
				char	   *s = OutputFunctionCall(&col->func, value);

				v.type = jbvString;
				v.val.string.val = s;
				v.val.string.len = strlen(s);
				break;
			}
		case AUDIT_CAT_DATETIME:
			{
				/* as to_jsonb() writes them (infinity included) */
				char	   *str = JsonEncodeDateTime(NULL, value, col->basetype, NULL);

				v.type = jbvString;
				v.val.string.val = str;
				v.val.string.len = strlen(str);
				break;
			}
		case AUDIT_CAT_JSONB:
		case AUDIT_CAT_OTHER:
			if (col->category == AUDIT_CAT_JSONB)
				jb = DatumGetJsonbP(value);
			else
				jb = DatumGetJsonbP(FunctionCall1(&col->func, value));
			v.type = jbvBinary;
			v.val.binary.data = &jb->root;
			v.val.binary.len = VARSIZE(jb) - VARHDRSZ;
			break;
	}
	(void) pushJsonbValue(state, WJB_VALUE, &v);
}

/* Push "name": value for one column. */
static void
audit_push_column(JsonbParseState **state, AuditColumn *col, Datum value,
				  bool isnull)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = col->name;
	k.val.string.len = strlen(col->name);
	(void) pushJsonbValue(state, WJB_KEY, &k);
	if (isnull)
	{
		JsonbValue	n;

		n.type = jbvNull;
		(void) pushJsonbValue(state, WJB_VALUE, &n);
	}
	else
		audit_push_value(state, col, value);
}

/*
 * A jsonb object of the given columns of a tuple (all audited columns when
 * attnums is NULL).  With "other", only the columns whose value differs
 * from the one in "other" (for UPDATE).
 */
static Datum
audit_row_jsonb(AuditRelInfo *info, HeapTuple tuple, TupleDesc tupdesc,
				const AttrNumber *attnums, int n, HeapTuple other)
{
	JsonbParseState *state = NULL;
	JsonbValue *res;
	int			i;

	(void) pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	if (attnums == NULL)
	{
		attnums = info->order;
		n = info->norder;
	}
	for (i = 0; i < n; i++)
	{
		AttrNumber	a = attnums[i];
		AuditColumn *col = &info->cols[a - 1];
		bool		isnull;
		Datum		value;

		if (!col->audited)
			continue;
		value = heap_getattr(tuple, a, tupdesc, &isnull);
		if (other)
		{
			bool		onull;
			Datum		ovalue = heap_getattr(other, a, tupdesc, &onull);

			if (isnull && onull)
				continue;
			if (!isnull && !onull)
			{
				if (datumIsEqual(value, ovalue, col->typbyval, col->typlen))
					continue;
				if (col->typlen == -1)
				{
					/* Same value, stored differently (TOAST, compression)? */
					struct varlena *a1 = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(value));
					struct varlena *a2 = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(ovalue));

					if (VARSIZE_ANY_EXHDR(a1) == VARSIZE_ANY_EXHDR(a2) &&
						memcmp(VARDATA_ANY(a1), VARDATA_ANY(a2), VARSIZE_ANY_EXHDR(a1)) == 0)
						continue;
				}
			}
		}
		audit_push_column(&state, col, value, isnull);
	}
	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbPGetDatum(JsonbValueToJsonb(res));
}

/* The name of a role, as text, cached for the last role asked about. */
static text *
audit_role_name(Oid roleid, Oid *cached_id, text **cached_name)
{
	if (*cached_id != roleid || *cached_name == NULL)
	{
		char	   *name = GetUserNameFromId(roleid, false);
		MemoryContext old = MemoryContextSwitchTo(audit_cxt);

		if (*cached_name)
			pfree(*cached_name);
		*cached_name = cstring_to_text(name);
		*cached_id = roleid;
		MemoryContextSwitchTo(old);
	}
	return *cached_name;
}

/* The client's address (NULL for a unix socket), computed once. */
static void
audit_client_addr(void)
{
	LOCAL_FCINFO(fcinfo, 0);
	Datum		d;
	MemoryContext old;

	if (client_addr_known)
		return;
	InitFunctionCallInfoData(*fcinfo, NULL, 0, InvalidOid, NULL, NULL);
	d = inet_client_addr(fcinfo);
	client_addr_null = fcinfo->isnull;
	if (!client_addr_null)
	{
		old = MemoryContextSwitchTo(audit_cxt);
		client_addr = datumCopy(d, false, -1);
		MemoryContextSwitchTo(old);
	}
	client_addr_known = true;
}

/* Prepare the INSERT into tenancy.audit_log once per backend. */
static SPIPlanPtr
audit_insert_plan(void)
{
	static const Oid argtypes[11] = {
		UUIDOID, INT8OID, TEXTOID, TEXTOID, JSONBOID, JSONBOID, JSONBOID,
		TEXTOID, TEXTOID, TEXTOID, INETOID
	};
	SPIPlanPtr	plan;

	if (audit_plan)
		return audit_plan;
	plan = SPI_prepare("INSERT INTO tenancy.audit_log (tenant_id, txid, table_name, op, row_key, "
					   "old, new, db_user, \"session_user\", application_name, client_addr) "
					   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
					   11, (Oid *) argtypes);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for the audit insert: %s",
			 SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed for the audit insert");
	audit_plan = plan;
	return plan;
}

/*
 * Fill in the columns every entry has (txid, writer, session) and write
 * the entry as the owner of the log; tenant roles have no rights on it.
 */
static void
audit_write(Datum *values, char *nulls)
{
	Oid			save_userid;
	int			save_sec;
	int			rc;

	audit_client_addr();
	values[1] = Int64GetDatum((int64) U64FromFullTransactionId(GetTopFullTransactionId()));
	values[7] = PointerGetDatum(audit_role_name(GetUserId(), &cached_user,
												&cached_user_name));
	values[8] = PointerGetDatum(audit_role_name(GetSessionUserId(),
												&cached_session_user,
												&cached_session_user_name));
	if (application_name && application_name[0] != '\0')
		values[9] = CStringGetTextDatum(application_name);
	else
		nulls[9] = 'n';
	values[10] = client_addr;
	if (client_addr_null)
		nulls[10] = 'n';

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(audit_owner(),
						   save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_NOFORCE_RLS);
	if (!audit_direct_insert(values, nulls))
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		rc = SPI_execute_plan(audit_insert_plan(), values, nulls, false, 0);
		if (rc != SPI_OK_INSERT)
			elog(ERROR, "audit insert failed: %s", SPI_result_code_string(rc));
		if (SPI_finish() != SPI_OK_FINISH)
			elog(ERROR, "SPI_finish failed");
	}
	SetUserIdAndSecContext(save_userid, save_sec);
}

/*
 * tenancy._audit_trigger(): write one audit entry for the row (or, for
 * TRUNCATE, for the statement), in the caller's transaction, as the
 * owner of the audit log.
 */
Datum
tenancy_audit_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	tupdesc;
	AuditRelInfo *info;
	HeapTuple	oldtup = NULL;
	HeapTuple	newtup = NULL;
	HeapTuple	keytup;
	const char *op;
	Datum		values[11];
	char		nulls[11];
	MemoryContext old;
	TenancyTenant tenant;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("tenancy._audit_trigger() may only be called as a trigger"),
				 errhint("Use tenancy.enable_audit() to audit a table.")));
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("tenancy._audit_trigger() must be fired AFTER the change"),
				 errhint("Use tenancy.enable_audit() to audit a table.")));

	rel = trigdata->tg_relation;
	tupdesc = RelationGetDescr(rel);
	info = audit_rel_info(rel, trigdata->tg_trigger);

	MemoryContextReset(audit_row_cxt);
	old = MemoryContextSwitchTo(audit_row_cxt);

	memset(nulls, ' ', sizeof(nulls));
	if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
	{
		if (!TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event))
			elog(ERROR, "TRUNCATE audit trigger must be FOR EACH STATEMENT");
		op = "TRUNCATE";
		if (TenancyCurrentTenant(&tenant, true))
			values[0] = UUIDPGetDatum(&tenant.id);
		else
			nulls[0] = 'n';
		nulls[4] = nulls[5] = nulls[6] = 'n';
	}
	else
	{
		if (!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
			elog(ERROR, "audit trigger must be FOR EACH ROW for INSERT, UPDATE and DELETE");
		if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		{
			op = "INSERT";
			newtup = trigdata->tg_trigtuple;
		}
		else if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		{
			op = "UPDATE";
			oldtup = trigdata->tg_trigtuple;
			newtup = trigdata->tg_newtuple;
		}
		else
		{
			op = "DELETE";
			oldtup = trigdata->tg_trigtuple;
		}
		keytup = oldtup ? oldtup : newtup;

		{
			bool		isnull;

			values[0] = heap_getattr(newtup ? newtup : oldtup,
									 info->tenant_attnum, tupdesc, &isnull);
			if (isnull)
				nulls[0] = 'n';
		}
		/* row_key: key columns, or (no usable key) every audited column */
		values[4] = info->nkeys > 0 ?
			audit_row_jsonb(info, keytup, tupdesc, info->keys, info->nkeys, NULL) :
			audit_row_jsonb(info, keytup, tupdesc, NULL, 0, NULL);
		if (oldtup && newtup)
		{
			values[5] = audit_row_jsonb(info, oldtup, tupdesc, NULL, 0, newtup);
			values[6] = audit_row_jsonb(info, newtup, tupdesc, NULL, 0, oldtup);
		}
		else if (oldtup)
		{
			values[5] = audit_row_jsonb(info, oldtup, tupdesc, NULL, 0, NULL);
			nulls[6] = 'n';
		}
		else
		{
			nulls[5] = 'n';
			values[6] = audit_row_jsonb(info, newtup, tupdesc, NULL, 0, NULL);
		}
	}

	values[2] = CStringGetTextDatum(info->table_name);
	values[3] = CStringGetTextDatum(op);

	audit_write(values, nulls);

	MemoryContextSwitchTo(old);
	MemoryContextReset(audit_row_cxt);

	return PointerGetDatum(NULL);
}

/* HMAC-SHA256 under the sealing key, derived once per transaction. */
static void
audit_hmac(const uint8 *data, size_t len, uint8 *out)
{
	unsigned int outlen = 32;

	if (!seal_key_loaded)
	{
		TenancyDeriveMasterKey("audit-seal", seal_key, sizeof(seal_key));
		seal_key_loaded = true;
	}
	if (HMAC(EVP_sha256(), seal_key, sizeof(seal_key), data, len, out,
			 &outlen) == NULL || outlen != 32)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("HMAC-SHA256 failed")));
}

/*
 * tenancy._audit_mac(data bytea) RETURNS bytea: HMAC-SHA256 of data under
 * the audit sealing key (derived from the master key for purpose
 * "audit-seal"; no tenant key is involved, so offboarding a tenant, which
 * destroys its keys, leaves its sealed entries verifiable).
 */
Datum
tenancy_audit_mac(PG_FUNCTION_ARGS)
{
	bytea	   *data = PG_GETARG_BYTEA_PP(0);
	bytea	   *result = (bytea *) palloc(VARHDRSZ + 32);

	audit_hmac((const uint8 *) VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data),
			   (uint8 *) VARDATA(result));
	SET_VARSIZE(result, VARHDRSZ + 32);
	PG_RETURN_BYTEA_P(result);
}

/* Per-call-site cache of tenancy._audit_tag(): the row type's send functions. */
typedef struct AuditTagCache
{
	Oid			rowtype;
	int			natts;
	FmgrInfo   *send;			/* per column; unused for raw columns */
	bool	   *raw;			/* text and jsonb: their stored bytes */
} AuditTagCache;

/*
 * tenancy._audit_tag(e tenancy.audit_log) RETURNS bytea: the entry's id (8
 * bytes, big-endian) and the first 8 bytes of the HMAC-SHA256, under the
 * sealing key, of the entry's canonical bytes: per column, a 4-byte length
 * (-1 for NULL) and the value: text and jsonb as stored (server encoding,
 * jsonb's canonical binary form), every other type by its binary send
 * function.  Neither settings (TimeZone, DateStyle, client_encoding) nor
 * the machine's byte order change it, so a restored log verifies.
 */
Datum
tenancy_audit_tag(PG_FUNCTION_ARGS)
{
	HeapTupleHeader rec = PG_GETARG_HEAPTUPLEHEADER(0);
	Oid			rowtype = HeapTupleHeaderGetTypeId(rec);
	TupleDesc	desc;
	HeapTupleData tuple;
	AuditTagCache *cache = (AuditTagCache *) fcinfo->flinfo->fn_extra;
	StringInfoData buf;
	uint8		mac[32];
	bytea	   *result;
	int64		id = 0;
	int			i;

	desc = lookup_rowtype_tupdesc(rowtype, HeapTupleHeaderGetTypMod(rec));
	if (cache == NULL || cache->rowtype != rowtype || cache->natts != desc->natts)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		cache = palloc0(sizeof(AuditTagCache));
		cache->rowtype = rowtype;
		cache->natts = desc->natts;
		cache->send = palloc0(sizeof(FmgrInfo) * Max(desc->natts, 1));
		cache->raw = palloc0(sizeof(bool) * Max(desc->natts, 1));
		for (i = 0; i < desc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, i);
			Oid			sendfn;
			bool		varlena;

			if (att->attisdropped)
				continue;
			if (att->atttypid == TEXTOID || att->atttypid == JSONBOID)
				cache->raw[i] = true;
			else
			{
				getTypeBinaryOutputInfo(att->atttypid, &sendfn, &varlena);
				fmgr_info_cxt(sendfn, &cache->send[i], fcinfo->flinfo->fn_mcxt);
			}
		}
		MemoryContextSwitchTo(old);
		fcinfo->flinfo->fn_extra = cache;
	}

	tuple.t_len = HeapTupleHeaderGetDatumLength(rec);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = rec;

	initStringInfo(&buf);
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		bool		isnull;
		Datum		value;
		const char *bytes;
		int32		len;
		uint32		nlen;

		if (att->attisdropped)
			continue;
		value = heap_getattr(&tuple, i + 1, desc, &isnull);
		if (i == 0 && !isnull && att->atttypid == INT8OID)
			id = DatumGetInt64(value);
		if (isnull)
		{
			nlen = pg_hton32((uint32) -1);
			appendBinaryStringInfo(&buf, (const char *) &nlen, 4);
			continue;
		}
		if (cache->raw[i])
		{
			struct varlena *v = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(value));

			bytes = VARDATA_ANY(v);
			len = VARSIZE_ANY_EXHDR(v);
		}
		else
		{
			bytea	   *b = SendFunctionCall(&cache->send[i], value);

			bytes = VARDATA(b);
			len = VARSIZE(b) - VARHDRSZ;
		}
		nlen = pg_hton32((uint32) len);
		appendBinaryStringInfo(&buf, (const char *) &nlen, 4);
		appendBinaryStringInfo(&buf, bytes, len);
	}
	ReleaseTupleDesc(desc);

	audit_hmac((const uint8 *) buf.data, buf.len, mac);
	pfree(buf.data);
	result = (bytea *) palloc(VARHDRSZ + 16);
	SET_VARSIZE(result, VARHDRSZ + 16);
	{
		uint64		nid = pg_hton64((uint64) id);

		memcpy(VARDATA(result), &nid, 8);
	}
	memcpy(VARDATA(result) + 8, mac, 8);
	explicit_bzero(mac, sizeof(mac));
	PG_RETURN_BYTEA_P(result);
}

/*
 * tenancy._audit_event(tenant_id uuid, op text, detail jsonb): record a
 * lifecycle event of a tenant (OFFBOARD) as an entry of table
 * tenancy.tenants, written like the trigger's entries (as the log's owner,
 * with the caller as db_user).  EXECUTE is granted to tenancy_admin only.
 */
Datum
tenancy_audit_event(PG_FUNCTION_ARGS)
{
	Datum		values[11];
	char		nulls[11];
	char	   *op;
	MemoryContext old;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("tenant and operation of an audit event must not be null"),
				 errhint("Call tenancy._audit_event(tenant_id, 'OFFBOARD', detail).")));
	op = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (strcmp(op, "OFFBOARD") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown audit event \"%s\"", op),
				 errhint("The only lifecycle event is OFFBOARD.")));
	audit_init_cache();
	old = MemoryContextSwitchTo(audit_row_cxt);
	memset(nulls, ' ', sizeof(nulls));
	values[0] = PG_GETARG_DATUM(0);
	values[2] = CStringGetTextDatum("tenancy.tenants");
	values[3] = CStringGetTextDatum(op);
	values[4] = DirectFunctionCall1(jsonb_in, CStringGetDatum(psprintf("{\"id\": \"%s\"}",
								   DatumGetCString(DirectFunctionCall1(uuid_out, PG_GETARG_DATUM(0))))));
	nulls[5] = 'n';
	if (PG_ARGISNULL(2))
		nulls[6] = 'n';
	else
		values[6] = PG_GETARG_DATUM(2);
	audit_write(values, nulls);
	MemoryContextSwitchTo(old);
	MemoryContextReset(audit_row_cxt);
	PG_RETURN_VOID();
}
