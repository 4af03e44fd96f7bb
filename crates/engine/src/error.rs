//! The engine's errors. Every `Display` is a user-facing message: it quotes the offending value
//! and says how to fix the alert, because it is shown verbatim in the signal log and the
//! webhook's `{"status":"rejected","error":…}` answer.

use thiserror::Error;

/// A ticker that cannot be read as a futures symbol.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SymbolError {
    /// Nothing but whitespace (or only an exchange prefix).
    #[error("\"\" is not a ticker (it is empty): send e.g. \"NQ1!\" or \"{{{{ticker}}}}\"")]
    Empty,
    /// Root longer than any futures product.
    #[error(
        "root \"{root}\" is longer than {max} characters: send a futures symbol such as \"NQ1!\" or \"NQZ2025\""
    )]
    RootTooLong {
        /// The root as given.
        root: String,
        /// The longest accepted root.
        max: usize,
    },
    /// Characters other than letters and digits.
    #[error(
        "\"{symbol}\" may only contain letters and digits (plus an optional \"EXCHANGE:\" prefix and a trailing \"1!\"), e.g. \"NQ1!\" or \"CME_MINI:NQZ2025\""
    )]
    BadCharacter {
        /// The symbol as given.
        symbol: String,
    },
    /// `NQ!`, `NQ0!`, `NQ12!`.
    #[error(
        "\"{symbol}\" is not a continuous contract: use root + 1 digit + \"!\", e.g. \"NQ1!\" (front month) or \"NQ2!\" (next)"
    )]
    BadContinuous {
        /// The symbol as given.
        symbol: String,
    },
    /// A year that is not 1, 2 or 4 digits, or a 4-digit year outside 2000–2099.
    #[error(
        "\"{symbol}\" has an invalid contract year: write it as \"NQZ2025\", \"NQZ25\" or \"NQZ5\""
    )]
    BadYear {
        /// The symbol as given.
        symbol: String,
    },
    /// An explicit month the product does not list (`NQF6`).
    #[error("\"{symbol}\": {root} has no {month} contract; {root} trades the months {listed}")]
    MonthNotListed {
        /// The symbol as given.
        symbol: String,
        /// The product root.
        root: &'static str,
        /// The month's name.
        month: &'static str,
        /// Listed month codes, e.g. `HMUZ`.
        listed: String,
    },
    /// `NQ1` without the `!` of a continuous symbol.
    #[error("\"{symbol}\" is ambiguous: for the continuous front month write \"{suggestion}\"")]
    MissingContinuousMark {
        /// The symbol as given.
        symbol: String,
        /// What the user probably meant.
        suggestion: String,
    },
}

/// An alert body that cannot be turned into a signal.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AlertError {
    /// The body exceeds the size limit.
    #[error("the alert is {size} bytes, more than the {max} allowed: shorten the alert message")]
    TooLarge {
        /// Body size in bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A control character (NUL, another C0 character or DEL) in a field; tab and line
    /// breaks are allowed only in free text such as `comment`.
    #[error(
        "{field} contains the control character {code} at character {position} (in \"{excerpt}\"): remove it; control characters are refused (tab and line breaks only in free text such as comment)"
    )]
    ControlCharacter {
        /// The field as written (escaped and shortened when user-chosen).
        field: String,
        /// The character, e.g. `U+0000`.
        code: String,
        /// 1-based character position in the (trimmed) value.
        position: usize,
        /// The value's start, control characters escaped.
        excerpt: String,
    },
    /// A field longer than its cap (see `alert_caps`).
    #[error(
        "{field} is {length} characters long, more than the {max} allowed: shorten it (it starts \"{excerpt}\")"
    )]
    TooLong {
        /// The field as written (escaped and shortened when user-chosen).
        field: String,
        /// Its length in characters.
        length: usize,
        /// The cap.
        max: usize,
        /// The value's start, control characters escaped.
        excerpt: String,
    },
    /// The body is not UTF-8 text.
    #[error("the alert is not UTF-8 text: send JSON or text like \"BUY 2 NQ1! @ 25600.25\"")]
    NotUtf8,
    /// Nothing but whitespace.
    #[error(
        "the alert is empty: send JSON such as {{\"action\": \"{{{{strategy.order.action}}}}\", \"ticker\": \"{{{{ticker}}}}\", \"price\": \"{{{{close}}}}\"}}"
    )]
    Empty,
    /// Starts like JSON but does not parse.
    #[error(
        "the alert is not valid JSON ({detail}); an empty unquoted placeholder is the usual cause: quote every placeholder, e.g. \"price\": \"{{{{close}}}}\""
    )]
    InvalidJson {
        /// serde_json's description, with line and column.
        detail: String,
    },
    /// JSON, but not an object.
    #[error(
        "the alert JSON must be an object like {{\"action\": \"buy\", \"ticker\": \"NQ1!\"}}, not {found}"
    )]
    NotAnObject {
        /// What was found (`an array`, `a string`…).
        found: &'static str,
    },
    /// No action and no target position.
    #[error(
        "missing action: add \"action\": \"{{{{strategy.order.action}}}}\" (buy, sell or close) or a target such as \"position_size\": \"{{{{strategy.position_size}}}}\""
    )]
    MissingAction,
    /// No ticker.
    #[error("missing ticker: add \"ticker\": \"{{{{ticker}}}}\" (e.g. \"NQ1!\")")]
    MissingTicker,
    /// An action word we do not know.
    #[error(
        "{field} \"{value}\" is not a known action: use buy, sell, close, close_long or close_short (or long, short, exit, flat)"
    )]
    UnknownAction {
        /// The field as written (`action`, `side`…).
        field: String,
        /// The value as given.
        value: String,
    },
    /// A field that must be text or a number got an object, array or boolean.
    #[error("{field} must be text or a number, not {found}")]
    WrongType {
        /// The field as written.
        field: String,
        /// What was found.
        found: &'static str,
    },
    /// A TradingView placeholder that was not substituted (`{{close}}` arrived literally).
    #[error(
        "{field} \"{value}\" is a TradingView placeholder that was not filled in: it only works in alerts of the right kind (strategy placeholders need a strategy alert), or replace it with a value"
    )]
    UnfilledPlaceholder {
        /// The field as written.
        field: String,
        /// The value as given.
        value: String,
    },
    /// A numeric field whose text is not a number.
    #[error("{field} \"{value}\" is not a number: send digits such as \"25600.25\"")]
    NotANumber {
        /// The field as written.
        field: String,
        /// The value as given.
        value: String,
    },
    /// A quantity with a fractional part.
    #[error(
        "{field} \"{value}\" is not a whole number of contracts: send a positive integer such as \"2\""
    )]
    QuantityNotWhole {
        /// The field as written.
        field: String,
        /// The value as given.
        value: String,
    },
    /// A quantity of zero or less.
    #[error(
        "{field} \"{value}\" must be at least 1 contract: send a positive integer, or use \"action\": \"close\" to go flat"
    )]
    QuantityNotPositive {
        /// The field as written.
        field: String,
        /// The value as given.
        value: String,
    },
    /// A quantity (or target position) above the limit.
    #[error("{field} \"{value}\" is more than the {max} contracts allowed")]
    QuantityTooLarge {
        /// The field as written.
        field: String,
        /// The value as given.
        value: String,
        /// The limit.
        max: u32,
    },
    /// A target position with a fractional part.
    #[error(
        "{field} \"{value}\" is not a whole number of contracts: send the signed position, e.g. \"{{{{strategy.position_size}}}}\""
    )]
    TargetNotWhole {
        /// The field as written.
        field: String,
        /// The value as given.
        value: String,
    },
    /// A price of zero or below.
    #[error("{field} \"{value}\" must be greater than 0")]
    PriceNotPositive {
        /// The field as written.
        field: String,
        /// The value as given.
        value: String,
    },
    /// A price with more decimals than allowed.
    #[error("{field} \"{value}\" has more than {max_decimals} decimals")]
    PriceTooPrecise {
        /// The field as written.
        field: String,
        /// The value as given.
        value: String,
        /// The limit.
        max_decimals: u32,
    },
    /// A price above the sanity limit.
    #[error("{field} \"{value}\" is larger than the {max} allowed")]
    PriceTooLarge {
        /// The field as written.
        field: String,
        /// The value as given.
        value: String,
        /// The limit.
        max: String,
    },
    /// `market_position` is not long/short/flat.
    #[error(
        "{field} \"{value}\" must be long, short or flat (use \"{{{{strategy.market_position}}}}\")"
    )]
    UnknownMarketPosition {
        /// The field as written.
        field: String,
        /// The value as given.
        value: String,
    },
    /// `market_position` long/short without its size.
    #[error(
        "market_position \"{value}\" needs its size: add \"market_position_size\": \"{{{{strategy.market_position_size}}}}\""
    )]
    MarketPositionWithoutSize {
        /// The market position as given.
        value: String,
    },
    /// `position_size` and `market_position[_size]` name different targets.
    #[error(
        "position_size {position_size} and market_position {market_position} disagree: send only one of them"
    )]
    TargetsDisagree {
        /// Target from `position_size`.
        position_size: i64,
        /// Target from `market_position` × `market_position_size`, signed.
        market_position: i64,
    },
    /// The ticker field did not parse.
    #[error("{field} {source}")]
    Symbol {
        /// The field as written.
        field: String,
        /// The value as given.
        value: String,
        /// Why (boxed: keeps every `Result<_, AlertError>` small).
        source: Box<SymbolError>,
    },
    /// Plain text that does not follow `ACTION [QTY] TICKER [@ PRICE]`.
    #[error(
        "could not read the text alert \"{text}\": {problem}; write it as ACTION [QTY] TICKER [@ PRICE], e.g. \"BUY 2 NQ1! @ 25600.25\" or \"close NQ1!\""
    )]
    BadText {
        /// The text (shortened to 80 characters).
        text: String,
        /// What is wrong.
        problem: String,
    },
}

/// A signal that parsed but cannot be applied to the position.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ApplyError {
    /// An entry (or the new side of a flip) without any known price.
    #[error("price required: add \"price\": \"{{{{close}}}}\" to the alert")]
    PriceRequired,
    /// The alert's root is not the position's root (a caller bug; the store routes by root).
    #[error("signal for {alert_root} applied to the {position_root} position")]
    RootMismatch {
        /// Root of the position.
        position_root: String,
        /// Root of the alert.
        alert_root: String,
    },
    /// Quantities or money beyond what can be represented (absurd positions or prices).
    #[error("the {what} would overflow: the position or prices are far beyond any real market")]
    Overflow {
        /// What overflowed.
        what: &'static str,
    },
}

/// A stored signal that no longer applies during a replay (settings or engine changed).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("signal #{index} of the replay: {source}")]
pub struct ReplayError {
    /// 0-based position of the signal in the replayed sequence.
    pub index: usize,
    /// Why it failed.
    pub source: ApplyError,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_quote_placeholders_literally() {
        assert_eq!(
            ApplyError::PriceRequired.to_string(),
            "price required: add \"price\": \"{{close}}\" to the alert"
        );
        assert!(
            AlertError::MissingTicker
                .to_string()
                .contains("\"{{ticker}}\"")
        );
        let e = AlertError::QuantityNotWhole {
            field: "quantity".into(),
            value: "1.5".into(),
        };
        assert!(
            e.to_string()
                .starts_with("quantity \"1.5\" is not a whole number of contracts")
        );
    }
}
