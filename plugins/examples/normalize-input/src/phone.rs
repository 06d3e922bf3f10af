//! Phone numbers, written or spoken, to E.164 (`+14155550100`).
//!
//! Pure functions, no host calls, so they are unit-tested natively.

use crate::spoken;

/// `said` as an E.164 number, or `None` if it is not a plausible phone number.
///
/// `country_code` (digits only, e.g. `1`) is assumed when the caller gave a
/// national number. A leading `+` or the word "plus" marks an international
/// number; so do the international prefixes `00` and, in North America, `011`.
/// A national number's trunk `0` (as in `020 7946 0000`) is dropped.
pub fn e164(said: &str, country_code: &str) -> Option<String> {
    let trimmed = said.trim_start();
    let (international, rest) = if let Some(rest) = trimmed.strip_prefix('+') {
        (true, rest)
    } else if let Some(rest) = strip_word(trimmed, "plus") {
        (true, rest)
    } else {
        (false, trimmed)
    };
    let digits = spoken::digits(rest)?;

    let full = if international {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_string()
    } else if country_code == "1" {
        match digits.len() {
            10 => format!("1{digits}"),
            11 if digits.starts_with('1') => digits,
            _ if digits.starts_with("011") => digits[3..].to_string(),
            _ => return None,
        }
    } else {
        let national = digits.strip_prefix('0').unwrap_or(&digits);
        format!("{country_code}{national}")
    };

    // North American numbers are exactly 11 digits with the 1; E.164 allows at
    // most 15 digits, and anything under 8 is not a whole number.
    let plausible = if full.starts_with('1') {
        full.len() == 11
    } else {
        (8..=15).contains(&full.len())
    };
    (plausible && !full.starts_with('0')).then(|| format!("+{full}"))
}

fn strip_word<'a>(s: &'a str, word: &str) -> Option<&'a str> {
    let head = s.get(..word.len())?;
    let rest = &s[word.len()..];
    (head.eq_ignore_ascii_case(word) && rest.starts_with(|c: char| !c.is_ascii_alphanumeric()))
        .then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::e164;

    #[test]
    fn north_american_numbers() {
        assert_eq!(e164("(415) 555-0100", "1").as_deref(), Some("+14155550100"));
        assert_eq!(e164("415.555.0100", "1").as_deref(), Some("+14155550100"));
        assert_eq!(e164("1 415 555 0100", "1").as_deref(), Some("+14155550100"));
        assert_eq!(
            e164("+1 (415) 555-0100", "1").as_deref(),
            Some("+14155550100")
        );
    }

    #[test]
    fn spoken_numbers() {
        assert_eq!(
            e164("four one five five five five oh one oh oh", "1").as_deref(),
            Some("+14155550100")
        );
        assert_eq!(
            e164("four fifteen, double five five, oh one hundred", "1").as_deref(),
            Some("+14155550100")
        );
        assert_eq!(
            e164("plus four four twenty 7946 0000", "1").as_deref(),
            Some("+442079460000")
        );
    }

    #[test]
    fn international_prefixes_and_other_countries() {
        assert_eq!(
            e164("011 44 20 7946 0000", "1").as_deref(),
            Some("+442079460000")
        );
        assert_eq!(
            e164("0044 20 7946 0000", "1").as_deref(),
            Some("+442079460000")
        );
        assert_eq!(
            e164("020 7946 0000", "44").as_deref(),
            Some("+442079460000")
        );
    }

    #[test]
    fn implausible_numbers() {
        assert_eq!(e164("555 0100", "1"), None);
        assert_eq!(e164("call me maybe", "1"), None);
        assert_eq!(e164("+1 415 555 01000", "1"), None);
        assert_eq!(e164("", "1"), None);
    }
}
