-- Faster ingest_prepare (issue 8, measured): lookups that cannot degrade into whole-index
-- scans, and two statements per tenant group instead of eight.
--
-- 1. plpgsql caches each statement's plan per connection. A plan made while
-- recorded_signals was small (a fresh deployment, a new database) estimated the table at one
-- row and took the whole partial index recorded_signals_client_id_key as the outer side of
-- the duplicate-id join, filtering every tenant's rows by row-level security: with 7,000
-- signals stored, one lookup read 4,500 buffers and took 3 to 13 ms, growing with the
-- table and never replanned until an ANALYZE. Here every lookup is a lateral subquery keyed
-- by the wanted row (with a limit, so the planner cannot flatten it back into a join), so
-- the only plan is one index probe per key whatever the statistics say; and seq scans are
-- off, so a plan cached while a table was tiny still probes its index once it has grown.
--
-- 2. A bar-close batch holds ~75 tenant groups of one or two signals, and each statement
-- costs its executor start-up whatever it reads (measured: ~1.1 ms per group for eight
-- statements). Now a group is: lock and number its recorders (one statement), then read
-- everything else (one statement). The reads must stay a statement of their own, after the
-- locks: in READ COMMITTED a statement sees what committed before it started, and what a
-- batch of another process commits while we wait for the lock must be seen.
create or replace function ingest_prepare(p_groups jsonb) returns jsonb
language plpgsql volatile
set search_path = pg_catalog, public, pg_temp
set enable_hashjoin = off
set enable_mergejoin = off
set enable_seqscan = off
set jit = off
as $$
declare
    g jsonb;
    v_recorders jsonb;
    results jsonb[] := '{}';
begin
    for g in select value from jsonb_array_elements(p_groups) loop
        perform set_config('app.user_id', g->>'user_id', true);
        -- Row locks in id order (locked emits each row after locking it, in id order, and
        -- the update only touches rows locked emitted). Groups come sorted by user and
        -- recorders by id, so every batch of every process locks in one global order:
        -- batches cannot deadlock. A recorder whose token no longer matches (regenerated or
        -- deleted meanwhile) is locked but not numbered: its signals find no recorder.
        with locked as (
            select r.id from recorders r
             where r.id = any(array(select (w->>'id')::uuid
                                      from jsonb_array_elements(g->'recorders') w))
             order by r.id
             for update
        ), bumped as (
            update recorders r set last_seq = r.last_seq + w.n
              from locked l,
                   jsonb_to_recordset(g->'recorders') as w(id uuid, n bigint, token_hash text)
             where r.id = l.id and w.id = l.id and r.status <> 'deleted'
               and r.webhook_token_hash = decode(w.token_hash, 'hex')
            -- Numbers that must stay exact travel as text (JSON numbers would pass through f64).
            returning r.id, r.status, r.default_quantity, r.duplicate_window_secs,
                      r.commission_per_contract::text as commission_per_contract,
                      r.contract_override, r.last_seq - w.n + 1 as first_seq, w.token_hash
        )
        select coalesce(jsonb_agg(to_jsonb(b)), '[]'::jsonb) into v_recorders from bumped b;

        results := array_append(results, (select jsonb_build_object(
            'recorders', v_recorders,
            'user_status', (select u.status from users u where u.id = (g->>'user_id')::uuid),
            'positions', (
                select coalesce(jsonb_agg(jsonb_build_object(
                           'recorder_id', k.recorder_id, 'root', k.root, 'state', p.engine_state)),
                           '[]'::jsonb)
                  from jsonb_to_recordset(g->'positions') as k(recorder_id uuid, root text)
                  cross join lateral (
                      select p.engine_state from recorder_positions p
                       where p.recorder_id = k.recorder_id and p.root = k.root
                       limit 1) p),
            'dup_ids', (
                select coalesce(jsonb_agg(jsonb_build_object(
                           'recorder_id', k.recorder_id, 'client_signal_id', k.client_signal_id,
                           'id', s.id)), '[]'::jsonb)
                  from jsonb_to_recordset(g->'client_ids') as k(recorder_id uuid, client_signal_id text)
                  cross join lateral (
                      select s.id from recorded_signals s
                       where s.recorder_id = k.recorder_id
                         and s.client_signal_id = k.client_signal_id
                         -- the partial unique index's predicate, spelled out
                         and s.client_signal_id is not null
                         and s.status = 'accepted'
                       limit 1) s),
            -- The newest accepted signal with the same body since the earliest window start.
            'dup_bodies', (
                select coalesce(jsonb_agg(jsonb_build_object(
                           'recorder_id', k.recorder_id, 'body_sha256', k.body_sha256,
                           'id', d.id, 'received_at', d.received_at)), '[]'::jsonb)
                  from jsonb_to_recordset(g->'bodies') as k(recorder_id uuid, body_sha256 text, since timestamptz)
                  cross join lateral (
                      select s.id, s.received_at from recorded_signals s
                       where s.recorder_id = k.recorder_id
                         and s.body_sha256 = decode(k.body_sha256, 'hex')
                         and s.status = 'accepted' and s.received_at >= k.since
                       order by s.received_at desc limit 1) d),
            'prices', (
                select coalesce(jsonb_object_agg(r.root, user_last_price(r.root)::text), '{}'::jsonb)
                  from jsonb_array_elements_text(g->'roots') as r(root)))));
    end loop;
    perform set_config('app.user_id', '', true);
    return to_jsonb(results);
end
$$;
