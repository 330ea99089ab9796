/*-------------------------------------------------------------------------
 *
 * catalog.c
 *		The C side of the tenant catalog: where its relations are, and how
 *		a change to it reaches every backend.
 *
 * Ordinary DML on a table sends no invalidation, so the statement trigger
 * tenancy._catalog_changed() on tenancy.tenants and tenancy.members asks
 * for a relcache invalidation of the changed table.  PostgreSQL delivers it
 * to our own backend at the next command and to every other backend when
 * the change commits, at their next transaction start or lock acquisition
 * (and context.c polls once per statement).  The relcache callback below
 * then drops the relation OIDs cached here and tells context.c to forget
 * its lookups.  Changes to roles (pg_authid, pg_auth_members) do the same
 * through syscache callbacks, since membership flows through role grants.
 * Nothing here is shared between backends.
 *
 * Also defined here: tenancy.master_key_file (for the crypto subsystem),
 * tenancy.managed_schemas (read by the auto_register event trigger), and
 * the flag that keeps that trigger out of our own DDL.
 *
 *-------------------------------------------------------------------------
 */
#include "tenancy.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(tenancy_catalog_changed);
PG_FUNCTION_INFO_V1(tenancy_internal_ddl);
PG_FUNCTION_INFO_V1(tenancy_in_internal_ddl);

char	   *TenancyMasterKeyFile = NULL;
char	   *TenancyManagedSchemas = NULL;

/*
 * Relation OIDs looked up by name in schema tenancy, cached until any
 * relcache invalidation touches one of them (or everything).
 */
typedef struct TenancyRelidCacheEntry
{
	const char *relname;
	Oid			relid;
} TenancyRelidCacheEntry;

static TenancyRelidCacheEntry relid_cache[] = {
	{"tenants", InvalidOid},
	{"tenants_pkey", InvalidOid},
	{"tenants_slug_key", InvalidOid},
	{"members", InvalidOid},
	{"members_pkey", InvalidOid},
	{"tenant_keys", InvalidOid},
	{"tenant_keys_pkey", InvalidOid},
};

/*
 * Relcache callback: when one of our catalog relations (or every relation)
 * is invalidated, forget the OIDs and every lookup derived from them.
 */
static void
tenancy_relcache_callback(Datum arg, Oid relid)
{
	bool		ours = !OidIsValid(relid);
	int			i;

	for (i = 0; i < lengthof(relid_cache) && !ours; i++)
		ours = (relid_cache[i].relid == relid);

	if (!ours)
		return;

	for (i = 0; i < lengthof(relid_cache); i++)
		relid_cache[i].relid = InvalidOid;
	TenancyCatalogChanged();
}

/*
 * Syscache callback for pg_authid and pg_auth_members: a role gained or
 * lost superuser, was dropped, or was granted or revoked a role (perhaps
 * tenancy_admin, perhaps a group that is a tenant member).  Membership
 * decisions cached by context.c may be wrong now.
 */
static void
tenancy_role_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	TenancyCatalogChanged();
}

/*
 * Return the OID of relation "relname" in schema tenancy.  Only valid
 * inside a transaction; the answer is cached until invalidated.
 */
Oid
TenancyCatalogRelid(const char *relname, bool missing_ok)
{
	TenancyRelidCacheEntry *entry = NULL;
	Oid			nspid;
	Oid			relid;
	int			i;

	for (i = 0; i < lengthof(relid_cache); i++)
	{
		if (strcmp(relid_cache[i].relname, relname) == 0)
		{
			entry = &relid_cache[i];
			if (OidIsValid(entry->relid))
				return entry->relid;
			break;
		}
	}

	nspid = get_namespace_oid(TENANCY_SCHEMA, true);
	relid = OidIsValid(nspid) ? get_relname_relid(relname, nspid) : InvalidOid;
	if (!OidIsValid(relid))
	{
		if (missing_ok)
			return InvalidOid;
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("relation \"%s.%s\" does not exist", TENANCY_SCHEMA,
						relname),
				 errhint("Run CREATE EXTENSION tenancy in this database.")));
	}
	if (entry)
		entry->relid = relid;
	return relid;
}

/*
 * tenancy._catalog_changed(): statement trigger on tenancy.tenants and
 * tenancy.members.  Queues a relcache invalidation of the changed table so
 * that every backend drops its cached tenant lookups once this commits.
 */
Datum
tenancy_catalog_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("tenancy._catalog_changed() must be called as a trigger")));

	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));

	return PointerGetDatum(NULL);
}

/* Assign hook of tenancy.master_key_file: the key is reloaded on next use. */
static void
tenancy_master_key_assign(const char *newval, void *extra)
{
	TenancyCryptoMasterKeyChanged();
}

/*
 * Define the catalog's settings and register the relcache callback (once
 * per backend: _PG_init runs once).
 */
/*
 * "tenancy's own DDL is running": set by our functions around the DDL they
 * run on registered tables, read by the auto_register event trigger so
 * that it leaves that DDL alone.  A C variable rather than a setting, so
 * that no session can set it to slip its own DDL past the trigger (a
 * custom setting can be set by anyone, and outlives a pooled client).  It
 * holds the transaction nesting level that set it, and ends with that
 * (sub)transaction.
 */
static int	internal_ddl_level = 0;

static void
tenancy_internal_ddl_xact(XactEvent event, void *arg)
{
	internal_ddl_level = 0;
}

static void
tenancy_internal_ddl_subxact(SubXactEvent event, SubTransactionId mySubid,
							 SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB &&
		internal_ddl_level >= GetCurrentTransactionNestLevel())
		internal_ddl_level = 0;
}

/* tenancy._internal_ddl(on boolean) RETURNS boolean: set; returns the old state. */
Datum
tenancy_internal_ddl(PG_FUNCTION_ARGS)
{
	bool		was = internal_ddl_level > 0;

	internal_ddl_level = PG_GETARG_BOOL(0) ? GetCurrentTransactionNestLevel() : 0;
	PG_RETURN_BOOL(was);
}

/* tenancy._in_internal_ddl() RETURNS boolean */
Datum
tenancy_in_internal_ddl(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(internal_ddl_level > 0);
}

void
TenancyCatalogInit(void)
{
	DefineCustomStringVariable("tenancy.master_key_file",
							   "File holding the 32-byte master key (hex or base64).",
							   "Per-tenant keys are derived from it; the key itself is never shown.",
							   &TenancyMasterKeyFile,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY,
							   NULL, tenancy_master_key_assign, NULL);

	DefineCustomStringVariable("tenancy.managed_schemas",
							   "Schemas whose new tables with a tenant_id column are registered at once.",
							   "A comma-separated list; read by the tenancy_auto_register event trigger.",
							   &TenancyManagedSchemas,
							   "",
							   PGC_SUSET,
							   GUC_LIST_INPUT,
							   NULL, NULL, NULL);

	RegisterXactCallback(tenancy_internal_ddl_xact, NULL);
	RegisterSubXactCallback(tenancy_internal_ddl_subxact, NULL);
	CacheRegisterRelcacheCallback(tenancy_relcache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHOID, tenancy_role_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, tenancy_role_callback, (Datum) 0);
}
