/*-------------------------------------------------------------------------
 *
 * fuzz_envelope.c
 *		libFuzzer harness for the ciphertext envelope (src/envelope.c): the
 *		parser and the AES-256-GCM open path see the raw input, and a
 *		seal/open round trip checks the properties tenancy.decrypt relies on.
 *
 * Built and run by test/fuzz/run.sh (`make fuzz`), under AddressSanitizer
 * and UndefinedBehaviorSanitizer; any violated property calls abort(), so
 * libFuzzer reports it as a crash and saves the input.
 *
 * Per input:
 *	1. tenancy_env_parse() on the whole input.  On success the parsed
 *	   fields must lie inside the input and add up to its length, and
 *	   tenancy_env_open() runs with the fixed key and tenant below and, as
 *	   context, a prefix of the input whose length is nonce[0] % 19 (so it
 *	   lies within the header, and test/fuzz/make_seeds.py can seal seeds
 *	   that open).  The plaintext buffer is exactly ciphertext_len bytes,
 *	   so ASan catches any write past it.  If it opens, the same envelope
 *	   must not open for another tenant, nor with a longer context.
 *	2. Round trip: the input, as plaintext, is sealed with a fixed nonce
 *	   and key version taken from the input, under a context that is a
 *	   prefix of the input; the result must parse to the expected fields,
 *	   open, and give back the input.  Then one bit (chosen from the input)
 *	   of the sealed envelope is flipped: it must either fail to parse or
 *	   fail to open.
 *
 * The key and tenant are test constants, shared with make_seeds.py.
 *
 *-------------------------------------------------------------------------
 */
#include "envelope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

/* Shared with test/fuzz/make_seeds.py: keep in step. */
static const uint8_t fuzz_key[TENANCY_ENV_KEY_LEN] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f
};
static const uint8_t fuzz_tenant[TENANCY_ENV_TENANT_LEN] = {
	0x7e, 0x7e, 0x7e, 0x7e, 0x00, 0x00, 0x40, 0x00,
	0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01
};
static const uint8_t other_tenant[TENANCY_ENV_TENANT_LEN] = {
	0x7e, 0x7e, 0x7e, 0x7e, 0x00, 0x00, 0x40, 0x00,
	0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02
};
static const uint8_t fuzz_nonce[TENANCY_ENV_NONCE_LEN] = {
	0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
	0xa8, 0xa9, 0xaa, 0xab
};

/* Context prefix length used by the open path, see the file header. */
#define FUZZ_CONTEXT_MOD	(TENANCY_ENV_HEADER_LEN + 1)

static EVP_CIPHER_CTX *fuzz_ctx;
static EVP_CIPHER *fuzz_cipher;

static void
fail(const char *what, size_t size)
{
	fprintf(stderr, "fuzz_envelope: property violated: %s (input of %zu bytes)\n",
			what, size);
	abort();
}

/* Copy of "len" bytes in its own allocation, so ASan sees its exact bounds. */
static uint8_t *
dup_exact(const uint8_t *data, size_t len)
{
	uint8_t    *p = malloc(len ? len : 1);

	if (p == NULL)
		abort();
	if (len)
		memcpy(p, data, len);
	return p;
}

int			LLVMFuzzerInitialize(int *argc, char ***argv);
int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void) argc;
	(void) argv;
	fuzz_ctx = EVP_CIPHER_CTX_new();
	fuzz_cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	if (fuzz_ctx == NULL || fuzz_cipher == NULL)
	{
		fprintf(stderr, "fuzz_envelope: OpenSSL set-up failed\n");
		exit(1);
	}
	return 0;
}

/* Part 1: the input as a ciphertext. */
static void
fuzz_parse_open(const uint8_t *input, size_t size)
{
	TenancyEnvelope env;
	TenancyEnvStatus st;
	uint8_t    *buf = dup_exact(input, size);
	uint8_t    *plain;
	size_t		clen;

	st = tenancy_env_parse(buf, size, &env);
	if (tenancy_env_status_text(st) == NULL)
		fail("status without text", size);
	if (st != TENANCY_ENV_OK)
	{
		/* A rejected input is short, or has a bad first, second or version byte. */
		if (size >= TENANCY_ENV_OVERHEAD && buf[0] == TENANCY_ENV_MAGIC &&
			buf[1] == TENANCY_ENV_FORMAT &&
			(buf[2] | buf[3] | buf[4] | buf[5]) != 0)
			fail("well-formed envelope rejected", size);
		free(buf);
		return;
	}

	/* Structure: every field inside the buffer, adding up to its length. */
	if (size < TENANCY_ENV_OVERHEAD || buf[0] != TENANCY_ENV_MAGIC ||
		buf[1] != TENANCY_ENV_FORMAT)
		fail("malformed envelope accepted", size);
	if (env.key_version == 0 ||
		env.key_version != (((uint32_t) buf[2] << 24) | ((uint32_t) buf[3] << 16) |
							((uint32_t) buf[4] << 8) | buf[5]))
		fail("key version misread", size);
	if (env.header != buf || env.nonce != buf + 6 ||
		env.ciphertext != buf + TENANCY_ENV_HEADER_LEN ||
		env.ciphertext_len != size - TENANCY_ENV_OVERHEAD ||
		env.tag != buf + size - TENANCY_ENV_TAG_LEN)
		fail("envelope fields outside the input", size);

	clen = env.nonce[0] % FUZZ_CONTEXT_MOD;
	plain = malloc(env.ciphertext_len ? env.ciphertext_len : 1);
	if (plain == NULL)
		abort();
	if (tenancy_env_open(fuzz_ctx, fuzz_cipher, fuzz_key, &env, fuzz_tenant,
						 buf, clen, plain))
	{
		/* It is authentic: it must not be for anyone or anything else. */
		if (tenancy_env_open(fuzz_ctx, fuzz_cipher, fuzz_key, &env,
							 other_tenant, buf, clen, plain))
			fail("opened for another tenant", size);
		if (tenancy_env_open(fuzz_ctx, fuzz_cipher, fuzz_key, &env,
							 fuzz_tenant, buf, clen + 1, plain))
			fail("opened with another context", size);
	}
	ERR_clear_error();
	free(plain);
	free(buf);
}

/* Part 2: the input as a plaintext, sealed, opened and tampered with. */
static void
fuzz_round_trip(const uint8_t *input, size_t size)
{
	size_t		clen = size ? input[0] % (size + 1) : 0;
	uint32_t	version = 1;
	size_t		sealed_len = size + TENANCY_ENV_OVERHEAD;
	uint8_t    *context = dup_exact(input, clen);
	uint8_t    *sealed = malloc(sealed_len);
	uint8_t    *plain = malloc(size ? size : 1);
	TenancyEnvelope env;
	size_t		bit;
	uint64_t	pick = 0;
	size_t		i;

	if (sealed == NULL || plain == NULL)
		abort();
	if (size >= 5)
	{
		version = ((uint32_t) input[1] << 24) | ((uint32_t) input[2] << 16) |
			((uint32_t) input[3] << 8) | input[4];
		if (version == 0)
			version = 1;
	}

	if (!tenancy_env_seal(fuzz_ctx, fuzz_cipher, fuzz_key, version, fuzz_nonce,
						  fuzz_tenant, context, clen, input, size, sealed))
		fail("seal failed", size);
	if (tenancy_env_parse(sealed, sealed_len, &env) != TENANCY_ENV_OK)
		fail("sealed envelope does not parse", size);
	if (env.key_version != version || env.ciphertext_len != size ||
		memcmp(env.nonce, fuzz_nonce, TENANCY_ENV_NONCE_LEN) != 0)
		fail("sealed envelope parses to other fields", size);
	if (!tenancy_env_open(fuzz_ctx, fuzz_cipher, fuzz_key, &env, fuzz_tenant,
						  context, clen, plain))
		fail("sealed envelope does not open", size);
	if (size && memcmp(plain, input, size) != 0)
		fail("round trip changed the value", size);

	/* Flip one bit anywhere in the envelope, picked from the input. */
	for (i = 0; i < size && i < 8; i++)
		pick = (pick << 8) | input[size - 1 - i];
	bit = (size_t) (pick % ((uint64_t) sealed_len * 8));
	sealed[bit / 8] ^= (uint8_t) (1u << (bit % 8));
	if (tenancy_env_parse(sealed, sealed_len, &env) == TENANCY_ENV_OK &&
		tenancy_env_open(fuzz_ctx, fuzz_cipher, fuzz_key, &env, fuzz_tenant,
						 context, clen, plain))
		fail("tampered envelope opened", size);

	/* Truncated by one byte: must not open either. */
	sealed[bit / 8] ^= (uint8_t) (1u << (bit % 8));
	if (tenancy_env_parse(sealed, sealed_len - 1, &env) == TENANCY_ENV_OK &&
		tenancy_env_open(fuzz_ctx, fuzz_cipher, fuzz_key, &env, fuzz_tenant,
						 context, clen, plain))
		fail("truncated envelope opened", size);

	ERR_clear_error();
	free(plain);
	free(sealed);
	free(context);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_parse_open(data, size);
	fuzz_round_trip(data, size);
	return 0;
}
