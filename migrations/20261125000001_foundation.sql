-- Foundation: users, API tokens, recorders, audit log, and row-level security.
-- Runs as the owner role (jt_owner or DATABASE_URL's role); the application connects as
-- jt_app, which owns nothing and is subject to every policy below.

-- The tenant of the current transaction, or null when none was set ('' after a previous
-- transaction-local set_config on the same connection counts as none).
create function app_user_id() returns uuid
language sql stable
as $$ select nullif(current_setting('app.user_id', true), '')::uuid $$;

-- True inside an admin-console/CLI transaction (store::AdminTx).
create function app_is_admin() returns boolean
language sql stable
as $$ select coalesce(current_setting('app.role', true), '') = 'admin' $$;

create function set_updated_at() returns trigger
language plpgsql
as $$ begin new.updated_at = now(); return new; end $$;

create table users (
    id uuid primary key,
    email text not null check (length(email) between 3 and 254),
    password_hash text not null,
    role text not null default 'user' check (role in ('user', 'admin')),
    status text not null default 'active' check (status in ('active', 'disabled')),
    time_zone text not null default 'UTC',
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create unique index users_email_key on users (lower(email));
create trigger users_updated_at before update on users
    for each row execute function set_updated_at();

create table api_tokens (
    id uuid primary key,
    user_id uuid not null references users (id) on delete cascade,
    name text not null check (length(name) between 1 and 100),
    token_hash bytea not null,
    last_used_at timestamptz,
    revoked_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint api_tokens_token_hash_key unique (token_hash)
);
create index api_tokens_user_id on api_tokens (user_id);
create trigger api_tokens_updated_at before update on api_tokens
    for each row execute function set_updated_at();

create table recorders (
    id uuid primary key,
    user_id uuid not null references users (id) on delete cascade,
    name text not null check (length(name) between 1 and 100),
    default_quantity integer not null default 1 check (default_quantity between 1 and 10000),
    status text not null default 'active' check (status in ('active', 'paused', 'deleted')),
    -- The webhook token is HMAC(secret key, id, version): only its hash is stored, and
    -- bumping the version kills the old URL at once.
    webhook_token_version integer not null default 1 check (webhook_token_version >= 1),
    webhook_token_hash bytea not null,
    duplicate_window_secs integer not null default 20 check (duplicate_window_secs between 0 and 3600),
    commission_per_contract numeric not null default 0 check (commission_per_contract >= 0),
    contract_override text,
    deleted_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint recorders_webhook_token_hash_key unique (webhook_token_hash)
);
create index recorders_user_id on recorders (user_id);
create unique index recorders_user_name_key on recorders (user_id, lower(name)) where status <> 'deleted';
create trigger recorders_updated_at before update on recorders
    for each row execute function set_updated_at();

create table audit_log (
    id bigint generated always as identity primary key,
    actor text not null,
    action text not null,
    target_user_id uuid references users (id) on delete set null,
    details jsonb not null default '{}',
    created_at timestamptz not null default now()
);
create index audit_log_created_at on audit_log (created_at desc);

-- Row-level security: enabled and forced (so even the owner's queries are filtered).
alter table users enable row level security;
alter table users force row level security;
create policy users_tenant on users
    using (id = app_user_id()) with check (id = app_user_id());
create policy users_admin on users
    using (app_is_admin()) with check (app_is_admin());

alter table api_tokens enable row level security;
alter table api_tokens force row level security;
create policy api_tokens_tenant on api_tokens
    using (user_id = app_user_id()) with check (user_id = app_user_id());
create policy api_tokens_admin_read on api_tokens for select using (app_is_admin());

alter table recorders enable row level security;
alter table recorders force row level security;
create policy recorders_tenant on recorders
    using (user_id = app_user_id()) with check (user_id = app_user_id());
create policy recorders_admin_read on recorders for select using (app_is_admin());

alter table audit_log enable row level security;
alter table audit_log force row level security;
create policy audit_log_admin_read on audit_log for select using (app_is_admin());
create policy audit_log_admin_write on audit_log for insert with check (app_is_admin());

-- The application role: data access only, no DDL, no ownership.
grant select, insert on users to jt_app;
grant update (email, password_hash, status, time_zone) on users to jt_app;
grant select, insert, update, delete on api_tokens to jt_app;
grant select, insert, update, delete on recorders to jt_app;
grant select, insert on audit_log to jt_app;
