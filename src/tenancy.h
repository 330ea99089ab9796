/*-------------------------------------------------------------------------
 *
 * tenancy.h
 *		The one internal header of the tenancy extension: shared types,
 *		each subsystem's Init function, and the version guards that keep
 *		the C code portable across PostgreSQL 14 to 17.
 *
 * Subsystems and what they own:
 *		tenancy.c	PG_MODULE_MAGIC, _PG_init, the "tenancy" GUC prefix
 *		context.c	GUC tenancy.tenant, current_tenant(), tenant lookups
 *		catalog.c	cache invalidation for the catalog, master key GUC
 *		crypto.c	master key, derived keys, encrypt/decrypt, KDFs
 *		envelope.c	ciphertext wire format and AES-GCM (no PostgreSQL)
 *		leakproof.c	planner guard that makes mark_leakproof() safe
 *		audit.c		audit trigger (C), sealing MACs
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANCY_H
#define TENANCY_H

#include "postgres.h"

#include "utils/guc.h"
#include "utils/uuid.h"

#if PG_VERSION_NUM < 140000
#error "tenancy requires PostgreSQL 14 or later"
#endif

/*
 * GUC check hooks hand back malloc'd strings and extras; PostgreSQL 16
 * introduced guc_malloc/guc_free for that.
 */
#if PG_VERSION_NUM >= 160000
#define tenancy_guc_malloc(sz)	guc_malloc(LOG, (sz))
#define tenancy_guc_strdup(s)	guc_strdup(LOG, (s))
#define tenancy_guc_free(p)		guc_free(p)
#else
#define tenancy_guc_malloc(sz)	malloc(sz)
#define tenancy_guc_strdup(s)	strdup(s)
#define tenancy_guc_free(p)		free(p)
#endif

/* The local (per-backend) id of the current top-level transaction. */
#if PG_VERSION_NUM >= 170000
#define TENANCY_CURRENT_LXID	(MyProc->vxid.lxid)
#else
#define TENANCY_CURRENT_LXID	(MyProc->lxid)
#endif

/*
 * PostgreSQL 15 added MERGE, MarkGUCPrefixReserved (14 only warns about
 * placeholders) and InitMaterializedSRF (14 sets the tuplestore up by hand:
 * tenancy_init_materialized_srf in partition.c).
 */
#if PG_VERSION_NUM >= 150000
#define TENANCY_IS_MERGE(query)	((query)->commandType == CMD_MERGE)
#else
#define TENANCY_IS_MERGE(query)	false
#define MarkGUCPrefixReserved(prefix)	EmitWarningsOnPlaceholders(prefix)
#define InitMaterializedSRF(fcinfo, flags)	tenancy_init_materialized_srf(fcinfo)
#endif

/* Slugs are [a-z0-9][a-z0-9_-]{1,62}: at most 63 bytes. */
#define TENANCY_SLUG_MAXLEN		63

/* Name of the role whose members administer every tenant. */
#define TENANCY_ADMIN_ROLE		"tenancy_admin"

/* Schema and catalog relation names. */
#define TENANCY_SCHEMA			"tenancy"

/*
 * A resolved tenant, as the rest of the extension sees it.
 */
typedef struct TenancyTenant
{
	pg_uuid_t	id;
	char		slug[TENANCY_SLUG_MAXLEN + 1];
} TenancyTenant;

/* tenancy.c */
extern bool TenancyPreloaded;

/* context.c */
extern void TenancyContextInit(void);
extern bool TenancyCurrentTenant(TenancyTenant *out, bool missing_ok);
extern bool TenancyContextTenantId(pg_uuid_t *out);
extern void TenancyCatalogChanged(void);
extern bool TenancyIsAdmin(Oid roleid);
extern uint64 TenancyCatalogGeneration(void);

/* leakproof.c */
extern void TenancyLeakproofInit(void);

/* partition.c */
extern void TenancyPartitionInit(void);
extern void TenancyFoldedPlansInvalidate(const pg_uuid_t *tenant);

/* crypto.c */
extern void TenancyCryptoInit(void);
extern void TenancyCryptoWipe(void);
extern void TenancyCryptoMasterKeyChanged(void);
extern void TenancyDeriveMasterKey(const char *purpose, uint8 *out, size_t outlen);

/* audit.c */
extern void TenancyAuditInit(void);

/* catalog.c */
extern void TenancyCatalogInit(void);
extern Oid	TenancyCatalogRelid(const char *relname, bool missing_ok);
extern char *TenancyMasterKeyFile;
extern char *TenancyManagedSchemas;

#endif							/* TENANCY_H */
