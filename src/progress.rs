//! The progress bar `check` draws on standard error for long runs: bytes
//! read out of the total, records, findings reported and rate. It is drawn
//! only when standard error is a terminal that the report does not go to,
//! and not with `--quiet`; it appears after a moment, so short runs never
//! show it, and it is cleared at the end.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Records between two updates: updating costs little, but not nothing.
const EVERY: u64 = 2048;

/// How long a run goes before the bar appears.
const DELAY: Duration = Duration::from_millis(700);

/// The progress of one `check` run over inputs totalling `total` bytes.
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    started: std::time::Instant,
    /// Bytes of the inputs already finished.
    done: u64,
    records: u64,
    findings: u64,
}

impl Progress {
    /// A bar for inputs of `total` bytes (0 when unknown, as for standard
    /// input), drawn only when `enabled` and standard error is a terminal.
    pub(crate) fn new(enabled: bool, total: u64) -> Progress {
        let bar = (enabled && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(
                (total > 0).then_some(total),
                ProgressDrawTarget::stderr_with_hz(8),
            );
            let template = if total > 0 {
                "{bar:28} {bytes}/{total_bytes} {msg} ({bytes_per_sec}, {eta} left)"
            } else {
                "{spinner} {bytes} {msg} ({bytes_per_sec})"
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        Progress {
            bar,
            started: std::time::Instant::now(),
            done: 0,
            records: 0,
            findings: 0,
        }
    }

    /// Counts one record and its findings; `read` is the bytes read so far
    /// from the current input.
    pub(crate) fn record(&mut self, findings: u64, read: impl FnOnce() -> u64) {
        self.records += 1;
        self.findings += findings;
        if self.records.is_multiple_of(EVERY) {
            self.draw(read());
        }
    }

    /// The current input is finished after `read` bytes.
    pub(crate) fn input_done(&mut self, read: u64) {
        self.done += read;
        self.draw(0);
    }

    fn draw(&self, read: u64) {
        let Some(bar) = &self.bar else { return };
        if self.started.elapsed() < DELAY {
            return;
        }
        bar.set_message(format!(
            "{} records, {} findings",
            self.records, self.findings
        ));
        bar.set_position(self.done + read);
    }

    /// Runs `f` (which prints to standard error) with the bar hidden.
    pub(crate) fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// Clears the bar.
    pub(crate) fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
