-- Two indexes that every ingest insert paid for and no query reads (issue 8, measured on the
-- sustained benchmark: a signal wrote 7.3 index entries, these were 1.3 of them):
--
-- - recorded_signals (user_id): every signal query goes by recorder; the admin's rejected
--   signals walk the partial index recorded_signals_user_rejected (user_id, id desc).
-- - trades (user_id): every trade query goes by recorder.
--
-- Only account deletion went by user; it now goes by the user's recorders, through the
-- (recorder_id, ...) indexes.
drop index recorded_signals_user_id;
drop index trades_user;

-- Migration 11's, with the signals, positions and trades found by recorder.
create or replace function delete_own_account() returns void
language plpgsql security definer
set search_path = pg_catalog, public, pg_temp
as $$
declare
    me uuid := app_user_id();
    mine uuid[];
begin
    if me is null then
        raise exception 'delete_own_account: no tenant in this transaction';
    end if;
    mine := array(select id from recorders where user_id = me);
    delete from order_events where user_id = me;
    delete from orders where user_id = me;
    delete from recorder_account_links where user_id = me;
    delete from broker_accounts where user_id = me;
    delete from trades where recorder_id = any(mine) and user_id = me;
    delete from recorder_positions where recorder_id = any(mine) and user_id = me;
    delete from recorded_signals where recorder_id = any(mine) and user_id = me;
    delete from recorders where user_id = me;
    delete from api_tokens where user_id = me;
    delete from sessions where user_id = me;
    delete from users where id = me;
end
$$;
