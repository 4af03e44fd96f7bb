//! [`Fills`]: the fills of one signal, kept inline (a signal has at most two: a flip's exit and
//! entry), so applying a signal does not allocate for them.

use std::fmt;
use std::ops::Deref;

use rust_decimal::Decimal;
use serde::de::{Error as _, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::applied::{Fill, FillKind};

/// Most fills one signal can produce: the exit and the entry of a flip.
pub const MAX_FILLS: usize = 2;

/// What unused slots hold; never visible (only `..len` is).
const EMPTY_SLOT: Fill = Fill {
    quantity: 0,
    price: Decimal::ZERO,
    contract: None,
    kind: FillKind::Entry,
};

/// The fills of one signal, in order (exit before entry on a flip): zero, one or two.
///
/// Reads like a `Vec<Fill>`: it dereferences to `[Fill]` (`iter()`, `len()`, `is_empty()`,
/// `fills[0]`), and serializes as a JSON array of fills.
#[derive(Clone, Copy)]
pub struct Fills {
    len: u8,
    slots: [Fill; MAX_FILLS],
}

impl Fills {
    /// No fills.
    pub const fn new() -> Fills {
        Fills {
            len: 0,
            slots: [EMPTY_SLOT; MAX_FILLS],
        }
    }

    /// The fills as a slice.
    pub fn as_slice(&self) -> &[Fill] {
        &self.slots[..usize::from(self.len)]
    }

    /// Appends a fill; `Err` gives it back when there are already [`MAX_FILLS`].
    pub fn push(&mut self, fill: Fill) -> Result<(), Fill> {
        match self.slots.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = fill;
                self.len += 1;
                Ok(())
            }
            None => Err(fill),
        }
    }
}

impl Default for Fills {
    fn default() -> Fills {
        Fills::new()
    }
}

impl Deref for Fills {
    type Target = [Fill];

    fn deref(&self) -> &[Fill] {
        self.as_slice()
    }
}

impl<'a> IntoIterator for &'a Fills {
    type Item = &'a Fill;
    type IntoIter = std::slice::Iter<'a, Fill>;

    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl PartialEq for Fills {
    fn eq(&self, other: &Fills) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Fills {}

impl PartialEq<[Fill]> for Fills {
    fn eq(&self, other: &[Fill]) -> bool {
        self.as_slice() == other
    }
}

impl PartialEq<Vec<Fill>> for Fills {
    fn eq(&self, other: &Vec<Fill>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl fmt::Debug for Fills {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl From<Fills> for Vec<Fill> {
    fn from(fills: Fills) -> Vec<Fill> {
        fills.as_slice().to_vec()
    }
}

impl Serialize for Fills {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.as_slice())
    }
}

impl<'de> Deserialize<'de> for Fills {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Fills, D::Error> {
        struct FillsVisitor;

        impl<'de> Visitor<'de> for FillsVisitor {
            type Value = Fills;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a list of at most {MAX_FILLS} fills")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Fills, A::Error> {
                let mut fills = Fills::new();
                while let Some(fill) = seq.next_element::<Fill>()? {
                    fills
                        .push(fill)
                        .map_err(|_| A::Error::invalid_length(MAX_FILLS + 1, &"at most 2 fills"))?;
                }
                Ok(fills)
            }
        }

        deserializer.deserialize_seq(FillsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(quantity: i64) -> Fill {
        Fill {
            quantity,
            price: Decimal::from(25600),
            contract: None,
            kind: FillKind::Exit,
        }
    }

    #[test]
    fn reads_like_a_vec() {
        let mut fills = Fills::new();
        assert!(fills.is_empty());
        assert_eq!(fills.push(fill(-2)), Ok(()));
        assert_eq!(fills.push(fill(3)), Ok(()));
        assert_eq!(fills.push(fill(4)), Err(fill(4)));
        assert_eq!(fills.len(), 2);
        assert_eq!(fills[1].quantity, 3);
        assert_eq!(fills.iter().map(|f| f.quantity).sum::<i64>(), 1);
        assert_eq!(fills, vec![fill(-2), fill(3)]);
        assert_eq!(
            format!("{fills:?}"),
            format!("{:?}", vec![fill(-2), fill(3)])
        );
    }

    #[test]
    fn serializes_as_a_list() {
        let mut fills = Fills::new();
        assert_eq!(fills.push(fill(-1)), Ok(()));
        let json = serde_json::to_string(&fills).expect("serializes");
        assert_eq!(json, serde_json::to_string(&vec![fill(-1)]).expect("vec"));
        let back: Fills = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, fills);
        assert_eq!(
            serde_json::from_str::<Fills>("[]").expect("empty"),
            Fills::new()
        );
        let three = serde_json::to_string(&vec![fill(1); 3]).expect("vec");
        assert!(serde_json::from_str::<Fills>(&three).is_err());
    }
}
