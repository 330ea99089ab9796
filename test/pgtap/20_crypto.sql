-- Per-tenant keys and encryption (SPEC section 4), as tenant roles where it
-- matters: round trips, NULLs, context and row binding, cross-tenant
-- decryption (member of another tenant, administrator and superuser in the
-- other tenant), tampering at every byte, truncation at every length,
-- malformed headers, key rotation and re-encryption, crypto-erasure
-- (destroy_keys, offboard_tenant), blind indexes, derive_key, the hkdf and
-- pbkdf2 primitives against published vectors, the key catalog's privacy,
-- and encrypted tenant settings.
--
-- Not covered here: a cluster without a master key (this one has one) and
-- the key cache's wipe on DISCARD ALL (not allowed inside a transaction).
BEGIN;
SELECT plan(145);
SET client_min_messages = warning;

-- Fixtures (as superuser) ------------------------------------------------------
CREATE ROLE regress_tenancy_crypto_a LOGIN;          -- operator of acme and leaving
CREATE ROLE regress_tenancy_crypto_aview LOGIN;      -- viewer of acme
CREATE ROLE regress_tenancy_crypto_aadm LOGIN;       -- member of acme at level admin
CREATE ROLE regress_tenancy_crypto_b LOGIN;          -- operator of globex and doomed
CREATE ROLE regress_tenancy_crypto_admin NOLOGIN IN ROLE tenancy_admin;
DO $$
BEGIN
    PERFORM tenancy.create_tenant('crypto20-acme', 'Acme', 'premium', 'aaaa0020-0000-4000-8000-00000000000a');
    PERFORM tenancy.create_tenant('crypto20-globex', 'Globex', 'premium', 'bbbb0020-0000-4000-8000-00000000000b');
    PERFORM tenancy.create_tenant('crypto20-doomed', 'Doomed', 'premium', 'dddd0020-0000-4000-8000-00000000000d');
    PERFORM tenancy.create_tenant('crypto20-leaving', 'Leaving', 'premium', 'eeee0020-0000-4000-8000-00000000000e');
    PERFORM tenancy.grant_tenant('regress_tenancy_crypto_a', 'crypto20-acme');
    PERFORM tenancy.grant_tenant('regress_tenancy_crypto_a', 'crypto20-leaving');
    PERFORM tenancy.grant_tenant('regress_tenancy_crypto_aview', 'crypto20-acme', 'viewer');
    PERFORM tenancy.grant_tenant('regress_tenancy_crypto_aadm', 'crypto20-acme', 'admin');
    PERFORM tenancy.grant_tenant('regress_tenancy_crypto_b', 'crypto20-globex');
    PERFORM tenancy.grant_tenant('regress_tenancy_crypto_b', 'crypto20-doomed');
END
$$;

CREATE SCHEMA regress_crypto;
GRANT USAGE ON SCHEMA regress_crypto TO PUBLIC;
-- Ciphertexts and digests handed from one role to the next.
CREATE TABLE regress_crypto.vals (name text PRIMARY KEY, v bytea);
-- Row binding: the row's id is part of the context.
CREATE TABLE regress_crypto.people (id int PRIMARY KEY, ssn bytea);
GRANT SELECT, INSERT, UPDATE, DELETE ON regress_crypto.vals, regress_crypto.people TO PUBLIC;

CREATE FUNCTION regress_crypto.val(n text) RETURNS bytea
    LANGUAGE sql STABLE AS $$ SELECT v FROM regress_crypto.vals WHERE name = n $$;

-- The ciphertext with byte "pos" (0-based) XORed with "mask".
CREATE FUNCTION regress_crypto.flip(c bytea, pos int, mask int) RETURNS bytea
    LANGUAGE sql IMMUTABLE AS $$ SELECT set_byte(c, pos, get_byte(c, pos) # mask) $$;

-- The ciphertext with header bytes 2..5 (the key version) replaced.
CREATE FUNCTION regress_crypto.with_version(c bytea, version_hex text) RETURNS bytea
    LANGUAGE sql IMMUTABLE AS $$
    SELECT overlay(c PLACING decode(version_hex, 'hex') FROM 3 FOR 4) $$;

-- How many of the variants of "c" raise 22023 on decrypt: kind 'flip'
-- XORs each byte position in turn with "mask", kind 'truncate' cuts "c"
-- to each length 0 .. length(c) - 1.  Runs as the caller (a tenant role).
-- A variant that decrypts, or fails with another SQLSTATE, is not counted
-- (and is reported in a NOTICE, visible with client_min_messages = notice).
CREATE FUNCTION regress_crypto.rejections(c bytea, ctx text, kind text, mask int DEFAULT 1)
    RETURNS int LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n int := 0;
    x bytea;
BEGIN
    FOR i IN 0 .. length(c) - 1 LOOP
        x := CASE kind WHEN 'flip' THEN regress_crypto.flip(c, i, mask)
                       WHEN 'truncate' THEN substring(c FROM 1 FOR i) END;
        BEGIN
            PERFORM tenancy.decrypt(x, ctx);
            RAISE NOTICE '% at %: decrypted', kind, i;
        EXCEPTION
            WHEN invalid_parameter_value THEN
                n := n + 1;
            WHEN OTHERS THEN
                RAISE NOTICE '% at %: SQLSTATE %', kind, i, SQLSTATE;
        END;
    END LOOP;
    RETURN n;
END
$$;

-- No tenant, no encryption ------------------------------------------------------
SET ROLE regress_tenancy_crypto_a;
SELECT throws_ok($$ SELECT tenancy.encrypt('x'::text) $$, '42501', NULL,
                 'without a tenant in force, a tenant role cannot encrypt');

-- Round trips as a tenant role --------------------------------------------------
SET tenancy.tenant = 'crypto20-acme';
SELECT is(tenancy.decrypt(tenancy.encrypt('\x00ff10e7'::bytea)), '\x00ff10e7'::bytea,
          'bytea round trip');
SELECT is(tenancy.decrypt_text(tenancy.encrypt('Grüße, 世界 ✓'::text)), 'Grüße, 世界 ✓',
          'text round trip (multibyte)');
SELECT is(tenancy.decrypt_text(tenancy.encrypt('secret'::text, 'customers.note'), 'customers.note'),
          'secret', 'round trip with a context');
SELECT is(tenancy.decrypt(tenancy.encrypt(''::bytea)), ''::bytea, 'empty value round trip');
SELECT is(md5(tenancy.decrypt_text(tenancy.encrypt(repeat('0123456789abcdef', 65536)))),
          md5(repeat('0123456789abcdef', 65536)), '1 MiB round trip');
SELECT is(tenancy.decrypt(tenancy.encrypt('abc'::text)), convert_to('abc', 'UTF8'),
          'text encrypted, decrypted as bytea: its UTF-8 bytes');
SELECT throws_ok($$ SELECT tenancy.decrypt_text(tenancy.encrypt('\xfffe00'::bytea)) $$, '22021', NULL,
                 'decrypt_text of a value that is not valid text: 22021');

SELECT ok(tenancy.encrypt(NULL::bytea) IS NULL AND tenancy.encrypt(NULL::text) IS NULL
          AND tenancy.encrypt('x'::text, NULL) IS NULL, 'encrypt: NULL in, NULL out');
SELECT ok(tenancy.decrypt(NULL) IS NULL AND tenancy.decrypt_text(NULL) IS NULL
          AND tenancy.reencrypt(NULL) IS NULL AND tenancy.decrypt(tenancy.encrypt('x'::text), NULL) IS NULL,
          'decrypt, decrypt_text, reencrypt: NULL in, NULL out');
SELECT ok(tenancy.blind_index(NULL, 'email') IS NULL AND tenancy.blind_index('x', NULL) IS NULL,
          'blind_index: NULL in, NULL out');

INSERT INTO regress_crypto.vals VALUES
    ('a16', tenancy.encrypt('sixteen bytes!!!'::bytea, 'ctx')),
    ('a16b', tenancy.encrypt('sixteen bytes!!!'::bytea, 'ctx')),
    ('a_secret', tenancy.encrypt('top secret'::text, 'x')),
    ('a_bi', tenancy.blind_index('alice@example.com', 'email'));
SELECT is(length(regress_crypto.val('a16')), 16 + 34, 'ciphertext = value + 34 bytes (18 header + 16 tag)');
SELECT is(substring(regress_crypto.val('a16') FROM 1 FOR 6), '\xe70100000001'::bytea,
          'header: magic E7, format 1, key version 1');
SELECT isnt(regress_crypto.val('a16'), regress_crypto.val('a16b'),
            'the same value encrypts differently each time (random nonce)');
SELECT isnt(substring(regress_crypto.val('a16') FROM 19 FOR 16), convert_to('sixteen bytes!!!', 'UTF8'),
            'the plaintext does not appear in the ciphertext');

-- Context binding ---------------------------------------------------------------
SELECT is(tenancy.decrypt(regress_crypto.val('a16'), 'ctx'), 'sixteen bytes!!!'::bytea,
          'decrypts in its own context');
SELECT throws_ok($$ SELECT tenancy.decrypt(regress_crypto.val('a16'), 'ctx2') $$, '22023', NULL,
                 'another context: 22023');
SELECT throws_ok($$ SELECT tenancy.decrypt(regress_crypto.val('a16')) $$, '22023', NULL,
                 'the default (empty) context for a value with one: 22023');
SELECT throws_ok($$ SELECT tenancy.decrypt(tenancy.encrypt('x'::text), 'ctx') $$, '22023', NULL,
                 'a context for a value encrypted without one: 22023');
SELECT throws_ok($$ SELECT tenancy.decrypt(regress_crypto.val('a16'), 'CTX') $$, '22023', NULL,
                 'contexts are compared exactly (case): 22023');

-- Row binding ---------------------------------------------------------------------
INSERT INTO regress_crypto.people
SELECT i, tenancy.encrypt(format('ssn-%s', i), 'people.ssn:' || i) FROM generate_series(1, 3) i;
SELECT is((SELECT string_agg(tenancy.decrypt_text(p.ssn, 'people.ssn:' || p.id), ',' ORDER BY p.id)
             FROM regress_crypto.people p),
          'ssn-1,ssn-2,ssn-3', 'each row decrypts with its own id in the context');
UPDATE regress_crypto.people p SET ssn = (SELECT q.ssn FROM regress_crypto.people q WHERE q.id = 3)
 WHERE p.id = 1;
SELECT throws_ok($$ SELECT tenancy.decrypt_text(p.ssn, 'people.ssn:' || p.id) FROM regress_crypto.people p WHERE p.id = 1 $$,
                 '22023', NULL, 'a value copied to another row does not decrypt there: 22023');
SELECT is((SELECT tenancy.decrypt_text(p.ssn, 'people.ssn:3') FROM regress_crypto.people p WHERE p.id = 1),
          'ssn-3', '... only with the context of the row it came from');

-- Tampering, truncation, malformed headers ------------------------------------------
SELECT is(regress_crypto.rejections(regress_crypto.val('a16'), 'ctx', 'flip', 1), 50,
          'each of the 50 bytes with its lowest bit flipped: 22023 every time');
SELECT is(regress_crypto.rejections(regress_crypto.val('a16'), 'ctx', 'flip', 128), 50,
          'each of the 50 bytes with its highest bit flipped: 22023 every time');
SELECT is(regress_crypto.rejections(regress_crypto.val('a16'), 'ctx', 'flip', 255), 50,
          'each of the 50 bytes inverted: 22023 every time');
SELECT is(regress_crypto.rejections(tenancy.encrypt(''::bytea, 'e'), 'e', 'flip', 1), 34,
          'an encrypted empty value (34 bytes) with any bit flipped: 22023');
SELECT is(regress_crypto.rejections(regress_crypto.val('a16'), 'ctx', 'truncate'), 50,
          'truncated to each length 0..49: 22023 every time');
SELECT throws_ok($$ SELECT tenancy.decrypt(regress_crypto.val('a16') || '\x00'::bytea, 'ctx') $$, '22023', NULL,
                 'one byte appended: 22023');
SELECT throws_ok($$ SELECT tenancy.decrypt(set_byte(regress_crypto.val('a16'), 0, 231 # 1), 'ctx') $$, '22023', NULL,
                 'wrong magic byte: 22023');
SELECT throws_ok($$ SELECT tenancy.decrypt(set_byte(regress_crypto.val('a16'), 1, 2), 'ctx') $$, '22023', NULL,
                 'unknown format 2: 22023');
SELECT throws_ok($$ SELECT tenancy.decrypt(set_byte(regress_crypto.val('a16'), 1, 0), 'ctx') $$, '22023', NULL,
                 'unknown format 0: 22023');
SELECT throws_ok($$ SELECT tenancy.decrypt(regress_crypto.with_version(regress_crypto.val('a16'), '00000000'), 'ctx') $$,
                 '22023', NULL, 'key version 0: 22023');
SELECT throws_ok($$ SELECT tenancy.decrypt(regress_crypto.with_version(regress_crypto.val('a16'), '00000009'), 'ctx') $$,
                 '22023', NULL, 'unknown key version 9: 22023');
SELECT throws_ok($$ SELECT tenancy.decrypt(regress_crypto.with_version(regress_crypto.val('a16'), '7fffffff'), 'ctx') $$,
                 '22023', NULL, 'unknown key version 2^31-1: 22023');
SELECT throws_ok($$ SELECT tenancy.decrypt(regress_crypto.with_version(regress_crypto.val('a16'), 'ffffffff'), 'ctx') $$,
                 '22023', NULL, 'key version 2^32-1 (beyond int4): 22023');
SELECT throws_ok($$ SELECT tenancy.decrypt(''::bytea) $$, '22023', NULL, 'empty input: 22023');
SELECT throws_ok($$ SELECT tenancy.decrypt(convert_to('not a ciphertext at all, not at all', 'UTF8')) $$,
                 '22023', NULL, 'arbitrary bytes: 22023');
SELECT throws_ok($$ SELECT tenancy.decrypt('\xe70100000001'::bytea || decode(repeat('00', 28), 'hex')) $$,
                 '22023', NULL, 'a well-formed header with a zero nonce and a zero tag: 22023');

-- The key catalog and key administration are out of reach ---------------------------
SELECT throws_ok($$ SELECT * FROM tenancy.tenant_keys $$, '42501', NULL,
                 'a tenant role cannot read tenancy.tenant_keys');
SELECT throws_ok($$ UPDATE tenancy.tenant_keys SET state = 'active' $$, '42501', NULL,
                 '... nor change it');
SELECT throws_ok($$ SELECT tenancy.derive_key('crypto20-acme', 'webhook') $$, '42501', NULL,
                 'a tenant role cannot derive_key, even for its own tenant');
SELECT throws_ok($$ SELECT tenancy._derive_key('aaaa0020-0000-4000-8000-00000000000a', 'crypto20-acme', 'webhook', 32) $$,
                 '42501', NULL, '... nor call tenancy._derive_key directly');
SELECT throws_ok($$ SELECT tenancy.rotate_key('crypto20-acme') $$, '42501', NULL,
                 'a tenant role cannot rotate_key');
SELECT throws_ok($$ SELECT tenancy.destroy_keys('crypto20-acme') $$, '42501', NULL,
                 'a tenant role cannot destroy_keys');
RESET tenancy.tenant;
RESET ROLE;

SET ROLE regress_tenancy_crypto_aadm;
SET tenancy.tenant = 'crypto20-acme';
SELECT throws_ok($$ SELECT tenancy.derive_key('crypto20-acme', 'webhook') $$, '42501', NULL,
                 'a member at level admin (not tenancy_admin) cannot derive_key either');
SELECT is(tenancy.decrypt_text(regress_crypto.val('a_secret'), 'x'), 'top secret',
          'another member of the same tenant decrypts');
RESET tenancy.tenant;
RESET ROLE;

-- Blind index ---------------------------------------------------------------------------
SET ROLE regress_tenancy_crypto_a;
SET tenancy.tenant = 'crypto20-acme';
SELECT is(tenancy.blind_index('alice@example.com', 'email'), regress_crypto.val('a_bi'),
          'blind_index is deterministic within a tenant');
SELECT is(length(tenancy.blind_index('alice@example.com', 'email')), 32, 'blind_index is 32 bytes (HMAC-SHA256)');
SELECT isnt(tenancy.blind_index('alice@example.com', 'login'), regress_crypto.val('a_bi'),
            'blind_index differs by purpose');
SELECT isnt(tenancy.blind_index('alice@example.con', 'email'), regress_crypto.val('a_bi'),
            'blind_index differs by value');
SELECT isnt(tenancy.blind_index('alice@example.com', 'email'), sha256('alice@example.com'::bytea),
            'blind_index is keyed (not a plain SHA-256 of the value)');
RESET tenancy.tenant;
RESET ROLE;

-- Cross-tenant decryption -------------------------------------------------------------
SET ROLE regress_tenancy_crypto_b;
SET tenancy.tenant = 'crypto20-globex';
SELECT throws_ok($$ SELECT tenancy.decrypt_text(regress_crypto.val('a_secret'), 'x') $$, '22023', NULL,
                 'a value of tenant A does not decrypt for a member of tenant B: 22023');
SELECT throws_ok($$ SELECT tenancy.decrypt(regress_crypto.val('a16'), 'ctx') $$, '22023', NULL,
                 '... nor as bytea');
SELECT throws_ok($$ SELECT tenancy.reencrypt(regress_crypto.val('a16'), 'ctx') $$, '22023', NULL,
                 '... nor can B re-encrypt it');
SELECT is(regress_crypto.rejections(regress_crypto.val('a16'), 'ctx', 'flip', 1), 50,
          '... nor any one-bit variant of it');
SELECT isnt(tenancy.blind_index('alice@example.com', 'email'), regress_crypto.val('a_bi'),
            'blind_index differs across tenants');
SELECT throws_ok($$ SET tenancy.tenant = 'crypto20-acme' $$, '42501', NULL,
                 'B cannot enter tenant A to decrypt there');
INSERT INTO regress_crypto.vals VALUES ('b_secret', tenancy.encrypt('top secret'::text, 'x'));
SELECT is(tenancy.decrypt_text(regress_crypto.val('b_secret'), 'x'), 'top secret', 'B decrypts its own values');
RESET tenancy.tenant;
RESET ROLE;

SET ROLE regress_tenancy_crypto_a;
SET tenancy.tenant = 'crypto20-acme';
SELECT throws_ok($$ SELECT tenancy.decrypt_text(regress_crypto.val('b_secret'), 'x') $$, '22023', NULL,
                 'and the other way round: B''s value does not decrypt for A');
RESET tenancy.tenant;
RESET ROLE;

SET ROLE regress_tenancy_crypto_admin;
SET tenancy.tenant = 'crypto20-globex';
SELECT throws_ok($$ SELECT tenancy.decrypt_text(regress_crypto.val('a_secret'), 'x') $$, '22023', NULL,
                 'an administrator in tenant B cannot decrypt A''s value: 22023');
SET tenancy.tenant = 'crypto20-acme';
SELECT is(tenancy.decrypt_text(regress_crypto.val('a_secret'), 'x'), 'top secret',
          'the administrator in tenant A can');
RESET tenancy.tenant;
RESET ROLE;

SET tenancy.tenant = 'crypto20-globex';
SELECT throws_ok($$ SELECT tenancy.decrypt_text(regress_crypto.val('a_secret'), 'x') $$, '22023', NULL,
                 'a superuser in tenant B cannot decrypt A''s value either: 22023');
RESET tenancy.tenant;

-- Key rotation --------------------------------------------------------------------------
SET ROLE regress_tenancy_crypto_admin;
INSERT INTO regress_crypto.vals VALUES
    ('acme_dk_before', tenancy.derive_key('crypto20-acme', 'webhook'));
SELECT is(tenancy.rotate_key('crypto20-acme'), 2, 'rotate_key (as administrator) returns the new version 2');
SELECT is((SELECT string_agg(k.version || ':' || k.state, ',' ORDER BY k.version)
             FROM tenancy.tenant_keys k WHERE k.tenant_id = 'aaaa0020-0000-4000-8000-00000000000a'),
          '1:retired,2:active', 'version 1 is retired, version 2 active');
RESET ROLE;

SET ROLE regress_tenancy_crypto_a;
SET tenancy.tenant = 'crypto20-acme';
INSERT INTO regress_crypto.vals VALUES ('a_v2', tenancy.encrypt('after rotation'::text, 'x'));
SELECT is(substring(regress_crypto.val('a_v2') FROM 3 FOR 4), '\x00000002'::bytea,
          'new values carry key version 2 (header bytes 2..5)');
SELECT is(tenancy.decrypt_text(regress_crypto.val('a_v2'), 'x'), 'after rotation', 'version 2 values decrypt');
SELECT is(tenancy.decrypt_text(regress_crypto.val('a_secret'), 'x'), 'top secret',
          'version 1 values still decrypt after rotation');
INSERT INTO regress_crypto.vals VALUES ('a_re', tenancy.reencrypt(regress_crypto.val('a_secret'), 'x'));
SELECT is(substring(regress_crypto.val('a_re') FROM 3 FOR 4), '\x00000002'::bytea,
          'reencrypt moves a version 1 value to version 2');
SELECT is(tenancy.decrypt_text(regress_crypto.val('a_re'), 'x'), 'top secret', '... with the same plaintext');
SELECT throws_ok($$ SELECT tenancy.decrypt_text(regress_crypto.val('a_re'), 'y') $$, '22023', NULL,
                 '... still bound to its context');
SELECT is(tenancy.reencrypt(regress_crypto.val('a_v2'), 'x'), regress_crypto.val('a_v2'),
          'reencrypt leaves a current value unchanged');
SELECT throws_ok($$ SELECT tenancy.reencrypt(regress_crypto.val('a_secret'), 'y') $$, '22023', NULL,
                 'reencrypt in the wrong context: 22023');
SELECT is(tenancy.blind_index('alice@example.com', 'email'), regress_crypto.val('a_bi'),
          'blind_index survives rotate_key');
SELECT is(regress_crypto.rejections(regress_crypto.val('a_v2'), 'x', 'flip', 1), length(regress_crypto.val('a_v2')),
          'a version 2 value with any bit flipped: 22023');
SELECT throws_ok($$ SELECT tenancy.decrypt(regress_crypto.with_version(regress_crypto.val('a_v2'), '00000001'), 'x') $$,
                 '22023', NULL, 'a version 2 value relabelled as version 1: 22023');
SELECT throws_ok($$ SELECT tenancy.decrypt(regress_crypto.with_version(regress_crypto.val('a_secret'), '00000002'), 'x') $$,
                 '22023', NULL, 'a version 1 value relabelled as version 2: 22023');
RESET tenancy.tenant;
RESET ROLE;

-- derive_key (administrators) ----------------------------------------------------------
SET ROLE regress_tenancy_crypto_admin;
SELECT is(length(tenancy.derive_key('crypto20-acme', 'webhook')), 32, 'derive_key: 32 bytes by default');
SELECT is(tenancy.derive_key('crypto20-acme', 'webhook'), tenancy.derive_key('crypto20-acme', 'webhook'),
          'derive_key is deterministic');
SELECT is(tenancy.derive_key('aaaa0020-0000-4000-8000-00000000000a', 'webhook'),
          tenancy.derive_key('crypto20-acme', 'webhook'), '... whether the tenant is named by slug or uuid');
SELECT isnt(tenancy.derive_key('crypto20-acme', 'webhook'), tenancy.derive_key('crypto20-acme', 'webhooks'),
            'derive_key differs by purpose');
SELECT isnt(tenancy.derive_key('crypto20-acme', 'webhook'), tenancy.derive_key('crypto20-globex', 'webhook'),
            'derive_key differs by tenant');
SELECT isnt(tenancy.derive_key('crypto20-acme', 'webhook'), regress_crypto.val('acme_dk_before'),
            'derive_key follows the current key version (changed by rotate_key)');
SELECT is(length(tenancy.derive_key('crypto20-acme', 'webhook', 16)), 16, 'derive_key: 16 bytes');
SELECT is(length(tenancy.derive_key('crypto20-acme', 'webhook', 64)), 64, 'derive_key: 64 bytes');
SELECT throws_ok($$ SELECT tenancy.derive_key('crypto20-acme', 'webhook', 15) $$, '22023', NULL,
                 'derive_key: 15 bytes is out of range (22023)');
SELECT throws_ok($$ SELECT tenancy.derive_key('crypto20-acme', 'webhook', 65) $$, '22023', NULL,
                 'derive_key: 65 bytes is out of range (22023)');
SELECT throws_ok($$ SELECT tenancy.derive_key('crypto20-acme', 'webhook', 0) $$, '22023', NULL,
                 'derive_key: 0 bytes is out of range (22023)');
SELECT throws_ok($$ SELECT tenancy.derive_key('crypto20-nosuch', 'webhook') $$, '22023', NULL,
                 'derive_key for an unknown tenant: 22023');
SELECT throws_ok($$ SELECT tenancy.derive_key('crypto20-acme', '') $$, '22004', NULL,
                 'derive_key with an empty purpose: 22004');
RESET ROLE;

-- destroy_keys: crypto-erasure ---------------------------------------------------------
SET ROLE regress_tenancy_crypto_b;
SET tenancy.tenant = 'crypto20-doomed';
INSERT INTO regress_crypto.vals VALUES
    ('d_v1', tenancy.encrypt('doomed v1'::text)),
    ('d_bi', tenancy.blind_index('x', 'email'));
RESET tenancy.tenant;
RESET ROLE;
SET ROLE regress_tenancy_crypto_admin;
SELECT is(tenancy.rotate_key('crypto20-doomed'), 2, 'doomed: rotated to version 2');
RESET ROLE;
SET ROLE regress_tenancy_crypto_b;
SET tenancy.tenant = 'crypto20-doomed';
INSERT INTO regress_crypto.vals VALUES ('d_v2', tenancy.encrypt('doomed v2'::text));
SELECT is(tenancy.decrypt_text(regress_crypto.val('d_v1')) || ' ' || tenancy.decrypt_text(regress_crypto.val('d_v2')),
          'doomed v1 doomed v2', 'doomed: both versions decrypt before destroy_keys (and are cached)');
RESET tenancy.tenant;
RESET ROLE;

SET ROLE regress_tenancy_crypto_admin;
SELECT lives_ok($$ SELECT tenancy.destroy_keys('crypto20-doomed') $$, 'destroy_keys as administrator');
SELECT is((SELECT string_agg(k.version || ':' || k.state || ':' || (k.salt IS NULL), ',' ORDER BY k.version)
             FROM tenancy.tenant_keys k WHERE k.tenant_id = 'dddd0020-0000-4000-8000-00000000000d'),
          '1:destroyed:true,2:destroyed:true', 'every version destroyed, every salt wiped');
SET tenancy.tenant = 'crypto20-doomed';
SELECT throws_ok($$ SELECT tenancy.decrypt_text(regress_crypto.val('d_v1')) $$, '22023', NULL,
                 'after destroy_keys an administrator in the tenant cannot decrypt version 1: 22023');
SELECT throws_ok($$ SELECT tenancy.decrypt_text(regress_crypto.val('d_v2')) $$, '22023', NULL,
                 '... nor version 2');
RESET tenancy.tenant;
RESET ROLE;

SET ROLE regress_tenancy_crypto_b;
SET tenancy.tenant = 'crypto20-doomed';
SELECT throws_ok($$ SELECT tenancy.decrypt_text(regress_crypto.val('d_v1')) $$, '22023', NULL,
                 'after destroy_keys the tenant''s member cannot decrypt version 1: 22023');
SELECT throws_ok($$ SELECT tenancy.decrypt_text(regress_crypto.val('d_v2')) $$, '22023', NULL,
                 '... nor version 2 (no key survives in the backend''s cache)');
SELECT throws_ok($$ SELECT tenancy.encrypt('new'::text) $$, '55000', NULL,
                 'nor encrypt: no active key (55000)');
SELECT throws_ok($$ SELECT tenancy.blind_index('x', 'email') $$, '55000', NULL,
                 'nor compute blind indexes: no key left (55000)');
RESET tenancy.tenant;
RESET ROLE;

SET tenancy.tenant = 'crypto20-doomed';
SELECT throws_ok($$ SELECT tenancy.decrypt_text(regress_crypto.val('d_v1')) $$, '22023', NULL,
                 'after destroy_keys a superuser in the tenant cannot decrypt either: 22023');
SELECT throws_ok($$ SELECT tenancy.decrypt_text(regress_crypto.val('d_v2')) $$, '22023', NULL,
                 '... nor version 2');
RESET tenancy.tenant;

SET ROLE regress_tenancy_crypto_admin;
SELECT is(tenancy.rotate_key('crypto20-doomed'), 3, 'a new version after destroy_keys is 3');
RESET ROLE;
SET ROLE regress_tenancy_crypto_b;
SET tenancy.tenant = 'crypto20-doomed';
SELECT is(tenancy.decrypt_text(tenancy.encrypt('fresh start'::text)), 'fresh start', 'new values use version 3');
SELECT throws_ok($$ SELECT tenancy.decrypt_text(regress_crypto.val('d_v1')) $$, '22023', NULL,
                 '... and the destroyed versions stay destroyed');
SELECT isnt(tenancy.blind_index('x', 'email'), regress_crypto.val('d_bi'),
            'blind indexes start over under the new version (the old ones match nothing)');
RESET tenancy.tenant;
RESET ROLE;

-- offboard_tenant destroys the keys --------------------------------------------------------
SET ROLE regress_tenancy_crypto_a;
SET tenancy.tenant = 'crypto20-leaving';
INSERT INTO regress_crypto.vals VALUES ('l_v1', tenancy.encrypt('leaving'::text));
SELECT is(tenancy.decrypt_text(regress_crypto.val('l_v1')), 'leaving', 'leaving: decrypts before offboarding');
RESET tenancy.tenant;
RESET ROLE;
SET ROLE regress_tenancy_crypto_admin;
SELECT lives_ok($$ SELECT count(*) FROM tenancy.offboard_tenant('crypto20-leaving') $$, 'offboard_tenant');
SELECT is((SELECT string_agg(k.state || ':' || (k.salt IS NULL), ',')
             FROM tenancy.tenant_keys k WHERE k.tenant_id = 'eeee0020-0000-4000-8000-00000000000e'),
          'destroyed:true', 'offboard_tenant destroyed the tenant''s keys');
SELECT throws_ok($$ SELECT tenancy.rotate_key('crypto20-leaving') $$, '55000', NULL,
                 'an offboarded tenant gets no new key (55000)');
RESET ROLE;
SET tenancy.tenant = 'crypto20-leaving';
SELECT throws_ok($$ SELECT tenancy.decrypt_text(regress_crypto.val('l_v1')) $$, '22023', NULL,
                 'a superuser in the offboarded tenant cannot decrypt its values: 22023');
RESET tenancy.tenant;

-- Tenant settings with secrets ------------------------------------------------------------
SET ROLE regress_tenancy_crypto_a;
SET tenancy.tenant = 'crypto20-acme';
SELECT lives_ok($$ SELECT tenancy.set_setting('smtp_password', '"hunter2-very-secret"', true) $$,
                'an operator sets a secret setting');
SELECT lives_ok($$ SELECT tenancy.set_setting('theme', '"dark"') $$, 'and a plain one');
SELECT lives_ok($$ SELECT tenancy.set_setting('api', '{"user": "u1", "token": "tok-zyxw"}', true) $$,
                'and a secret object');
SELECT is(tenancy.get_setting('smtp_password'), '"hunter2-very-secret"'::jsonb, 'get_setting decrypts a secret');
SELECT is(tenancy.get_setting('theme'), '"dark"'::jsonb, 'get_setting returns a plain setting');
SELECT is(tenancy.get_setting('api'), '{"user": "u1", "token": "tok-zyxw"}'::jsonb, 'a secret object round trip');
SELECT ok(tenancy.get_setting('nosuch') IS NULL, 'an unset setting is NULL');
RESET tenancy.tenant;
RESET ROLE;

SELECT ok((SELECT position('hunter2' IN t.settings::text) = 0 AND position('tok-zyxw' IN t.settings::text) = 0
                  AND t.settings -> 'smtp_password' ? 'tenancy_secret'
              FROM tenancy.tenants t WHERE t.slug = 'crypto20-acme'),
          'the stored settings hold no plaintext of the secrets');
SELECT is((SELECT substring(decode(t.settings -> 'smtp_password' ->> 'tenancy_secret', 'base64') FROM 1 FOR 2)
             FROM tenancy.tenants t WHERE t.slug = 'crypto20-acme'),
          '\xe701'::bytea, '... but a tenancy ciphertext');
SELECT is((SELECT t.settings -> 'theme' FROM tenancy.tenants t WHERE t.slug = 'crypto20-acme'),
          '"dark"'::jsonb, 'a plain setting is stored as is');

SET ROLE regress_tenancy_crypto_aview;
SET tenancy.tenant = 'crypto20-acme';
SELECT throws_ok($$ SELECT tenancy.set_setting('theme', '"light"') $$, '42501', NULL,
                 'a viewer cannot set a setting');
SELECT throws_ok($$ SELECT tenancy.set_setting('smtp_password', '"mine"', true) $$, '42501', NULL,
                 '... nor a secret one');
SELECT is(tenancy.get_setting('smtp_password'), '"hunter2-very-secret"'::jsonb, 'a viewer reads the secret');
RESET tenancy.tenant;
RESET ROLE;

SET ROLE regress_tenancy_crypto_b;
SET tenancy.tenant = 'crypto20-globex';
SELECT ok(tenancy.get_setting('smtp_password') IS NULL, 'another tenant does not read A''s secret setting');
SELECT is((SELECT count(*)::int FROM tenancy.tenants t WHERE t.slug = 'crypto20-acme'), 0,
          '... nor see A''s settings row');
RESET tenancy.tenant;
RESET ROLE;
-- A superuser copies A's encrypted setting into B's settings.
UPDATE tenancy.tenants b SET settings = a.settings
  FROM tenancy.tenants a WHERE a.slug = 'crypto20-acme' AND b.slug = 'crypto20-globex';
SET ROLE regress_tenancy_crypto_b;
SET tenancy.tenant = 'crypto20-globex';
SELECT throws_ok($$ SELECT tenancy.get_setting('smtp_password') $$, '22023', NULL,
                 'A''s encrypted setting copied into B does not decrypt for B: 22023');
SELECT is(tenancy.get_setting('theme'), '"dark"'::jsonb, '(the copied plain setting reads as is)');
RESET tenancy.tenant;
RESET ROLE;

SET ROLE regress_tenancy_crypto_a;
SET tenancy.tenant = 'crypto20-acme';
SELECT lives_ok($$ SELECT tenancy.set_setting('smtp_password', NULL, true) $$, 'set_setting with NULL removes');
SELECT ok(tenancy.get_setting('smtp_password') IS NULL, '... after which it is unset');
RESET tenancy.tenant;
RESET ROLE;

-- hkdf: RFC 5869 test cases 1 to 3 (SHA-256) ------------------------------------------------
SET ROLE regress_tenancy_crypto_a;
SELECT is(tenancy.hkdf(decode(repeat('0b', 22), 'hex'), '\x000102030405060708090a0b0c'::bytea,
                       '\xf0f1f2f3f4f5f6f7f8f9'::bytea, 42),
          '\x3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865'::bytea,
          'hkdf: RFC 5869 test case 1');
SELECT is(tenancy.hkdf((SELECT decode(string_agg(lpad(to_hex(i), 2, '0'), '' ORDER BY i), 'hex') FROM generate_series(0, 79) i),
                       (SELECT decode(string_agg(lpad(to_hex(i), 2, '0'), '' ORDER BY i), 'hex') FROM generate_series(96, 175) i),
                       (SELECT decode(string_agg(lpad(to_hex(i), 2, '0'), '' ORDER BY i), 'hex') FROM generate_series(176, 255) i),
                       82),
          '\xb11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87'::bytea,
          'hkdf: RFC 5869 test case 2 (80-byte inputs, 82 bytes out)');
SELECT is(tenancy.hkdf(decode(repeat('0b', 22), 'hex'), ''::bytea, ''::bytea, 42, 'sha256'),
          '\x8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8'::bytea,
          'hkdf: RFC 5869 test case 3 (empty salt and info)');
SELECT throws_ok($$ SELECT tenancy.hkdf('\x01'::bytea, ''::bytea, ''::bytea, 0) $$, '22023', NULL,
                 'hkdf: length 0 is out of range (22023)');
SELECT throws_ok($$ SELECT tenancy.hkdf('\x01'::bytea, ''::bytea, ''::bytea, 255 * 32 + 1) $$, '22023', NULL,
                 'hkdf: more than 255 hash lengths is out of range (22023)');
SELECT throws_ok($$ SELECT tenancy.hkdf('\x01'::bytea, ''::bytea, ''::bytea, 32, 'nosuchdigest') $$, '22023', NULL,
                 'hkdf: unknown digest (22023)');

-- pbkdf2: published PBKDF2-HMAC-SHA256 vectors ------------------------------------------------
SELECT is(tenancy.pbkdf2('password'::bytea, 'salt'::bytea, 1, 32),
          '\x120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b'::bytea,
          'pbkdf2: ("password", "salt", 1, 32)');
SELECT is(tenancy.pbkdf2('password'::bytea, 'salt'::bytea, 2, 32),
          '\xae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43'::bytea,
          'pbkdf2: ("password", "salt", 2, 32)');
SELECT is(tenancy.pbkdf2('password'::bytea, 'salt'::bytea, 4096, 32, 'sha256'),
          '\xc5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a'::bytea,
          'pbkdf2: ("password", "salt", 4096, 32)');
SELECT is(tenancy.pbkdf2('passwordPASSWORDpassword'::bytea, 'saltSALTsaltSALTsaltSALTsaltSALTsalt'::bytea, 4096, 40),
          '\x348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1c635518c7dac47e9'::bytea,
          'pbkdf2: ("passwordPASSWORDpassword", "saltSALT...", 4096, 40)');
SELECT is(tenancy.pbkdf2('passwd'::bytea, 'salt'::bytea, 1, 64),
          '\x55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783'::bytea,
          'pbkdf2: RFC 7914 section 11 ("passwd", "salt", 1, 64)');
SELECT is(tenancy.pbkdf2('Password'::bytea, 'NaCl'::bytea, 80000, 64),
          '\x4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d'::bytea,
          'pbkdf2: RFC 7914 section 11 ("Password", "NaCl", 80000, 64)');
SELECT throws_ok($$ SELECT tenancy.pbkdf2('p'::bytea, 's'::bytea, 0, 32) $$, '22023', NULL,
                 'pbkdf2: 0 iterations is out of range (22023)');
SELECT throws_ok($$ SELECT tenancy.pbkdf2('p'::bytea, 's'::bytea, 1, 0) $$, '22023', NULL,
                 'pbkdf2: length 0 is out of range (22023)');
SELECT throws_ok($$ SELECT tenancy.pbkdf2('p'::bytea, 's'::bytea, 1, 32, 'nosuchdigest') $$, '22023', NULL,
                 'pbkdf2: unknown digest (22023)');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
