-- Catalog and lifecycle: tenants, plans, members; validation and privileges.
\set SHOW_CONTEXT never
\set VERBOSITY default

-- Every catalog table is dumped by pg_dump, and everything is commented.
SELECT c.relname
  FROM pg_extension e, unnest(e.extconfig) AS cfg(oid)
  JOIN pg_class c ON c.oid = cfg.oid
 WHERE e.extname = 'tenancy' ORDER BY 1;
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'tenancy' AND c.relkind IN ('r', 'v')
   AND obj_description(c.oid, 'pg_class') IS NULL;
SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'tenancy' AND obj_description(p.oid, 'pg_proc') IS NULL;
SELECT c.relname, a.attname
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'tenancy' AND c.relkind = 'r' AND a.attnum > 0
   AND NOT a.attisdropped AND col_description(c.oid, a.attnum) IS NULL;

-- Seeded plans.
SELECT name, max_rows, statement_timeout, max_statements_per_second,
       audit_retention, features, builtin
  FROM tenancy.plans ORDER BY name;

-- create_tenant: the happy path, with a chosen id, a default name and plan.
SELECT tenancy.create_tenant('acme', 'Acme Corp', 'premium',
                             '11111111-1111-4111-8111-111111111111');
SELECT tenancy.create_tenant('globex', id => '22222222-2222-4222-8222-222222222222');
SELECT tenancy.create_tenant('initech') IS NOT NULL AS created;
SELECT slug, name, plan, status, settings, status_reason,
       created_at = updated_at AS untouched
  FROM tenancy.tenants ORDER BY slug;

-- Bad input: NULLs, bad slugs, unknown plan, duplicates.  Nothing is created.
SELECT tenancy.create_tenant(NULL);
SELECT tenancy.create_tenant('Acme Two');
SELECT tenancy.create_tenant('a');
SELECT tenancy.create_tenant('-acme');
SELECT tenancy.create_tenant(repeat('x', 64));
SELECT tenancy.create_tenant('deadbeefdeadbeefdeadbeefdeadbeef');
SELECT tenancy.suspend_tenant('{11111111-1111-4111-8111-111111111111');
SELECT tenancy.create_tenant('hooli', plan => 'gold');
SELECT tenancy.create_tenant('hooli', plan => NULL);
SELECT tenancy.create_tenant('acme');
SELECT tenancy.create_tenant('hooli', id => '11111111-1111-4111-8111-111111111111');
SELECT count(*) AS tenants FROM tenancy.tenants;

-- The catalog's own constraints hold for direct writes too.
\set VERBOSITY terse
INSERT INTO tenancy.tenants (slug, name) VALUES ('UPPER', 'x');
INSERT INTO tenancy.tenants (slug, name, status) VALUES ('weird', 'x', 'paused');
INSERT INTO tenancy.tenants (slug, name, plan) VALUES ('weird', 'x', 'gold');
UPDATE tenancy.tenants SET id = gen_random_uuid() WHERE slug = 'initech';
\set VERBOSITY default

-- suspend / resume keep status_changed_at and updated_at.
SELECT tenancy.suspend_tenant('globex', 'unpaid invoice');
SELECT slug, status, status_reason, status_changed_at > created_at AS changed,
       updated_at >= status_changed_at AS touched
  FROM tenancy.tenants WHERE slug = 'globex';
SELECT tenancy.suspend_tenant('22222222-2222-4222-8222-222222222222');  -- idempotent, keeps reason
SELECT status, status_reason FROM tenancy.tenants WHERE slug = 'globex';
SELECT tenancy.resume_tenant('globex');
SELECT tenancy.resume_tenant('globex');  -- idempotent
SELECT status, status_reason FROM tenancy.tenants WHERE slug = 'globex';
SELECT tenancy.suspend_tenant('nosuch');
SELECT tenancy.suspend_tenant(NULL);
SELECT tenancy.resume_tenant('33333333-3333-4333-8333-333333333333');

-- Offboarded is final.
UPDATE tenancy.tenants SET status = 'offboarded' WHERE slug = 'initech';
SELECT tenancy.resume_tenant('initech');
SELECT tenancy.suspend_tenant('initech');
UPDATE tenancy.tenants SET status = 'active' WHERE slug = 'initech';

-- grant / revoke.
SELECT tenancy.grant_tenant('regress_tenancy_alice', 'acme');
SELECT tenancy.grant_tenant('regress_tenancy_alice', 'acme', 'viewer');  -- changes the level
SELECT tenancy.grant_tenant('regress_tenancy_bob', 'globex', 'admin');
SELECT tenancy.grant_tenant('regress_tenancy_group', 'globex');
SELECT t.slug, m.role_name, m.level
  FROM tenancy.members m JOIN tenancy.tenants t ON t.id = m.tenant_id
 ORDER BY 1, 2;
SELECT tenancy.grant_tenant('regress_tenancy_nobody', 'acme');
SELECT tenancy.grant_tenant(NULL, 'acme');
SELECT tenancy.grant_tenant('regress_tenancy_alice', 'acme', 'owner');
SELECT tenancy.grant_tenant('regress_tenancy_alice', 'nosuch');
SELECT tenancy.grant_tenant('regress_tenancy_alice', 'initech');
SELECT tenancy.revoke_tenant('regress_tenancy_bob', 'acme');
SELECT tenancy.revoke_tenant('regress_tenancy_alice', 'nosuch');
SELECT count(*) AS memberships FROM tenancy.members;

-- A tenant role cannot administer, write the catalog, or see other
-- tenants' rows; it sees its own tenants (whatever their status).
SET ROLE regress_tenancy_alice;
SELECT tenancy.create_tenant('evil');
SELECT tenancy.suspend_tenant('acme');
SELECT tenancy.grant_tenant('regress_tenancy_alice', 'globex');
SELECT tenancy.revoke_tenant('regress_tenancy_bob', 'globex');
INSERT INTO tenancy.tenants (slug, name) VALUES ('evil', 'evil');
UPDATE tenancy.tenants SET status = 'active';
DELETE FROM tenancy.members;
INSERT INTO tenancy.members VALUES ('22222222-2222-4222-8222-222222222222', 'regress_tenancy_alice');
UPDATE tenancy.plans SET max_rows = NULL;
SELECT slug FROM tenancy.tenants ORDER BY slug;
SELECT role_name, level FROM tenancy.members ORDER BY 1;
SELECT count(*) > 0 AS plans_readable FROM tenancy.plans;
RESET ROLE;

-- Members of a group role see the group's memberships.
SET ROLE regress_tenancy_carol;
SELECT slug FROM tenancy.tenants ORDER BY slug;
SELECT role_name FROM tenancy.members ORDER BY 1;
RESET ROLE;

-- A non-superuser member of tenancy_admin administers everything.
SET ROLE regress_tenancy_admin;
SELECT tenancy.create_tenant('hooli', 'Hooli', 'basic') IS NOT NULL AS created;
SELECT tenancy.grant_tenant('regress_tenancy_bob', 'hooli', 'viewer');
SELECT tenancy.suspend_tenant('hooli', 'testing');
SELECT slug, status FROM tenancy.tenants ORDER BY slug;
SELECT tenancy.resume_tenant('hooli');
RESET ROLE;

-- Inserting a built-in plan's row updates it (how pg_restore carries
-- changed seed limits); other names insert as usual.
INSERT INTO tenancy.plans (name, max_rows, builtin) VALUES ('basic', 5, true);
INSERT INTO tenancy.plans (name, max_rows) VALUES ('startup', 1000);
SELECT name, max_rows, builtin FROM tenancy.plans ORDER BY name;
UPDATE tenancy.plans SET max_rows = 100000 WHERE name = 'basic';
