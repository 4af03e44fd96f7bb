-- The admin console meets execution (issue 11): disabling a user stops their orders, the
-- worker's sweep skips disabled users, and indexes for the admin pages and the scrape-time
-- gauges of /metrics.

-- Disabling a user finishes their unsent orders in the admin's own transaction (audited),
-- through this one function: admin transactions get no general right to change orders.
-- Queued orders fail as "not sent"; an order already sent whose answer is unknown (waiting
-- to be looked up and perhaps resent) fails too, keeps `outcome_unknown` (it may be at the
-- broker: the worker still records the broker's answer if a send was in flight) and is
-- never sent again. Only for a disabled user, only in an admin transaction. Returns how
-- many orders it finished.
--
-- Runs as the owner (RLS is forced for the owner too, so it gets these two policies; `to
-- current_user` is the migrating role, which jt_app cannot become).
create policy orders_owner_stop on orders for update to current_user
    using (true) with check (true);
create policy order_events_owner_stop on order_events for insert to current_user
    with check (true);

create function stop_orders_of_disabled_user(p_user uuid) returns bigint
language plpgsql security definer
set search_path = pg_catalog, public, pg_temp
as $$
declare
    v_stopped bigint;
begin
    if not app_is_admin() then
        raise exception 'stop_orders_of_disabled_user: not an admin transaction'
            using errcode = 'insufficient_privilege';
    end if;
    if not exists (select 1 from users where id = p_user and status = 'disabled') then
        raise exception 'stop_orders_of_disabled_user: the user is not disabled'
            using errcode = 'object_not_in_prerequisite_state';
    end if;
    with stopped as (
        update orders o set
            status = 'failed',
            finished_at = now(),
            -- SET expressions read the row as it was: 'sent' means a send went unanswered.
            error = case when o.status = 'sent'
                then 'not sent again: the user was disabled; an earlier send got no answer, '
                     'so the order may be at the broker (check there)'
                else 'not sent: the user was disabled' end
        where o.user_id = p_user and o.status in ('queued', 'sent')
        returning o.id, o.user_id, o.error
    ),
    events as (
        insert into order_events (user_id, order_id, status, detail, at)
        select user_id, id, 'failed', error, now() from stopped
    )
    select count(*) into v_stopped from stopped;
    return v_stopped;
end
$$;
revoke all on function stop_orders_of_disabled_user(uuid) from public;
grant execute on function stop_orders_of_disabled_user(uuid) to jt_app;

-- The worker's sweep skips disabled users (their orders are finished at the disable; one
-- queued by a batch that committed just after it is refused by the worker's own check when
-- its wake-up runs, and finished at the latest when the user is enabled again).
create or replace function accounts_with_due_orders(due_at timestamptz)
returns table (user_id uuid, account_id uuid)
language sql stable security definer set search_path = pg_catalog, public, pg_temp
as $$
    select oldest.user_id, oldest.account_id from (
        select distinct on (o.account_id) o.user_id, o.account_id, o.next_attempt_at
        from public.orders o
        where o.status in ('queued', 'sent')
        order by o.account_id, o.id
    ) oldest
    join public.users u on u.id = oldest.user_id and u.status = 'active'
    where oldest.next_attempt_at <= due_at
$$;

-- A user's orders by state (admin user page): an index-only count. It also serves every
-- query orders_user served, so it replaces it (one index more per order row is enough).
create index orders_user_status on orders (user_id, status);
drop index orders_user;
-- Orders of the last hour by state (health page): an index-only scan once autovacuum has
-- marked the pages all-visible (a busy hour is hundreds of thousands of orders).
create index orders_created_at_status on orders (created_at, status);
-- Counting orders by state for the admin console. Read through the tables' policies, every
-- row carries the qual `user_id = app_user_id() OR app_is_admin()`, which needs the row's
-- user_id: a heap visit per order (470 ms for a busy hour of 500,000 orders). As the owner
-- (whose sweep policy is `true`) behind an admin gate, the counts are index-only scans.
create function admin_order_states(p_user uuid, p_since timestamptz)
returns table (status text, orders bigint)
language plpgsql stable security definer
set search_path = pg_catalog, public, pg_temp
as $$
begin
    if not app_is_admin() then
        raise exception 'admin_order_states: not an admin transaction'
            using errcode = 'insufficient_privilege';
    end if;
    if p_user is not null then
        -- One user's orders, all time (orders_user_status).
        return query select o.status, count(*) from public.orders o
            where o.user_id = p_user group by o.status;
    else
        -- Everyone's orders queued since p_since (orders_created_at_status).
        return query select o.status, count(*) from public.orders o
            where o.created_at >= p_since group by o.status;
    end if;
end
$$;
revoke all on function admin_order_states(uuid, timestamptz) from public;
grant execute on function admin_order_states(uuid, timestamptz) to jt_app;

-- Failed, rejected and expired orders (rare rows: small indexes): a user's newest, and all
-- users' of the last hour (health page).
create index orders_user_problems on orders (user_id, id desc)
    where status in ('rejected', 'failed', 'expired');
create index orders_problems_finished on orders (finished_at)
    where status in ('rejected', 'failed', 'expired');
-- Retries of the last hour (health page; rare rows).
create index order_events_retry_at on order_events (at) where status = 'retry';
-- Accounts locked out now (health page).
create index broker_accounts_locked on broker_accounts (locked_until)
    where locked_until is not null;
-- Jobs not yet finished, per queue (health page, /metrics): apalis keeps finished jobs, so
-- counting without this would read the whole table. The predicate is apalis's "not done"
-- (its fetch index covers only the ones waiting to be fetched).
create index if not exists jt_jobs_live on apalis.jobs (job_type, status)
    where status in ('Pending', 'Queued', 'Running')
       or (status = 'Failed' and attempts < max_attempts);

-- Open discrepancies of all users, as one number for /metrics (no tenant data: a count).
create policy discrepancies_owner_count on discrepancies for select to current_user
    using (true);
create function open_discrepancy_count() returns bigint
language sql stable security definer set search_path = pg_catalog, public, pg_temp
as $$
    select count(*) from public.discrepancies where closed_at is null
$$;
revoke all on function open_discrepancy_count() from public;
grant execute on function open_discrepancy_count() to jt_app;
