//! `apply`: one signal applied to one position, purely (no I/O, no clock; time comes in the
//! [`ApplyContext`]). The semantics are listed in the crate documentation and `SEMANTICS.md`.

use rust_decimal::Decimal;

use crate::alert::{Action, Alert};
use crate::applied::{Applied, ApplyContext, Fill, FillKind, Note, PriceSource};
use crate::contract::{Contract, ContractSpec};
use crate::contract_calendar::is_front_month;
use crate::error::ApplyError;
use crate::fills::Fills;
use crate::position::Position;
use crate::symbol::SymbolContract;
use crate::trade::{OpenTrade, Side};

fn overflow(what: &'static str) -> ApplyError {
    ApplyError::Overflow { what }
}

#[inline]
fn mul(a: Decimal, b: Decimal) -> Result<Decimal, ApplyError> {
    a.checked_mul(b).ok_or_else(|| overflow("P&L"))
}

#[inline]
fn add(a: Decimal, b: Decimal) -> Result<Decimal, ApplyError> {
    a.checked_add(b).ok_or_else(|| overflow("P&L"))
}

/// Points × contracts and dollars realized by exiting `contracts` at `price` from a position
/// of sign `sign` with average entry `avg`: `(price − avg) × contracts × sign`.
#[inline]
fn leg_pnl(
    price: Decimal,
    avg: Decimal,
    contracts: Decimal,
    sign: i64,
    point_value: Decimal,
) -> Result<(Decimal, Decimal), ApplyError> {
    let long_points = mul(
        price.checked_sub(avg).ok_or_else(|| overflow("P&L"))?,
        contracts,
    )?;
    let points = if sign < 0 { -long_points } else { long_points };
    Ok((points, mul(points, point_value)?))
}

/// Commission for `contracts` on one side (skips the multiplication for commission-free
/// recorders, the default).
#[inline]
fn commission_for(contracts: Decimal, ctx: &ApplyContext) -> Result<Decimal, ApplyError> {
    if ctx.commission_per_contract.is_zero() {
        Ok(Decimal::ZERO)
    } else {
        mul(contracts, ctx.commission_per_contract)
    }
}

/// Applies one signal to a position. Pure: the same inputs always give the same output.
///
/// Errors leave nothing changed: the caller stores the signal as rejected with the message.
pub fn apply(
    position: &Position,
    alert: &Alert,
    ctx: &ApplyContext,
) -> Result<Applied, ApplyError> {
    if alert.symbol.root != position.root {
        return Err(ApplyError::RootMismatch {
            position_root: position.root.to_string(),
            alert_root: alert.symbol.root.to_string(),
        });
    }
    let (price, price_source) = match (alert.price, ctx.last_known_price, position.last_price) {
        (Some(p), _, _) => (Some(p), PriceSource::Signal),
        (None, Some(p), _) | (None, None, Some(p)) => (Some(p), PriceSource::LastKnown),
        (None, None, None) => (None, PriceSource::None),
    };
    let mut notes = Vec::new();
    let current = position.quantity;
    let target = target_of(alert, ctx, current, &mut notes)?;
    let delta = target
        .checked_sub(current)
        .ok_or_else(|| overflow("position"))?;
    if delta == 0 {
        noop_notes(alert.action, current, alert.target, &mut notes);
    }
    if let (PriceSource::LastKnown, Some(p), true) = (price_source, price, delta != 0) {
        notes.push(Note::PriceFromLastKnown { price: p });
    }

    let point_value = ContractSpec::of(&position.root).map(|spec| spec.point_value);
    let mut book = Booking {
        applied: Applied {
            position: next_position(position, alert, ctx, price, price_source),
            fills: Fills::new(),
            closed_trade: None,
            notes,
            delta,
            price,
            price_source,
        },
        ctx,
        point_value: point_value.unwrap_or(Decimal::ONE),
    };
    // Observed once, before the fills: a fill at the observed price does not change the
    // trade's P&L at that price, so observing again afterwards would add nothing.
    book.observe(price)?;
    if delta != 0 {
        book.move_to(target, price, alert)?;
        if point_value.is_none() {
            book.applied.notes.push(Note::NotExecutable {
                root: position.root,
            });
        }
    }
    Ok(book.applied)
}

/// The position before any fill, with the bookkeeping of this signal already done (cloned
/// field by field so the old `last_signal_id` is not copied just to be replaced).
fn next_position(
    position: &Position,
    alert: &Alert,
    ctx: &ApplyContext,
    price: Option<Decimal>,
    price_source: PriceSource,
) -> Position {
    Position {
        root: position.root,
        contract: position.contract,
        quantity: position.quantity,
        avg_entry_price: position.avg_entry_price,
        realized_pnl: position.realized_pnl,
        commission: position.commission,
        last_price: match price_source {
            PriceSource::Signal => price,
            PriceSource::LastKnown | PriceSource::None => position.last_price,
        },
        signal_count: position.signal_count.saturating_add(1),
        last_signal_id: alert.id.clone(),
        opened_at: position.opened_at,
        updated_at: Some(ctx.now),
        open_trade: position.open_trade.clone(),
    }
}

/// The position this signal asks for, noting a resync when an explicit target disagrees with
/// what the action and quantity alone would give.
fn target_of(
    alert: &Alert,
    ctx: &ApplyContext,
    current: i64,
    notes: &mut Vec<Note>,
) -> Result<i64, ApplyError> {
    let quantity = i64::from(alert.quantity.unwrap_or(ctx.default_quantity));
    let from_action = match alert.action {
        Action::Buy => current
            .checked_add(quantity)
            .ok_or_else(|| overflow("position"))?,
        Action::Sell => current
            .checked_sub(quantity)
            .ok_or_else(|| overflow("position"))?,
        Action::Close => 0,
        Action::CloseLong if current > 0 => 0,
        Action::CloseShort if current < 0 => 0,
        Action::CloseLong | Action::CloseShort => current,
        Action::Target => alert.target.unwrap_or(current),
    };
    match alert.target {
        Some(target) => {
            if alert.action != Action::Target && target != from_action {
                notes.push(Note::Resync {
                    from_action,
                    target,
                });
            }
            Ok(target)
        }
        None => Ok(from_action),
    }
}

/// Explains why a close changed nothing (only when no explicit target decided it).
fn noop_notes(action: Action, current: i64, target: Option<i64>, notes: &mut Vec<Note>) {
    let is_close = matches!(
        action,
        Action::Close | Action::CloseLong | Action::CloseShort
    );
    if !is_close || target.is_some() {
        return;
    }
    if current == 0 {
        notes.push(Note::CloseWhenFlat);
    } else if action != Action::Close {
        notes.push(Note::CloseOtherSide {
            action,
            quantity: current,
        });
    }
}

/// The result being built by one signal.
struct Booking<'a> {
    applied: Applied,
    ctx: &'a ApplyContext,
    /// Dollars per point of the root (1 for unknown roots).
    point_value: Decimal,
}

impl Booking<'_> {
    /// Moves the position to `target`: first the exit part (reduce, close, or close before a
    /// flip), then the entry part (open, add, or open the new side of a flip).
    fn move_to(
        &mut self,
        target: i64,
        price: Option<Decimal>,
        alert: &Alert,
    ) -> Result<(), ApplyError> {
        let current = self.applied.position.quantity;
        let same_side = current.signum() == target.signum();
        let exit_quantity = match current {
            0 => 0,
            _ if !same_side => current.abs(),
            _ if target.abs() < current.abs() => current.abs() - target.abs(),
            _ => 0,
        };
        let entry_quantity = target.abs() - if same_side { current.abs() } else { 0 };
        if entry_quantity > 0 && price.is_none() {
            return Err(ApplyError::PriceRequired);
        }
        if exit_quantity > 0 {
            match price {
                Some(p) => self.exit(exit_quantity, p, true)?,
                None => {
                    self.applied.notes.push(Note::ClosedWithoutPrice);
                    let avg = self.applied.position.avg_entry_price;
                    self.exit(exit_quantity, avg, false)?;
                }
            }
        }
        if let (true, Some(p)) = (entry_quantity > 0, price) {
            let side = if target > 0 { Side::Long } else { Side::Short };
            self.enter(side, entry_quantity, p, alert)?;
        }
        Ok(())
    }

    /// Reduces the position by `quantity` contracts at `price`, realizing P&L against the
    /// (unchanged) average entry; closes the trade when the position reaches zero.
    ///
    /// The exit that closes a trade (flat, or the closing leg of a flip) at a real price books
    /// the trade's exact result instead: `(Σ exit value − Σ entry value) × direction` points,
    /// of which this leg is what the earlier exits have not booked. Partial exits against a
    /// repeating average (5/3) are rounded to 28 digits; the trade result never is.
    fn exit(&mut self, quantity: i64, price: Decimal, priced: bool) -> Result<(), ApplyError> {
        let point_value = self.point_value;
        let p = &mut self.applied.position;
        let sign = p.quantity.signum();
        let contracts = Decimal::from(quantity);
        let commission = commission_for(contracts, self.ctx)?;
        p.commission = add(p.commission, commission)?;
        p.quantity -= sign * quantity;
        let closes = p.quantity == 0;
        match p.open_trade.as_mut() {
            Some(trade) => {
                let booked_before = trade.realized_pnl;
                trade.exits = trade.exits.saturating_add(1);
                trade.exit_quantity = trade.exit_quantity.saturating_add(quantity);
                trade.exit_value = add(trade.exit_value, mul(price, contracts)?)?;
                trade.commission = add(trade.commission, commission)?;
                if closes && priced && trade.exit_quantity == trade.entry_quantity {
                    let long_points = trade
                        .exit_value
                        .checked_sub(trade.entry_value)
                        .ok_or_else(|| overflow("P&L"))?;
                    trade.realized_points = if sign < 0 { -long_points } else { long_points };
                    trade.realized_pnl = mul(trade.realized_points, point_value)?;
                } else {
                    let (points, dollars) =
                        leg_pnl(price, p.avg_entry_price, contracts, sign, point_value)?;
                    trade.realized_points = add(trade.realized_points, points)?;
                    trade.realized_pnl = add(trade.realized_pnl, dollars)?;
                }
                p.realized_pnl = match trade.realized_before {
                    Some(before) => add(before, trade.realized_pnl)?,
                    None => add(
                        p.realized_pnl,
                        trade
                            .realized_pnl
                            .checked_sub(booked_before)
                            .ok_or_else(|| overflow("P&L"))?,
                    )?,
                };
            }
            // Only a hand-built position is open without a trade: book the leg on its own.
            None => {
                let (_, dollars) = leg_pnl(price, p.avg_entry_price, contracts, sign, point_value)?;
                p.realized_pnl = add(p.realized_pnl, dollars)?;
            }
        }
        self.applied
            .fills
            .push(Fill {
                quantity: -sign * quantity,
                price,
                contract: p.contract,
                kind: FillKind::Exit,
            })
            .map_err(|_| overflow("fills"))?;
        if closes {
            p.avg_entry_price = Decimal::ZERO;
            p.contract = None;
            p.opened_at = None;
            if let Some(trade) = p.open_trade.take() {
                self.applied.closed_trade = Some(trade.close(p.root, self.ctx.now)?);
            }
        }
        Ok(())
    }

    /// Opens (from flat) or adds `quantity` contracts on `side` at `price`.
    fn enter(
        &mut self,
        side: Side,
        quantity: i64,
        price: Decimal,
        alert: &Alert,
    ) -> Result<(), ApplyError> {
        let ctx = self.ctx;
        let wanted = self.entry_contract(alert);
        let p = &mut self.applied.position;
        let contracts = Decimal::from(quantity);
        let value = mul(price, contracts)?;
        if p.quantity == 0 {
            p.contract = wanted;
            p.opened_at = Some(ctx.now);
            p.avg_entry_price = price;
            let mut trade = OpenTrade::new(side, wanted, ctx.now);
            trade.realized_before = Some(p.realized_pnl);
            p.open_trade = Some(trade);
        } else {
            if let (Some(held), Some(current)) = (p.contract, wanted)
                && held != current
            {
                self.applied
                    .notes
                    .push(Note::HeldContract { held, current });
            }
            // Weighted average at full precision: (avg × held + price × added) / total.
            let held_contracts = p.quantity.abs();
            let cost = add(
                mul(p.avg_entry_price, Decimal::from(held_contracts))?,
                value,
            )?;
            let total = Decimal::from(held_contracts.saturating_add(quantity));
            p.avg_entry_price = cost
                .checked_div(total)
                .ok_or_else(|| overflow("average entry"))?;
        }
        p.quantity = p
            .quantity
            .checked_add(side.sign() * quantity)
            .ok_or_else(|| overflow("position"))?;
        let commission = commission_for(contracts, ctx)?;
        p.commission = add(p.commission, commission)?;
        if let Some(trade) = p.open_trade.as_mut() {
            trade.entries = trade.entries.saturating_add(1);
            trade.entry_quantity = trade.entry_quantity.saturating_add(quantity);
            trade.entry_value = add(trade.entry_value, value)?;
            trade.max_quantity = trade.max_quantity.max(p.quantity.abs());
            trade.commission = add(trade.commission, commission)?;
        }
        self.applied
            .fills
            .push(Fill {
                quantity: side.sign() * quantity,
                price,
                contract: p.contract,
                kind: FillKind::Entry,
            })
            .map_err(|_| overflow("fills"))?;
        Ok(())
    }

    /// The contract a new entry would use now: the recorder's override for this root, else
    /// what the symbol names on the signal date.
    fn entry_contract(&self, alert: &Alert) -> Option<Contract> {
        let position = &self.applied.position;
        if let Some(pinned) = self.ctx.contract_override
            && pinned.root == position.root
        {
            return Some(pinned);
        }
        let date = self.ctx.now.date_naive();
        // Adds to a position held in the front month are the common case: confirming that is
        // cheaper than resolving the calendar from scratch.
        if let Some(held) = position.contract
            && matches!(
                alert.symbol.contract,
                SymbolContract::Continuous(1) | SymbolContract::RootOnly
            )
            && is_front_month(held, date)
        {
            return Some(held);
        }
        alert.symbol.resolve(date)
    }

    /// Records the open trade's P&L at `price` for MAE/MFE: realized so far in the trade plus
    /// the open part marked at `price`.
    fn observe(&mut self, price: Option<Decimal>) -> Result<(), ApplyError> {
        let Some(price) = price else { return Ok(()) };
        let p = &mut self.applied.position;
        let point_value = self.point_value;
        let Some(trade) = p.open_trade.as_mut() else {
            return Ok(());
        };
        let open = mul(
            mul(
                price
                    .checked_sub(p.avg_entry_price)
                    .ok_or_else(|| overflow("P&L"))?,
                Decimal::from(p.quantity),
            )?,
            point_value,
        )?;
        trade.observe(add(trade.realized_pnl, open)?);
        Ok(())
    }
}
