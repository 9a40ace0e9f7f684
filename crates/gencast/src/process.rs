//! Process measurements: resident memory, from `/proc/self/status` (Linux; `None` elsewhere).

/// Peak resident set size of this process in MiB (`VmHWM` of `/proc/self/status`), if known.
pub fn peak_rss_mb() -> Option<f64> {
    status_mb("VmHWM:")
}

/// Current resident set size of this process in MiB (`VmRSS`), if known.
pub fn rss_mb() -> Option<f64> {
    status_mb("VmRSS:")
}

/// A `kB` field of `/proc/self/status`, in MiB.
fn status_mb(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line
        .trim_start_matches(field)
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}
