//! UTC calendar times for files that record when they were made.

use std::time::{SystemTime, UNIX_EPOCH};

/// A UTC date and time to the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utc {
    /// Year.
    pub year: i64,
    /// Month, 1–12.
    pub month: u32,
    /// Day of the month, 1–31.
    pub day: u32,
    /// Hour, 0–23.
    pub hour: u32,
    /// Minute, 0–59.
    pub minute: u32,
    /// Second, 0–59.
    pub second: u32,
}

impl Utc {
    /// `secs` seconds after the Unix epoch (days to civil date after Howard
    /// Hinnant's `civil_from_days`).
    pub fn from_unix(secs: u64) -> Self {
        let days = (secs / 86_400) as i64 + 719_468;
        let rem = secs % 86_400;
        let era = days.div_euclid(146_097);
        let doe = days.rem_euclid(146_097);
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        // Every field is below 60 here.
        let small = |v: i64| u32::try_from(v).unwrap_or(0);
        Self {
            year,
            month: small(month),
            day: small(day),
            hour: small((rem / 3_600) as i64),
            minute: small((rem % 3_600 / 60) as i64),
            second: small((rem % 60) as i64),
        }
    }

    /// The time now (the epoch when the clock is before it).
    pub fn now() -> Self {
        Self::from_unix(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()))
    }

    /// ISO 8601: `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn iso(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    /// ISO 8601 basic format, as TMX dates are written: `YYYYMMDDTHHMMSSZ`.
    pub fn basic(&self) -> String {
        format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_dates() {
        assert_eq!(Utc::from_unix(0).iso(), "1970-01-01T00:00:00Z");
        assert_eq!(Utc::from_unix(951_782_400).iso(), "2000-02-29T00:00:00Z");
        assert_eq!(Utc::from_unix(1_700_000_000).iso(), "2023-11-14T22:13:20Z");
        assert_eq!(Utc::from_unix(4_107_542_399).iso(), "2100-02-28T23:59:59Z");
        assert_eq!(Utc::from_unix(1_700_000_000).basic(), "20231114T221320Z");
    }
}
