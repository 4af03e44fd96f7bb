-- The SPEC §6/§7 rule "the last known price of a root for this user (across recorders)" in
-- one place: used for alerts without a price and as the mark for unrealized P&L. Runs as the
-- caller, so row-level security limits it to the caller's tenant.
create function user_last_price(p_root text) returns numeric
language sql stable
as $$
    select last_price from recorder_positions
    where user_id = app_user_id() and root = p_root and last_price is not null
    order by last_price_at desc nulls last
    limit 1
$$;
