-- Per-tenant keys and encryption.
\set SHOW_CONTEXT never
SELECT tenancy.create_tenant('enc-a', id => 'a0000000-0000-4000-8000-00000000000a') IS NOT NULL AS a,
       tenancy.create_tenant('enc-b', id => 'b0000000-0000-4000-8000-00000000000b') IS NOT NULL AS b;
SELECT tenancy.grant_tenant('regress_tenancy_alice', 'enc-a', 'operator');
SELECT tenancy.grant_tenant('regress_tenancy_bob', 'enc-b', 'viewer');

-- Every tenant has key version 1; the table holds salts, never keys.
SELECT t.slug, k.version, k.state, length(k.salt) AS salt_bytes
  FROM tenancy.tenant_keys k JOIN tenancy.tenants t ON t.id = k.tenant_id
 WHERE t.slug LIKE 'enc-%' ORDER BY 1, 2;

SET ROLE regress_tenancy_alice;
SELECT count(*) FROM tenancy.tenant_keys;
SET tenancy.tenant = 'enc-a';

-- Round trips; the envelope is 34 bytes longer and self-describing.
SELECT tenancy.decrypt_text(tenancy.encrypt('hello')) AS text_round_trip;
SELECT tenancy.decrypt(tenancy.encrypt('\x00ff10'::bytea)) AS bytea_round_trip;
SELECT length(tenancy.encrypt('')) AS empty_len, length(tenancy.encrypt('hello')) AS hello_len;
SELECT get_byte(c, 0) AS magic, get_byte(c, 1) AS format,
       (get_byte(c, 2) << 24) | (get_byte(c, 3) << 16) | (get_byte(c, 4) << 8) | get_byte(c, 5) AS key_version
  FROM (SELECT tenancy.encrypt('hello') AS c) x;
SELECT tenancy.encrypt('x') <> tenancy.encrypt('x') AS random_nonce;
SELECT tenancy.encrypt(NULL::text) IS NULL AS null_in_null_out,
       tenancy.decrypt(NULL) IS NULL AS null_decrypt,
       tenancy.encrypt('x', NULL) IS NULL AS null_context;

-- Bound to tenant, row and context: anything else is one 22023 error.
CREATE TEMP TABLE secrets AS
SELECT tenancy.encrypt('card 4242', 'payments.card:42') AS c;
SELECT tenancy.decrypt_text(c, 'payments.card:42') FROM secrets;
SELECT tenancy.decrypt_text(c, 'payments.card:43') FROM secrets;
SELECT tenancy.decrypt_text(c) FROM secrets;
SELECT tenancy.decrypt_text(set_byte(c, 20, get_byte(c, 20) # 1), 'payments.card:42') FROM secrets;
SELECT tenancy.decrypt_text(set_byte(c, length(c) - 1, get_byte(c, length(c) - 1) # 128), 'payments.card:42') FROM secrets;
SELECT tenancy.decrypt_text(substr(c, 1, length(c) - 1), 'payments.card:42') FROM secrets;
SELECT tenancy.decrypt_text(substr(c, 1, 33), 'payments.card:42') FROM secrets;
SELECT tenancy.decrypt_text(''::bytea);
SELECT tenancy.decrypt_text('plain text'::bytea);
SELECT tenancy.decrypt_text(set_byte(c, 1, 2), 'payments.card:42') FROM secrets;
SELECT tenancy.decrypt_text(set_byte(c, 5, 9), 'payments.card:42') FROM secrets;
SELECT tenancy.decrypt_text(set_byte(set_byte(set_byte(set_byte(c, 2, 0), 3, 0), 4, 0), 5, 0), 'payments.card:42') FROM secrets;
SELECT tenancy.decrypt_text(tenancy.encrypt('\xff'::bytea));
GRANT SELECT ON secrets TO PUBLIC;

-- Another tenant's role, and an administrator in another tenant, cannot.
SET ROLE regress_tenancy_bob;
SET tenancy.tenant = 'enc-b';
SELECT tenancy.decrypt_text(c, 'payments.card:42') FROM secrets;
RESET ROLE;
SET ROLE regress_tenancy_admin;
SET tenancy.tenant = 'enc-b';
SELECT tenancy.decrypt_text(c, 'payments.card:42') FROM secrets;
SET tenancy.tenant = 'enc-a';
SELECT tenancy.decrypt_text(c, 'payments.card:42') AS admin_in_the_right_tenant FROM secrets;

-- Blind indexes: stable within a tenant and purpose, different across.
SELECT tenancy.blind_index('ann@example.com', 'email') = tenancy.blind_index('ann@example.com', 'email') AS stable,
       tenancy.blind_index('ann@example.com', 'email') <> tenancy.blind_index('ann@example.com', 'phone') AS per_purpose,
       length(tenancy.blind_index('ann@example.com', 'email')) AS bytes;
SELECT tenancy.blind_index('ann@example.com', 'email') AS bi \gset
SET tenancy.tenant = 'enc-b';
SELECT tenancy.blind_index('ann@example.com', 'email') <> :'bi'::bytea AS per_tenant;
SET tenancy.tenant = 'enc-a';

-- Rotation: new values use version 2, old ones still decrypt, reencrypt moves them.
SELECT tenancy.rotate_key('enc-a');
SELECT get_byte(tenancy.encrypt('x'), 5) AS new_version;
SELECT tenancy.decrypt_text(c, 'payments.card:42') AS old_still_decrypts FROM secrets;
SELECT get_byte(tenancy.reencrypt(c, 'payments.card:42'), 5) AS reencrypted_version,
       tenancy.decrypt_text(tenancy.reencrypt(c, 'payments.card:42'), 'payments.card:42') AS same_value
  FROM secrets;
SELECT tenancy.blind_index('ann@example.com', 'email') = :'bi'::bytea AS blind_index_survives_rotation;
SELECT version, state, retired_at IS NOT NULL AS retired FROM tenancy.tenant_keys
 WHERE tenant_id = 'a0000000-0000-4000-8000-00000000000a' ORDER BY version;

-- derive_key: administrators only.
SELECT length(tenancy.derive_key('enc-a', 'webhooks')) AS len,
       tenancy.derive_key('enc-a', 'webhooks') = tenancy.derive_key('enc-a', 'webhooks') AS stable,
       tenancy.derive_key('enc-a', 'webhooks') <> tenancy.derive_key('enc-b', 'webhooks') AS per_tenant,
       length(tenancy.derive_key('enc-a', 'webhooks', 64)) AS len64;
SELECT tenancy.derive_key('enc-a', 'webhooks', 8);
SELECT tenancy.derive_key('enc-a', '');
SET ROLE regress_tenancy_alice;
SELECT tenancy.derive_key('enc-a', 'webhooks');
SELECT tenancy.rotate_key('enc-a');
SELECT tenancy.destroy_keys('enc-b');

-- Settings: secrets are stored encrypted; viewers may read, not write.
SELECT tenancy.set_setting('smtp_password', '"hunter2"', secret => true);
SELECT tenancy.set_setting('region', '"eu"');
SELECT tenancy.get_setting('smtp_password') AS secret, tenancy.get_setting('region') AS region,
       tenancy.get_setting('missing') IS NULL AS missing;
SELECT settings::text LIKE '%hunter2%' AS plaintext_stored, settings ? 'smtp_password' AS has_key
  FROM tenancy.tenants WHERE slug = 'enc-a';
SET ROLE regress_tenancy_bob;
SET tenancy.tenant = 'enc-b';
SELECT tenancy.set_setting('region', '"us"');
SELECT tenancy.get_setting('smtp_password') IS NULL AS cannot_see_other_tenant;
UPDATE tenancy.tenants SET settings = '{}' WHERE slug = 'enc-a';
RESET ROLE;

-- The primitives against published vectors.
SELECT encode(tenancy.hkdf('\x0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b', '\x000102030405060708090a0b0c',
                           '\xf0f1f2f3f4f5f6f7f8f9', 42), 'hex') AS rfc5869_case1;
SELECT encode(tenancy.hkdf('\x0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b', '', '', 42), 'hex') AS rfc5869_case3;
SELECT encode(tenancy.pbkdf2('password', 'salt', 1, 32), 'hex') AS pbkdf2_sha256_1,
       encode(tenancy.pbkdf2('password', 'salt', 4096, 32), 'hex') AS pbkdf2_sha256_4096;
SELECT tenancy.hkdf('k', 's', 'i', 0);
SELECT tenancy.hkdf('k', 's', 'i', 32, 'md17');
SELECT tenancy.pbkdf2('p', 's', 0, 32);

-- Crypto-erasure: after destroy_keys nothing decrypts, for anyone.
SET tenancy.tenant = 'enc-a';
SELECT tenancy.destroy_keys('enc-a');
SELECT tenancy.decrypt_text(c, 'payments.card:42') FROM secrets;
SELECT tenancy.encrypt('new');
SELECT tenancy.blind_index('ann@example.com', 'email');
SELECT version, state, salt IS NULL AS salt_wiped FROM tenancy.tenant_keys
 WHERE tenant_id = 'a0000000-0000-4000-8000-00000000000a' ORDER BY version;
SELECT tenancy.rotate_key('enc-a');
SELECT tenancy.decrypt_text(tenancy.encrypt('fresh start')) AS new_version_works;
SELECT tenancy.blind_index('ann@example.com', 'email') <> :'bi'::bytea AS blind_index_starts_over;
SELECT tenancy.decrypt_text(c, 'payments.card:42') FROM secrets;

-- Offboarding destroys the keys.
RESET tenancy.tenant;
SET client_min_messages = warning;
SELECT coalesce(sum(rows_removed), 0) AS rows_removed FROM tenancy.offboard_tenant('enc-b');
RESET client_min_messages;
SELECT state, salt IS NULL AS salt_wiped FROM tenancy.tenant_keys
 WHERE tenant_id = 'b0000000-0000-4000-8000-00000000000b';
