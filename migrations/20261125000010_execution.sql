-- Execution (SPEC §8): broker accounts (paper or Tradovate), recorder→account links, and
-- orders with every state change. The job queue itself is apalis's (schema `apalis`,
-- migrated by store::migrate before these).

create unique index if not exists recorders_id_user_id_key on recorders (id, user_id);

create table broker_accounts (
    id uuid primary key,
    user_id uuid not null references users (id) on delete cascade,
    kind text not null check (kind in ('paper', 'tradovate')),
    -- Tradovate only: which server.
    environment text check (environment in ('demo', 'live')),
    name text not null check (length(name) between 1 and 100),
    -- Tradovate only: username, password, app id, cid, secret, device id as JSON, sealed with
    -- AES-256-GCM under a key derived from JT_SECRET_KEY (nonce || ciphertext). Never
    -- returned by the application.
    credentials bytea,
    -- The account at the broker (`accountSpec` / `accountId` of orders).
    broker_account_name text,
    broker_account_id bigint,
    status text not null default 'unchecked'
        check (status in ('unchecked', 'connected', 'error', 'locked_out')),
    status_message text,
    token_valid_until timestamptz,
    -- The lock-out circuit: nothing is sent to the broker before this time.
    locked_until timestamptz,
    last_checked_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint broker_accounts_id_user_id_key unique (id, user_id),
    constraint broker_accounts_tradovate_fields check (
        (kind = 'paper' and environment is null and credentials is null)
        or (kind = 'tradovate' and environment is not null and credentials is not null)
    )
);
create unique index broker_accounts_user_name_key on broker_accounts (user_id, lower(name));
create trigger broker_accounts_updated_at before update on broker_accounts
    for each row execute function set_updated_at();

create table recorder_account_links (
    id uuid primary key,
    user_id uuid not null references users (id) on delete cascade,
    recorder_id uuid not null,
    account_id uuid not null,
    multiplier integer not null default 1 check (multiplier between 1 and 1000),
    enabled boolean not null default true,
    max_delay_secs integer not null default 30 check (max_delay_secs between 1 and 3600),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint recorder_account_links_id_user_id_key unique (id, user_id),
    constraint recorder_account_links_recorder_account_key unique (recorder_id, account_id),
    foreign key (recorder_id, user_id) references recorders (id, user_id) on delete restrict,
    foreign key (account_id, user_id) references broker_accounts (id, user_id) on delete restrict
);
create index recorder_account_links_user on recorder_account_links (user_id);
create index recorder_account_links_account on recorder_account_links (account_id);
create trigger recorder_account_links_updated_at before update on recorder_account_links
    for each row execute function set_updated_at();

create table orders (
    id bigint generated always as identity primary key,
    user_id uuid not null references users (id) on delete cascade,
    account_id uuid not null,
    recorder_id uuid not null,
    -- The link that made it (kept after the link is deleted, for the client order id).
    link_id uuid not null,
    signal_id bigint not null,
    -- 0, or 1 for the second leg of a roll (exit old contract, enter new).
    leg smallint not null default 0 check (leg in (0, 1)),
    contract text not null,
    action text not null check (action in ('buy', 'sell')),
    quantity bigint not null check (quantity > 0),
    -- The signal price: paper accounts fill at it.
    price numeric,
    -- Deterministic: jt-{signal}-{leg}-{link}; never two orders with one id.
    cl_ord_id text not null,
    status text not null default 'queued'
        check (status in ('queued', 'sent', 'accepted', 'filled', 'rejected', 'failed', 'expired')),
    -- A send whose outcome is unknown: look it up at the broker before any resend.
    outcome_unknown boolean not null default false,
    attempts integer not null default 0,
    -- '-infinity': due at once, whatever clock the worker runs on.
    next_attempt_at timestamptz not null default '-infinity',
    max_delay_secs integer not null,
    broker_order_id bigint,
    fill_price numeric,
    error text,
    created_at timestamptz not null default now(),
    sent_at timestamptz,
    finished_at timestamptz,
    updated_at timestamptz not null default now(),
    constraint orders_user_cl_ord_id_key unique (user_id, cl_ord_id),
    foreign key (recorder_id, user_id) references recorders (id, user_id) on delete restrict,
    foreign key (account_id, user_id) references broker_accounts (id, user_id) on delete restrict
);
-- The worker's question: the oldest unfinished order of an account.
create index orders_account_unfinished on orders (account_id, id)
    where status in ('queued', 'sent');
create index orders_account_recent on orders (account_id, id desc);
create index orders_signal on orders (signal_id);
create index orders_user on orders (user_id);
create trigger orders_updated_at before update on orders
    for each row execute function set_updated_at();

-- Every state change of an order, with its time (append-only).
create table order_events (
    id bigint generated always as identity primary key,
    user_id uuid not null references users (id) on delete cascade,
    order_id bigint not null references orders (id) on delete cascade,
    status text not null
        check (status in ('queued', 'sent', 'retry', 'accepted', 'filled', 'rejected', 'failed', 'expired')),
    detail text,
    at timestamptz not null default clock_timestamp()
);
create index order_events_order on order_events (order_id, id);
create index order_events_user on order_events (user_id);

alter table broker_accounts enable row level security;
alter table broker_accounts force row level security;
create policy broker_accounts_tenant on broker_accounts
    using (user_id = app_user_id()) with check (user_id = app_user_id());
create policy broker_accounts_admin_read on broker_accounts for select using (app_is_admin());

alter table recorder_account_links enable row level security;
alter table recorder_account_links force row level security;
create policy recorder_account_links_tenant on recorder_account_links
    using (user_id = app_user_id()) with check (user_id = app_user_id());
create policy recorder_account_links_admin_read on recorder_account_links for select
    using (app_is_admin());

alter table orders enable row level security;
alter table orders force row level security;
create policy orders_tenant on orders
    using (user_id = app_user_id()) with check (user_id = app_user_id());
create policy orders_admin_read on orders for select using (app_is_admin());

alter table order_events enable row level security;
alter table order_events force row level security;
create policy order_events_tenant on order_events
    using (user_id = app_user_id()) with check (user_id = app_user_id());
create policy order_events_admin_read on order_events for select using (app_is_admin());

-- The worker's one cross-tenant question (sweeping for due work after a restart or a lost
-- wake-up): which (user, account) pairs have their oldest unfinished order due by `due_at`
-- (the ones behind it wait for it). Ids only.
create policy orders_owner_sweep on orders for select to current_user using (true);
create function accounts_with_due_orders(due_at timestamptz)
returns table (user_id uuid, account_id uuid)
language sql stable security definer set search_path = pg_catalog, public, pg_temp
as $$
    select oldest.user_id, oldest.account_id from (
        select distinct on (o.account_id) o.user_id, o.account_id, o.next_attempt_at
        from public.orders o
        where o.status in ('queued', 'sent')
        order by o.account_id, o.id
    ) oldest
    where oldest.next_attempt_at <= due_at
$$;
revoke all on function accounts_with_due_orders(timestamptz) from public;
grant execute on function accounts_with_due_orders(timestamptz) to jt_app;

grant select, insert, update, delete on broker_accounts to jt_app;
grant select, insert, update, delete on recorder_account_links to jt_app;
grant select, insert, update, delete on orders to jt_app;
grant select, insert on order_events to jt_app;

-- The job queue: the application pushes wake-ups (in the signal's transaction) and runs them.
grant usage on schema apalis to jt_app;
grant select, insert, update, delete on apalis.jobs, apalis.workers to jt_app;
grant execute on all functions in schema apalis to jt_app;
