//! Go-style durations (`"30s"`, `"1h30m"`, `"250ms"`, `"1.5h"`), as upstream's
//! configuration writes them, in nanoseconds. One parser for index maintenance and
//! memory settings, server flags and YAML configs.

use crate::error::{Result, ShardError};

/// Parses a Go duration; a bare integer is nanoseconds (as Go's JSON durations).
pub fn parse_nanos(s: &str) -> Result<i64> {
    let bad = || {
        ShardError::invalid(
            "duration",
            format!("'{s}' is not a duration (e.g. \"30s\", \"5m\", \"24h\")"),
        )
    };
    let t = s.trim();
    if let Ok(n) = t.parse::<i64>() {
        return Ok(n);
    }
    let mut total: f64 = 0.0;
    let mut rest = t;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let value: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(bad()),
        };
        total += value * factor;
        rest = &rest[unit_len..];
    }
    if total > i64::MAX as f64 {
        return Err(bad());
    }
    Ok(total as i64)
}

/// A duration for a flag: a bare number is seconds, anything else a Go duration.
pub fn parse_flag(s: &str) -> Result<std::time::Duration> {
    let t = s.trim();
    if let Ok(secs) = t.parse::<f64>() {
        if (0.0..1e12).contains(&secs) {
            return Ok(std::time::Duration::from_secs_f64(secs));
        }
    }
    let ns = parse_nanos(t)?;
    u64::try_from(ns)
        .map(std::time::Duration::from_nanos)
        .map_err(|_| ShardError::invalid("duration", format!("'{s}' is negative")))
}

#[cfg(test)]
mod tests {
    //! Go spellings, bare numbers, and refusals.
    use super::*;

    #[test]
    fn spellings() {
        assert_eq!(parse_nanos("30s").unwrap(), 30_000_000_000);
        assert_eq!(parse_nanos("1h30m").unwrap(), 5_400_000_000_000);
        assert_eq!(parse_nanos("1.5h").unwrap(), 5_400_000_000_000);
        assert_eq!(parse_nanos("250ms").unwrap(), 250_000_000);
        assert_eq!(parse_nanos("42").unwrap(), 42);
        for bad in ["", "s", "10x", "1..5s", "99999999999h"] {
            assert!(parse_nanos(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_flag("2").unwrap(), std::time::Duration::from_secs(2));
        assert_eq!(
            parse_flag("500ms").unwrap(),
            std::time::Duration::from_millis(500)
        );
        assert!(parse_flag("-5s").is_err() && parse_flag("-5").is_err());
    }
}
