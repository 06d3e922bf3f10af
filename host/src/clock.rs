//! Wall-clock time as the API shows it: RFC 3339 in UTC.

use time::{OffsetDateTime, format_description::well_known::Rfc3339};

/// Now, as RFC 3339 with fractional seconds.
pub fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

/// Now, in milliseconds since the Unix epoch.
pub fn now_unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
