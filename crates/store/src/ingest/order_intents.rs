//! The orders a tenant group's accepted signals make, for `ingest_apply` (which queues them
//! through `enqueue_batch_orders` in the same round trip as the signal rows).

use rust_decimal::Decimal;
use serde::Serialize;

use super::decide::GroupDecision;
use crate::RecorderId;

/// One order leg of an accepted signal. The signal is named by (recorder, seq): its id is
/// assigned by the insert in the same call, which resolves it.
#[derive(Debug, Serialize)]
pub(crate) struct OrderIntent {
    recorder_id: RecorderId,
    seq: i64,
    /// Tradovate symbol, e.g. `NQZ6`.
    contract: String,
    /// Signed contracts: positive buys, negative sells.
    delta: i64,
    /// The signal price (paper accounts fill at it).
    price: Option<Decimal>,
}

/// Every order leg of the group's accepted signals, in signal order. A flip's exit and
/// entry in one contract make one order of the full delta; a roll's exit and entry in two
/// contracts stay two, exit first. Fills in an unknown contract (untradeable root) and
/// legs that net to zero make none.
pub(crate) fn order_intents(decision: &GroupDecision) -> Vec<OrderIntent> {
    let mut intents = Vec::new();
    for legs in &decision.legs {
        let mut by_contract: Vec<(String, i64)> = Vec::new();
        for fill in legs.fills.iter() {
            let Some(contract) = fill.contract else {
                continue;
            };
            let symbol = contract.tradovate_symbol();
            match by_contract.iter_mut().find(|(c, _)| *c == symbol) {
                Some((_, delta)) => *delta += fill.quantity,
                None => by_contract.push((symbol, fill.quantity)),
            }
        }
        intents.extend(
            by_contract
                .into_iter()
                .filter(|(_, delta)| *delta != 0)
                .map(|(contract, delta)| OrderIntent {
                    recorder_id: legs.recorder,
                    seq: legs.seq,
                    contract,
                    delta,
                    price: legs.price,
                }),
        );
    }
    intents
}
