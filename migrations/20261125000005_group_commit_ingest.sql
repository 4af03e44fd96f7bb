-- Group-commit ingest (issue 8): signals that arrive together, from any recorders and users,
-- share one transaction and one WAL flush. A batch is two round trips whatever its size:
-- ingest_prepare (lock, sequence numbers, everything the engine needs) and ingest_write (the
-- signal rows, positions and trades the engine decided). The engine itself runs in Rust
-- between the two calls.
--
-- The planner cannot know how few rows a jsonb_to_recordset holds (it assumes 100), and
-- would hash-join whole tables once per tenant group; the functions below ask for index
-- lookups instead (enable_hashjoin/mergejoin off, function-local), and never pay for JIT
-- compilation on these short statements.
--
-- Both functions run with the caller's rights (not security definer): row-level security
-- applies to every statement in them. A batch is a list of tenant groups; before a group's
-- statements the function sets app.user_id to that group's user (transaction-locally), so
-- each write is checked against its own tenant's policies, and clears it at the end.

-- A signal names its recorder by id and by the hash of the token it arrived on: the token is
-- re-checked under the row lock, so a request racing a regenerate or a delete cannot slip in.
create function ingest_prepare(p_groups jsonb) returns jsonb
language plpgsql volatile
set search_path = pg_catalog, public, pg_temp
set enable_hashjoin = off
set enable_mergejoin = off
set jit = off
as $$
declare
    g jsonb;
    results jsonb[] := '{}';
    v_user_status text;
    v_recorders jsonb;
    v_positions jsonb;
    v_dup_ids jsonb;
    v_dup_bodies jsonb;
    v_prices jsonb;
begin
    for g in select value from jsonb_array_elements(p_groups) loop
        perform set_config('app.user_id', g->>'user_id', true);
        -- Row locks in id order. Groups come sorted by user and recorders by id, so every
        -- batch of every process locks in one global order: batches cannot deadlock.
        perform 1 from recorders
         where id in (select (w->>'id')::uuid from jsonb_array_elements(g->'recorders') w)
         order by id
         for update;
        with wanted as (
            select * from jsonb_to_recordset(g->'recorders') as w(id uuid, n bigint, token_hash text)
        ), bumped as (
            update recorders r set last_seq = r.last_seq + w.n
            from wanted w
            where r.id = w.id and r.status <> 'deleted'
              and r.webhook_token_hash = decode(w.token_hash, 'hex')
            -- Numbers that must stay exact travel as text (JSON numbers would pass through f64).
            returning r.id, r.status, r.default_quantity, r.duplicate_window_secs,
                      r.commission_per_contract::text as commission_per_contract, r.contract_override,
                      r.last_seq - w.n + 1 as first_seq, w.token_hash
        )
        select coalesce(jsonb_agg(to_jsonb(b)), '[]'::jsonb) into v_recorders from bumped b;

        select u.status into v_user_status from users u where u.id = (g->>'user_id')::uuid;

        select coalesce(jsonb_agg(jsonb_build_object(
                   'recorder_id', p.recorder_id, 'root', p.root, 'state', p.engine_state)), '[]'::jsonb)
          into v_positions
          from jsonb_to_recordset(g->'positions') as k(recorder_id uuid, root text)
          join recorder_positions p on p.recorder_id = k.recorder_id and p.root = k.root;

        select coalesce(jsonb_agg(jsonb_build_object(
                   'recorder_id', s.recorder_id, 'client_signal_id', s.client_signal_id, 'id', s.id)), '[]'::jsonb)
          into v_dup_ids
          from jsonb_to_recordset(g->'client_ids') as k(recorder_id uuid, client_signal_id text)
          join recorded_signals s on s.recorder_id = k.recorder_id
                                 and s.client_signal_id = k.client_signal_id
                                 -- the partial unique index's predicate, spelled out
                                 and s.client_signal_id is not null
                                 and s.status = 'accepted';

        -- The newest accepted signal with the same body since the earliest window start.
        select coalesce(jsonb_agg(jsonb_build_object(
                   'recorder_id', k.recorder_id, 'body_sha256', k.body_sha256,
                   'id', d.id, 'received_at', d.received_at)), '[]'::jsonb)
          into v_dup_bodies
          from jsonb_to_recordset(g->'bodies') as k(recorder_id uuid, body_sha256 text, since timestamptz)
          cross join lateral (
              select s.id, s.received_at from recorded_signals s
               where s.recorder_id = k.recorder_id
                 and s.body_sha256 = decode(k.body_sha256, 'hex')
                 and s.status = 'accepted' and s.received_at >= k.since
               order by s.received_at desc limit 1) d;

        select coalesce(jsonb_object_agg(r.root, user_last_price(r.root)::text), '{}'::jsonb)
          into v_prices
          from jsonb_array_elements_text(g->'roots') as r(root);

        results := array_append(results, jsonb_build_object(
            'user_status', v_user_status, 'recorders', v_recorders, 'positions', v_positions,
            'dup_ids', v_dup_ids, 'dup_bodies', v_dup_bodies, 'prices', v_prices));
    end loop;
    perform set_config('app.user_id', '', true);
    return to_jsonb(results);
end
$$;

-- Positions and trades, as ingest and rebuild write them. Rows name their signal by
-- (recorder, seq); the id is resolved here. Caller's rights: row-level security checks
-- p_user against app.user_id. Trades are inserted in array order, so ids follow closing order.
create function write_positions(p_user uuid, p_positions jsonb) returns void
language sql volatile
set search_path = pg_catalog, public, pg_temp
set enable_hashjoin = off
set enable_mergejoin = off
set jit = off
as $$
insert into recorder_positions (user_id, recorder_id, root, contract, side, quantity,
    avg_entry_price, realized_pnl, commission, last_price, last_price_at, signal_count,
    last_signal_id, opened_at, engine_state)
select p_user, p.recorder_id, p.root, p.contract, p.side, p.quantity, p.avg_entry_price,
       p.realized_pnl, p.commission, p.last_price, p.last_price_at, p.signal_count,
       (select s.id from recorded_signals s
         where s.recorder_id = p.recorder_id and s.seq = p.last_signal_seq),
       p.opened_at, p.engine_state
  from jsonb_to_recordset(p_positions) as p(recorder_id uuid, root text, contract text,
       side text, quantity bigint, avg_entry_price numeric, realized_pnl numeric,
       commission numeric, last_price numeric, last_price_at timestamptz,
       signal_count bigint, last_signal_seq bigint, opened_at timestamptz,
       engine_state jsonb)
on conflict (recorder_id, root) do update set
    contract = excluded.contract, side = excluded.side, quantity = excluded.quantity,
    avg_entry_price = excluded.avg_entry_price, realized_pnl = excluded.realized_pnl,
    commission = excluded.commission, last_price = excluded.last_price,
    last_price_at = coalesce(excluded.last_price_at, recorder_positions.last_price_at),
    signal_count = excluded.signal_count, last_signal_id = excluded.last_signal_id,
    opened_at = excluded.opened_at, engine_state = excluded.engine_state;
$$;

create function write_trades(p_user uuid, p_trades jsonb) returns void
language sql volatile
set search_path = pg_catalog, public, pg_temp
set enable_hashjoin = off
set enable_mergejoin = off
set jit = off
as $$
insert into trades (user_id, recorder_id, closing_signal_id, root, contract, side,
    quantity, entries, exits, avg_entry_price, avg_exit_price, realized_points,
    realized_pnl, commission, net_pnl, mae, mfe, opened_at, closed_at, duration_seconds,
    engine_trade)
select p_user, t.recorder_id,
       (select s.id from recorded_signals s
         where s.recorder_id = t.recorder_id and s.seq = t.closing_seq),
       t.root, t.contract, t.side, t.quantity, t.entries, t.exits, t.avg_entry_price,
       t.avg_exit_price, t.realized_points, t.realized_pnl, t.commission, t.net_pnl,
       t.mae, t.mfe, t.opened_at, t.closed_at, t.duration_seconds, t.engine_trade
  from jsonb_to_recordset(p_trades) as t(recorder_id uuid,
       closing_seq bigint, root text, contract text, side text, quantity bigint,
       entries bigint, exits bigint, avg_entry_price numeric, avg_exit_price numeric,
       realized_points numeric, realized_pnl numeric, commission numeric,
       net_pnl numeric, mae numeric, mfe numeric, opened_at timestamptz,
       closed_at timestamptz, duration_seconds bigint, engine_trade jsonb);
$$;

-- Writes what the engine decided for each group: every signal row whatever its fate (in
-- array order, so ids follow arrival), the final position of each (recorder, root) touched
-- and the closed trades. Returns, per group, [recorder_id, seq, id] of every signal.
create function ingest_write(p_groups jsonb) returns jsonb
language plpgsql volatile
set search_path = pg_catalog, public, pg_temp
set enable_hashjoin = off
set enable_mergejoin = off
set jit = off
as $$
declare
    g jsonb;
    v_user uuid;
    v_ids jsonb;
    results jsonb[] := '{}';
begin
    for g in select value from jsonb_array_elements(p_groups) loop
        v_user := (g->>'user_id')::uuid;
        perform set_config('app.user_id', v_user::text, true);
        with ins as (
            insert into recorded_signals (user_id, recorder_id, seq, received_at, status, action,
                ticker, root, quantity, price, target_position, client_signal_id, alert_time,
                contract, price_used, price_source, position_after, delta, default_quantity,
                commission_per_contract, contract_override, notes, error, raw_body, body_sha256,
                content_type, source_ip)
            select v_user, s.recorder_id, s.seq, s.received_at, s.status, s.action, s.ticker,
                   s.root, s.quantity, s.price, s.target_position, s.client_signal_id,
                   s.alert_time, s.contract, s.price_used, s.price_source, s.position_after,
                   s.delta, s.default_quantity, s.commission_per_contract, s.contract_override,
                   s.notes, s.error, decode(s.raw_body, 'hex'), decode(s.body_sha256, 'hex'),
                   s.content_type, s.source_ip
              from jsonb_to_recordset(g->'signals') as s(recorder_id uuid, seq bigint,
                   received_at timestamptz, status text, action text, ticker text, root text,
                   quantity bigint, price numeric, target_position bigint, client_signal_id text,
                   alert_time text, contract text, price_used numeric, price_source text,
                   position_after bigint, delta bigint, default_quantity integer,
                   commission_per_contract numeric, contract_override text, notes jsonb,
                   error text, raw_body text, body_sha256 text, content_type text, source_ip inet)
            returning recorder_id, seq, id
        )
        select coalesce(jsonb_agg(jsonb_build_array(recorder_id, seq, id)), '[]'::jsonb)
          into v_ids from ins;

        perform write_positions(v_user, g->'positions');
        perform write_trades(v_user, g->'trades');
        results := array_append(results, v_ids);
    end loop;
    perform set_config('app.user_id', '', true);
    return to_jsonb(results);
end
$$;

revoke all on function write_positions(uuid, jsonb) from public;
revoke all on function write_trades(uuid, jsonb) from public;
grant execute on function write_positions(uuid, jsonb) to jt_app;
grant execute on function write_trades(uuid, jsonb) to jt_app;
revoke all on function ingest_prepare(jsonb) from public;
revoke all on function ingest_write(jsonb) from public;
grant execute on function ingest_prepare(jsonb) to jt_app;
grant execute on function ingest_write(jsonb) to jt_app;

-- Web processes cache token → recorder lookups. The cache is only a shortcut (the token is
-- re-checked under the row lock), but a regenerate, delete or status change tells every
-- process at once so stale entries do not linger.
create function notify_webhook_tokens_changed() returns trigger
language plpgsql
set search_path = pg_catalog, public, pg_temp
as $$
begin
    perform pg_notify('jt_webhook_tokens', '');
    return null;
end
$$;

create trigger recorders_webhook_tokens_changed
    after update of webhook_token_hash, status on recorders
    for each row
    when (old.webhook_token_hash is distinct from new.webhook_token_hash
          or old.status is distinct from new.status)
    execute function notify_webhook_tokens_changed();
create trigger recorders_webhook_tokens_deleted
    after delete on recorders
    for each statement execute function notify_webhook_tokens_changed();
