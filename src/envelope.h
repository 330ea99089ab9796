/*-------------------------------------------------------------------------
 *
 * envelope.h
 *		The ciphertext envelope of tenancy.encrypt(), and AES-256-GCM
 *		sealing and opening, in plain C on OpenSSL.
 *
 * Kept free of PostgreSQL headers on purpose: test/fuzz builds envelope.c
 * on its own with libFuzzer.  Everything PostgreSQL-specific (errors,
 * keys, tenants) lives in crypto.c.
 *
 * Wire format, version 1 (all integers big-endian):
 *
 *	 offset  size  field
 *	 0		 1	   magic 0xE7
 *	 1		 1	   format, 1
 *	 2		 4	   key version (>= 1)
 *	 6		 12	   nonce (random)
 *	 18		 n	   ciphertext (n = plaintext length)
 *	 18+n	 16	   GCM tag
 *
 * Associated data: the 18 header bytes, then the 16-byte tenant id, then
 * the caller's context string.  So a value moved to another tenant, row
 * or context, or a header edited in place, fails the tag check.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANCY_ENVELOPE_H
#define TENANCY_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define TENANCY_ENV_MAGIC		0xE7
#define TENANCY_ENV_FORMAT		1
#define TENANCY_ENV_HEADER_LEN	18
#define TENANCY_ENV_NONCE_LEN	12
#define TENANCY_ENV_TAG_LEN		16
#define TENANCY_ENV_OVERHEAD	(TENANCY_ENV_HEADER_LEN + TENANCY_ENV_TAG_LEN)
#define TENANCY_ENV_KEY_LEN		32
#define TENANCY_ENV_TENANT_LEN	16

typedef enum TenancyEnvStatus
{
	TENANCY_ENV_OK = 0,
	TENANCY_ENV_EMPTY,			/* zero bytes */
	TENANCY_ENV_TRUNCATED,		/* shorter than header + tag */
	TENANCY_ENV_BAD_MAGIC,		/* not a tenancy ciphertext */
	TENANCY_ENV_BAD_FORMAT,		/* a format this build does not know */
	TENANCY_ENV_BAD_VERSION		/* key version 0 */
} TenancyEnvStatus;

/* A parsed envelope: pointers into the caller's buffer. */
typedef struct TenancyEnvelope
{
	uint32_t	key_version;
	const uint8_t *header;		/* TENANCY_ENV_HEADER_LEN bytes */
	const uint8_t *nonce;		/* TENANCY_ENV_NONCE_LEN bytes */
	const uint8_t *ciphertext;
	size_t		ciphertext_len;
	const uint8_t *tag;			/* TENANCY_ENV_TAG_LEN bytes */
} TenancyEnvelope;

extern TenancyEnvStatus tenancy_env_parse(const uint8_t *buf, size_t len,
										  TenancyEnvelope *env);
extern const char *tenancy_env_status_text(TenancyEnvStatus status);
extern void tenancy_env_write_header(uint8_t *out, uint32_t key_version,
									 const uint8_t *nonce);

/*
 * Seal "plain" into "out" (which must hold TENANCY_ENV_OVERHEAD + plain_len
 * bytes) with a nonce the caller drew.  Open verifies and writes
 * ciphertext_len bytes of plaintext.  Both return 1 on success, 0 on
 * failure (for open: any tag mismatch); they never allocate except the
 * OpenSSL context the caller passes in, which they reuse.
 */
extern int	tenancy_env_seal(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *cipher,
							 const uint8_t *key, uint32_t key_version,
							 const uint8_t *nonce,
							 const uint8_t *tenant, const uint8_t *context,
							 size_t context_len, const uint8_t *plain,
							 size_t plain_len, uint8_t *out);
extern int	tenancy_env_open(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *cipher,
							 const uint8_t *key, const TenancyEnvelope *env,
							 const uint8_t *tenant, const uint8_t *context,
							 size_t context_len, uint8_t *plain);

#endif							/* TENANCY_ENVELOPE_H */
