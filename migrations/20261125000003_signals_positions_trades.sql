-- Webhook ingest state: the signal log, positions per (recorder, root), closed trades, and
-- the narrow cross-tenant lookups the webhook and the JSON API need before they know the user.

alter table recorders add column last_seq bigint not null default 0;

-- The security-definer lookups below run as the owner, and RLS is forced for the owner too:
-- as for users (previous migration), let only the owner role read recorders and tokens.
create policy recorders_owner_lookup on recorders for select to current_user using (true);
create policy api_tokens_owner_lookup on api_tokens for select to current_user using (true);

-- The recorder and tenant behind a webhook token hash: ids only, nothing else leaves.
create function webhook_recorder(lookup_hash bytea)
returns table (recorder_id uuid, user_id uuid)
language sql stable security definer set search_path = public, pg_temp
as $$
    select r.id, r.user_id from recorders r
    where r.webhook_token_hash = lookup_hash and r.status <> 'deleted'
$$;
revoke all on function webhook_recorder(bytea) from public;
grant execute on function webhook_recorder(bytea) to jt_app;

-- The active user behind a live API token hash.
create function api_token_user(lookup_hash bytea)
returns table (token_id uuid, user_id uuid)
language sql stable security definer set search_path = public, pg_temp
as $$
    select t.id, t.user_id from api_tokens t join users u on u.id = t.user_id
    where t.token_hash = lookup_hash and t.revoked_at is null and u.status = 'active'
$$;
revoke all on function api_token_user(bytea) from public;
grant execute on function api_token_user(bytea) to jt_app;

create table recorded_signals (
    id bigint generated always as identity primary key,
    user_id uuid not null references users (id) on delete cascade,
    recorder_id uuid not null references recorders (id) on delete cascade,
    seq bigint not null,
    received_at timestamptz not null,
    status text not null check (status in ('accepted', 'rejected', 'duplicate', 'ignored')),
    -- What the alert said (null when it could not be parsed).
    action text,
    ticker text,
    root text,
    quantity bigint,
    price numeric,
    target_position bigint,
    client_signal_id text,
    alert_time text,
    -- What applying it did (accepted signals).
    contract text,
    price_used numeric,
    price_source text check (price_source in ('signal', 'last_known', 'none')),
    position_after bigint,
    delta bigint,
    -- The settings it was applied with, so a rebuild replays exactly.
    default_quantity integer,
    commission_per_contract numeric,
    contract_override text,
    notes jsonb not null default '[]',
    error text,
    -- Exactly what arrived.
    raw_body bytea not null,
    body_sha256 bytea not null,
    content_type text,
    source_ip inet,
    constraint recorded_signals_recorder_seq_key unique (recorder_id, seq)
);
create index recorded_signals_user_id on recorded_signals (user_id);
-- Idempotency by alert id: one accepted signal per id and recorder.
create unique index recorded_signals_client_id_key on recorded_signals (recorder_id, client_signal_id)
    where status = 'accepted' and client_signal_id is not null;
-- Duplicate window: recent accepted bodies of a recorder.
create index recorded_signals_body on recorded_signals (recorder_id, body_sha256, received_at desc)
    where status = 'accepted';

create table recorder_positions (
    user_id uuid not null references users (id) on delete cascade,
    recorder_id uuid not null references recorders (id) on delete cascade,
    root text not null,
    contract text,
    side text not null check (side in ('long', 'short', 'flat')),
    quantity bigint not null,
    avg_entry_price numeric not null,
    realized_pnl numeric not null,
    commission numeric not null,
    last_price numeric,
    last_price_at timestamptz,
    signal_count bigint not null,
    last_signal_id bigint references recorded_signals (id),
    opened_at timestamptz,
    -- The engine's full position (open trade included); the columns above mirror it for
    -- queries. Decimals are strings, so the round trip is exact.
    engine_state jsonb not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (recorder_id, root)
);
create index recorder_positions_user_root on recorder_positions (user_id, root, last_price_at desc);
create trigger recorder_positions_updated_at before update on recorder_positions
    for each row execute function set_updated_at();

create table trades (
    id bigint generated always as identity primary key,
    user_id uuid not null references users (id) on delete cascade,
    recorder_id uuid not null references recorders (id) on delete cascade,
    closing_signal_id bigint not null references recorded_signals (id),
    root text not null,
    contract text,
    side text not null check (side in ('long', 'short')),
    quantity bigint not null,
    entries bigint not null,
    exits bigint not null,
    avg_entry_price numeric not null,
    avg_exit_price numeric not null,
    realized_points numeric not null,
    realized_pnl numeric not null,
    commission numeric not null,
    net_pnl numeric not null,
    mae numeric not null,
    mfe numeric not null,
    opened_at timestamptz not null,
    closed_at timestamptz not null,
    duration_seconds bigint not null,
    engine_trade jsonb not null
);
create index trades_recorder on trades (recorder_id, id desc);
create index trades_user on trades (user_id);

alter table recorded_signals enable row level security;
alter table recorded_signals force row level security;
create policy recorded_signals_tenant on recorded_signals
    using (user_id = app_user_id()) with check (user_id = app_user_id());
create policy recorded_signals_admin_read on recorded_signals for select using (app_is_admin());

alter table recorder_positions enable row level security;
alter table recorder_positions force row level security;
create policy recorder_positions_tenant on recorder_positions
    using (user_id = app_user_id()) with check (user_id = app_user_id());
create policy recorder_positions_admin_read on recorder_positions for select using (app_is_admin());

alter table trades enable row level security;
alter table trades force row level security;
create policy trades_tenant on trades
    using (user_id = app_user_id()) with check (user_id = app_user_id());
create policy trades_admin_read on trades for select using (app_is_admin());

-- Signals are an append-only log: no update or delete for the application.
grant select, insert on recorded_signals to jt_app;
grant select, insert, update, delete on recorder_positions to jt_app;
grant select, insert, delete on trades to jt_app;
