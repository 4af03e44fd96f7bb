-- One round trip and one statement per tenant group write a batch and queue its orders
-- (issue 8, measured).
--
-- A batch used to be begin, ingest_prepare, ingest_write, enqueue_batch_orders, commit. On a
-- loaded machine each round trip costs milliseconds of scheduling, not of work (measured:
-- enqueue_batch_orders ran 0.4 ms in the server and took 4.3 ms from the client), so the
-- orders now go with the write. And inside, each statement and each nested function call
-- (with its own settings to save and restore) costs its start-up whatever it writes; a
-- bar-close batch holds ~75 tenant groups, and a group took eight of them. Now a group is
-- one statement: the signal rows, then from their ids (returned by the insert, so nothing
-- is looked up again) the positions, the closed trades and the orders.
--
-- The positions and trades statements are write_positions and write_trades (which rebuild
-- still uses) with the signal ids taken from the insert; the orders statement is
-- enqueue_batch_orders' (which enqueue_orders still uses): one order per (intent, enabled
-- link of its recorder), quantity |delta| x multiplier, client order id
-- jt-{signal}-{leg}-{link} (a repeat queues nothing), one wake-up job per account touched.
-- A change to one must be made to both.
drop function ingest_write(jsonb);

-- p_groups: [{"user_id", "signals", "positions", "trades", "intents": [{"recorder_id",
-- "seq", "contract", "delta", "price"}]}]. Positions, trades and intents name their signal
-- by (recorder_id, seq) of a signal of the same group. Writes every signal row whatever its
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
        ), closed as (
            insert into trades (user_id, recorder_id, closing_signal_id, root, contract, side,
                quantity, entries, exits, avg_entry_price, avg_exit_price, realized_points,
                realized_pnl, commission, net_pnl, mae, mfe, opened_at, closed_at, duration_seconds,
                engine_trade)
            select v_user, t.recorder_id,
                   (select i.id from ins i
                     where i.recorder_id = t.recorder_id and i.seq = t.closing_seq),
                   t.root, t.contract, t.side, t.quantity, t.entries, t.exits, t.avg_entry_price,
                   t.avg_exit_price, t.realized_points, t.realized_pnl, t.commission, t.net_pnl,
                   t.mae, t.mfe, t.opened_at, t.closed_at, t.duration_seconds, t.engine_trade
              from jsonb_to_recordset(g->'trades') as t(recorder_id uuid,
                   closing_seq bigint, root text, contract text, side text, quantity bigint,
                   entries bigint, exits bigint, avg_entry_price numeric, avg_exit_price numeric,
                   realized_points numeric, realized_pnl numeric, commission numeric,
                   net_pnl numeric, mae numeric, mfe numeric, opened_at timestamptz,
                   closed_at timestamptz, duration_seconds bigint, engine_trade jsonb)
        ), intents as (
            select x.recorder_id, x.id as signal_id, i.contract, i.delta, i.price, i.ord
              from rows from (
                  jsonb_to_recordset(g->'intents') as (recorder_id uuid, seq bigint,
                      contract text, delta bigint, price numeric)
              ) with ordinality as i (recorder_id, seq, contract, delta, price, ord)
              join ins x on x.recorder_id = i.recorder_id and x.seq = i.seq
        ), legs as (
            select i.*, (row_number() over (partition by i.signal_id order by i.ord) - 1) as leg
              from intents i
        ), inserted as (
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
        ), events as (
            insert into order_events (user_id, order_id, status)
            select user_id, id, 'queued' from inserted
        ), wake as (
            insert into apalis.jobs (id, job_type, job, max_attempts)
            select apalis.generate_ulid(), p_queue,
                   convert_to(json_build_object('user_id', user_id, 'account_id', account_id)::text, 'UTF8'),
                   5
              from (select distinct user_id, account_id from inserted) accounts
        )
        select coalesce(jsonb_agg(jsonb_build_array(recorder_id, seq, id)), '[]'::jsonb)
          into v_ids from ins;
        results := array_append(results, v_ids);
    end loop;
    perform set_config('app.user_id', '', true);
    return to_jsonb(results);
end
$$;
revoke all on function ingest_write(jsonb, text) from public;
grant execute on function ingest_write(jsonb, text) to jt_app;
