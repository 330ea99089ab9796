/*-------------------------------------------------------------------------
 *
 * context.c
 *		The tenant context: GUC tenancy.tenant, tenancy.require_local,
 *		tenancy.current_tenant() and the per-backend cache of tenant lookups.
 *
 * How a context comes to be trusted:
 *
 * 1.  SET / SET LOCAL / set_config / ALTER ROLE ... SET / a function's SET
 *	   clause all pass through tenancy_tenant_check().  Inside a transaction
 *	   it resolves the slug or uuid, checks that the current role is an
 *	   administrator or a member of the tenant, and that a non-administrator
 *	   is entering an active tenant.  It then stores the canonical uuid as
 *	   the GUC's value (SHOW displays the slug) and an immutable "extra"
 *	   recording the tenant, the role it was validated for, and the local
 *	   transaction that set it.  Outside a transaction (configuration file)
 *	   nothing can be checked, so a non-empty value is refused.
 *
 * 2.  Every use goes through TenancyCurrentTenant().  Once per statement it
 *	   processes pending invalidations; when tenancy.tenants, tenancy.members
 *	   or the roles changed since the context was validated (catalog.c bumps
 *	   our generation) it validates again, for the role that set it, so a
 *	   suspension or revocation committed elsewhere bites at the next
 *	   statement.  After SET ROLE to another role, it validates for that
 *	   role instead (context_role()).  With tenancy.require_local on, a context set by an
 *	   earlier transaction is treated as absent.
 *
 * 3.  Parallel workers receive the canonical uuid through the leader's GUC
 *	   state and trust it while restoring that state: the leader validated
 *	   it (when preloaded, the ExecutorStart hook re-checks before any
 *	   parallel plan starts).  A SET a worker makes itself (a parallel-safe
 *	   function's SET clause) is validated like one in the leader.
 *
 * Memory: GUC extras are malloc'd (GUC frees them); the lookup cache lives
 * in the "tenancy lookup cache" child of TopMemoryContext and is rebuilt
 * lazily after an invalidation, never inside the invalidation callback.
 *
 *-------------------------------------------------------------------------
 */
#include "tenancy.h"

#include <ctype.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/skey.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(tenancy_current_tenant);
PG_FUNCTION_INFO_V1(tenancy_current_tenant_slug);
PG_FUNCTION_INFO_V1(tenancy_is_member);
PG_FUNCTION_INFO_V1(tenancy_current_tenant_or_null);
PG_FUNCTION_INFO_V1(tenancy_is_admin_role);

/* Longest value worth looking up: slugs are at most 63 bytes. */
#define LOOKUP_KEYLEN	(TENANCY_SLUG_MAXLEN + 1)

/* Bound on cached lookups; past it the cache starts over. */
#define LOOKUP_CACHE_MAX	8192

/*
 * The GUC "extra" of tenancy.tenant: one malloc'd chunk, never modified
 * after the check hook returns (GUC may share it between stack levels).
 */
typedef struct TenancyContextExtra
{
	bool		set;			/* false for '' (no tenant) */
	bool		trusted;		/* restored in a parallel worker */
	TenancyTenant tenant;
	Oid			role;			/* validated for this role */
	uint64		serial;			/* unique per extra, for revalidation */
	uint64		validated_gen;	/* catalog generation it was checked at */
	LocalTransactionId lxid;	/* transaction that set it */
} TenancyContextExtra;

/* Outcome of resolving a value for a role. */
typedef enum TenancyLookupResult
{
	TENANCY_LOOKUP_OK,
	TENANCY_LOOKUP_UNKNOWN,
	TENANCY_LOOKUP_NOT_MEMBER,
	TENANCY_LOOKUP_INACTIVE,
	TENANCY_LOOKUP_NOT_INSTALLED
} TenancyLookupResult;

typedef struct TenancyLookupKey
{
	Oid			role;
	char		value[LOOKUP_KEYLEN];
} TenancyLookupKey;

typedef struct TenancyLookupEntry
{
	TenancyLookupKey key;		/* must be first */
	bool		found;
	bool		member;
	char		status;			/* 'a'ctive, 's'uspended, 'o'ffboarded */
	TenancyTenant tenant;
} TenancyLookupEntry;

/* GUC variables */
static char *tenancy_tenant_value = NULL;
static bool tenancy_require_local = false;

/* The extra of the value in force (set by the assign hook). */
static TenancyContextExtra *current_extra = NULL;

/* Bumped by every invalidation of tenancy.tenants or tenancy.members. */
static uint64 catalog_generation = 1;

/* Revalidation result for the extra currently in force. */
static uint64 revalidated_serial = 0;
static uint64 revalidated_gen = 0;
static Oid	revalidated_role = InvalidOid;
static uint64 next_serial = 1;

/* Statement whose invalidations we last processed. */
static TimestampTz freshened_at = 0;

static HTAB *lookup_cache = NULL;
static uint64 lookup_cache_gen = 0;
static MemoryContext lookup_cache_cxt = NULL;

/* True while _PG_init re-applies values SET before the library loaded. */
static bool defining_gucs = false;

static ExecutorStart_hook_type prev_ExecutorStart = NULL;

/*
 * Called by catalog.c's relcache callback.  Only bumps a counter: the
 * callback may fire while a lookup is using the cache.
 */
void
TenancyCatalogChanged(void)
{
	catalog_generation++;
}

/* The catalog generation, for other caches (crypto.c) to compare with. */
uint64
TenancyCatalogGeneration(void)
{
	return catalog_generation;
}

/*
 * Is "roleid" an administrator of every tenant?  Superusers and roles with
 * the privileges of tenancy_admin are.
 */
bool
TenancyIsAdmin(Oid roleid)
{
	Oid			admin;

	if (!OidIsValid(roleid))	/* PUBLIC */
		return false;
	if (superuser_arg(roleid))
		return true;
	admin = get_role_oid(TENANCY_ADMIN_ROLE, true);
	return OidIsValid(admin) && has_privs_of_role(roleid, admin);
}

/*
 * Parse a uuid written as 32 hex digits, optionally in braces, with a
 * hyphen allowed after any group of four digits (the grammar uuid_in
 * accepts).  Returns false instead of raising: check hooks must not.
 */
static bool
parse_uuid(const char *s, pg_uuid_t *out)
{
	const char *p = s;
	bool		braces = false;
	int			i;

	if (*p == '{')
	{
		braces = true;
		p++;
	}
	for (i = 0; i < UUID_LEN; i++)
	{
		int			hi,
					lo;

		if (!isxdigit((unsigned char) p[0]) || !isxdigit((unsigned char) p[1]))
			return false;
		hi = isdigit((unsigned char) p[0]) ? p[0] - '0' : (tolower((unsigned char) p[0]) - 'a' + 10);
		lo = isdigit((unsigned char) p[1]) ? p[1] - '0' : (tolower((unsigned char) p[1]) - 'a' + 10);
		out->data[i] = (unsigned char) ((hi << 4) | lo);
		p += 2;
		if (*p == '-' && (i % 2) == 1 && i < UUID_LEN - 1)
			p++;
	}
	if (braces)
	{
		if (*p != '}')
			return false;
		p++;
	}
	return *p == '\0';
}

/* Write the canonical lower-case hyphenated form (37 bytes with NUL). */
static void
format_uuid(const pg_uuid_t *id, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	int			i;
	char	   *p = buf;

	for (i = 0; i < UUID_LEN; i++)
	{
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex[id->data[i] >> 4];
		*p++ = hex[id->data[i] & 0x0F];
	}
	*p = '\0';
}

/* Does "s" follow the slug grammar [a-z0-9][a-z0-9_-]{1,62}? */
static bool
is_valid_slug(const char *s)
{
	size_t		len = strlen(s);
	size_t		i;

	if (len < 2 || len > TENANCY_SLUG_MAXLEN)
		return false;
	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			continue;
		if (i > 0 && (c == '_' || c == '-'))
			continue;
		return false;
	}
	return true;
}

/*
 * Is "roleid" allowed into tenant "id" through tenancy.members?  Either a
 * row names the role itself, or one names a role whose privileges it has.
 */
static bool
scan_membership(const pg_uuid_t *id, Oid roleid, Snapshot snapshot)
{
	Oid			relid = TenancyCatalogRelid("members", false);
	Oid			indexid = TenancyCatalogRelid("members_pkey", false);
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tuple;
	AttrNumber	att_tenant;
	AttrNumber	att_role;
	bool		member = false;

	rel = table_open(relid, AccessShareLock);
	att_tenant = get_attnum(relid, "tenant_id");
	att_role = get_attnum(relid, "role_name");
	if (att_tenant == InvalidAttrNumber || att_role == InvalidAttrNumber)
		elog(ERROR, "tenancy.members lacks tenant_id or role_name");

	ScanKeyInit(&key, att_tenant, BTEqualStrategyNumber, F_UUID_EQ,
				UUIDPGetDatum(id));
	scan = systable_beginscan(rel, indexid, true, snapshot, 1, &key);
	while (!member && HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		d = heap_getattr(tuple, att_role, RelationGetDescr(rel), &isnull);
		Oid			granted;

		if (isnull)
			continue;
		granted = get_role_oid(NameStr(*DatumGetName(d)), true);
		member = OidIsValid(granted) &&
			(granted == roleid || has_privs_of_role(roleid, granted));
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return member;
}

/*
 * Resolve "value" (slug or uuid) and decide whether "roleid" may enter it.
 * Reads the latest committed catalog state (or, inside a parallel
 * operation, the statement's snapshot), directly through the indexes so
 * that neither RLS on the catalog nor the caller's privileges interfere.
 * Results are cached per (value, role) until the catalog changes.
 */
static TenancyLookupResult
lookup_tenant(const char *value, Oid roleid, TenancyTenant *out, char *status)
{
	TenancyLookupKey key;
	TenancyLookupEntry *entry;
	TenancyLookupEntry result;
	pg_uuid_t	id;
	bool		by_id;
	bool		isnull;
	uint64		gen_before;
	Oid			relid;
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData skey;
	HeapTuple	tuple;
	Snapshot	snapshot;

	if (strlen(value) >= LOOKUP_KEYLEN)
		return TENANCY_LOOKUP_UNKNOWN;

	/* Start over after any invalidation (never inside the callback). */
	if (lookup_cache == NULL || lookup_cache_gen != catalog_generation ||
		hash_get_num_entries(lookup_cache) >= LOOKUP_CACHE_MAX)
	{
		HASHCTL		ctl;

		if (lookup_cache_cxt == NULL)
			lookup_cache_cxt = AllocSetContextCreate(TopMemoryContext,
													 "tenancy lookup cache",
													 ALLOCSET_SMALL_SIZES);
		else
			MemoryContextReset(lookup_cache_cxt);
		ctl.keysize = sizeof(TenancyLookupKey);
		ctl.entrysize = sizeof(TenancyLookupEntry);
		ctl.hcxt = lookup_cache_cxt;
		lookup_cache = hash_create("tenancy lookup cache", 64, &ctl,
								   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		lookup_cache_gen = catalog_generation;
	}

	memset(&key, 0, sizeof(key));
	key.role = roleid;
	strlcpy(key.value, value, sizeof(key.value));
	entry = hash_search(lookup_cache, &key, HASH_FIND, NULL);
	if (entry == NULL)
	{
		gen_before = catalog_generation;
		memset(&result, 0, sizeof(result));
		result.key = key;

		by_id = parse_uuid(value, &id);
		if (!by_id && !is_valid_slug(value))
			goto done;

		relid = TenancyCatalogRelid("tenants", true);
		if (!OidIsValid(relid))
			return TENANCY_LOOKUP_NOT_INSTALLED;

		snapshot = RegisterSnapshot(IsInParallelMode() ?
									GetActiveSnapshot() : GetLatestSnapshot());
		rel = table_open(relid, AccessShareLock);
		if (by_id)
			ScanKeyInit(&skey, get_attnum(relid, "id"), BTEqualStrategyNumber,
						F_UUID_EQ, UUIDPGetDatum(&id));
		else
			ScanKeyInit(&skey, get_attnum(relid, "slug"), BTEqualStrategyNumber,
						F_TEXTEQ, CStringGetTextDatum(value));
		scan = systable_beginscan(rel,
								  TenancyCatalogRelid(by_id ? "tenants_pkey" : "tenants_slug_key", false),
								  true, snapshot, 1, &skey);
		tuple = systable_getnext(scan);
		if (HeapTupleIsValid(tuple))
		{
			TupleDesc	desc = RelationGetDescr(rel);
			Datum		d;

			d = heap_getattr(tuple, get_attnum(relid, "id"), desc, &isnull);
			if (!isnull)
			{
				result.found = true;
				result.tenant.id = *DatumGetUUIDP(d);
				d = heap_getattr(tuple, get_attnum(relid, "slug"), desc, &isnull);
				if (!isnull)
					text_to_cstring_buffer(DatumGetTextPP(d), result.tenant.slug,
										   sizeof(result.tenant.slug));
				d = heap_getattr(tuple, get_attnum(relid, "status"), desc, &isnull);
				result.status = isnull ? 'o' : *TextDatumGetCString(d);
			}
		}
		systable_endscan(scan);
		table_close(rel, AccessShareLock);

		if (result.found && !TenancyIsAdmin(roleid))
			result.member = scan_membership(&result.tenant.id, roleid, snapshot);
		UnregisterSnapshot(snapshot);

done:
		/* Cache only what no invalidation overtook while we looked. */
		if (gen_before == catalog_generation && lookup_cache_gen == catalog_generation)
		{
			entry = hash_search(lookup_cache, &key, HASH_ENTER, NULL);
			*entry = result;
		}
		else
			entry = &result;
	}

	if (!entry->found)
		return TENANCY_LOOKUP_UNKNOWN;
	*out = entry->tenant;
	*status = entry->status;
	if (TenancyIsAdmin(roleid))
		return TENANCY_LOOKUP_OK;
	if (!entry->member)
		return TENANCY_LOOKUP_NOT_MEMBER;
	if (entry->status != 'a')
		return TENANCY_LOOKUP_INACTIVE;
	return TENANCY_LOOKUP_OK;
}

/* Human word for a status letter, for messages. */
static const char *
status_word(char status)
{
	return status == 's' ? "suspended" :
		status == 'o' ? "offboarded" : "inactive";
}

static const char *
role_name_or_oid(Oid roleid)
{
	char	   *name = GetUserNameFromId(roleid, true);

	return name ? name : psprintf("%u", roleid);
}

/*
 * Check hook of tenancy.tenant.  Never raises: failures go through
 * GUC_check_errcode/errmsg and "return false", so SET reports them with
 * the right SQLSTATE and nothing changes.
 */
static bool
tenancy_tenant_check(char **newval, void **extra, GucSource source)
{
	TenancyContextExtra *ctx;
	TenancyTenant tenant;
	TenancyLookupResult res;
	Oid			roleid;
	uint64		gen;
	char		status = 0;
	char		canonical[UUID_LEN * 2 + 5];

	ctx = (TenancyContextExtra *) tenancy_guc_malloc(sizeof(TenancyContextExtra));
	if (ctx == NULL)
		return false;
	memset(ctx, 0, sizeof(*ctx));
	ctx->serial = next_serial++;

	if (*newval == NULL || (*newval)[0] == '\0')
	{
		*extra = ctx;
		return true;
	}

	/*
	 * A parallel worker restores the leader's canonical uuid.  Only that:
	 * a function's SET clause applied later inside the worker is checked
	 * like any other SET, below.
	 */
	if (InitializingParallelWorker)
	{
		if (!parse_uuid(*newval, &ctx->tenant.id))
		{
			tenancy_guc_free(ctx);
			GUC_check_errcode(ERRCODE_INTERNAL_ERROR);
			GUC_check_errmsg("tenant context \"%s\" from the leader is not a uuid",
							 *newval);
			return false;
		}
		ctx->set = true;
		ctx->trusted = true;
		*extra = ctx;
		return true;
	}

	if (!IsTransactionState())
	{
		tenancy_guc_free(ctx);
		GUC_check_errcode(ERRCODE_CANT_CHANGE_RUNTIME_PARAM);
		GUC_check_errmsg("tenancy.tenant cannot be set outside a transaction");
		GUC_check_errdetail("A tenant can only be validated against the catalog of a database.");
		GUC_check_errhint("Set it per session or transaction with SET, or per role with ALTER ROLE ... SET, not in postgresql.conf.");
		return false;
	}

	/*
	 * Validate for the current role.  While the library is loading, values
	 * SET before it was loaded are re-applied; they were never checked, and
	 * the load may happen inside a SECURITY DEFINER function, so check them
	 * for the session's own role instead of the function owner.
	 */
	AcceptInvalidationMessages();
	roleid = defining_gucs ? GetOuterUserId() : GetUserId();
	gen = catalog_generation;
	res = lookup_tenant(*newval, roleid, &tenant, &status);

	switch (res)
	{
		case TENANCY_LOOKUP_OK:
			break;
		case TENANCY_LOOKUP_NOT_INSTALLED:
			tenancy_guc_free(ctx);
			if (source == PGC_S_TEST)
				return true;	/* e.g. restoring role settings */
			GUC_check_errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE);
			GUC_check_errmsg("extension \"tenancy\" is not installed in database \"%s\"",
							 get_database_name(MyDatabaseId));
			GUC_check_errhint("Run CREATE EXTENSION tenancy, or connect to the database that has it.");
			return false;
		case TENANCY_LOOKUP_UNKNOWN:
			tenancy_guc_free(ctx);
			GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
			GUC_check_errmsg("unknown tenant \"%s\"", *newval);
			GUC_check_errhint("Give the slug (lower-case letters, digits, \"-\" and \"_\", no spaces) or the uuid of a tenant in tenancy.tenants.");
			return false;
		case TENANCY_LOOKUP_NOT_MEMBER:
			tenancy_guc_free(ctx);
			GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
			GUC_check_errmsg("permission denied for tenant \"%s\"", *newval);
			GUC_check_errdetail("Role \"%s\" is not a member of this tenant.",
								role_name_or_oid(roleid));
			GUC_check_errhint("An administrator can grant access with tenancy.grant_tenant().");
			return false;
		case TENANCY_LOOKUP_INACTIVE:
			tenancy_guc_free(ctx);
			GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
			GUC_check_errmsg("tenant \"%s\" is %s", *newval,
							 status_word(status));
			GUC_check_errhint("Only administrators may enter a tenant that is not active; tenancy.resume_tenant() reactivates a suspended one.");
			return false;
	}

	ctx->set = true;
	ctx->tenant = tenant;
	ctx->role = roleid;
	ctx->validated_gen = gen;
	ctx->lxid = TENANCY_CURRENT_LXID;

	/* Store the canonical uuid: it is what parallel workers receive. */
	format_uuid(&tenant.id, canonical);
	if (strcmp(*newval, canonical) != 0)
	{
		char	   *copy = tenancy_guc_strdup(canonical);

		if (copy == NULL)
		{
			tenancy_guc_free(ctx);
			return false;
		}
		tenancy_guc_free(*newval);
		*newval = copy;
	}
	*extra = ctx;
	return true;
}

/*
 * Assign hook: remember which extra is in force.  When the tenant changes
 * (SET, RESET, DISCARD ALL, the end of SET LOCAL) the derived keys of the
 * previous one are wiped: no key material outlives its tenant's context.
 */
static void
tenancy_tenant_assign(const char *newval, void *extra)
{
	static bool prev_set = false;
	static pg_uuid_t prev_id;
	TenancyContextExtra *next = (TenancyContextExtra *) extra;
	bool		next_set = (next != NULL && next->set);

	if (prev_set &&
		(!next_set || memcmp(&prev_id, &next->tenant.id, sizeof(pg_uuid_t)) != 0))
		TenancyCryptoWipe();
	TenancyFoldedPlansInvalidate(next_set ? &next->tenant.id : NULL);
	prev_set = next_set;
	if (next_set)
		prev_id = next->tenant.id;
	current_extra = next;
}

/* Has a require_local context outlived the transaction that set it? */
static inline bool
context_expired(const TenancyContextExtra *ctx)
{
	return tenancy_require_local && !ctx->trusted &&
		ctx->lxid != TENANCY_CURRENT_LXID;
}

/* Show hook: the slug, or '' when no (live) tenant is set. */
static const char *
tenancy_tenant_show(void)
{
	static char buf[UUID_LEN * 2 + 5];
	const TenancyContextExtra *ctx = current_extra;

	if (ctx == NULL || !ctx->set || context_expired(ctx))
		return "";
	if (ctx->tenant.slug[0] != '\0')
		return ctx->tenant.slug;
	format_uuid(&ctx->tenant.id, buf);
	return buf;
}

/*
 * The role a context must be valid for now.  Normally the role that set it:
 * the session's role, or the owner of a SECURITY DEFINER function whose SET
 * clause set it.  When neither the current user nor the session's outer
 * role (SET ROLE) is that role any more, the session switched identity
 * since, and the context must be valid for the role it switched to: a
 * tenant entered by one role never serves another that may not enter it.
 */
static Oid
context_role(const TenancyContextExtra *ctx)
{
	if (ctx->role == GetUserId() || ctx->role == GetOuterUserId())
		return ctx->role;
	return GetOuterUserId();
}

/*
 * Validate the context in force again when the catalog changed since it
 * was last validated, or the session switched roles.  Raises on failure.
 */
static void
revalidate_context(const TenancyContextExtra *ctx)
{
	char		canonical[UUID_LEN * 2 + 5];
	TenancyTenant tenant;
	uint64		gen;
	char		status = 0;
	Oid			roleid = context_role(ctx);

	/* Once per statement, take in invalidations committed elsewhere. */
	if (freshened_at != GetCurrentStatementStartTimestamp())
	{
		AcceptInvalidationMessages();
		freshened_at = GetCurrentStatementStartTimestamp();
	}

	if ((ctx->validated_gen == catalog_generation && roleid == ctx->role) ||
		(revalidated_serial == ctx->serial && revalidated_gen == catalog_generation &&
		 revalidated_role == roleid))
		return;

	gen = catalog_generation;
	format_uuid(&ctx->tenant.id, canonical);
	switch (lookup_tenant(canonical, roleid, &tenant, &status))
	{
		case TENANCY_LOOKUP_OK:
			break;
		case TENANCY_LOOKUP_UNKNOWN:
		case TENANCY_LOOKUP_NOT_INSTALLED:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("tenant \"%s\" no longer exists", ctx->tenant.slug),
					 errhint("RESET tenancy.tenant, then set an existing tenant.")));
			break;
		case TENANCY_LOOKUP_NOT_MEMBER:
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied for tenant \"%s\"", ctx->tenant.slug),
					 roleid == ctx->role ?
					 errdetail("Role \"%s\" is no longer a member of this tenant, or lost its administrator privileges.",
							   role_name_or_oid(roleid)) :
					 errdetail("The tenant was entered by role \"%s\"; role \"%s\", in force since, is not a member of it.",
							   role_name_or_oid(ctx->role), role_name_or_oid(roleid)),
					 errhint("RESET tenancy.tenant; an administrator can grant access with tenancy.grant_tenant().")));
			break;
		case TENANCY_LOOKUP_INACTIVE:
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("tenant \"%s\" is %s", ctx->tenant.slug,
							status_word(status)),
					 errhint("RESET tenancy.tenant; only administrators may act in a tenant that is not active.")));
			break;
	}
	revalidated_serial = ctx->serial;
	revalidated_gen = gen;
	revalidated_role = roleid;
}

/*
 * The id of the tenant in force, not validated (for the planner, whose
 * folded plans validate it when they run).  False when none is in force.
 */
bool
TenancyContextTenantId(pg_uuid_t *out)
{
	const TenancyContextExtra *ctx = current_extra;

	if (ctx == NULL || !ctx->set || context_expired(ctx))
		return false;
	*out = ctx->tenant.id;
	return true;
}

/*
 * The tenant in force, validated.  With missing_ok, returns false when no
 * tenant is set; otherwise raises 42501 so a forgotten SET fails loudly.
 * The entry point for every subsystem that needs the tenant.
 */
bool
TenancyCurrentTenant(TenancyTenant *out, bool missing_ok)
{
	const TenancyContextExtra *ctx = current_extra;

	if (ctx == NULL || !ctx->set || context_expired(ctx))
	{
		if (missing_ok)
			return false;
		if (ctx != NULL && ctx->set)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("tenancy: no tenant is set"),
					 errdetail("tenancy.require_local is on, and the tenant was set by an earlier transaction."),
					 errhint("Use SET LOCAL tenancy.tenant (or set_config('tenancy.tenant', ..., true)) inside each transaction.")));
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("tenancy: no tenant is set"),
				 errhint("Run SET tenancy.tenant = '<slug or uuid>' (or SET LOCAL inside a transaction) first.")));
	}

	if (!ctx->trusted)
		revalidate_context(ctx);

	if (out)
		*out = ctx->tenant;
	return true;
}

/*
 * tenancy.current_tenant() RETURNS uuid: the value every policy compares
 * with.  STABLE, PARALLEL SAFE, LEAKPROOF: it reads no argument, and its
 * only errors concern the session's own context.
 */
Datum
tenancy_current_tenant(PG_FUNCTION_ARGS)
{
	TenancyTenant tenant;
	pg_uuid_t  *result;

	TenancyCurrentTenant(&tenant, false);
	result = (pg_uuid_t *) palloc(sizeof(pg_uuid_t));
	*result = tenant.id;
	PG_RETURN_UUID_P(result);
}

/* tenancy._is_admin_role(oid) RETURNS boolean: TenancyIsAdmin for SQL. */
Datum
tenancy_is_admin_role(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(TenancyIsAdmin(PG_GETARG_OID(0)));
}

/*
 * tenancy._current_tenant_or_null() RETURNS uuid: like current_tenant(),
 * but NULL when no tenant is set.  For the catalog's own policies, which
 * administrators must pass without a tenant (the planner evaluates stable
 * functions in policies when it estimates, so a raising one would fail
 * their statements before any privilege check).
 */
Datum
tenancy_current_tenant_or_null(PG_FUNCTION_ARGS)
{
	TenancyTenant tenant;
	pg_uuid_t  *result;

	if (!TenancyCurrentTenant(&tenant, true))
		PG_RETURN_NULL();
	result = (pg_uuid_t *) palloc(sizeof(pg_uuid_t));
	*result = tenant.id;
	PG_RETURN_UUID_P(result);
}

/*
 * tenancy.current_tenant_slug() RETURNS text: the slug, or NULL when no
 * tenant is set (it is for display; policies use current_tenant()).
 */
Datum
tenancy_current_tenant_slug(PG_FUNCTION_ARGS)
{
	TenancyTenant tenant;

	if (!TenancyCurrentTenant(&tenant, true))
		PG_RETURN_NULL();
	if (tenant.slug[0] == '\0')
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(tenant.slug));
}

/*
 * tenancy._is_member(uuid) RETURNS boolean: may the current role enter this
 * tenant (ignoring its status)?  Used by the catalog's RLS so that a tenant
 * role sees only its own tenants' rows; it reveals nothing about others.
 */
Datum
tenancy_is_member(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *id = PG_GETARG_UUID_P(0);
	char		canonical[UUID_LEN * 2 + 5];
	TenancyTenant tenant;
	char		status;

	format_uuid(id, canonical);
	switch (lookup_tenant(canonical, GetUserId(), &tenant, &status))
	{
		case TENANCY_LOOKUP_OK:
		case TENANCY_LOOKUP_INACTIVE:
			PG_RETURN_BOOL(true);
		default:
			PG_RETURN_BOOL(false);
	}
}

/*
 * ExecutorStart hook (preloaded only): before a plan that may launch
 * parallel workers, make sure the leader's context is still valid, since
 * workers trust it without looking at the catalog.
 */
static void
tenancy_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	const TenancyContextExtra *ctx = current_extra;

	if (queryDesc->plannedstmt->parallelModeNeeded &&
		ctx != NULL && ctx->set && !ctx->trusted && !IsParallelWorker())
	{
		if (!context_expired(ctx))
			revalidate_context(ctx);
		else if (!IsInParallelMode())
		{
			/*
			 * Workers receive the setting's value, not its expiry: clear
			 * a require_local context that outlived its transaction before
			 * the plan serialises the settings for them.
			 */
			(void) set_config_option("tenancy.tenant", "", PGC_USERSET,
									 PGC_S_SESSION, GUC_ACTION_SET, true, 0,
									 false);
		}
	}

	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

/* Define the context GUCs; install the hook when preloaded. */
void
TenancyContextInit(void)
{
	defining_gucs = true;
	DefineCustomStringVariable("tenancy.tenant",
							   "The tenant of this session or transaction (slug or uuid).",
							   "Validated when set: the role must be a member of an active tenant, or an administrator.",
							   &tenancy_tenant_value,
							   "",
							   PGC_USERSET,
							   GUC_NOT_IN_SAMPLE,
							   tenancy_tenant_check,
							   tenancy_tenant_assign,
							   tenancy_tenant_show);
	defining_gucs = false;

	DefineCustomBoolVariable("tenancy.require_local",
							 "Confine a tenant context to the transaction that set it.",
							 "For roles behind transaction-mode poolers: a context set by an earlier transaction counts as no context.",
							 &tenancy_require_local,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	if (TenancyPreloaded)
	{
		prev_ExecutorStart = ExecutorStart_hook;
		ExecutorStart_hook = tenancy_ExecutorStart;
	}
}
