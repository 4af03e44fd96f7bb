-- Execution joins the group-commit ingest, and live refresh leaves it (at the end).
--
-- Execution joins the group-commit ingest: the orders of a batch's accepted signals are
-- queued in the batch's own transaction, in one round trip for every tenant of the batch.
-- Caller's rights: app.user_id is set per tenant group, so row-level security checks every
-- order written (as in ingest_write).
--
-- p_groups: [{"user_id", "intents": [{"recorder_id", "signal_id", "contract", "delta",
-- "price"}]}]; one order per (intent, enabled link of its recorder), quantity
-- |delta| × multiplier, client order id jt-{signal}-{leg}-{link} (a repeat queues nothing),
-- and one wake-up job per account touched. Returns the orders queued.
create function enqueue_batch_orders(p_groups jsonb, p_queue text) returns bigint
language plpgsql volatile
set search_path = pg_catalog, public, pg_temp
set enable_hashjoin = off
set enable_mergejoin = off
set jit = off
as $$
declare
    g jsonb;
    v_queued bigint;
    v_total bigint := 0;
    v_restore text := current_setting('app.user_id', true);
begin
    for g in select value from jsonb_array_elements(p_groups) loop
        perform set_config('app.user_id', g->>'user_id', true);
        with intents as (
            select * from rows from (
                jsonb_to_recordset(g->'intents') as (recorder_id uuid, signal_id bigint,
                    contract text, delta bigint, price numeric)
            ) with ordinality as i (recorder_id, signal_id, contract, delta, price, ord)
        ),
        legs as (
            select i.*, (row_number() over (partition by i.signal_id order by i.ord) - 1) as leg
            from intents i
        ),
        inserted as (
            insert into orders (user_id, account_id, recorder_id, link_id, signal_id, leg,
                                contract, action, quantity, price, cl_ord_id, max_delay_secs)
            select l.user_id, l.account_id, g2.recorder_id, l.id, g2.signal_id, g2.leg,
                   g2.contract, case when g2.delta > 0 then 'buy' else 'sell' end,
                   abs(g2.delta) * l.multiplier, g2.price,
                   'jt-' || g2.signal_id || '-' || g2.leg || '-' || replace(l.id::text, '-', ''),
                   l.max_delay_secs
            from legs g2
            join recorder_account_links l on l.recorder_id = g2.recorder_id and l.enabled
            where g2.delta <> 0
            order by g2.ord, l.id
            on conflict (user_id, cl_ord_id) do nothing
            returning id, user_id, account_id
        ),
        events as (
            insert into order_events (user_id, order_id, status)
            select user_id, id, 'queued' from inserted
        ),
        wake as (
            insert into apalis.jobs (id, job_type, job, max_attempts)
            select apalis.generate_ulid(), p_queue,
                   convert_to(json_build_object('user_id', user_id, 'account_id', account_id)::text, 'UTF8'),
                   5
            from (select distinct user_id, account_id from inserted) accounts
        )
        select count(*) into v_queued from inserted;
        v_total := v_total + v_queued;
    end loop;
    perform set_config('app.user_id', coalesce(v_restore, ''), true);
    return v_total;
end
$$;
revoke all on function enqueue_batch_orders(jsonb, text) from public;
grant execute on function enqueue_batch_orders(jsonb, text) to jt_app;

-- Account deletion now also removes execution's rows, children first (foreign keys to
-- recorders and accounts restrict).
create or replace function delete_own_account() returns void
language plpgsql security definer
set search_path = pg_catalog, public, pg_temp
as $$
declare
    me uuid := app_user_id();
begin
    if me is null then
        raise exception 'delete_own_account: no tenant in this transaction';
    end if;
    delete from order_events where user_id = me;
    delete from orders where user_id = me;
    delete from recorder_account_links where user_id = me;
    delete from broker_accounts where user_id = me;
    delete from trades where user_id = me;
    delete from recorder_positions where user_id = me;
    delete from recorded_signals where user_id = me;
    delete from recorders where user_id = me;
    delete from api_tokens where user_id = me;
    delete from sessions where user_id = me;
    delete from users where id = me;
end
$$;

-- Live-refresh notifications leave the ingest transaction: a NOTIFY there holds the
-- notification queue's lock through the commit's WAL flush, which serialized every batch
-- of every process (measured: most sessions waiting at COMMIT). Ingest now announces
-- committed signals afterwards (store::signal_events).
drop trigger recorded_signals_notify on recorded_signals;
drop function notify_recorded_signals();
