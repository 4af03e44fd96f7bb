-- ingest_apply in fewer statements (issue 8, measured): a batch's cost was mostly fixed
-- (a lone signal took 1.06 ms in the database, 7 took 1.87 ms), and perf showed executor
-- start-up and end (plan nodes, plan cache checks, after-trigger queues) as a quarter of
-- the database's CPU, once per statement. The same checks and writes now take three
-- statements instead of eight:
--
-- 1. lock the recorders in id order, name the groups whose recorders changed, and find a
--    row naming a recorder the call did not present (one statement; the locking CTE's rows
--    are the newest versions, read after each lock);
-- 2. the checks by value (user active, no accepted signal with the id or body, the
--    predicted last known prices), a statement of its own after the locks, so it sees
--    what committed while it waited for them (skipped when "fresh");
-- 3. number the recorders' signals and write every row in one statement of CTEs, which
--    also tells whether any recorder written to has an enabled account link (orders are
--    then queued by one more statement, as before).
--
-- Same contract as migration 18's (arguments, checks, answer, errors).
create or replace function ingest_apply(p jsonb, p_queue text) returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, public, pg_temp
set enable_hashjoin = off
set enable_mergejoin = off
set enable_seqscan = off
set jit = off
set plan_cache_mode = force_generic_plan
as $$
declare
    v_conflicts uuid[];
    v_unproven text;
    v_result jsonb;
    v_linked boolean;
    v_orders jsonb;
begin
    -- Every presented recorder is read through `locked` at least up to its own row (a
    -- probe stops only at a match), so every one is locked, in id order, whatever the plan.
    with locked as materialized (
        select r.id, r.user_id, r.status, r.webhook_token_hash, r.xmin::text as version
          from recorders r
         where r.id = any(array(select (w->>'id')::uuid from jsonb_array_elements(p->'recorders') w))
         order by r.id
         for update
    )
    select coalesce(array_agg(distinct w.user_id), '{}'),
           (select k.recorder_id
              from (select e->>'recorder_id' as recorder_id from jsonb_array_elements(p->'signals') e
                    union all
                    select e->>'recorder_id' from jsonb_array_elements(p->'positions') e
                    union all
                    select e->>'recorder_id' from jsonb_array_elements(p->'trades') e
                    union all
                    select e->>'recorder_id' from jsonb_array_elements(p->'intents') e) k
             where k.recorder_id::uuid <> all(array(
                       select (w->>'id')::uuid from jsonb_array_elements(p->'recorders') w))
             limit 1)
      into v_conflicts, v_unproven
      from jsonb_to_recordset(p->'recorders') as w(id uuid, user_id uuid, token_hash text, version text)
     where not exists (
        select 1 from locked r
         where r.id = w.id and r.status <> 'deleted' and r.user_id = w.user_id
           and r.webhook_token_hash = decode(w.token_hash, 'hex') and r.version = w.version);
    if v_unproven is not null then
        raise exception 'ingest_apply: recorder % is not one whose webhook token this call presented',
            v_unproven using errcode = '42501';
    end if;

    if coalesce((p->>'fresh')::boolean, false) then
        -- The facts were read under these locks: nothing can have changed. If something
        -- did, the transaction is retried whole (serialization_failure).
        if cardinality(v_conflicts) > 0 then
            raise exception 'ingest_apply: facts read under the locks changed for %', v_conflicts
                using errcode = '40001';
        end if;
    else
        select v_conflicts || coalesce(array_agg(distinct c.user_id), '{}') into v_conflicts
          from (
              select e.v::uuid as user_id
                from jsonb_array_elements_text(p->'users') as e(v)
               where not exists (select 1 from users u
                                  where u.id = e.v::uuid and u.status = 'active')
              union all
              select w.user_id
                from jsonb_to_recordset(p->'client_ids') as k(recorder_id uuid, client_signal_id text)
                join jsonb_to_recordset(p->'recorders') as w(id uuid, user_id uuid) on w.id = k.recorder_id
               where exists (
                  select 1 from recorded_signals rs
                   where rs.recorder_id = k.recorder_id
                     and rs.client_signal_id = k.client_signal_id
                     and rs.client_signal_id is not null
                     and rs.status = 'accepted')
              union all
              select w.user_id
                from jsonb_to_recordset(p->'bodies') as k(recorder_id uuid, body_sha256 text, since timestamptz)
                join jsonb_to_recordset(p->'recorders') as w(id uuid, user_id uuid) on w.id = k.recorder_id
               where exists (
                  select 1 from recorded_signals rs
                   where rs.body_sha256 = decode(k.body_sha256, 'hex')
                     and rs.recorder_id = k.recorder_id
                     and rs.status = 'accepted' and rs.received_at >= k.since)
              union all
              select k.user_id
                from jsonb_to_recordset(p->'prices') as k(user_id uuid, root text, price numeric)
               where user_last_known_price(k.user_id, k.root) is distinct from k.price) c;
    end if;

    -- Rows take their user from the locked recorder (`owners`: recorder id -> user), and
    -- only recorders of groups without conflicts are written.
    with bumped as (
        update recorders r set last_seq = r.last_seq + w.n
          from jsonb_to_recordset(p->'recorders') as w(id uuid, user_id uuid, n bigint)
         where r.id = w.id and w.user_id <> all(v_conflicts)
        returning r.id, r.user_id, r.xmin::text as version
    ), owners as (
        select coalesce(jsonb_object_agg(b.id, b.user_id), '{}'::jsonb) as m from bumped b
    ), ins as (
        insert into recorded_signals (user_id, recorder_id, seq, received_at, status, action,
            ticker, root, quantity, price, target_position, client_signal_id, alert_time,
            contract, price_used, price_source, position_after, delta, default_quantity,
            commission_per_contract, contract_override, notes, error, raw_body, body_sha256,
            content_type, source_ip)
        select (o.m->>s.recorder_id::text)::uuid, s.recorder_id, s.seq, s.received_at,
               s.status, s.action, s.ticker, s.root, s.quantity, s.price, s.target_position,
               s.client_signal_id, s.alert_time, s.contract, s.price_used, s.price_source,
               s.position_after, s.delta, s.default_quantity, s.commission_per_contract,
               s.contract_override, coalesce(s.notes, '[]'), s.error, decode(s.raw_body, 'hex'),
               decode(s.body_sha256, 'hex'), s.content_type, s.source_ip
          from owners o,
               jsonb_to_recordset(p->'signals') as s(recorder_id uuid, seq bigint,
               received_at timestamptz, status text, action text, ticker text, root text,
               quantity bigint, price numeric, target_position bigint, client_signal_id text,
               alert_time text, contract text, price_used numeric, price_source text,
               position_after bigint, delta bigint, default_quantity integer,
               commission_per_contract numeric, contract_override text, notes jsonb,
               error text, raw_body text, body_sha256 text, content_type text, source_ip inet)
         where o.m ? s.recorder_id::text
        returning recorder_id, seq, id
    ), positions as (
        insert into recorder_positions (user_id, recorder_id, root, contract, side, quantity,
            avg_entry_price, realized_pnl, commission, last_price, last_price_at, signal_count,
            last_signal_id, opened_at, engine_state)
        select (o.m->>k.recorder_id::text)::uuid, k.recorder_id, k.root, k.contract,
               k.side, k.quantity, k.avg_entry_price, k.realized_pnl, k.commission,
               k.last_price, k.last_price_at, k.signal_count,
               (select i.id from ins i
                 where i.recorder_id = k.recorder_id and i.seq = k.last_signal_seq),
               k.opened_at, k.engine_state
          from owners o,
               jsonb_to_recordset(p->'positions') as k(recorder_id uuid, root text,
               contract text, side text, quantity bigint, avg_entry_price numeric,
               realized_pnl numeric, commission numeric, last_price numeric,
               last_price_at timestamptz, signal_count bigint, last_signal_seq bigint,
               opened_at timestamptz, engine_state jsonb)
         where o.m ? k.recorder_id::text
        on conflict (recorder_id, root) do update set
            contract = excluded.contract, side = excluded.side, quantity = excluded.quantity,
            avg_entry_price = excluded.avg_entry_price, realized_pnl = excluded.realized_pnl,
            commission = excluded.commission, last_price = excluded.last_price,
            last_price_at = coalesce(excluded.last_price_at, recorder_positions.last_price_at),
            signal_count = excluded.signal_count, last_signal_id = excluded.last_signal_id,
            opened_at = excluded.opened_at, engine_state = excluded.engine_state,
            updated_at = now()
    ), closed as (
        insert into trades (user_id, recorder_id, closing_signal_id, root, contract, side,
            quantity, entries, exits, avg_entry_price, avg_exit_price, realized_points,
            realized_pnl, commission, net_pnl, mae, mfe, opened_at, closed_at,
            duration_seconds, engine_trade)
        select (o.m->>t.recorder_id::text)::uuid, t.recorder_id,
               (select i.id from ins i
                 where i.recorder_id = t.recorder_id and i.seq = t.closing_seq),
               t.root, t.contract, t.side, t.quantity, t.entries, t.exits, t.avg_entry_price,
               t.avg_exit_price, t.realized_points, t.realized_pnl, t.commission, t.net_pnl,
               t.mae, t.mfe, t.opened_at, t.closed_at, t.duration_seconds, t.engine_trade
          from owners o,
               jsonb_to_recordset(p->'trades') as t(recorder_id uuid,
               closing_seq bigint, root text, contract text, side text, quantity bigint,
               entries bigint, exits bigint, avg_entry_price numeric, avg_exit_price numeric,
               realized_points numeric, realized_pnl numeric, commission numeric,
               net_pnl numeric, mae numeric, mfe numeric, opened_at timestamptz,
               closed_at timestamptz, duration_seconds bigint, engine_trade jsonb)
         where o.m ? t.recorder_id::text
    )
    select jsonb_build_object(
               'ids', (select coalesce(jsonb_agg(jsonb_build_array(i.recorder_id, i.seq, i.id)),
                                       '[]'::jsonb) from ins i),
               'versions', (select coalesce(jsonb_agg(jsonb_build_array(b.id, b.version)),
                                            '[]'::jsonb) from bumped b),
               'conflicts', to_jsonb(v_conflicts)),
           -- Orders are rare next to signals: only a recorder written to with an enabled
           -- link has any.
           exists (select 1 from recorder_account_links l, owners o
                    where l.enabled and o.m ? l.recorder_id::text
                      and l.recorder_id = any(array(select (i->>'recorder_id')::uuid
                                                       from jsonb_array_elements(p->'intents') i)))
      into v_result, v_linked;

    -- Queued per tenant, under the tenant's own scope (enqueue_batch_orders sets
    -- app.user_id per group).
    if v_linked then
        select jsonb_agg(jsonb_build_object('user_id', g.user_id, 'intents', g.intents)
                         order by g.user_id)
          into v_orders
          from (select r.user_id::text as user_id,
                       jsonb_agg(i.intent - 'seq' || jsonb_build_object('signal_id', x.e->2)
                                 order by i.ord) as intents
                  from jsonb_array_elements(p->'intents') with ordinality as i(intent, ord)
                  join jsonb_array_elements(v_result->'ids') as x(e)
                    on (x.e->>0)::uuid = (i.intent->>'recorder_id')::uuid
                   and (x.e->>1)::bigint = (i.intent->>'seq')::bigint
                  join recorders r on r.id = (i.intent->>'recorder_id')::uuid
                 group by 1) g;
        perform enqueue_batch_orders(v_orders, p_queue);
    end if;
    return v_result;
end
$$;
