-- Dashboards (issue 10): live-refresh notifications, indexes for date ranges and exports,
-- sessions that know their user (so a password change or account deletion ends them), and
-- deleting one's own account.

-- Live refresh: once per inserting statement, one notification per distinct (user,
-- recorder) it touched. Ingest may insert many signals of many users in one statement;
-- PostgreSQL delivers the notifications at commit (none for a rolled-back insert). The
-- payload carries ids only: listeners re-read what changed through their tenant scope.
create function notify_recorded_signals() returns trigger
language plpgsql
set search_path = pg_catalog, public, pg_temp
as $$
begin
    perform pg_notify('jt_signals',
                      json_build_object('user_id', d.user_id, 'recorder_id', d.recorder_id)::text)
    from (select distinct user_id, recorder_id from inserted) d;
    return null;
end
$$;

create trigger recorded_signals_notify
    after insert on recorded_signals
    referencing new table as inserted
    for each statement execute function notify_recorded_signals();

-- Date ranges (statistics, CSV export) of one recorder without scanning its whole history.
create index if not exists recorded_signals_recorder_received
    on recorded_signals (recorder_id, received_at, seq);
create index if not exists trades_recorder_closed on trades (recorder_id, closed_at, id);

-- A session records whose it is (null before log-in), so "end my other sessions" and
-- account deletion can find them. Written by the web crate's session store.
alter table sessions add column if not exists user_id uuid;
create index if not exists sessions_user_id on sessions (user_id) where user_id is not null;

-- Deletes the calling tenant and everything they own, children first. Runs as the owner
-- (the application may not delete signals or users), but row-level security is forced for
-- the owner too, so every delete below is limited to app_user_id()'s rows by the tenant
-- policies as well as by its own filter. Foreign keys are not relied on to cascade: tables
-- added later (accounts, orders, …) must get their own delete here, before `recorders`.
create function delete_own_account() returns void
language plpgsql security definer
set search_path = pg_catalog, public, pg_temp
as $$
declare
    me uuid := app_user_id();
begin
    if me is null then
        raise exception 'delete_own_account: no tenant in this transaction';
    end if;
    delete from trades where user_id = me;
    delete from recorder_positions where user_id = me;
    delete from recorded_signals where user_id = me;
    delete from recorders where user_id = me;
    delete from api_tokens where user_id = me;
    delete from sessions where user_id = me;
    delete from users where id = me;
end
$$;
revoke all on function delete_own_account() from public;
grant execute on function delete_own_account() to jt_app;
