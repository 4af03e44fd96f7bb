//! [`Root`]: the product root of a futures symbol (`NQ`, `MNQ`, `CL`), stored inline.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::SymbolError;

/// Longest root we accept. Real futures roots are 1–4 characters; the slack leaves room for
/// unknown roots (tracked in points) without letting a ticker field carry arbitrary text.
pub const MAX_ROOT_LEN: usize = 12;

/// A product root such as `NQ`: 1 to [`MAX_ROOT_LEN`] ASCII upper-case letters and digits.
///
/// Stored inline (no heap) so that positions, contracts and fills are `Copy` and the
/// engine's hot path does not allocate for them.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Root {
    len: u8,
    bytes: [u8; MAX_ROOT_LEN],
}

impl Root {
    /// Parses a root: letters and digits only, upper-cased, 1 to [`MAX_ROOT_LEN`] characters.
    pub fn parse(text: &str) -> Result<Root, SymbolError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(SymbolError::Empty);
        }
        if text.len() > MAX_ROOT_LEN {
            return Err(SymbolError::RootTooLong {
                root: text.to_owned(),
                max: MAX_ROOT_LEN,
            });
        }
        let mut bytes = [0u8; MAX_ROOT_LEN];
        for (slot, c) in bytes.iter_mut().zip(text.bytes()) {
            if !c.is_ascii_alphanumeric() {
                return Err(SymbolError::BadCharacter {
                    symbol: text.to_owned(),
                });
            }
            *slot = c.to_ascii_uppercase();
        }
        Ok(Root {
            // Cannot truncate: the length was checked against MAX_ROOT_LEN above.
            len: text.len() as u8,
            bytes,
        })
    }

    /// The root's bytes (ASCII), e.g. `b"NQ"`: compared without UTF-8 validation on hot paths.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len).min(MAX_ROOT_LEN)]
    }

    /// The root as text, e.g. `"NQ"`.
    pub fn as_str(&self) -> &str {
        let len = usize::from(self.len).min(MAX_ROOT_LEN);
        // Only ASCII is ever stored, so this cannot fail; the fallback keeps the path panic-free.
        std::str::from_utf8(&self.bytes[..len]).unwrap_or("")
    }
}

impl fmt::Display for Root {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Root {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Root({:?})", self.as_str())
    }
}

impl FromStr for Root {
    type Err = SymbolError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Root::parse(s)
    }
}

impl Serialize for Root {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Root {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Root::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_upper_cases() {
        let root = Root::parse("mnq").expect("valid root");
        assert_eq!(root.as_str(), "MNQ");
        assert_eq!(root.to_string(), "MNQ");
    }

    #[test]
    fn rejects_empty_long_and_punctuation() {
        assert!(matches!(Root::parse(""), Err(SymbolError::Empty)));
        assert!(matches!(
            Root::parse("ABCDEFGHIJKLM"),
            Err(SymbolError::RootTooLong { .. })
        ));
        assert!(matches!(
            Root::parse("N-Q"),
            Err(SymbolError::BadCharacter { .. })
        ));
    }

    #[test]
    fn serde_round_trip_as_string() {
        let root = Root::parse("ES").expect("valid root");
        let json = serde_json::to_string(&root).expect("serializes");
        assert_eq!(json, "\"ES\"");
        let back: Root = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, root);
        assert!(serde_json::from_str::<Root>("\"E S\"").is_err());
    }
}
