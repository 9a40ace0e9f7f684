//! A live progress line for `gencast forecast` on a terminal: member i/N, step s/S, a bar over
//! the current step's denoiser calls, elapsed time and the whole run's ETA, redrawn in place with
//! a carriage return at most a few times per second and cleared before log lines and at the end.

use std::io::Write;
use std::time::{Duration, Instant};

use gencast::forecast::CallProgress;

/// Shortest time between two redraws.
const MIN_REDRAW: Duration = Duration::from_millis(250);

/// Widest bar drawn, in characters.
const MAX_BAR: usize = 40;

/// Narrowest bar worth drawing; below this the bar is left out.
const MIN_BAR: usize = 5;

/// Terminal width assumed when `COLUMNS` does not say.
const DEFAULT_WIDTH: usize = 80;

/// What one progress line shows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Snapshot {
    /// Member number, as the log lines give it (the member offset included).
    pub number: usize,
    /// Member position within the run, from 1.
    pub member: usize,
    /// Members of the run.
    pub members: usize,
    /// Step, from 1.
    pub step: usize,
    /// Steps per member.
    pub steps: usize,
    /// Denoiser calls finished in this step.
    pub calls: usize,
    /// Denoiser calls per step.
    pub calls_per_step: usize,
    /// Seconds since the computation started.
    pub elapsed_s: f64,
    /// Seconds left for the whole run, once known.
    pub eta_s: Option<f64>,
}

/// Seconds left when `done` of `total` units of work took `elapsed_s`, assuming the same rate;
/// unknown before any work is done.
pub(crate) fn eta_seconds(elapsed_s: f64, done: f64, total: f64) -> Option<f64> {
    (done > 0.0 && elapsed_s.is_finite()).then(|| elapsed_s / done * (total - done).max(0.0))
}

/// A duration as `42s`, `3m05s` or `2h07m` (rounded to the second).
pub(crate) fn format_duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, min, sec) => format!("{min}m{sec:02}s"),
        (h, min, _) => format!("{h}h{min:02}m"),
    }
}

/// The progress line for `snap`, at most `width - 1` characters (so the terminal never wraps
/// it): the bar takes the room the text leaves, up to [`MAX_BAR`].
pub(crate) fn render(snap: &Snapshot, width: usize) -> String {
    let head = format!(
        "member {} ({}/{}) step {}/{} ",
        snap.number, snap.member, snap.members, snap.step, snap.steps
    );
    // Fixed-width counts and times keep the bar from jumping as they change.
    let eta = snap.eta_s.map_or_else(|| "--".to_string(), format_duration);
    let digits = snap.calls_per_step.to_string().len();
    let tail = format!(
        " {:>digits$}/{} calls, elapsed {:>5}, ETA {eta:>5}",
        snap.calls,
        snap.calls_per_step,
        format_duration(snap.elapsed_s)
    );
    let room = width.saturating_sub(1);
    let text = head.chars().count() + tail.chars().count();
    let bar_len = room.saturating_sub(text + 2).min(MAX_BAR);
    let line = if bar_len >= MIN_BAR {
        let frac = if snap.calls_per_step == 0 {
            0.0
        } else {
            (snap.calls as f64 / snap.calls_per_step as f64).clamp(0.0, 1.0)
        };
        let filled = (frac * bar_len as f64).round() as usize;
        format!(
            "{head}[{}{}]{tail}",
            "=".repeat(filled),
            " ".repeat(bar_len - filled)
        )
    } else {
        format!("{}{}", head.trim_end(), tail)
    };
    line.chars().take(room).collect()
}

/// The terminal width from `COLUMNS`, or [`DEFAULT_WIDTH`].
fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&w| w >= 20)
        .unwrap_or(DEFAULT_WIDTH)
}

/// The live progress line of a forecast. Disabled, it draws nothing and costs nothing.
pub(crate) struct ProgressLine {
    enabled: bool,
    width: usize,
    start: Instant,
    /// Number of the run's first member.
    offset: usize,
    members: usize,
    steps: usize,
    /// Steps this run computes (steps found complete on resume excluded).
    to_compute: usize,
    /// Steps computed so far.
    computed: usize,
    /// The position shown: (member index, step index, calls, calls per step).
    at: (usize, usize, usize, usize),
    last_draw: Option<Instant>,
    visible: bool,
}

impl ProgressLine {
    /// A progress line for `members` (numbered from `offset`) × `steps`, of which `to_compute`
    /// steps are computed; drawn only when `enabled` (stderr is a terminal and informational
    /// output is wanted).
    pub(crate) fn new(
        enabled: bool,
        offset: usize,
        members: usize,
        steps: usize,
        to_compute: usize,
    ) -> Self {
        ProgressLine {
            enabled,
            width: terminal_width(),
            start: Instant::now(),
            offset,
            members,
            steps,
            to_compute,
            computed: 0,
            at: (0, 0, 0, 0),
            last_draw: None,
            visible: false,
        }
    }

    /// The current snapshot.
    fn snapshot(&self) -> Snapshot {
        let (member, step, calls, per_step) = self.at;
        let elapsed_s = self.start.elapsed().as_secs_f64();
        let step_frac = if per_step == 0 {
            0.0
        } else {
            calls as f64 / per_step as f64
        };
        Snapshot {
            number: self.offset + member,
            member: member + 1,
            members: self.members,
            step: step + 1,
            steps: self.steps,
            calls,
            calls_per_step: per_step,
            elapsed_s,
            eta_s: eta_seconds(
                elapsed_s,
                self.computed as f64 + step_frac,
                self.to_compute as f64,
            ),
        }
    }

    /// Notes a finished denoiser call; redraws unless the last redraw was very recent.
    pub(crate) fn on_call(&mut self, p: CallProgress) {
        self.at = (p.member, p.step, p.calls, p.calls_per_step);
        let due = self
            .last_draw
            .is_none_or(|t| t.elapsed() >= MIN_REDRAW || p.calls == p.calls_per_step);
        if due {
            self.draw();
        }
    }

    /// Notes a finished step (after its log line): the line moves on to the next step.
    pub(crate) fn on_step(&mut self, member: usize, step: usize) {
        self.computed += 1;
        let per_step = self.at.3;
        self.at = if step + 1 < self.steps {
            (member, step + 1, 0, per_step)
        } else {
            (member + 1, 0, 0, per_step)
        };
        if self.computed < self.to_compute && self.at.0 < self.members {
            self.draw();
        }
    }

    /// Redraws the line in place.
    fn draw(&mut self) {
        if !self.enabled {
            return;
        }
        let line = render(&self.snapshot(), self.width);
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{line}\x1b[K");
        let _ = err.flush();
        self.last_draw = Some(Instant::now());
        self.visible = true;
    }

    /// Erases the line (before a log line, and at the end).
    pub(crate) fn clear(&mut self) {
        if self.visible {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K");
            let _ = err.flush();
            self.visible = false;
        }
    }
}

impl Drop for ProgressLine {
    fn drop(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(calls: usize, eta_s: Option<f64>) -> Snapshot {
        Snapshot {
            number: 11,
            member: 2,
            members: 4,
            step: 3,
            steps: 30,
            calls,
            calls_per_step: 39,
            elapsed_s: 125.0,
            eta_s,
        }
    }

    #[test]
    fn eta_extrapolates_the_rate_so_far() {
        // 10 of 40 units in 30 s: 30 more units at 3 s each.
        assert_eq!(eta_seconds(30.0, 10.0, 40.0), Some(90.0));
        assert_eq!(eta_seconds(30.0, 40.0, 40.0), Some(0.0));
        assert_eq!(eta_seconds(5.0, 0.0, 40.0), None);
        // Resumed steps excluded: 1.5 of 4 computed steps in 60 s.
        assert_eq!(eta_seconds(60.0, 1.5, 4.0), Some(100.0));
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(0.0), "0s");
        assert_eq!(format_duration(42.4), "42s");
        assert_eq!(format_duration(185.0), "3m05s");
        assert_eq!(format_duration(7625.0), "2h07m");
        assert_eq!(format_duration(-3.0), "0s");
    }

    #[test]
    fn line_shows_counts_and_a_bar_filling_the_width() {
        let line = render(&snap(20, Some(4230.0)), 80);
        let tail = " 20/39 calls, elapsed 2m05s, ETA 1h10m";
        // Member 11 (the second of four, from offset 10), numbered as the log lines number it.
        assert!(line.starts_with("member 11 (2/4) step 3/30 ["), "{line}");
        assert!(line.ends_with(&format!("]{tail}")), "{line}");
        assert_eq!(line.chars().count(), 79, "{line}");
        // The bar fills the rest: 79 − 26 (head) − 2 (brackets) − tail; 20/39 of it filled.
        let bar_len = 79 - 26 - 2 - tail.len();
        let filled = (20.0 / 39.0 * bar_len as f64).round() as usize;
        let bar = format!("[{}{}]", "=".repeat(filled), " ".repeat(bar_len - filled));
        assert!(line.contains(&bar), "{line}");
    }

    #[test]
    fn line_adapts_to_wide_and_narrow_terminals() {
        let wide = render(&snap(39, None), 200);
        assert!(
            wide.contains(&format!("[{}]", "=".repeat(MAX_BAR))),
            "{wide}"
        );
        assert!(wide.ends_with("ETA    --"), "{wide}");
        let narrow = render(&snap(0, Some(1.0)), 50);
        assert!(!narrow.contains('['), "no room for a bar: {narrow}");
        assert_eq!(narrow.chars().count(), 49, "cut to the width: {narrow}");
        assert!(
            narrow.starts_with("member 11 (2/4) step 3/30  0/39 calls"),
            "{narrow}"
        );
        // The width does not depend on the counts and times shown.
        let later = Snapshot {
            elapsed_s: 3.0,
            ..snap(5, Some(7.0))
        };
        assert_eq!(render(&later, 80).chars().count(), 79);
        assert_eq!(
            render(&later, 80).find(']'),
            render(&snap(20, Some(4230.0)), 80).find(']')
        );
    }
}
