//! The one place the data plane reads the wall clock (unix nanoseconds: item add
//! and reinforce times, edge versions, search times for memory decay).

/// Unix time in nanoseconds.
pub fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos().min(i64::MAX as u128) as i64)
}
