-- Admin console (issue 11): per-user signal aggregates for the users list, the cluster-wide
-- signal rate, and who acted from where in the audit log.

-- The audit log names the admin account (not only a display name) and the client address.
alter table audit_log add column actor_user_id uuid references users (id) on delete set null;
alter table audit_log add column ip inet;
-- A user's page lists the audit entries about them, newest first.
create index audit_log_target on audit_log (target_user_id, id desc);

-- The users list sorts by creation (keyset on (created_at, id)).
create index users_created_at_id on users (created_at desc, id desc);

-- Recent rejected signals of a user, newest first, without walking all their signals.
create index recorded_signals_user_rejected on recorded_signals (user_id, id desc)
    where status = 'rejected';

-- Per-user signal aggregates, so the users list never scans recorded_signals.
--
-- Ingest does not update this table: that would make every inserting transaction hold a
-- row lock on its users' rows until commit, serializing a user's concurrent batches and
-- risking deadlocks between batches that touch the same users in different orders. Instead
-- a statement-level trigger appends one delta row per user per inserting statement
-- (insert-only: no locks shared between transactions), and fold_user_signal_deltas()
-- folds the deltas into the totals; the admin pages call it before reading and the server
-- calls it periodically so the deltas stay few.
create table user_signal_deltas (
    user_id uuid not null,
    signals bigint not null,
    accepted bigint not null,
    rejected bigint not null,
    duplicate bigint not null,
    ignored bigint not null,
    last_signal_at timestamptz not null,
    created_at timestamptz not null default now()
);
-- Deliberately a bare heap: no key, index, identity or foreign key, because every ingest
-- statement appends to it and each of those would cost that statement (a foreign key
-- check locks the user's row). The rows live seconds; the fold reads them all, and skips
-- users that no longer exist (the foreign key of user_signal_stats keeps the totals right).

-- One row per user (made with the user), so list queries can walk these indexes.
create table user_signal_stats (
    user_id uuid primary key references users (id) on delete cascade,
    signals bigint not null default 0,
    accepted bigint not null default 0,
    rejected bigint not null default 0,
    duplicate bigint not null default 0,
    ignored bigint not null default 0,
    last_signal_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index user_signal_stats_signals on user_signal_stats (signals desc, user_id desc);
create index user_signal_stats_last_signal on user_signal_stats
    ((coalesce(last_signal_at, 'epoch'::timestamptz)) desc, user_id desc);
create trigger user_signal_stats_updated_at before update on user_signal_stats
    for each row execute function set_updated_at();

-- Signals stored per minute, all users together (system health). Not tenant data.
create table signal_minutes (
    minute timestamptz primary key,
    signals bigint not null
);

-- The functions below run as the owner (security definer); RLS is forced for the owner too,
-- so it gets its own policies on these three tables, as for the lookups of earlier
-- migrations (`to current_user` is the migrating role, which jt_app cannot become).
alter table user_signal_deltas enable row level security;
alter table user_signal_deltas force row level security;
create policy user_signal_deltas_tenant on user_signal_deltas
    using (user_id = app_user_id()) with check (user_id = app_user_id());
create policy user_signal_deltas_admin_read on user_signal_deltas for select using (app_is_admin());
create policy user_signal_deltas_owner on user_signal_deltas to current_user using (true) with check (true);

alter table user_signal_stats enable row level security;
alter table user_signal_stats force row level security;
create policy user_signal_stats_tenant on user_signal_stats
    for select using (user_id = app_user_id());
create policy user_signal_stats_admin_read on user_signal_stats for select using (app_is_admin());
create policy user_signal_stats_owner on user_signal_stats to current_user using (true) with check (true);

alter table signal_minutes enable row level security;
alter table signal_minutes force row level security;
create policy signal_minutes_admin_read on signal_minutes for select using (app_is_admin());
create policy signal_minutes_owner on signal_minutes to current_user using (true) with check (true);

-- One delta row per user per inserting statement, whatever scope the statement ran in.
create function record_user_signal_deltas() returns trigger
language plpgsql security definer set search_path = pg_catalog, public, pg_temp
as $$
begin
    insert into user_signal_deltas
        (user_id, signals, accepted, rejected, duplicate, ignored, last_signal_at)
    select user_id,
           count(*),
           count(*) filter (where status = 'accepted'),
           count(*) filter (where status = 'rejected'),
           count(*) filter (where status = 'duplicate'),
           count(*) filter (where status = 'ignored'),
           max(received_at)
    from inserted
    group by user_id;
    return null;
end
$$;
revoke all on function record_user_signal_deltas() from public;
create trigger recorded_signals_user_deltas after insert on recorded_signals
    referencing new table as inserted
    for each statement execute function record_user_signal_deltas();

-- Every user has a stats row from the start.
create function create_user_signal_stats() returns trigger
language plpgsql security definer set search_path = pg_catalog, public, pg_temp
as $$
begin
    insert into user_signal_stats (user_id) values (new.id) on conflict do nothing;
    return null;
end
$$;
revoke all on function create_user_signal_stats() from public;
create trigger users_signal_stats after insert on users
    for each row execute function create_user_signal_stats();

-- Folds pending deltas into the per-user totals and the per-minute rate; keeps a day of
-- minutes. Folders take turns (advisory lock) and lock stats rows in user order, so they
-- cannot deadlock; ingest never waits for them.
create function fold_user_signal_deltas() returns void
language plpgsql security definer set search_path = pg_catalog, public, pg_temp
as $$
begin
    perform pg_advisory_xact_lock(hashtext('fold_user_signal_deltas'));
    with folded as (
        delete from user_signal_deltas returning *
    ), per_user as (
        insert into user_signal_stats as s
            (user_id, signals, accepted, rejected, duplicate, ignored, last_signal_at)
        select f.user_id, sum(f.signals), sum(f.accepted), sum(f.rejected), sum(f.duplicate),
               sum(f.ignored), max(f.last_signal_at)
        from folded f join users u on u.id = f.user_id
        group by f.user_id order by f.user_id
        on conflict (user_id) do update set
            signals = s.signals + excluded.signals,
            accepted = s.accepted + excluded.accepted,
            rejected = s.rejected + excluded.rejected,
            duplicate = s.duplicate + excluded.duplicate,
            ignored = s.ignored + excluded.ignored,
            last_signal_at = greatest(s.last_signal_at, excluded.last_signal_at)
    )
    insert into signal_minutes as m (minute, signals)
    select date_trunc('minute', created_at), sum(signals)
    from folded group by 1 order by 1
    on conflict (minute) do update set signals = m.signals + excluded.signals;
    delete from signal_minutes where minute < now() - interval '1 day';
end
$$;
revoke all on function fold_user_signal_deltas() from public;
grant execute on function fold_user_signal_deltas() to jt_app;

-- Existing users and signals (read as admin: RLS is forced for the owner too).
select set_config('app.role', 'admin', true);
insert into user_signal_stats (user_id) select id from users;
update user_signal_stats s set
    signals = t.signals, accepted = t.accepted, rejected = t.rejected,
    duplicate = t.duplicate, ignored = t.ignored, last_signal_at = t.last_signal_at
from (
    select user_id, count(*) as signals,
           count(*) filter (where status = 'accepted') as accepted,
           count(*) filter (where status = 'rejected') as rejected,
           count(*) filter (where status = 'duplicate') as duplicate,
           count(*) filter (where status = 'ignored') as ignored,
           max(received_at) as last_signal_at
    from recorded_signals group by user_id
) t
where s.user_id = t.user_id;
select set_config('app.role', '', true);

-- The users list for the admin console: every user with their totals, and nothing at all
-- unless the transaction is an admin one (store::AdminTx sets app.role = 'admin').
--
-- Why a view: read through the tables' own policies, each row carries the qual
-- `id = app_user_id() OR app_is_admin()`, which PostgreSQL estimates to keep 1% of rows,
-- so it sorts the whole table instead of walking the sort index for one page (80 ms
-- instead of 1 ms at 10,000 users). The view runs as its owner (whose policies on both
-- tables let it read them) behind a row-independent `app_is_admin()` gate, which the
-- planner checks once per query, and then walks the indexes.
create view admin_user_list as
select u.id, u.email, u.role, u.status, u.created_at,
       s.user_id as stats_user_id, s.signals, s.last_signal_at
from users u join user_signal_stats s on s.user_id = u.id
where app_is_admin();
grant select on admin_user_list to jt_app;

-- The admin console reads these; nothing else of jt_app's needs them.
grant select on user_signal_stats, signal_minutes to jt_app;
-- Admins change users' status and role (users_admin covers the rows). The tenant policy
-- lets a user update their own row (e.g. their time zone), so the column grant alone would
-- let a tenant transaction make itself an admin or enable itself again: only an admin
-- transaction may change either column.
grant update (role) on users to jt_app;
create function users_guard_role_and_status() returns trigger
language plpgsql
as $$
begin
    if (new.role, new.status) is distinct from (old.role, old.status) and not app_is_admin() then
        raise exception 'only an admin transaction may change a user''s role or status'
            using errcode = 'insufficient_privilege';
    end if;
    return new;
end
$$;
create trigger users_guard_role_and_status before update of role, status on users
    for each row execute function users_guard_role_and_status();
