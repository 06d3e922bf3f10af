//! Turns what a caller said into a string of digits: "nine four one oh seven",
//! "double five", "four fifteen", "415-555-0100" and any mix of them.
//!
//! Pure functions, no host calls, so they are unit-tested natively.

/// The digits of `said`, or `None` if it holds a word that is not part of a
/// spoken number (the caller said something else, and guessing would be worse
/// than asking again).
///
/// Understood: numerals in any grouping (spaces, dashes, dots, parentheses are
/// ignored), `zero`/`oh`/`o`/`nought` and `one`…`nine` (`niner` too), teens and
/// tens (`fifteen`, `forty`, `forty one`), `hundred`/`thousand` after a digit
/// (`oh one hundred` → `0100`), `double`/`triple` before a digit, and a few
/// fillers (`and`, `dash`, `is`, …).
pub fn digits(said: &str) -> Option<String> {
    let lower = said.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .collect();

    let mut out = String::new();
    let mut repeat = 1;
    let mut i = 0;
    while i < words.len() {
        let word = words[i];
        i += 1;
        let group = if word.bytes().all(|b| b.is_ascii_digit()) {
            word.to_string()
        } else if let Some(d) = unit(word) {
            d.to_string()
        } else if let Some(n) = teen(word) {
            n.to_string()
        } else if let Some(t) = tens(word) {
            // "forty one" is 41; "forty" alone is 40.
            match words.get(i).and_then(|w| unit(w)).filter(|d| *d != 0) {
                Some(d) => {
                    i += 1;
                    format!("{t}{d}")
                }
                None => format!("{t}0"),
            }
        } else {
            match word {
                "double" => {
                    repeat = 2;
                    continue;
                }
                "triple" => {
                    repeat = 3;
                    continue;
                }
                "hundred" if !out.is_empty() => "00".to_string(),
                "thousand" if !out.is_empty() => "000".to_string(),
                "and" | "dash" | "hyphen" | "space" | "is" | "it's" | "its" | "it" | "uh"
                | "um" | "er" => continue,
                _ => return None,
            }
        };
        // "double five" repeats the first digit of what follows.
        let mut chars = group.chars();
        if let Some(first) = chars.next() {
            for _ in 0..repeat {
                out.push(first);
            }
            out.extend(chars);
        }
        repeat = 1;
    }
    if repeat != 1 {
        // "double" with nothing after it.
        return None;
    }
    Some(out)
}

fn unit(word: &str) -> Option<u8> {
    Some(match word {
        "zero" | "oh" | "o" | "nought" | "naught" => 0,
        "one" => 1,
        "two" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" | "niner" => 9,
        _ => return None,
    })
}

fn teen(word: &str) -> Option<u8> {
    Some(match word {
        "ten" => 10,
        "eleven" => 11,
        "twelve" => 12,
        "thirteen" => 13,
        "fourteen" => 14,
        "fifteen" => 15,
        "sixteen" => 16,
        "seventeen" => 17,
        "eighteen" => 18,
        "nineteen" => 19,
        _ => return None,
    })
}

fn tens(word: &str) -> Option<u8> {
    Some(match word {
        "twenty" => 2,
        "thirty" => 3,
        "forty" => 4,
        "fifty" => 5,
        "sixty" => 6,
        "seventy" => 7,
        "eighty" => 8,
        "ninety" => 9,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::digits;

    fn d(s: &str) -> Option<String> {
        digits(s)
    }

    #[test]
    fn spoken_digits() {
        assert_eq!(d("nine four one oh seven").as_deref(), Some("94107"));
        assert_eq!(d("Nine Four One Zero Seven").as_deref(), Some("94107"));
        assert_eq!(d("nine, four, one, o, seven.").as_deref(), Some("94107"));
    }

    #[test]
    fn double_and_triple() {
        assert_eq!(d("double five one two three").as_deref(), Some("55123"));
        assert_eq!(d("nine triple oh one").as_deref(), Some("90001"));
        assert_eq!(d("double 5 1 2 3").as_deref(), Some("55123"));
        assert_eq!(d("one double").as_deref(), None);
    }

    #[test]
    fn numerals_mixed_with_words() {
        assert_eq!(d("94107").as_deref(), Some("94107"));
        assert_eq!(d("9 4 1 0 7").as_deref(), Some("94107"));
        assert_eq!(d("941-07").as_deref(), Some("94107"));
        assert_eq!(d("9 four 1 oh 7").as_deref(), Some("94107"));
        assert_eq!(d("ninety four one oh seven").as_deref(), Some("94107"));
        assert_eq!(d("it's 94 one 07").as_deref(), Some("94107"));
    }

    #[test]
    fn teens_tens_hundreds() {
        assert_eq!(d("four fifteen").as_deref(), Some("415"));
        assert_eq!(d("forty").as_deref(), Some("40"));
        assert_eq!(
            d("five five five oh one hundred").as_deref(),
            Some("5550100")
        );
        assert_eq!(d("eight thousand").as_deref(), Some("8000"));
        assert_eq!(d("hundred").as_deref(), None);
    }

    #[test]
    fn other_words_are_not_guessed() {
        assert_eq!(d("I don't know"), None);
        assert_eq!(d("nine four one banana"), None);
        assert_eq!(d("").as_deref(), Some(""));
    }
}
