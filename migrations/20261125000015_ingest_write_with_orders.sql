-- One round trip writes a batch and queues its orders, and a tenant group is one statement
-- in the common case (issue 8, measured).
--
-- A batch used to be begin, ingest_prepare, ingest_write, enqueue_batch_orders, commit. On a
-- loaded machine each round trip costs milliseconds of scheduling, not of work (measured:
-- enqueue_batch_orders ran 0.4 ms in the server and took 4.3 ms from the client), so the
-- orders now go with the write. And inside, each statement and each nested function call
-- (with its own settings to save and restore) costs its start-up whatever it writes; a
-- bar-close batch holds ~75 tenant groups, and a group took six of them. Now the signal
-- rows and the positions they leave are one statement (the positions take their signal ids
-- from the insert's returning rows, so nothing is looked up again); write_trades and
-- enqueue_batch_orders run only for a group that closed a trade or has an enabled
-- broker link (the same functions as before, so trades and orders are made exactly as
-- before). The positions statement is write_positions' (which rebuild still uses): a change
-- to one must be made to both.
drop function ingest_write(jsonb);

-- p_groups: [{"user_id", "signals", "positions", "trades", "intents": [{"recorder_id",
-- "seq", "contract", "delta", "price"}]}]. Positions, trades and intents name their signal
-- by (recorder_id, seq) of a signal of the same group (intents are enqueue_batch_orders'
-- with the signal id resolved here). Writes every signal row whatever its
-- fate (in array order, so ids follow arrival), the final position of each (recorder,
-- root) touched, the closed trades (in array order, so ids follow closing order) and the
-- orders. Caller's rights: app.user_id is set per group, so row-level security checks
-- every row. Returns, per group, [recorder_id, seq, id] of every signal.
create function ingest_write(p_groups jsonb, p_queue text) returns jsonb
language plpgsql volatile
set search_path = pg_catalog, public, pg_temp
set enable_hashjoin = off
set enable_mergejoin = off
set enable_seqscan = off
set jit = off
as $$
declare
    g jsonb;
    v_user uuid;
    v_ids jsonb;
    v_intents jsonb;
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
        ), positions as (
            insert into recorder_positions (user_id, recorder_id, root, contract, side, quantity,
                avg_entry_price, realized_pnl, commission, last_price, last_price_at, signal_count,
                last_signal_id, opened_at, engine_state)
            select v_user, p.recorder_id, p.root, p.contract, p.side, p.quantity, p.avg_entry_price,
                   p.realized_pnl, p.commission, p.last_price, p.last_price_at, p.signal_count,
                   (select i.id from ins i
                     where i.recorder_id = p.recorder_id and i.seq = p.last_signal_seq),
                   p.opened_at, p.engine_state
              from jsonb_to_recordset(g->'positions') as p(recorder_id uuid, root text,
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
        )
        select coalesce(jsonb_agg(jsonb_build_array(recorder_id, seq, id)), '[]'::jsonb)
          into v_ids from ins;

        -- Trades and orders are rare next to signals (a close, a linked account): their
        -- statements run only when there is something to write, and are the functions rebuild
        -- and enqueue_orders use. The signal rows are visible to them now.
        if jsonb_array_length(g->'trades') > 0 then
            perform write_trades(v_user, g->'trades');
        end if;
        if jsonb_array_length(g->'intents') > 0 and exists (
            select 1 from recorder_account_links l
             where l.enabled
               and l.recorder_id = any(array(select (i->>'recorder_id')::uuid
                                                from jsonb_array_elements(g->'intents') i)))
        then
            select jsonb_agg(i.intent - 'seq' || jsonb_build_object('signal_id', x.e->2) order by i.ord)
              into v_intents
              from jsonb_array_elements(g->'intents') with ordinality as i(intent, ord)
              join jsonb_array_elements(v_ids) as x(e)
                on (x.e->>0)::uuid = (i.intent->>'recorder_id')::uuid
               and (x.e->>1)::bigint = (i.intent->>'seq')::bigint;
            perform enqueue_batch_orders(
                jsonb_build_array(jsonb_build_object('user_id', v_user, 'intents', v_intents)),
                p_queue);
        end if;
        results := array_append(results, v_ids);
    end loop;
    perform set_config('app.user_id', '', true);
    return to_jsonb(results);
end
$$;
revoke all on function ingest_write(jsonb, text) from public;
grant execute on function ingest_write(jsonb, text) to jt_app;
