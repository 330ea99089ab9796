/*-------------------------------------------------------------------------
 *
 * tenancy.c
 *		Module entry point: PG_MODULE_MAGIC and _PG_init.
 *
 * _PG_init always defines the GUCs and reserves the "tenancy." prefix, so
 * a misspelt setting is an error rather than a silent placeholder.  Hooks
 * and shared memory are installed only while shared_preload_libraries is
 * being processed; a library loaded later (on the first call of one of its
 * functions) still validates the tenant context, through the GUC hooks.
 *
 *-------------------------------------------------------------------------
 */
#include "tenancy.h"

#include "fmgr.h"
#include "miscadmin.h"

PG_MODULE_MAGIC;

/* True when loaded through shared_preload_libraries. */
bool		TenancyPreloaded = false;

void		_PG_init(void);

/*
 * Define every subsystem's settings, then reserve our prefix.  Order
 * matters only in that the prefix is reserved after our own GUCs exist.
 */
void
_PG_init(void)
{
	TenancyPreloaded = process_shared_preload_libraries_in_progress;

	TenancyCatalogInit();
	TenancyContextInit();
	TenancyCryptoInit();
	TenancyLeakproofInit();
	TenancyPartitionInit();
	TenancyAuditInit();

	MarkGUCPrefixReserved("tenancy");
}
