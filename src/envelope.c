/*-------------------------------------------------------------------------
 *
 * envelope.c
 *		Parse and write the tenancy ciphertext envelope; seal and open it
 *		with AES-256-GCM.  See envelope.h for the wire format.
 *
 * No PostgreSQL headers, no allocation, no global state: the parser is the
 * code that sees attacker-controlled bytes first, and test/fuzz runs it
 * (and tenancy_env_open) under libFuzzer and AddressSanitizer.
 *
 *-------------------------------------------------------------------------
 */
#include "envelope.h"

#include <string.h>

/*
 * Split "buf" into header, nonce, ciphertext and tag.  Checks only the
 * structure; the tag check in tenancy_env_open decides authenticity.
 */
TenancyEnvStatus
tenancy_env_parse(const uint8_t *buf, size_t len, TenancyEnvelope *env)
{
	if (len == 0)
		return TENANCY_ENV_EMPTY;
	if (buf[0] != TENANCY_ENV_MAGIC)
		return TENANCY_ENV_BAD_MAGIC;
	if (len < 2)
		return TENANCY_ENV_TRUNCATED;
	if (buf[1] != TENANCY_ENV_FORMAT)
		return TENANCY_ENV_BAD_FORMAT;
	if (len < TENANCY_ENV_OVERHEAD)
		return TENANCY_ENV_TRUNCATED;

	env->key_version = ((uint32_t) buf[2] << 24) | ((uint32_t) buf[3] << 16) |
		((uint32_t) buf[4] << 8) | (uint32_t) buf[5];
	if (env->key_version == 0)
		return TENANCY_ENV_BAD_VERSION;
	env->header = buf;
	env->nonce = buf + 6;
	env->ciphertext = buf + TENANCY_ENV_HEADER_LEN;
	env->ciphertext_len = len - TENANCY_ENV_OVERHEAD;
	env->tag = buf + len - TENANCY_ENV_TAG_LEN;
	return TENANCY_ENV_OK;
}

/* Words for each parse failure, for error messages. */
const char *
tenancy_env_status_text(TenancyEnvStatus status)
{
	switch (status)
	{
		case TENANCY_ENV_OK:
			return "valid";
		case TENANCY_ENV_EMPTY:
			return "empty";
		case TENANCY_ENV_TRUNCATED:
			return "truncated";
		case TENANCY_ENV_BAD_MAGIC:
			return "not a tenancy ciphertext";
		case TENANCY_ENV_BAD_FORMAT:
			return "of an unknown format";
		case TENANCY_ENV_BAD_VERSION:
			return "of key version 0, which does not exist";
	}
	return "invalid";
}

/* Write the 18-byte header. */
void
tenancy_env_write_header(uint8_t *out, uint32_t key_version, const uint8_t *nonce)
{
	out[0] = TENANCY_ENV_MAGIC;
	out[1] = TENANCY_ENV_FORMAT;
	out[2] = (uint8_t) (key_version >> 24);
	out[3] = (uint8_t) (key_version >> 16);
	out[4] = (uint8_t) (key_version >> 8);
	out[5] = (uint8_t) key_version;
	memcpy(out + 6, nonce, TENANCY_ENV_NONCE_LEN);
}

/* Feed header, tenant id and context to GCM as associated data. */
static int
feed_aad(EVP_CIPHER_CTX *ctx, int encrypt, const uint8_t *header,
		 const uint8_t *tenant, const uint8_t *context, size_t context_len)
{
	int			outl;
	int			(*update) (EVP_CIPHER_CTX *, unsigned char *, int *,
						   const unsigned char *, int) =
		encrypt ? EVP_EncryptUpdate : EVP_DecryptUpdate;

	if (update(ctx, NULL, &outl, header, TENANCY_ENV_HEADER_LEN) != 1)
		return 0;
	if (update(ctx, NULL, &outl, tenant, TENANCY_ENV_TENANT_LEN) != 1)
		return 0;
	if (context_len > 0 &&
		update(ctx, NULL, &outl, context, (int) context_len) != 1)
		return 0;
	return 1;
}

int
tenancy_env_seal(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *cipher,
				 const uint8_t *key, uint32_t key_version, const uint8_t *nonce,
				 const uint8_t *tenant, const uint8_t *context,
				 size_t context_len, const uint8_t *plain, size_t plain_len,
				 uint8_t *out)
{
	int			outl;
	uint8_t    *ct = out + TENANCY_ENV_HEADER_LEN;

	if (plain_len > (size_t) INT32_MAX - TENANCY_ENV_OVERHEAD ||
		context_len > (size_t) INT32_MAX)
		return 0;
	tenancy_env_write_header(out, key_version, nonce);
	if (EVP_EncryptInit_ex(ctx, cipher, NULL, key, nonce) != 1)
		return 0;
	if (!feed_aad(ctx, 1, out, tenant, context, context_len))
		return 0;
	if (plain_len > 0 &&
		EVP_EncryptUpdate(ctx, ct, &outl, plain, (int) plain_len) != 1)
		return 0;
	if (EVP_EncryptFinal_ex(ctx, ct + plain_len, &outl) != 1)
		return 0;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TENANCY_ENV_TAG_LEN,
							ct + plain_len) != 1)
		return 0;
	return 1;
}

int
tenancy_env_open(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *cipher,
				 const uint8_t *key, const TenancyEnvelope *env,
				 const uint8_t *tenant, const uint8_t *context,
				 size_t context_len, uint8_t *plain)
{
	int			outl;
	uint8_t		tag[TENANCY_ENV_TAG_LEN];

	if (env->ciphertext_len > (size_t) INT32_MAX || context_len > (size_t) INT32_MAX)
		return 0;
	if (EVP_DecryptInit_ex(ctx, cipher, NULL, key, env->nonce) != 1)
		return 0;
	if (!feed_aad(ctx, 0, env->header, tenant, context, context_len))
		return 0;
	if (env->ciphertext_len > 0 &&
		EVP_DecryptUpdate(ctx, plain, &outl, env->ciphertext,
						  (int) env->ciphertext_len) != 1)
		return 0;
	memcpy(tag, env->tag, TENANCY_ENV_TAG_LEN);
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TENANCY_ENV_TAG_LEN, tag) != 1)
		return 0;
	/* The tag is checked here; on mismatch the caller discards "plain". */
	if (EVP_DecryptFinal_ex(ctx, plain + env->ciphertext_len, &outl) != 1)
		return 0;
	return 1;
}
