//! The spoken sentences, as plain functions so they are unit-tested natively.

/// The sentence the receptionist says about `zip`.
pub fn sentence(zip: &str, serviced: bool, next_slot: Option<&str>) -> String {
    let slot = next_slot.map(str::trim).filter(|s| !s.is_empty());
    match (serviced, slot) {
        (false, _) => format!("Sorry, we don't cover {zip} yet."),
        (true, None) => {
            format!("Yes, we cover {zip}, but there's no opening on the calendar right now.")
        }
        (true, Some(slot)) => {
            format!(
                "Yes, we cover {zip} — the next opening is {}.",
                at_time(slot)
            )
        }
    }
}

/// Reads a slot the way a person says it: "Tuesday 9am" → "Tuesday at 9am",
/// "tomorrow, 2:30 pm" → "tomorrow at 2:30 pm". A slot that already says "at",
/// or starts with the time, is left as it is.
pub fn at_time(slot: &str) -> String {
    let words: Vec<&str> = slot.split_whitespace().collect();
    let starts_time = |i: usize| {
        is_time(words[i])
            || (is_clock(words[i], false) && words.get(i + 1).is_some_and(|w| is_meridiem(w)))
    };
    let Some(t) = (0..words.len()).find(|&i| starts_time(i)) else {
        return words.join(" ");
    };
    if t == 0 || words[t - 1].eq_ignore_ascii_case("at") {
        return words.join(" ");
    }
    let mut out: Vec<&str> = words[..t].to_vec();
    if let Some(last) = out.last_mut() {
        *last = last.trim_end_matches(',');
    }
    out.push("at");
    out.extend_from_slice(&words[t..]);
    out.join(" ")
}

/// A time in one word: "9am", "9:30", "10.15pm", "noon", "midnight".
fn is_time(word: &str) -> bool {
    let w = word.trim_end_matches([',', '.']).to_ascii_lowercase();
    if w == "noon" || w == "midnight" {
        return true;
    }
    match w.strip_suffix("am").or_else(|| w.strip_suffix("pm")) {
        Some(clock) => is_clock(clock, false),
        None => is_clock(&w, true),
    }
}

/// "9", "09", "9:30" or "9.30"; with `need_minutes`, only the last two.
fn is_clock(word: &str, need_minutes: bool) -> bool {
    let (hour, minutes) = match word.split_once([':', '.']) {
        Some((h, m)) => (h, Some(m)),
        None => (word, None),
    };
    let hour_ok = (1..=2).contains(&hour.len()) && matches!(hour.parse::<u8>(), Ok(0..=23));
    let minutes_ok = match minutes {
        Some(m) => m.len() == 2 && matches!(m.parse::<u8>(), Ok(0..=59)),
        None => !need_minutes,
    };
    hour_ok && minutes_ok
}

fn is_meridiem(word: &str) -> bool {
    let w = word.trim_end_matches([',', '.']).to_ascii_lowercase();
    matches!(w.as_str(), "am" | "pm" | "a.m" | "p.m")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_at_before_the_time() {
        assert_eq!(at_time("Tuesday 9am"), "Tuesday at 9am");
        assert_eq!(at_time("tomorrow, 2:30pm"), "tomorrow at 2:30pm");
        assert_eq!(at_time("Friday 14:00"), "Friday at 14:00");
        assert_eq!(at_time("Monday noon"), "Monday at noon");
        assert_eq!(at_time("next Monday 10.15am"), "next Monday at 10.15am");
        assert_eq!(at_time("Wednesday 9 am"), "Wednesday at 9 am");
        assert_eq!(at_time("Wednesday 9 a.m."), "Wednesday at 9 a.m.");
    }

    #[test]
    fn leaves_other_slots_alone() {
        assert_eq!(at_time("Tuesday at 9am"), "Tuesday at 9am");
        assert_eq!(at_time("9am Tuesday"), "9am Tuesday");
        assert_eq!(at_time("Tuesday morning"), "Tuesday morning");
        assert_eq!(at_time("June 3"), "June 3");
    }

    #[test]
    fn sentences() {
        assert_eq!(
            sentence("94107", true, Some("Tuesday 9am")),
            "Yes, we cover 94107 — the next opening is Tuesday at 9am."
        );
        assert_eq!(
            sentence("94107", false, Some("Tuesday 9am")),
            "Sorry, we don't cover 94107 yet."
        );
        assert_eq!(
            sentence("94107", true, Some("  ")),
            "Yes, we cover 94107, but there's no opening on the calendar right now."
        );
    }
}
