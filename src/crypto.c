/*-------------------------------------------------------------------------
 *
 * crypto.c
 *		Per-tenant keys and encryption: the master key, HKDF derivation,
 *		tenancy.encrypt/decrypt/blind_index/reencrypt/derive_key, and the
 *		hkdf/pbkdf2 primitives, on OpenSSL 3's EVP interfaces.
 *
 * Keys are derived, never stored: HKDF-SHA256(master key, salt of the
 * tenant's key version, info = "tenancy/v1" || tenant id || version ||
 * purpose).  tenancy.tenant_keys holds only the salts; destroying a
 * version wipes its salt, after which nobody can derive that key again.
 *
 * Lifetime of secrets in this backend:
 *	- master key: a static 32-byte buffer, loaded on first use, wiped and
 *	  reloaded after the setting is re-read (SIGHUP), wiped at exit;
 *	- derived keys: a bounded hash table in "tenancy key cache" (a child of
 *	  TopMemoryContext), wiped with explicit_bzero when the catalog changes
 *	  (rotation or destruction anywhere: at the next call here), when the
 *	  tenant in force changes (which includes RESET, DISCARD ALL and the end
 *	  of a SET LOCAL), when a transaction aborts, when it fills up, and at
 *	  exit;
 *	- cipher contexts: one AES-256-GCM context per cached key, keyed once
 *	  and reused (each value sets only its nonce), freed with the entry
 *	  (EVP_CIPHER_CTX_free cleanses the key schedule);
 *	- temporaries: derived on the stack and wiped before return, error
 *	  paths included (PG_FINALLY).
 * Nonces are drawn from a per-backend buffer of RAND_bytes output; each
 * byte is used once and wiped as it is taken.
 *
 *-------------------------------------------------------------------------
 */
#include "tenancy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "common/base64.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "envelope.h"

PG_FUNCTION_INFO_V1(tenancy_encrypt);
PG_FUNCTION_INFO_V1(tenancy_decrypt);
PG_FUNCTION_INFO_V1(tenancy_decrypt_text);
PG_FUNCTION_INFO_V1(tenancy_reencrypt);
PG_FUNCTION_INFO_V1(tenancy_blind_index);
PG_FUNCTION_INFO_V1(tenancy_derive_key_internal);
PG_FUNCTION_INFO_V1(tenancy_hkdf);
PG_FUNCTION_INFO_V1(tenancy_pbkdf2);
PG_FUNCTION_INFO_V1(tenancy_random_bytes);

#define KEY_LEN			32
#define SALT_MAXLEN		64
#define KEY_CACHE_MAX	1024

/* Derived-key cache entry: (tenant, version, purpose digest) -> key. */
typedef struct KeyCacheKey
{
	pg_uuid_t	tenant;
	int32		version;
	uint8		purpose[32];	/* SHA-256 of the purpose string */
} KeyCacheKey;

typedef struct KeyCacheEntry
{
	KeyCacheKey key;			/* must be first */
	uint8		derived[KEY_LEN];
	EVP_CIPHER_CTX *enc;		/* AES-256-GCM keyed with it, or NULL */
	EVP_CIPHER_CTX *dec;
} KeyCacheEntry;

/* Key versions per tenant: current (encrypt) and oldest live (blind). */
typedef struct VersionCacheEntry
{
	pg_uuid_t	tenant;			/* must be first */
	int32		version;		/* 0: not looked up yet */
	int32		blind_version;	/* 0: not looked up yet */
} VersionCacheEntry;

/* Nonces come from a buffer of CSPRNG output, refilled when used up. */
#define NONCE_POOL_LEN	(TENANCY_ENV_NONCE_LEN * 256)

static uint8 master_key[KEY_LEN];
static bool master_loaded = false;

static MemoryContext key_cache_cxt = NULL;
static HTAB *key_cache = NULL;
static HTAB *version_cache = NULL;
static uint64 key_cache_gen = 0;
static pg_uuid_t key_cache_tenant;

static EVP_CIPHER *gcm_cipher = NULL;
static EVP_KDF *hkdf_kdf = NULL;
static EVP_MD *sha256_md = NULL;
static uint8 encrypt_purpose[32];	/* SHA-256("encrypt") */
static uint8 nonce_pool[NONCE_POOL_LEN];
static int	nonce_pos = NONCE_POOL_LEN;

/*
 * Raise an error about an OpenSSL failure: its own message in the detail
 * (never key material), and its error queue cleared.
 */
static void
openssl_error(const char *what)
{
	unsigned long e = ERR_get_error();
	char		buf[256];

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	else
		strlcpy(buf, "no OpenSSL error was queued", sizeof(buf));
	ERR_clear_error();
	ereport(ERROR,
			(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
			 errmsg("%s failed", what),
			 errdetail("OpenSSL: %s", buf)));
}

/* Wipe every derived key and forget the version cache. */
void
TenancyCryptoWipe(void)
{
	if (key_cache != NULL)
	{
		HASH_SEQ_STATUS seq;
		KeyCacheEntry *entry;

		hash_seq_init(&seq, key_cache);
		while ((entry = hash_seq_search(&seq)) != NULL)
		{
			explicit_bzero(entry->derived, sizeof(entry->derived));
			/* EVP_CIPHER_CTX_free cleanses the key schedule */
			if (entry->enc)
				EVP_CIPHER_CTX_free(entry->enc);
			if (entry->dec)
				EVP_CIPHER_CTX_free(entry->dec);
			entry->enc = entry->dec = NULL;
		}
	}
	key_cache = NULL;
	version_cache = NULL;
	if (key_cache_cxt != NULL)
		MemoryContextReset(key_cache_cxt);
}

/* The setting was (re-)read: drop the master key; reload on next use. */
void
TenancyCryptoMasterKeyChanged(void)
{
	explicit_bzero(master_key, sizeof(master_key));
	master_loaded = false;
	TenancyCryptoWipe();
}

/* at exit: wipe everything, free OpenSSL objects */
static void
crypto_at_exit(int code, Datum arg)
{
	TenancyCryptoMasterKeyChanged();
	if (gcm_cipher)
		EVP_CIPHER_free(gcm_cipher);
	if (hkdf_kdf)
		EVP_KDF_free(hkdf_kdf);
	if (sha256_md)
		EVP_MD_free(sha256_md);
	gcm_cipher = NULL;
	hkdf_kdf = NULL;
	sha256_md = NULL;
}

/* Decode the key file's text: 64 hex digits, or base64 of 32 bytes. */
static bool
decode_master_key(char *text, uint8 *out)
{
	size_t		len;
	char	   *p = text;
	uint8		tmp[64];
	int			n;
	bool		ok = false;

	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	len = strlen(p);
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' ||
					   p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;

	if (len == KEY_LEN * 2 && strspn(p, "0123456789abcdefABCDEF") >= len)
	{
		size_t		i;

		for (i = 0; i < KEY_LEN; i++)
		{
			char		byte[3] = {p[2 * i], p[2 * i + 1], '\0'};

			out[i] = (uint8) strtoul(byte, NULL, 16);
		}
		return true;
	}
	if (len > 0 && len < 100 &&
		pg_b64_dec_len((int) len) <= (int) sizeof(tmp))
	{
		n = pg_b64_decode(p, (int) len, (char *) tmp, sizeof(tmp));
		if (n == KEY_LEN)
		{
			memcpy(out, tmp, KEY_LEN);
			ok = true;
		}
		explicit_bzero(tmp, sizeof(tmp));
	}
	return ok;
}

/*
 * Load the master key named by tenancy.master_key_file, refusing a file
 * that group or others may read.  Messages name the file, never the key.
 */
static void
load_master_key(void)
{
	const char *path = TenancyMasterKeyFile;
	char		buf[256];
	int			fd;
	ssize_t		n;
	struct stat st;
	bool		ok;

	if (master_loaded)
		return;
	if (path == NULL || path[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no master key is configured"),
				 errhint("Set tenancy.master_key_file in postgresql.conf to a file of 32 random bytes (64 hex digits or base64), e.g. made by \"openssl rand -hex 32\", and reload.")));

	fd = open(path, O_RDONLY | PG_BINARY, 0);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open master key file \"%s\": %m", path)));
	if (fstat(fd, &st) != 0)
	{
		close(fd);
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat master key file \"%s\": %m", path)));
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
	{
		close(fd);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("master key file \"%s\" is accessible by group or others", path),
				 errhint("Run chmod 600 on it, owned by the server's operating system user.")));
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read master key file \"%s\": %m", path)));
	buf[n] = '\0';
	ok = (n < (ssize_t) sizeof(buf) - 1) && decode_master_key(buf, master_key);
	explicit_bzero(buf, sizeof(buf));
	if (!ok)
	{
		explicit_bzero(master_key, sizeof(master_key));
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("master key file \"%s\" does not hold a 32-byte key", path),
				 errhint("Write 32 random bytes as 64 hex digits or as base64, e.g. \"openssl rand -hex 32\".")));
	}
	master_loaded = true;
}

/* Create the reusable OpenSSL objects on first use. */
static void
ensure_openssl(void)
{
	if (sha256_md == NULL)
	{
		sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
		if (sha256_md == NULL ||
			EVP_Digest("encrypt", 7, encrypt_purpose, NULL, sha256_md, NULL) != 1)
			openssl_error("fetching SHA-256");
	}
	if (gcm_cipher == NULL)
	{
		gcm_cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
		if (gcm_cipher == NULL)
			openssl_error("fetching AES-256-GCM");
	}
	if (hkdf_kdf == NULL)
	{
		hkdf_kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
		if (hkdf_kdf == NULL)
			openssl_error("fetching HKDF");
	}
}

/* HKDF (RFC 5869) with the named digest; raises on failure. */
static void
hkdf(const char *digest, const uint8 *ikm, size_t ikmlen,
	 const uint8 *salt, size_t saltlen, const uint8 *info, size_t infolen,
	 uint8 *out, size_t outlen)
{
	EVP_KDF_CTX *kctx;
	OSSL_PARAM	params[5];
	OSSL_PARAM *p = params;
	int			rc;

	ensure_openssl();
	kctx = EVP_KDF_CTX_new(hkdf_kdf);
	if (kctx == NULL)
		openssl_error("EVP_KDF_CTX_new");
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *) digest, 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *) ikm, ikmlen);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *) salt, saltlen);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *) info, infolen);
	*p = OSSL_PARAM_construct_end();
	rc = EVP_KDF_derive(kctx, out, outlen, params);
	EVP_KDF_CTX_free(kctx);
	if (rc != 1)
		openssl_error("HKDF");
}

/*
 * Derive a key that belongs to no tenant (for example the audit sealing
 * key, which must outlive every tenant's keys): HKDF-SHA256(master key,
 * salt = "tenancy/master", info = "tenancy/v1/master" || purpose).  The
 * caller wipes "out" when done.
 */
void
TenancyDeriveMasterKey(const char *purpose, uint8 *out, size_t outlen)
{
	uint8		info[128];
	size_t		plen = strlen(purpose);

	if (plen > sizeof(info) - 17)
		elog(ERROR, "key purpose \"%s\" is too long", purpose);
	load_master_key();
	memcpy(info, "tenancy/v1/master", 17);
	memcpy(info + 17, purpose, plen);
	hkdf("SHA256", master_key, KEY_LEN, (const uint8 *) "tenancy/master", 14,
		 info, 17 + plen, out, outlen);
}

/*
 * Read key version "version" of a tenant (0: the current one, the highest
 * active; -1: the lowest not destroyed) from tenancy.tenant_keys, directly through its primary key index
 * so that tenant roles, who may not read the table, can still use their
 * keys.  Returns the version found (0 if none) and sets *state.
 */
static int32
read_key_version(const pg_uuid_t *tenant, int32 version, uint8 *salt,
				 int *saltlen, char *state)
{
	Oid			relid = TenancyCatalogRelid("tenant_keys", false);
	Oid			indexid = TenancyCatalogRelid("tenant_keys_pkey", false);
	AttrNumber	att_tenant = get_attnum(relid, "tenant_id");
	AttrNumber	att_version = get_attnum(relid, "version");
	AttrNumber	att_salt = get_attnum(relid, "salt");
	AttrNumber	att_state = get_attnum(relid, "state");
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tuple;
	Snapshot	snapshot;
	int32		found = 0;

	*state = '\0';
	snapshot = RegisterSnapshot(IsInParallelMode() ? GetActiveSnapshot() : GetLatestSnapshot());
	rel = table_open(relid, AccessShareLock);
	ScanKeyInit(&key, att_tenant, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(tenant));
	scan = systable_beginscan(rel, indexid, true, snapshot, 1, &key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		TupleDesc	desc = RelationGetDescr(rel);
		bool		isnull;
		int32		v = DatumGetInt32(heap_getattr(tuple, att_version, desc, &isnull));
		Datum		st = heap_getattr(tuple, att_state, desc, &isnull);
		char		s = isnull ? 'd' : *TextDatumGetCString(st);
		Datum		sd;

		if (version > 0 ? v != version :
			version == 0 ? (s != 'a' || v <= found) :
			(s == 'd' || (found != 0 && v >= found)))
			continue;
		found = v;
		*state = s;
		sd = heap_getattr(tuple, att_salt, desc, &isnull);
		*saltlen = 0;
		if (!isnull)
		{
			bytea	   *b = DatumGetByteaPP(sd);

			*saltlen = Min(VARSIZE_ANY_EXHDR(b), SALT_MAXLEN);
			memcpy(salt, VARDATA_ANY(b), *saltlen);
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	UnregisterSnapshot(snapshot);
	return found;
}

/* Start over when the catalog changed or another tenant is in force. */
static void
check_caches(const pg_uuid_t *tenant)
{
	if (key_cache != NULL &&
		(key_cache_gen != TenancyCatalogGeneration() ||
		 memcmp(&key_cache_tenant, tenant, sizeof(pg_uuid_t)) != 0 ||
		 hash_get_num_entries(key_cache) >= KEY_CACHE_MAX))
		TenancyCryptoWipe();
	if (key_cache == NULL)
	{
		HASHCTL		ctl;

		if (key_cache_cxt == NULL)
			key_cache_cxt = AllocSetContextCreate(TopMemoryContext,
												  "tenancy key cache",
												  ALLOCSET_SMALL_SIZES);
		ctl.keysize = sizeof(KeyCacheKey);
		ctl.entrysize = sizeof(KeyCacheEntry);
		ctl.hcxt = key_cache_cxt;
		key_cache = hash_create("tenancy key cache", 16, &ctl,
								HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		ctl.keysize = sizeof(pg_uuid_t);
		ctl.entrysize = sizeof(VersionCacheEntry);
		version_cache = hash_create("tenancy key versions", 16, &ctl,
									HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		key_cache_gen = TenancyCatalogGeneration();
		key_cache_tenant = *tenant;
	}
}

/*
 * A key version of the tenant, cached: "blind" false gives the current one
 * (the highest active), true the oldest not destroyed (blind indexes).
 * Raises when there is none.
 */
static int32
cached_version(const TenancyTenant *tenant, bool blind)
{
	VersionCacheEntry *ve;
	bool		found;
	uint8		salt[SALT_MAXLEN];
	int			saltlen;
	char		state;
	int32		v;

	check_caches(&tenant->id);
	ve = hash_search(version_cache, &tenant->id, HASH_FIND, &found);
	if (ve && (blind ? ve->blind_version : ve->version) != 0)
		return blind ? ve->blind_version : ve->version;
	v = read_key_version(&tenant->id, blind ? -1 : 0, salt, &saltlen, &state);
	explicit_bzero(salt, sizeof(salt));
	if (v == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 blind ? errmsg("tenant \"%s\" has no usable key", tenant->slug) :
				 errmsg("tenant \"%s\" has no active key", tenant->slug),
				 blind ? errdetail("Its keys were destroyed.") :
				 errdetail("Its keys were destroyed, or it was created before encryption was installed."),
				 errhint("An administrator can create a new key version with tenancy.rotate_key().")));
	check_caches(&tenant->id);
	ve = hash_search(version_cache, &tenant->id, HASH_ENTER, &found);
	if (!found)
		ve->version = ve->blind_version = 0;
	if (blind)
		ve->blind_version = v;
	else
		ve->version = v;
	return v;
}

/* SHA-256 of a purpose string, the purpose part of a key cache key. */
static void
purpose_digest(const char *purpose, uint8 *out)
{
	ensure_openssl();
	if (strcmp(purpose, "encrypt") == 0)
		memcpy(out, encrypt_purpose, 32);
	else if (EVP_Digest(purpose, strlen(purpose), out, NULL, sha256_md, NULL) != 1)
		openssl_error("SHA-256");
}

/*
 * An AES-256-GCM context keyed with this cache entry's key, made on first
 * use and kept with the entry, so that each value only sets its nonce.
 */
static EVP_CIPHER_CTX *
entry_cipher(KeyCacheEntry *entry, bool encrypt)
{
	EVP_CIPHER_CTX **slot = encrypt ? &entry->enc : &entry->dec;
	EVP_CIPHER_CTX *ctx;
	int			ok;

	if (*slot != NULL)
		return *slot;
	ensure_openssl();
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL)
		openssl_error("EVP_CIPHER_CTX_new");
	ok = encrypt ?
		EVP_EncryptInit_ex(ctx, gcm_cipher, NULL, entry->derived, NULL) :
		EVP_DecryptInit_ex(ctx, gcm_cipher, NULL, entry->derived, NULL);
	if (ok != 1)
	{
		EVP_CIPHER_CTX_free(ctx);
		openssl_error("AES-256-GCM key setup");
	}
	*slot = ctx;
	return ctx;
}

/* 12 fresh bytes of OpenSSL CSPRNG output for a nonce. */
static void
next_nonce(uint8 *nonce)
{
	if (nonce_pos + TENANCY_ENV_NONCE_LEN > NONCE_POOL_LEN)
	{
		if (RAND_bytes(nonce_pool, NONCE_POOL_LEN) != 1)
			openssl_error("RAND_bytes");
		nonce_pos = 0;
	}
	memcpy(nonce, nonce_pool + nonce_pos, TENANCY_ENV_NONCE_LEN);
	/* each byte is used once */
	explicit_bzero(nonce_pool + nonce_pos, TENANCY_ENV_NONCE_LEN);
	nonce_pos += TENANCY_ENV_NONCE_LEN;
}

/*
 * Derive (or fetch from the cache) the key of "tenant", version "version",
 * for "purpose".  Raises 22023 for a version that does not exist or was
 * destroyed, so that a foreign or stale ciphertext gets a clear error.
 */
static KeyCacheEntry *
tenant_key(const TenancyTenant *tenant, int32 version, const char *purpose)
{
	KeyCacheKey ck;
	KeyCacheEntry *entry;
	bool		found;
	uint8		salt[SALT_MAXLEN];
	int			saltlen = 0;
	char		state;
	uint8		info[64];
	size_t		infolen;
	int32		v;
	uint8		out[KEY_LEN];

	check_caches(&tenant->id);
	memset(&ck, 0, sizeof(ck));
	ck.tenant = tenant->id;
	ck.version = version;
	purpose_digest(purpose, ck.purpose);
	entry = hash_search(key_cache, &ck, HASH_FIND, &found);
	if (entry)
		return entry;

	load_master_key();
	v = read_key_version(&tenant->id, version, salt, &saltlen, &state);
	if (v == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("key version %d of tenant \"%s\" does not exist", version, tenant->slug),
				 errhint("The value was encrypted for another tenant or database.")));
	if (state == 'd' || saltlen == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("key version %d of tenant \"%s\" was destroyed", version, tenant->slug),
				 errdetail("Values encrypted with it can no longer be decrypted by anyone.")));

	/* info = "tenancy/v1" || tenant id || version || purpose digest */
	memcpy(info, "tenancy/v1", 10);
	memcpy(info + 10, tenant->id.data, UUID_LEN);
	info[26] = (uint8) (version >> 24);
	info[27] = (uint8) (version >> 16);
	info[28] = (uint8) (version >> 8);
	info[29] = (uint8) version;
	memcpy(info + 30, ck.purpose, 32);
	infolen = 62;

	PG_TRY();
	{
		hkdf("SHA256", master_key, KEY_LEN, salt, saltlen, info, infolen, out, KEY_LEN);
	}
	PG_FINALLY();
	{
		explicit_bzero(salt, sizeof(salt));
	}
	PG_END_TRY();

	check_caches(&tenant->id);
	entry = hash_search(key_cache, &ck, HASH_ENTER, &found);
	memcpy(entry->derived, out, KEY_LEN);
	explicit_bzero(out, sizeof(out));
	entry->enc = entry->dec = NULL;
	return entry;
}

/* Encrypt "data" for the current tenant under "context". */
static bytea *
encrypt_for_tenant(const TenancyTenant *tenant, const uint8 *data, size_t len,
				   const uint8 *context, size_t context_len)
{
	uint8		nonce[TENANCY_ENV_NONCE_LEN];
	int32		version;
	EVP_CIPHER_CTX *ctx;
	bytea	   *result;
	int			ok;

	if (len > MaxAllocSize - VARHDRSZ - TENANCY_ENV_OVERHEAD)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("value of %zu bytes is too large to encrypt", len)));
	version = cached_version(tenant, false);
	ctx = entry_cipher(tenant_key(tenant, version, "encrypt"), true);
	result = (bytea *) palloc(VARHDRSZ + TENANCY_ENV_OVERHEAD + len);
	SET_VARSIZE(result, VARHDRSZ + TENANCY_ENV_OVERHEAD + len);
	next_nonce(nonce);
	/* NULL cipher and key: the context keeps its key, only the nonce is set */
	ok = tenancy_env_seal(ctx, NULL, NULL, (uint32_t) version, nonce,
						  tenant->id.data, context, context_len, data, len,
						  (uint8 *) VARDATA(result));
	if (!ok)
		openssl_error("AES-256-GCM encryption");
	return result;
}

/*
 * Decrypt "data" for the current tenant; returns a palloc'd buffer of
 * *outlen bytes.  Every malformed or foreign input raises 22023.
 */
static uint8 *
decrypt_for_tenant(const TenancyTenant *tenant, const uint8 *data, size_t len,
				   const uint8 *context, size_t context_len, size_t *outlen,
				   int32 *version_out)
{
	TenancyEnvelope env;
	TenancyEnvStatus st;
	EVP_CIPHER_CTX *ctx;
	uint8	   *plain;
	int			ok;

	st = tenancy_env_parse(data, len, &env);
	if (st != TENANCY_ENV_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ciphertext is %s", tenancy_env_status_text(st)),
				 errdetail("A tenancy ciphertext is at least %d bytes and starts with byte 0x%02X, format %d.",
						   TENANCY_ENV_OVERHEAD, TENANCY_ENV_MAGIC, TENANCY_ENV_FORMAT),
				 errhint("Pass a value produced by tenancy.encrypt().")));
	if (env.key_version > (uint32_t) PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("key version %u of tenant \"%s\" does not exist",
						env.key_version, tenant->slug)));
	ctx = entry_cipher(tenant_key(tenant, (int32) env.key_version, "encrypt"), false);
	plain = palloc(env.ciphertext_len + 1);
	ok = tenancy_env_open(ctx, NULL, NULL, &env, tenant->id.data,
						  context, context_len, plain);
	if (!ok)
	{
		explicit_bzero(plain, env.ciphertext_len);
		ERR_clear_error();
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ciphertext does not decrypt for tenant \"%s\" in this context", tenant->slug),
				 errhint("It belongs to another tenant, row or context, or it was altered.")));
	}
	*outlen = env.ciphertext_len;
	if (version_out)
		*version_out = (int32) env.key_version;
	return plain;
}

static const char *
context_arg(FunctionCallInfo fcinfo, int argno, size_t *len)
{
	text	   *t = PG_GETARG_TEXT_PP(argno);

	*len = VARSIZE_ANY_EXHDR(t);
	return VARDATA_ANY(t);
}

/* tenancy.encrypt(bytea|text, context text) RETURNS bytea */
Datum
tenancy_encrypt(PG_FUNCTION_ARGS)
{
	bytea	   *data = PG_GETARG_BYTEA_PP(0);
	TenancyTenant tenant;
	size_t		clen;
	const char *ctx;

	TenancyCurrentTenant(&tenant, false);
	ctx = context_arg(fcinfo, 1, &clen);
	PG_RETURN_BYTEA_P(encrypt_for_tenant(&tenant, (uint8 *) VARDATA_ANY(data),
										 VARSIZE_ANY_EXHDR(data),
										 (const uint8 *) ctx, clen));
}

/*
 * The common part of decrypt, decrypt_text and reencrypt: the tenant in
 * force, then argument 0 decrypted under the context in argument 1.
 */
static uint8 *
decrypt_args(FunctionCallInfo fcinfo, TenancyTenant *tenant, size_t *len,
			 int32 *version)
{
	bytea	   *data = PG_GETARG_BYTEA_PP(0);
	size_t		clen;
	const char *ctx;

	TenancyCurrentTenant(tenant, false);
	ctx = context_arg(fcinfo, 1, &clen);
	return decrypt_for_tenant(tenant, (uint8 *) VARDATA_ANY(data),
							  VARSIZE_ANY_EXHDR(data), (const uint8 *) ctx,
							  clen, len, version);
}

/* Copy plaintext into a new varlena (bytea or text), wiping the buffer. */
static struct varlena *
plain_to_varlena(uint8 *plain, size_t len)
{
	struct varlena *result = (struct varlena *) palloc(VARHDRSZ + len);

	SET_VARSIZE(result, VARHDRSZ + len);
	memcpy(VARDATA(result), plain, len);
	explicit_bzero(plain, len);
	pfree(plain);
	return result;
}

/* tenancy.decrypt(bytea, context text) RETURNS bytea */
Datum
tenancy_decrypt(PG_FUNCTION_ARGS)
{
	TenancyTenant tenant;
	size_t		len;
	uint8	   *plain = decrypt_args(fcinfo, &tenant, &len, NULL);

	PG_RETURN_BYTEA_P(plain_to_varlena(plain, len));
}

/* tenancy.decrypt_text(bytea, context text) RETURNS text */
Datum
tenancy_decrypt_text(PG_FUNCTION_ARGS)
{
	TenancyTenant tenant;
	size_t		len;
	uint8	   *plain = decrypt_args(fcinfo, &tenant, &len, NULL);

	if (!pg_verifymbstr((char *) plain, (int) len, true))
	{
		explicit_bzero(plain, len);
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("decrypted value is not valid text in encoding \"%s\"",
						GetDatabaseEncodingName()),
				 errhint("It was encrypted from bytea: use tenancy.decrypt().")));
	}
	PG_RETURN_TEXT_P(plain_to_varlena(plain, len));
}

/* tenancy.reencrypt(bytea, context text) RETURNS bytea: to the current key */
Datum
tenancy_reencrypt(PG_FUNCTION_ARGS)
{
	TenancyTenant tenant;
	size_t		clen;
	const char *ctx = context_arg(fcinfo, 1, &clen);
	size_t		len;
	int32		version;
	uint8	   *plain = decrypt_args(fcinfo, &tenant, &len, &version);
	bytea	   *result;

	PG_TRY();
	{
		if (version == cached_version(&tenant, false))
			result = (bytea *) PG_DETOAST_DATUM_COPY(PG_GETARG_DATUM(0));
		else
			result = encrypt_for_tenant(&tenant, plain, len, (const uint8 *) ctx, clen);
	}
	PG_FINALLY();
	{
		explicit_bzero(plain, len);
	}
	PG_END_TRY();
	PG_RETURN_BYTEA_P(result);
}

/*
 * tenancy.blind_index(value text, purpose text) RETURNS bytea: HMAC-SHA256
 * keyed per tenant and purpose.  Keyed by the tenant's oldest key version
 * that is not destroyed, so that rotation keeps indexes valid; after
 * destroy_keys (and a new rotate_key) they start over.
 */
Datum
tenancy_blind_index(PG_FUNCTION_ARGS)
{
	text	   *value = PG_GETARG_TEXT_PP(0);
	text	   *purpose = PG_GETARG_TEXT_PP(1);
	TenancyTenant tenant;
	uint8		key[KEY_LEN];
	char	   *p;
	bytea	   *result;
	unsigned int outlen = 32;
	unsigned char *rc;

	TenancyCurrentTenant(&tenant, false);
	p = psprintf("blind:%s", text_to_cstring(purpose));
	memcpy(key, tenant_key(&tenant, cached_version(&tenant, true), p)->derived, KEY_LEN);
	result = (bytea *) palloc(VARHDRSZ + 32);
	SET_VARSIZE(result, VARHDRSZ + 32);
	rc = HMAC(sha256_md, key, KEY_LEN, (unsigned char *) VARDATA_ANY(value),
			  VARSIZE_ANY_EXHDR(value), (unsigned char *) VARDATA(result), &outlen);
	explicit_bzero(key, sizeof(key));
	if (rc == NULL)
		openssl_error("HMAC-SHA256");
	PG_RETURN_BYTEA_P(result);
}

/*
 * tenancy._derive_key(tenant uuid, slug text, purpose text, length int):
 * the administrator-only derive_key() resolves and checks, then calls this.
 */
Datum
tenancy_derive_key_internal(PG_FUNCTION_ARGS)
{
	TenancyTenant tenant;
	char	   *purpose = text_to_cstring(PG_GETARG_TEXT_PP(2));
	int32		length = PG_GETARG_INT32(3);
	uint8		key[KEY_LEN];
	bytea	   *result;
	char	   *p;

	if (length < 16 || length > 64)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("key length %d is out of range", length),
				 errhint("Ask for 16 to 64 bytes.")));
	tenant.id = *PG_GETARG_UUID_P(0);
	text_to_cstring_buffer(PG_GETARG_TEXT_PP(1), tenant.slug, sizeof(tenant.slug));
	p = psprintf("derive:%s", purpose);
	memcpy(key, tenant_key(&tenant, cached_version(&tenant, false), p)->derived, KEY_LEN);
	result = (bytea *) palloc(VARHDRSZ + length);
	SET_VARSIZE(result, VARHDRSZ + length);
	PG_TRY();
	{
		/* Expand the cached key to the length asked for, bound to it. */
		hkdf("SHA256", key, KEY_LEN, (const uint8 *) "tenancy/derive", 14,
			 (const uint8 *) p, strlen(p), (uint8 *) VARDATA(result), length);
	}
	PG_FINALLY();
	{
		explicit_bzero(key, sizeof(key));
	}
	PG_END_TRY();
	PG_RETURN_BYTEA_P(result);
}

/* Check a digest name for the primitives; raises 22023 if unknown. */
static const EVP_MD *
digest_arg(text *name)
{
	char	   *n = text_to_cstring(name);
	const EVP_MD *md = EVP_get_digestbyname(n);

	if (md == NULL || EVP_MD_get_size(md) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown digest \"%s\"", n),
				 errhint("Use sha256, sha384, sha512 or sha1.")));
	return md;
}

/* tenancy.hkdf(ikm, salt, info, length, digest) RETURNS bytea (RFC 5869) */
Datum
tenancy_hkdf(PG_FUNCTION_ARGS)
{
	bytea	   *ikm = PG_GETARG_BYTEA_PP(0);
	bytea	   *salt = PG_GETARG_BYTEA_PP(1);
	bytea	   *info = PG_GETARG_BYTEA_PP(2);
	int32		length = PG_GETARG_INT32(3);
	const EVP_MD *md = digest_arg(PG_GETARG_TEXT_PP(4));
	int			max = 255 * EVP_MD_get_size(md);
	bytea	   *result;

	if (length < 1 || length > max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("HKDF output length %d is out of range", length),
				 errhint("Ask for 1 to %d bytes with this digest.", max)));
	result = (bytea *) palloc(VARHDRSZ + length);
	SET_VARSIZE(result, VARHDRSZ + length);
	hkdf(EVP_MD_get0_name(md),
		 (uint8 *) VARDATA_ANY(ikm), VARSIZE_ANY_EXHDR(ikm),
		 (uint8 *) VARDATA_ANY(salt), VARSIZE_ANY_EXHDR(salt),
		 (uint8 *) VARDATA_ANY(info), VARSIZE_ANY_EXHDR(info),
		 (uint8 *) VARDATA(result), length);
	PG_RETURN_BYTEA_P(result);
}

/* tenancy.pbkdf2(password, salt, iterations, length, digest) RETURNS bytea */
Datum
tenancy_pbkdf2(PG_FUNCTION_ARGS)
{
	bytea	   *pass = PG_GETARG_BYTEA_PP(0);
	bytea	   *salt = PG_GETARG_BYTEA_PP(1);
	int32		iterations = PG_GETARG_INT32(2);
	int32		length = PG_GETARG_INT32(3);
	const EVP_MD *md = digest_arg(PG_GETARG_TEXT_PP(4));
	bytea	   *result;

	if (iterations < 1 || iterations > 10000000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("PBKDF2 iteration count %d is out of range", iterations),
				 errhint("Use 1 to 10000000 iterations (600000 or more for passwords with SHA-256).")));
	if (length < 1 || length > 1024)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("PBKDF2 output length %d is out of range", length),
				 errhint("Ask for 1 to 1024 bytes.")));
	result = (bytea *) palloc(VARHDRSZ + length);
	SET_VARSIZE(result, VARHDRSZ + length);
	if (PKCS5_PBKDF2_HMAC(VARDATA_ANY(pass), VARSIZE_ANY_EXHDR(pass),
						  (unsigned char *) VARDATA_ANY(salt), VARSIZE_ANY_EXHDR(salt),
						  iterations, md, length, (unsigned char *) VARDATA(result)) != 1)
		openssl_error("PBKDF2");
	PG_RETURN_BYTEA_P(result);
}

/* tenancy._random_bytes(n int) RETURNS bytea: for salts */
Datum
tenancy_random_bytes(PG_FUNCTION_ARGS)
{
	int32		n = PG_GETARG_INT32(0);
	bytea	   *result;

	if (n < 1 || n > 1024)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot produce %d random bytes", n),
				 errhint("Ask for 1 to 1024 bytes.")));
	result = (bytea *) palloc(VARHDRSZ + n);
	SET_VARSIZE(result, VARHDRSZ + n);
	if (RAND_bytes((unsigned char *) VARDATA(result), n) != 1)
		openssl_error("RAND_bytes");
	PG_RETURN_BYTEA_P(result);
}

/* An aborted transaction leaves no derived key behind. */
static void
crypto_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		TenancyCryptoWipe();
}

/* Register the exit and abort callbacks (once per backend). */
void
TenancyCryptoInit(void)
{
	on_proc_exit(crypto_at_exit, (Datum) 0);
	RegisterXactCallback(crypto_xact_callback, NULL);
}
