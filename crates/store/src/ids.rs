//! Typed ids, so ids of different tables cannot be mixed up.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type)]
        #[sqlx(transparent)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new random id.
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// A user account (the tenant).
    UserId
);
uuid_id!(
    /// A recorder (one strategy's webhook and positions).
    RecorderId
);
uuid_id!(
    /// A bearer token for the JSON API.
    ApiTokenId
);
uuid_id!(
    /// A broker account (paper or Tradovate) orders are sent to.
    BrokerAccountId
);
uuid_id!(
    /// A recorder→broker-account link (multiplier, enabled, max delay).
    AccountLinkId
);
