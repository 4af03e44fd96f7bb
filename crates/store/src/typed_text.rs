//! Text users type into forms and the API (email addresses, recorder and token names):
//! PostgreSQL text cannot hold NUL, and other control characters in a name only garble the
//! pages that show it, so they are refused with a clear message (422), never a 500.

use crate::StoreError;

/// Refuses any control character (Unicode `Cc`: C0, DEL, C1), naming `what` and where it is.
pub(crate) fn refuse_control_characters(what: &str, text: &str) -> Result<(), StoreError> {
    match text.chars().enumerate().find(|(_, c)| c.is_control()) {
        None => Ok(()),
        Some((index, c)) => Err(StoreError::Invalid(format!(
            "{what} contains the control character U+{:04X} at character {}: remove it",
            u32::from(c),
            index + 1
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_named_with_their_position() {
        assert!(refuse_control_characters("the name", "NQ breakout é").is_ok());
        let error = refuse_control_characters("the name", "NQ\u{0}").expect_err("NUL");
        assert_eq!(
            error.to_string(),
            "the name contains the control character U+0000 at character 3: remove it"
        );
        assert!(refuse_control_characters("the name", "a\tb").is_err());
        assert!(refuse_control_characters("the name", "a\u{85}b").is_err());
    }
}
