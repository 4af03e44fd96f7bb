-- Browser sessions and the log-in lookup (SPEC §5).

-- tower-sessions records (MessagePack in `data`: the logged-in user id and the CSRF token).
-- Not tenant data: a session is looked up by its secret id before anyone knows which user
-- it belongs to, so the table has no row-level security. Holding a session id is what
-- proves the right to that row; the application reaches the table only through
-- store::sessions, which can query nothing else.
create table sessions (
    id text primary key,
    data bytea not null,
    expiry_date timestamptz not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
-- Expired-session cleanup scans by expiry.
create index sessions_expiry_date on sessions (expiry_date);
create trigger sessions_updated_at before update on sessions
    for each row execute function set_updated_at();

grant select, insert, update, delete on sessions to jt_app;

-- Log-in needs the password hash of a user before the tenant is known, which row-level
-- security hides from the application role. The function below runs as the schema owner
-- (security definer) and narrows that cross-tenant read to one row by email and the four
-- columns log-in needs. Because users has `force row level security`, the owner is
-- filtered too, so this policy lets the owner role (and only it: `to current_user` is
-- resolved to the migrating role now) read users. jt_app is not a member of that role and
-- cannot become it, and unlike an `app.*` setting, `current_user` cannot be set by it.
create policy users_owner_login_lookup on users for select to current_user using (true);

create function auth_user_by_email(email text)
returns table (id uuid, password_hash text, status text, role text)
language sql stable security definer
set search_path = public
as $$
    select u.id, u.password_hash, u.status, u.role
    from users u
    where lower(u.email) = lower(auth_user_by_email.email)
$$;

revoke all on function auth_user_by_email(text) from public;
grant execute on function auth_user_by_email(text) to jt_app;
