-- Production hardening (issue 12): history the application cannot wipe, child rows tied to
-- their tenant, security-definer functions with a pinned search_path, and session ids
-- stored only as hashes.

-- 1. The application only soft-deletes recorders and revokes API tokens by a timestamp:
-- it never needs DELETE on them. (Positions and trades keep DELETE: `recorder rebuild
-- --fix` rewrites them from the signal log, which stays append-only.)
revoke delete on recorders from jt_app;
revoke delete on api_tokens from jt_app;

-- 2. Child rows belong to their recorder *and* its tenant: a composite foreign key makes a
-- signal, position or trade with another user's recorder id impossible, and lets the
-- schema be distributed by user_id later (SPEC §4). Deleting a recorder or user with
-- history is refused instead of silently cascading into the history: account deletion
-- deletes children first, explicitly.
create unique index if not exists recorders_id_user_id_key on recorders (id, user_id);

alter table recorded_signals
    drop constraint recorded_signals_recorder_id_fkey,
    drop constraint recorded_signals_user_id_fkey,
    add constraint recorded_signals_user_id_fkey
        foreign key (user_id) references users (id) on delete restrict,
    add constraint recorded_signals_recorder_user_fkey
        foreign key (recorder_id, user_id) references recorders (id, user_id) on delete restrict;

alter table recorder_positions
    drop constraint recorder_positions_recorder_id_fkey,
    drop constraint recorder_positions_user_id_fkey,
    add constraint recorder_positions_user_id_fkey
        foreign key (user_id) references users (id) on delete restrict,
    add constraint recorder_positions_recorder_user_fkey
        foreign key (recorder_id, user_id) references recorders (id, user_id) on delete restrict;

alter table trades
    drop constraint trades_recorder_id_fkey,
    drop constraint trades_user_id_fkey,
    add constraint trades_user_id_fkey
        foreign key (user_id) references users (id) on delete restrict,
    add constraint trades_recorder_user_fkey
        foreign key (recorder_id, user_id) references recorders (id, user_id) on delete restrict;

-- 3. Every security-definer function resolves names in pg_catalog first and never in a
-- schema the caller could create objects in before public (pg_temp last). Done for every
-- such function in this database's public schema, whichever migration created it.
do $$
declare
    f regprocedure;
begin
    for f in
        select p.oid::regprocedure
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'public' and p.prosecdef
    loop
        execute format('alter function %s set search_path = pg_catalog, public, pg_temp', f);
    end loop;
end
$$;

-- 4. Sessions are looked up by the SHA-256 (hex) of their id, so the table (a backup, a
-- read-only leak) holds nothing that can be replayed as a cookie. Rows written before
-- this migration hold raw ids, inside their data too: they are dropped, which signs
-- everyone out once.
delete from sessions;
comment on column sessions.id is 'hex SHA-256 of the session id (never the id itself)';
