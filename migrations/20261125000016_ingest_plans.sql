-- Ingest plans that do not depend on statistics (issue 8, measured with auto_explain).
--
-- 1. The duplicate-id probe (recorder_id, client_signal_id) could be served by two partial
-- indexes that both lead with recorder_id: the unique client-id index, and the body index.
-- A plan made while recorded_signals had no statistics (a fresh database, before autovacuum's
-- first ANALYZE) saw them as equal and took the body index, filtering client_signal_id: every
-- probe read all accepted signals of the recorder (84 rows per probe after 1,300 signals a
-- recorder, 1 ms of a 1.6 ms prepare), and plpgsql keeps that plan. The body index now
-- leads with the hash, so it serves only the body lookup it exists for.
drop index recorded_signals_body;
create index recorded_signals_body on recorded_signals (body_sha256, recorder_id, received_at desc)
    where status = 'accepted';

-- 2. A SQL function with SET clauses is never inlined and plans its body at every call; a
-- PL/pgSQL function keeps its plan for the session. write_trades ran 1.3 ms a call, 0.3 of
-- them inserting.
create or replace function write_trades(p_user uuid, p_trades jsonb) returns void
language plpgsql volatile
set search_path = pg_catalog, public, pg_temp
set enable_hashjoin = off
set enable_mergejoin = off
set jit = off
as $$
begin
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
end
$$;
