//! The typed signal ([`Alert`]) and the entry point that reads a webhook body into it.
//!
//! The body format is detected from the content, never from the `Content-Type` header:
//! TradingView sends JSON as `text/plain` when the message is not valid JSON, and as
//! `application/json` otherwise. A body whose first non-blank character is `{` or `[` is JSON
//! (see `alert_json`), anything else is the text form `ACTION [QTY] TICKER [@ PRICE]` (see
//! `alert_text`).

use std::collections::BTreeMap;
use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::AlertError;
use crate::symbol::Symbol;

/// What a signal asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `buy` / `long`: add the quantity (covering a short first, flipping through zero).
    Buy,
    /// `sell` / `short`: subtract the quantity (closing a long first, flipping through zero).
    Sell,
    /// `close` / `exit` / `flat` / `close_all`: go flat (a target of 0).
    Close,
    /// `close_long`: go flat if long; no-op otherwise.
    CloseLong,
    /// `close_short`: go flat if short; no-op otherwise.
    CloseShort,
    /// No action word, only a target position (`position_size` / `market_position`).
    Target,
}

impl Action {
    /// Reads an action word (any case; `-` and spaces count as `_`). `None` if unknown.
    pub fn parse(word: &str) -> Option<Action> {
        // Normalized into a stack buffer: this runs on every webhook, and no action word is
        // longer than 16 bytes.
        let word = word.trim();
        let mut buf = [0u8; 16];
        if word.len() > buf.len() {
            return None;
        }
        for (slot, c) in buf.iter_mut().zip(word.bytes()) {
            *slot = match c {
                b'-' | b' ' => b'_',
                c => c.to_ascii_lowercase(),
            };
        }
        let normalized = std::str::from_utf8(&buf[..word.len()]).ok()?;
        Some(match normalized {
            "buy" | "long" => Action::Buy,
            "sell" | "short" => Action::Sell,
            "close" | "exit" | "flat" | "flatten" | "close_all" | "closeall" | "exit_all" => {
                Action::Close
            }
            "close_long" | "closelong" | "exit_long" | "exitlong" => Action::CloseLong,
            "close_short" | "closeshort" | "exit_short" | "exitshort" => Action::CloseShort,
            _ => return None,
        })
    }

    /// The canonical lower-case name stored with the signal (`"close_long"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Buy => "buy",
            Action::Sell => "sell",
            Action::Close => "close",
            Action::CloseLong => "close_long",
            Action::CloseShort => "close_short",
            Action::Target => "target",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which syntax the body used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertFormat {
    /// A JSON object.
    Json,
    /// `ACTION [QTY] TICKER [@ PRICE]`.
    Text,
}

/// Input limits. `Default` gives the product's limits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Largest quantity per signal and largest |target position| (default 10,000).
    pub max_quantity: u32,
    /// Largest body in bytes (default 64 KiB).
    pub max_body_bytes: usize,
    /// Most decimals a price may have after removing trailing zeros (default 9).
    pub max_price_decimals: u32,
    /// Largest price (default 1,000,000,000). Keeps P&L arithmetic far from overflow.
    pub max_price: Decimal,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_quantity: 10_000,
            max_body_bytes: 64 * 1024,
            max_price_decimals: 9,
            max_price: Decimal::from(1_000_000_000u32),
        }
    }
}

/// A parsed signal, ready for the position engine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// What to do.
    pub action: Action,
    /// The ticker as given (e.g. `CME_MINI:NQ1!`).
    pub ticker: String,
    /// The parsed ticker: root and which contract.
    pub symbol: Symbol,
    /// Contracts to trade; `None` = the recorder's default quantity. Ignored by closes.
    pub quantity: Option<u32>,
    /// Signal price (normalized: no trailing zeros).
    pub price: Option<Decimal>,
    /// Signed target position after this signal, from `position_size` or
    /// `market_position` + `market_position_size`.
    pub target: Option<i64>,
    /// Idempotency key (`id`, `signal_id` or `order_id`).
    pub id: Option<String>,
    /// Alert time as given (e.g. `{{timenow}}`); stored, not interpreted.
    pub time: Option<String>,
    /// Unknown or unused fields, keyed as written, kept for the signal log.
    pub extras: BTreeMap<String, serde_json::Value>,
    /// Which syntax the body used.
    pub format: AlertFormat,
    /// The body as received (invalid UTF-8 cannot occur: such bodies are rejected).
    pub raw: String,
}

/// Reads a webhook body (JSON or text, detected from the content) into an [`Alert`].
///
/// Never panics; every rejection says what is wrong and how to fix it.
pub fn parse_alert(body: impl AsRef<[u8]>, limits: &Limits) -> Result<Alert, AlertError> {
    let bytes = body.as_ref();
    if bytes.len() > limits.max_body_bytes {
        return Err(AlertError::TooLarge {
            size: bytes.len(),
            max: limits.max_body_bytes,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|_| AlertError::NotUtf8)?;
    let content = text.trim_start_matches('\u{feff}').trim();
    if content.is_empty() {
        return Err(AlertError::Empty);
    }
    if content.starts_with('{') || content.starts_with('[') {
        crate::alert_json::parse_json_alert(content, text, limits)
    } else {
        crate::alert_text::parse_text_alert(content, text, limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_aliases() {
        for (word, action) in [
            ("buy", Action::Buy),
            ("BUY", Action::Buy),
            ("Long", Action::Buy),
            ("sell", Action::Sell),
            ("short", Action::Sell),
            ("close", Action::Close),
            ("exit", Action::Close),
            ("flat", Action::Close),
            ("close_all", Action::Close),
            ("close-all", Action::Close),
            ("close_long", Action::CloseLong),
            ("Close Long", Action::CloseLong),
            ("exit_short", Action::CloseShort),
            ("close_short", Action::CloseShort),
        ] {
            assert_eq!(Action::parse(word), Some(action), "{word}");
        }
        assert_eq!(Action::parse("hold"), None);
        assert_eq!(Action::parse(""), None);
        assert_eq!(Action::CloseLong.to_string(), "close_long");
    }

    #[test]
    fn body_limits() {
        let limits = Limits {
            max_body_bytes: 10,
            ..Limits::default()
        };
        assert!(matches!(
            parse_alert("BUY 1 NQ1! @ 25600", &limits),
            Err(AlertError::TooLarge { size: 18, max: 10 })
        ));
        assert_eq!(
            parse_alert([0xff, 0xfe], &Limits::default()),
            Err(AlertError::NotUtf8)
        );
        assert_eq!(
            parse_alert(" \n ", &Limits::default()),
            Err(AlertError::Empty)
        );
    }

    #[test]
    fn detects_format_from_content() {
        let json = parse_alert(
            "\u{feff} {\"action\":\"buy\",\"ticker\":\"NQ1!\"}",
            &Limits::default(),
        )
        .expect("json alert");
        assert_eq!(json.format, AlertFormat::Json);
        let text = parse_alert("buy NQ1!", &Limits::default()).expect("text alert");
        assert_eq!(text.format, AlertFormat::Text);
    }
}
