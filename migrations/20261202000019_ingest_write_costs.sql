-- Less work per signal written (issue 8; perf and auto_explain on the sustained benchmark:
-- foreign-key checks and after-triggers were ~11 % of the database's CPU, index inserts ~9 %).

-- 1. A signal's, position's or trade's user is its recorder's: the composite foreign keys
-- (recorder_id, user_id) -> recorders (id, user_id) already prove the user exists (a
-- recorder's user_id references users). The direct keys to users only repeated that check
-- for every row, each locking the user's row (KEY SHARE) from every concurrent batch.
alter table recorded_signals drop constraint recorded_signals_user_id_fkey;
alter table recorder_positions drop constraint recorder_positions_user_id_fkey;
alter table trades drop constraint trades_user_id_fkey;

-- 2. A position is updated by every signal of its root. Its second index held
-- last_price_at, which every priced signal changes, so no update could be HOT (each wrote
-- a new entry into both indexes). Without it, and with room left in each page, updates stay
-- on their page and touch no index. The last known price reads a user's few positions of a
-- root and sorts them (user_last_known_price).
drop index recorder_positions_user_root;
create index recorder_positions_user_root on recorder_positions (user_id, root);
alter table recorder_positions set (fillfactor = 50);

-- 3. updated_at triggers run PL/pgSQL for every row updated. Ingest numbering a recorder's
-- signals is not a change of the recorder (its updated_at says when its settings last
-- changed), and ingest sets a position's updated_at itself: neither needs the trigger.
drop trigger recorders_updated_at on recorders;
create trigger recorders_updated_at before update on recorders
    for each row when (old.last_seq = new.last_seq) execute function set_updated_at();
drop trigger recorder_positions_updated_at on recorder_positions;
create trigger recorder_positions_updated_at before update on recorder_positions
    for each row when (old.updated_at = new.updated_at) execute function set_updated_at();
