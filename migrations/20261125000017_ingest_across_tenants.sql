-- A batch is written with the same few statements however many tenants it holds (issue 8,
-- measured): a bar-close batch of 400 signals holds ~150 tenant groups, and each group cost
-- its own statements (lock, read, write, trades), ~0.2 ms apiece whatever they hold. With
-- one tenant per batch the same load ran 25 % faster and a burst answered in 1.9 s
-- instead of 3.2 s.
--
-- Both functions plan each statement once per connection (plan_cache_mode): the only
-- parameter is the batch as jsonb, whose rows the planner cannot see anyway, and every
-- lookup is an index probe by key; left to choose, PostgreSQL replanned every statement of
-- every call (measured with perf: planning was ~15 % of the database's CPU).
--
-- Row-level security cannot scope one statement to many tenants, so ingest_prepare and
-- ingest_write now run as the owner (security definer) and check the tenancy themselves,
-- narrowly: they touch only recorders whose webhook token the caller presents (the
-- credential of a webhook, checked against the locked row), and every row they write takes
-- its user_id from that recorder, never from the caller. The composite foreign keys
-- (recorder_id, user_id) make a row that names one tenant's recorder under another tenant
-- impossible on top. The owner policies below grant single commands (no delete), for the
-- tables these functions touch; the tenant policies still scope everything else, and
-- orders are still queued under the tenant's own scope (app.user_id per tenant).
create policy recorders_owner_ingest on recorders for update to current_user
    using (true) with check (true);
create policy recorded_signals_owner_ingest_read on recorded_signals for select to current_user
    using (true);
create policy recorded_signals_owner_ingest on recorded_signals for insert to current_user
    with check (true);
create policy recorder_positions_owner_ingest_read on recorder_positions for select to current_user
    using (true);
create policy recorder_positions_owner_ingest on recorder_positions for insert to current_user
    with check (true);
create policy recorder_positions_owner_ingest_update on recorder_positions for update
    to current_user using (true) with check (true);
create policy trades_owner_ingest on trades for insert to current_user with check (true);
create policy recorder_account_links_owner_ingest_read on recorder_account_links for select
    to current_user using (true);

drop function ingest_prepare(jsonb);
drop function ingest_write(jsonb, text);

-- p: {"recorders": [{"id", "n", "token_hash"}], "positions": [{"recorder_id", "root"}],
-- "client_ids": [{"recorder_id", "client_signal_id"}], "bodies": [{"recorder_id",
-- "body_sha256", "since"}], "roots": [{"recorder_id", "root"}]}, recorders sorted by id.
-- Locks the recorders whose token hash matches, reserves n sequence numbers on each, and
-- reads what the engine needs, for those recorders only: their users' status, their stored
-- positions, accepted signals with the same id or body, and their users' last known price
-- of each root (user_last_price's rule). Returns {"recorders", "users", "positions",
-- "dup_ids", "dup_bodies", "prices"}.
create function ingest_prepare(p jsonb) returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, public, pg_temp
set enable_hashjoin = off
set enable_mergejoin = off
set enable_seqscan = off
set jit = off
set plan_cache_mode = force_generic_plan
as $$
declare
    v_recorders jsonb;
    v_ids uuid[];
    v_users uuid[];
begin
    -- Row locks in id order (locked emits each row after locking it, in id order, and the
    -- update only touches rows locked emitted): every batch of every process locks in one
    -- global order, so batches cannot deadlock. A recorder whose token no longer matches
    -- (regenerated or deleted meanwhile) is locked but not numbered: its signals find no
    -- recorder.
    with locked as (
        select r.id from recorders r
         where r.id = any(array(select (w->>'id')::uuid
                                  from jsonb_array_elements(p->'recorders') w))
         order by r.id
         for update
    ), bumped as (
        update recorders r set last_seq = r.last_seq + w.n
          from locked l,
               jsonb_to_recordset(p->'recorders') as w(id uuid, n bigint, token_hash text)
         where r.id = l.id and w.id = l.id and r.status <> 'deleted'
           and r.webhook_token_hash = decode(w.token_hash, 'hex')
        -- Numbers that must stay exact travel as text (JSON numbers would pass through f64).
        returning r.id, r.user_id, r.status, r.default_quantity, r.duplicate_window_secs,
                  r.commission_per_contract::text as commission_per_contract,
                  r.contract_override, r.last_seq - w.n + 1 as first_seq, w.token_hash
    )
    select coalesce(jsonb_agg(to_jsonb(b)), '[]'::jsonb), array_agg(b.id),
           array_agg(distinct b.user_id)
      into v_recorders, v_ids, v_users
      from bumped b;
    v_ids := coalesce(v_ids, '{}');
    v_users := coalesce(v_users, '{}');

    -- A statement of its own, after the locks: in READ COMMITTED a statement sees what
    -- committed before it started, and what another process's batch commits while we wait
    -- for a lock must be seen. Every lookup is a lateral probe keyed by the wanted row (with
    -- a limit, so the planner cannot flatten it into a join), so whatever the statistics
    -- say the plan is one index probe per key.
    return jsonb_build_object(
        'recorders', v_recorders,
        'users', (
            select coalesce(jsonb_agg(jsonb_build_object('id', u.id, 'status', u.status)),
                            '[]'::jsonb)
              from users u where u.id = any(v_users)),
        'positions', (
            select coalesce(jsonb_agg(jsonb_build_object(
                       'recorder_id', k.recorder_id, 'root', k.root, 'state', s.engine_state)),
                       '[]'::jsonb)
              from jsonb_to_recordset(p->'positions') as k(recorder_id uuid, root text)
              cross join lateral (
                  select rp.engine_state from recorder_positions rp
                   where rp.recorder_id = k.recorder_id and rp.root = k.root
                   limit 1) s
             where k.recorder_id = any(v_ids)),
        'dup_ids', (
            select coalesce(jsonb_agg(jsonb_build_object(
                       'recorder_id', k.recorder_id, 'client_signal_id', k.client_signal_id,
                       'id', s.id)), '[]'::jsonb)
              from jsonb_to_recordset(p->'client_ids') as k(recorder_id uuid, client_signal_id text)
              cross join lateral (
                  select rs.id from recorded_signals rs
                   where rs.recorder_id = k.recorder_id
                     and rs.client_signal_id = k.client_signal_id
                     -- the partial unique index's predicate, spelled out
                     and rs.client_signal_id is not null
                     and rs.status = 'accepted'
                   limit 1) s
             where k.recorder_id = any(v_ids)),
        -- The newest accepted signal with the same body since the earliest window start.
        'dup_bodies', (
            select coalesce(jsonb_agg(jsonb_build_object(
                       'recorder_id', k.recorder_id, 'body_sha256', k.body_sha256,
                       'id', d.id, 'received_at', d.received_at)), '[]'::jsonb)
              from jsonb_to_recordset(p->'bodies') as k(recorder_id uuid, body_sha256 text, since timestamptz)
              cross join lateral (
                  select rs.id, rs.received_at from recorded_signals rs
                   where rs.body_sha256 = decode(k.body_sha256, 'hex')
                     and rs.recorder_id = k.recorder_id
                     and rs.status = 'accepted' and rs.received_at >= k.since
                   order by rs.received_at desc limit 1) d
             where k.recorder_id = any(v_ids)),
        -- Per user (of a locked recorder) and root: the freshest price of any of the user's
        -- positions, as user_last_price.
        'prices', (
            select coalesce(jsonb_agg(jsonb_build_object(
                       'user_id', q.user_id, 'root', q.root, 'price', lp.last_price::text)),
                       '[]'::jsonb)
              from (select distinct (x->>'user_id')::uuid as user_id, k.root
                      from jsonb_to_recordset(p->'roots') as k(recorder_id uuid, root text)
                      join jsonb_array_elements(v_recorders) x
                        on (x->>'id')::uuid = k.recorder_id) q
              left join lateral (
                  select rp.last_price from recorder_positions rp
                   where rp.user_id = q.user_id and rp.root = q.root
                     and rp.last_price is not null
                   order by rp.last_price_at desc nulls last
                   limit 1) lp on true));
end
$$;
revoke all on function ingest_prepare(jsonb) from public;
grant execute on function ingest_prepare(jsonb) to jt_app;

-- p: {"recorders": [{"id", "token_hash"}], "signals", "positions", "trades", "intents":
-- [{"recorder_id", "seq", "contract", "delta", "price"}]}. Positions, trades and intents
-- name their signal by (recorder_id, seq) of a signal of the batch. Writes every signal row
-- whatever its fate (in array order, so ids follow arrival), the final position of each
-- (recorder, root) touched, the closed trades (in array order, so ids follow closing order)
-- and the orders. Every row must name a recorder of p.recorders whose token matches (they
-- are this transaction's, locked by ingest_prepare); anything else refuses the whole call.
-- Returns [recorder_id, seq, id] of every signal.
--
-- The positions upsert is write_positions' and the trades insert write_trades' (which
-- rebuild uses, under the tenant's scope): a change to one must be made to both.
create function ingest_write(p jsonb, p_queue text) returns jsonb
language plpgsql volatile security definer
set search_path = pg_catalog, public, pg_temp
set enable_hashjoin = off
set enable_mergejoin = off
set enable_seqscan = off
set jit = off
set plan_cache_mode = force_generic_plan
as $$
declare
    v_owners jsonb;
    v_unproven text;
    v_ids jsonb;
    v_orders jsonb;
begin
    -- recorder id -> its user, for the recorders the caller proved (already locked by this
    -- transaction, so locking again waits for nobody).
    with proven as (
        select r.id, r.user_id from recorders r
          join jsonb_to_recordset(p->'recorders') as w(id uuid, token_hash text)
            on w.id = r.id and r.webhook_token_hash = decode(w.token_hash, 'hex')
         where r.status <> 'deleted'
         for update of r
    )
    select coalesce(jsonb_object_agg(id, user_id), '{}'::jsonb) into v_owners from proven;

    select k.recorder_id into v_unproven
      from (select e->>'recorder_id' as recorder_id from jsonb_array_elements(p->'signals') e
            union all
            select e->>'recorder_id' from jsonb_array_elements(p->'positions') e
            union all
            select e->>'recorder_id' from jsonb_array_elements(p->'trades') e
            union all
            select e->>'recorder_id' from jsonb_array_elements(p->'intents') e) k
     where not v_owners ? lower(k.recorder_id)
     limit 1;
    if found then
        raise exception 'ingest_write: recorder % is not one whose webhook token this call presented',
            v_unproven using errcode = '42501';
    end if;

    with ins as (
        insert into recorded_signals (user_id, recorder_id, seq, received_at, status, action,
            ticker, root, quantity, price, target_position, client_signal_id, alert_time,
            contract, price_used, price_source, position_after, delta, default_quantity,
            commission_per_contract, contract_override, notes, error, raw_body, body_sha256,
            content_type, source_ip)
        select (v_owners->>s.recorder_id::text)::uuid, s.recorder_id, s.seq, s.received_at,
               s.status, s.action, s.ticker, s.root, s.quantity, s.price, s.target_position,
               s.client_signal_id, s.alert_time, s.contract, s.price_used, s.price_source,
               s.position_after, s.delta, s.default_quantity, s.commission_per_contract,
               s.contract_override, s.notes, s.error, decode(s.raw_body, 'hex'),
               decode(s.body_sha256, 'hex'), s.content_type, s.source_ip
          from jsonb_to_recordset(p->'signals') as s(recorder_id uuid, seq bigint,
               received_at timestamptz, status text, action text, ticker text, root text,
               quantity bigint, price numeric, target_position bigint, client_signal_id text,
               alert_time text, contract text, price_used numeric, price_source text,
               position_after bigint, delta bigint, default_quantity integer,
               commission_per_contract numeric, contract_override text, notes jsonb,
               error text, raw_body text, body_sha256 text, content_type text, source_ip inet)
        returning recorder_id, seq, id
    ), positions as (
        insert into recorder_positions (user_id, recorder_id, root, contract, side, quantity,
            avg_entry_price, realized_pnl, commission, last_price, last_price_at, signal_count,
            last_signal_id, opened_at, engine_state)
        select (v_owners->>k.recorder_id::text)::uuid, k.recorder_id, k.root, k.contract,
               k.side, k.quantity, k.avg_entry_price, k.realized_pnl, k.commission,
               k.last_price, k.last_price_at, k.signal_count,
               (select i.id from ins i
                 where i.recorder_id = k.recorder_id and i.seq = k.last_signal_seq),
               k.opened_at, k.engine_state
          from jsonb_to_recordset(p->'positions') as k(recorder_id uuid, root text,
               contract text, side text, quantity bigint, avg_entry_price numeric,
               realized_pnl numeric, commission numeric, last_price numeric,
               last_price_at timestamptz, signal_count bigint, last_signal_seq bigint,
               opened_at timestamptz, engine_state jsonb)
        on conflict (recorder_id, root) do update set
            contract = excluded.contract, side = excluded.side, quantity = excluded.quantity,
            avg_entry_price = excluded.avg_entry_price, realized_pnl = excluded.realized_pnl,
            commission = excluded.commission, last_price = excluded.last_price,
            last_price_at = coalesce(excluded.last_price_at, recorder_positions.last_price_at),
            signal_count = excluded.signal_count, last_signal_id = excluded.last_signal_id,
            opened_at = excluded.opened_at, engine_state = excluded.engine_state
    ), closed as (
        insert into trades (user_id, recorder_id, closing_signal_id, root, contract, side,
            quantity, entries, exits, avg_entry_price, avg_exit_price, realized_points,
            realized_pnl, commission, net_pnl, mae, mfe, opened_at, closed_at,
            duration_seconds, engine_trade)
        select (v_owners->>t.recorder_id::text)::uuid, t.recorder_id,
               (select i.id from ins i
                 where i.recorder_id = t.recorder_id and i.seq = t.closing_seq),
               t.root, t.contract, t.side, t.quantity, t.entries, t.exits, t.avg_entry_price,
               t.avg_exit_price, t.realized_points, t.realized_pnl, t.commission, t.net_pnl,
               t.mae, t.mfe, t.opened_at, t.closed_at, t.duration_seconds, t.engine_trade
          from jsonb_to_recordset(p->'trades') as t(recorder_id uuid,
               closing_seq bigint, root text, contract text, side text, quantity bigint,
               entries bigint, exits bigint, avg_entry_price numeric, avg_exit_price numeric,
               realized_points numeric, realized_pnl numeric, commission numeric,
               net_pnl numeric, mae numeric, mfe numeric, opened_at timestamptz,
               closed_at timestamptz, duration_seconds bigint, engine_trade jsonb)
    )
    select coalesce(jsonb_agg(jsonb_build_array(recorder_id, seq, id)), '[]'::jsonb)
      into v_ids from ins;

    -- Orders are rare next to signals (a linked account): queued per tenant, under the
    -- tenant's own scope (enqueue_batch_orders sets app.user_id per group), only when a
    -- recorder of the batch has an enabled link.
    if jsonb_array_length(p->'intents') > 0 and exists (
        select 1 from recorder_account_links l
         where l.enabled
           and l.recorder_id = any(array(select (i->>'recorder_id')::uuid
                                            from jsonb_array_elements(p->'intents') i)))
    then
        select jsonb_agg(jsonb_build_object('user_id', g.user_id, 'intents', g.intents)
                         order by g.user_id)
          into v_orders
          from (select v_owners->>lower(i.intent->>'recorder_id') as user_id,
                       jsonb_agg(i.intent - 'seq' || jsonb_build_object('signal_id', x.e->2)
                                 order by i.ord) as intents
                  from jsonb_array_elements(p->'intents') with ordinality as i(intent, ord)
                  join jsonb_array_elements(v_ids) as x(e)
                    on (x.e->>0)::uuid = (i.intent->>'recorder_id')::uuid
                   and (x.e->>1)::bigint = (i.intent->>'seq')::bigint
                 group by 1) g;
        perform enqueue_batch_orders(v_orders, p_queue);
    end if;
    return v_ids;
end
$$;
revoke all on function ingest_write(jsonb, text) from public;
grant execute on function ingest_write(jsonb, text) to jt_app;
