//! The JSON shapes of the Tradovate REST endpoints we use (field names as Tradovate spells
//! them). The fake server uses the same types, so client and fake cannot drift apart.
//!
//! Prices arrive as JSON numbers; they are read into `Decimal` (never `f64`).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// `POST /auth/accesstokenrequest` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessTokenRequest {
    /// The Tradovate username.
    pub name: String,
    /// The password.
    pub password: String,
    /// The API key's app id.
    pub app_id: String,
    /// Our application version.
    pub app_version: String,
    /// The API key id (a number in the docs' examples, a string in the C# SDK).
    pub cid: String,
    /// The API secret.
    pub sec: String,
    /// A stable id of this installation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
}

/// The answer to a token request or renewal. A failure is still HTTP 200, with `errorText`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessTokenResponse {
    /// Non-empty when the request failed (bad credentials, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_text: Option<String>,
    /// The bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// When the token stops working.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_time: Option<DateTime<Utc>>,
    /// The Tradovate user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    /// The username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// An entry of `GET /account/list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// Tradovate's account id (`accountId` in orders).
    pub id: i64,
    /// The account name (`accountSpec` in orders).
    pub name: String,
    /// The owning user.
    #[serde(default)]
    pub user_id: i64,
    /// Whether the account may trade.
    #[serde(default)]
    pub active: bool,
}

/// An entry of `GET /position/list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Position {
    /// The position row id.
    pub id: i64,
    /// The account holding it.
    pub account_id: i64,
    /// The contract (map to a symbol with the contract endpoints).
    pub contract_id: i64,
    /// Signed net position.
    pub net_pos: i64,
}

/// `GET /contract/find?name=` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contract {
    /// The contract id.
    pub id: i64,
    /// The symbol, e.g. `NQZ6`.
    pub name: String,
}

/// Order side as Tradovate spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderAction {
    /// Buy.
    Buy,
    /// Sell.
    Sell,
}

/// `POST /order/placeorder` body (market orders are all we send).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlaceOrder {
    /// The account name.
    pub account_spec: String,
    /// The account id.
    pub account_id: i64,
    /// Our client order id (deterministic per signal and link).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cl_ord_id: Option<String>,
    /// Buy or sell.
    pub action: OrderAction,
    /// The contract symbol, e.g. `NQZ6`.
    pub symbol: String,
    /// Contracts, at least 1.
    pub order_qty: i64,
    /// `Market`.
    pub order_type: String,
    /// Tradovate requires `true` for orders not entered by a person.
    pub is_automated: bool,
}

/// `POST /order/placeorder` answer: an order id, or a failure reason and text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlaceOrderResult {
    /// The broker's order id when the order was accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<i64>,
    /// Why it was refused (`Success` or absent when accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// The broker's explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_text: Option<String>,
}

/// An entry of `GET /order/list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// The broker's order id.
    pub id: i64,
    /// The account.
    pub account_id: i64,
    /// The contract.
    #[serde(default)]
    pub contract_id: i64,
    /// Buy or sell.
    pub action: OrderAction,
    /// `Filled`, `Working`, `Rejected`, … (kept as text: Tradovate may add states).
    pub ord_status: String,
    /// The client order id it was placed with, when the broker echoes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cl_ord_id: Option<String>,
    /// When it was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
}

/// An entry of `GET /fill/list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fill {
    /// The fill id.
    pub id: i64,
    /// The order it belongs to.
    pub order_id: i64,
    /// The contract.
    pub contract_id: i64,
    /// Buy or sell.
    pub action: OrderAction,
    /// Contracts filled.
    pub qty: i64,
    /// Fill price (a JSON number on the wire).
    #[serde(with = "price_number")]
    pub price: Decimal,
    /// When it filled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
}

/// Tradovate sends prices as JSON numbers: write them so, read numbers or strings exactly.
mod price_number {
    use rust_decimal::Decimal;
    use rust_decimal::prelude::ToPrimitive;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(price: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(price.to_f64().unwrap_or_default())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
        // Decimal's own Deserialize reads the number's shortest decimal form, not the binary
        // double, so 25600.25 stays exactly 25600.25.
        <Decimal as Deserialize>::deserialize(deserializer)
    }
}
