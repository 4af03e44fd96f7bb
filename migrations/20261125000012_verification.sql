-- Broker verification (SPEC §9): a periodic check per account of the broker's positions
-- against the positions tracked from signals. It only records what it sees: snapshots, the
-- latest comparison per contract, and discrepancies. Tracking is never changed by it.

alter table broker_accounts
    add column verification_enabled boolean not null default false,
    add column verification_interval_secs integer not null default 60
        check (verification_interval_secs between 10 and 86400),
    -- The next check (null while verification is off). The first one falls at a random point
    -- of the first interval and later ones keep that phase, so accounts enabled together do
    -- not all fire at once.
    add column verification_due_at timestamptz,
    add constraint broker_accounts_verification_needs_broker
        check (not verification_enabled or kind = 'tradovate');
create index broker_accounts_verification_due on broker_accounts (verification_due_at)
    where verification_enabled;

-- The latest outcome per account: matched; settling (differs, not yet twice in a row);
-- mismatched (a discrepancy is open); unavailable (the broker could not be asked).
create table account_verifications (
    account_id uuid primary key,
    user_id uuid not null references users (id) on delete cascade,
    status text not null check (status in ('matched', 'settling', 'mismatched', 'unavailable')),
    -- Last time the broker answered.
    checked_at timestamptz,
    -- Since when the broker could not be reached (null once it answers again).
    unavailable_since timestamptz,
    -- Why it could not be reached.
    message text,
    updated_at timestamptz not null default now(),
    foreign key (account_id, user_id) references broker_accounts (id, user_id) on delete cascade
);
create index account_verifications_user on account_verifications (user_id);
create trigger account_verifications_updated_at before update on account_verifications
    for each row execute function set_updated_at();

-- The latest comparison per contract of an account, with how many checks in a row differed
-- (a discrepancy opens at two: orders in flight settle in between).
create table verification_contracts (
    account_id uuid not null,
    user_id uuid not null references users (id) on delete cascade,
    contract text not null,
    expected bigint not null,
    actual bigint not null,
    mismatches integer not null default 0,
    -- The first check of the current run of differences (a discrepancy's first_seen).
    differs_since timestamptz,
    checked_at timestamptz not null,
    primary key (account_id, contract),
    foreign key (account_id, user_id) references broker_accounts (id, user_id) on delete cascade
);
create index verification_contracts_user on verification_contracts (user_id);

-- Every check, as it was (kept for a week; see store::verification).
create table verification_snapshots (
    id bigint generated always as identity primary key,
    user_id uuid not null references users (id) on delete cascade,
    account_id uuid not null,
    checked_at timestamptz not null,
    status text not null check (status in ('matched', 'mismatched', 'unavailable')),
    -- [{"contract", "expected", "actual"}], empty when unavailable.
    contracts jsonb not null default '[]',
    error text,
    foreign key (account_id, user_id) references broker_accounts (id, user_id) on delete cascade
);
create index verification_snapshots_account on verification_snapshots (account_id, id desc);
create index verification_snapshots_checked on verification_snapshots (checked_at);
create index verification_snapshots_user on verification_snapshots (user_id);

-- A difference that persisted: open while `closed_at` is null, one open per contract.
create table discrepancies (
    id bigint generated always as identity primary key,
    user_id uuid not null references users (id) on delete cascade,
    account_id uuid not null,
    contract text not null,
    -- The latest values seen while open.
    expected bigint not null,
    actual bigint not null,
    first_seen timestamptz not null,
    last_seen timestamptz not null,
    closed_at timestamptz,
    foreign key (account_id, user_id) references broker_accounts (id, user_id) on delete cascade
);
create unique index discrepancies_one_open on discrepancies (account_id, contract)
    where closed_at is null;
create index discrepancies_account on discrepancies (account_id, id desc);
create index discrepancies_user_open on discrepancies (user_id) where closed_at is null;

do $$
declare
    t text;
begin
    foreach t in array array['account_verifications', 'verification_contracts',
                             'verification_snapshots', 'discrepancies'] loop
        execute format('alter table %I enable row level security', t);
        execute format('alter table %I force row level security', t);
        execute format('create policy %I on %I using (user_id = app_user_id()) '
                       'with check (user_id = app_user_id())', t || '_tenant', t);
        execute format('create policy %I on %I for select using (app_is_admin())',
                       t || '_admin_read', t);
        execute format('grant select, insert, update, delete on %I to jt_app', t);
    end loop;
end
$$;

-- The owner role (running the scheduler function below, and only it: `to current_user` is
-- the migrating role) sees and moves the due times of every tenant's accounts.
create policy broker_accounts_owner_schedule_read on broker_accounts for select
    to current_user using (true);
create policy broker_accounts_owner_schedule on broker_accounts for update
    to current_user using (true) with check (true);

-- The scheduler's one cross-tenant statement, run by every worker process each second:
-- claim the accounts whose check is due (skipping rows another worker is claiming), move
-- their next check one interval on, and queue one apalis job each. Active users only.
-- Returns how many were queued.
create function queue_due_verifications(p_now timestamptz, p_queue text, p_limit integer)
returns integer
language plpgsql security definer
set search_path = pg_catalog, public, pg_temp
as $$
declare
    v_queued integer;
begin
    with due as (
        select a.id
        from public.broker_accounts a
        join public.users u on u.id = a.user_id
        where a.verification_enabled
          and a.verification_due_at <= p_now
          and u.status = 'active'
        order by a.verification_due_at
        limit p_limit
        for update of a skip locked
    ),
    claimed as (
        update public.broker_accounts a
        -- Keep the phase; after a long pause (all workers down) start again from now.
        set verification_due_at = greatest(
            a.verification_due_at + make_interval(secs => a.verification_interval_secs),
            p_now)
        from due
        where a.id = due.id
        returning a.user_id, a.id
    ),
    queued as (
        insert into apalis.jobs (id, job_type, job, max_attempts)
        select apalis.generate_ulid(), p_queue,
               convert_to(json_build_object('user_id', user_id, 'account_id', id)::text, 'UTF8'),
               1
        from claimed
        returning 1
    )
    select count(*) into v_queued from queued;
    return v_queued;
end
$$;
revoke all on function queue_due_verifications(timestamptz, text, integer) from public;
grant execute on function queue_due_verifications(timestamptz, text, integer) to jt_app;
