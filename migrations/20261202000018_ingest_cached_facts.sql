-- Ingest in one round trip (issue 8, measured): a web process remembers, per recorder, the
-- facts its last batch left behind (settings, next sequence number, every position) and
-- decides the next batch from them, then writes it with one autocommit call of
-- ingest_apply, which checks under the row locks that those facts are still current. A
-- batch used to cost four round trips (begin, prepare, write, commit) and the prepare's
-- reads; a prototype of this path ran the sustained benchmark 25 - 40 % faster.
--
-- "Still current" is the recorder row's version (its xmin): every change to a recorder's
-- facts updates that row in the same transaction (ingest numbers its signals there,
-- settings, pause, token and delete are updates of it, rebuild's fix touches it), so an
-- unchanged xmin means nothing the decision rested on has changed since. What is not the
-- recorder's own is checked by value: the user is still active, no accepted signal has the
-- same id or body, and the user's last known price of a root is the one used. A tenant
-- group (one user's signals) that fails any check is not written at all and is named in
-- the answer; the caller decides it again from facts read under the locks (ingest_facts,
-- in a transaction that then calls ingest_apply with "fresh": true).
--
-- Both replace ingest_prepare and ingest_write and keep their tenancy rules: they run as
-- the owner, touch only recorders whose webhook token hash the call presents, and every row
-- takes its user_id from the locked recorder.
drop function ingest_prepare(jsonb);
drop function ingest_write(jsonb, text);

-- The user's last known price of a root (SPEC §6/§7): the last price of the position of
-- theirs whose price was set last, now with ties broken by recorder id, so a decision made
-- from cached facts predicts the same one. PL/pgSQL, so its plan is made once per
-- connection. It runs as the caller: under a tenant's scope row-level security limits it
-- to that tenant's positions whatever user it is asked about.
create function user_last_known_price(p_user uuid, p_root text) returns numeric
language plpgsql stable
set search_path = pg_catalog, public, pg_temp
as $$
begin
    return (select rp.last_price from recorder_positions rp
             where rp.user_id = p_user and rp.root = p_root and rp.last_price is not null
             order by rp.last_price_at desc nulls last, rp.recorder_id
             limit 1);
end
$$;
revoke all on function user_last_known_price(uuid, text) from public;
grant execute on function user_last_known_price(uuid, text) to jt_app;

-- The tenant's own form, used by pages and the API, keeps one rule with ingest.
create or replace function user_last_price(p_root text) returns numeric
language sql stable
as $$
    select user_last_known_price(app_user_id(), p_root)
$$;

-- p: {"recorders": [{"id", "token_hash"}], "client_ids": [{"recorder_id",
-- "client_signal_id"}], "bodies": [{"recorder_id", "body_sha256", "since"}], "roots":
-- [{"recorder_id", "root"}]}. Locks the recorders in id order and returns, for those whose
-- token hash matches: the recorders (settings, version, next sequence number), their users'
-- status, every position of theirs, accepted signals with the same id or body, and their
-- users' last known price of each root asked for. Numbers nothing: ingest_apply does.
create function ingest_facts(p jsonb) returns jsonb
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
    -- Row locks in id order: every batch of every process locks in one global order, so
    -- batches cannot deadlock. A recorder whose token no longer matches (regenerated or
    -- deleted meanwhile) is locked but not returned: its signals find no recorder.
    perform 1 from recorders r
      where r.id = any(array(select (w->>'id')::uuid from jsonb_array_elements(p->'recorders') w))
      order by r.id
      for update;

    -- Statements of their own, after the locks: in READ COMMITTED a statement sees what
    -- committed before it started, and what another process committed while we waited for
    -- a lock must be seen. Numbers that must stay exact travel as text.
    select coalesce(jsonb_agg(jsonb_build_object(
               'id', r.id, 'user_id', r.user_id, 'status', r.status,
               'default_quantity', r.default_quantity,
               'duplicate_window_secs', r.duplicate_window_secs,
               'commission_per_contract', r.commission_per_contract::text,
               'contract_override', r.contract_override, 'first_seq', r.last_seq + 1,
               'version', r.xmin::text, 'token_hash', w.token_hash) order by r.id), '[]'::jsonb),
           array_agg(r.id), array_agg(distinct r.user_id)
      into v_recorders, v_ids, v_users
      from jsonb_to_recordset(p->'recorders') as w(id uuid, token_hash text)
      join recorders r on r.id = w.id and r.webhook_token_hash = decode(w.token_hash, 'hex')
     where r.status <> 'deleted';
    v_ids := coalesce(v_ids, '{}');
    v_users := coalesce(v_users, '{}');

    -- Every lookup is a lateral probe keyed by the wanted row (with a limit, so the planner
    -- cannot flatten it into a join): one index probe per key whatever the statistics say.
    return jsonb_build_object(
        'recorders', v_recorders,
        'users', (
            select coalesce(jsonb_agg(jsonb_build_object('id', u.id, 'status', u.status)),
                            '[]'::jsonb)
              from users u where u.id = any(v_users)),
        -- All of each recorder's positions, so the caller knows them all for the next batch.
        'positions', (
            select coalesce(jsonb_agg(jsonb_build_object(
                       'recorder_id', rp.recorder_id, 'state', rp.engine_state,
                       'last_price_at', rp.last_price_at)), '[]'::jsonb)
              from unnest(v_ids) as k(id)
              join recorder_positions rp on rp.recorder_id = k.id),
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
        'prices', (
            select coalesce(jsonb_agg(jsonb_build_object(
                       'user_id', q.user_id, 'root', q.root,
                       'price', user_last_known_price(q.user_id, q.root)::text)), '[]'::jsonb)
              from (select distinct (x->>'user_id')::uuid as user_id, k.root
                      from jsonb_to_recordset(p->'roots') as k(recorder_id uuid, root text)
                      join jsonb_array_elements(v_recorders) x
                        on (x->>'id')::uuid = k.recorder_id) q));
end
$$;
revoke all on function ingest_facts(jsonb) from public;
grant execute on function ingest_facts(jsonb) to jt_app;

-- p: {"fresh", "recorders": [{"id", "user_id", "token_hash", "version", "n"}], "users",
-- "client_ids", "bodies", "prices": [{"user_id", "root", "price"}], "signals",
-- "positions", "trades", "intents"}. Positions, trades and intents name their signal by
-- (recorder_id, seq). Locks the recorders in id order; a user's group is written only if
-- every recorder of it still has the token and the version its facts came with, and
-- (unless "fresh": the facts were read under these locks, in this transaction) its user is
-- among the active "users", no accepted signal has one of "client_ids" or one of "bodies"
-- since its "since", and each of "prices" is still the user's last known price of its
-- root. Then: each recorder's sequence moves on by n, and every signal row (in array order,
-- so ids follow arrival), the final position of each (recorder, root), the closed trades
-- and the orders are written. A row naming a recorder the call did not present refuses the
-- whole call. Returns {"ids": [[recorder_id, seq, id]], "versions": [[recorder_id,
-- version]], "conflicts": [user_id]}.
--
-- The positions upsert is write_positions' and the trades insert write_trades' (which
-- rebuild uses, under the tenant's scope): a change to one must be made to both.
create function ingest_apply(p jsonb, p_queue text) returns jsonb
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
    v_owners jsonb;
    v_versions jsonb;
    v_presented jsonb;
    v_unproven text;
    v_ids jsonb;
    v_orders jsonb;
begin
    perform 1 from recorders r
      where r.id = any(array(select (w->>'id')::uuid from jsonb_array_elements(p->'recorders') w))
      order by r.id
      for update;

    -- Groups whose facts are no longer current (the user a recorder is presented for is
    -- only ever used to name the conflict; rows take their user from the locked recorder).
    select coalesce(array_agg(distinct w.user_id), '{}') into v_conflicts
      from jsonb_to_recordset(p->'recorders') as w(id uuid, user_id uuid, token_hash text, version text)
      left join recorders r on r.id = w.id
     where r.id is null or r.status = 'deleted' or r.user_id <> w.user_id
        or r.webhook_token_hash <> decode(w.token_hash, 'hex') or r.xmin::text <> w.version;
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

    -- The recorders written to, each moved on by its signals: recorder id -> its user.
    with bumped as (
        update recorders r set last_seq = r.last_seq + w.n
          from jsonb_to_recordset(p->'recorders') as w(id uuid, user_id uuid, n bigint)
         where r.id = w.id and w.user_id <> all(v_conflicts)
        returning r.id, r.user_id, r.xmin::text as version
    )
    select coalesce(jsonb_object_agg(b.id, b.user_id), '{}'::jsonb),
           coalesce(jsonb_agg(jsonb_build_array(b.id, b.version)), '[]'::jsonb)
      into v_owners, v_versions
      from bumped b;

    select coalesce(jsonb_object_agg(lower(w->>'id'), true), '{}'::jsonb) into v_presented
      from jsonb_array_elements(p->'recorders') w;
    select k.recorder_id into v_unproven
      from (select e->>'recorder_id' as recorder_id from jsonb_array_elements(p->'signals') e
            union all
            select e->>'recorder_id' from jsonb_array_elements(p->'positions') e
            union all
            select e->>'recorder_id' from jsonb_array_elements(p->'trades') e
            union all
            select e->>'recorder_id' from jsonb_array_elements(p->'intents') e) k
     where not v_presented ? lower(k.recorder_id)
     limit 1;
    if found then
        raise exception 'ingest_apply: recorder % is not one whose webhook token this call presented',
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
         where v_owners ? s.recorder_id::text
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
         where v_owners ? k.recorder_id::text
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
         where v_owners ? t.recorder_id::text
    )
    select coalesce(jsonb_agg(jsonb_build_array(recorder_id, seq, id)), '[]'::jsonb)
      into v_ids from ins;

    -- Orders are rare next to signals (a linked account): queued per tenant, under the
    -- tenant's own scope (enqueue_batch_orders sets app.user_id per group), only when a
    -- recorder written to has an enabled link.
    if jsonb_array_length(p->'intents') > 0 and exists (
        select 1 from recorder_account_links l
         where l.enabled
           and l.recorder_id = any(array(select (i->>'recorder_id')::uuid
                                            from jsonb_array_elements(p->'intents') i
                                           where v_owners ? lower(i->>'recorder_id'))))
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
                 where v_owners ? lower(i.intent->>'recorder_id')
                 group by 1) g;
        perform enqueue_batch_orders(v_orders, p_queue);
    end if;
    return jsonb_build_object('ids', v_ids, 'versions', v_versions,
                              'conflicts', to_jsonb(v_conflicts));
end
$$;
revoke all on function ingest_apply(jsonb, text) from public;
grant execute on function ingest_apply(jsonb, text) to jt_app;
