//! The progress bar of long fleet runs (`updatekeys`, `rotate --older-than`, `deploy`): an
//! [`Observer`] drawing an `indicatif` bar on stderr.
//!
//! The bar is drawn only when stderr is a terminal and `--quiet`/`--json` are off, so logs and
//! pipes never see escape codes. Warnings from the run (a revocation skipped) are printed above
//! the bar, or as plain `warning:` lines when there is no bar.

use std::fmt;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use aesec::progress::Observer;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The layout of the bar: label, bar, count, elapsed time.
const TEMPLATE: &str = "{msg} [{bar:32}] {pos}/{len} ({elapsed})";

/// An observer that draws a bar on stderr when it is a terminal.
pub(crate) struct Bar {
    /// Whether a bar may be drawn at all.
    enabled: bool,
    /// The bar of the current run.
    bar: Mutex<Option<ProgressBar>>,
}

impl Bar {
    /// A bar drawn when stderr is a terminal and `hidden` is false (`--quiet`, `--json`).
    pub(crate) fn new(hidden: bool) -> Self {
        Self {
            enabled: !hidden && std::io::stderr().is_terminal(),
            bar: Mutex::new(None),
        }
    }

    fn current(&self) -> Option<ProgressBar> {
        self.bar.lock().ok().and_then(|bar| bar.clone())
    }
}

impl Observer for Bar {
    fn start(&self, total: u64, label: &str) {
        if !self.enabled {
            return;
        }
        let style = ProgressStyle::with_template(TEMPLATE)
            .map(|style| style.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
            .with_style(style)
            .with_message(label.to_owned());
        if let Ok(mut slot) = self.bar.lock() {
            *slot = Some(bar);
        }
    }

    fn advance(&self, n: u64) {
        if let Some(bar) = self.current() {
            bar.inc(n);
        }
    }

    fn finish(&self) {
        let bar = self.bar.lock().ok().and_then(|mut slot| slot.take());
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
    }

    fn warn(&self, message: &dyn fmt::Display) {
        let print = || {
            // Nothing sensible can be done if stderr itself is gone.
            let _ = writeln!(std::io::stderr().lock(), "warning: {message}");
        };
        match self.current() {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hidden_bar_never_draws() {
        let bar = Bar::new(true);
        bar.start(3, "updating keys");
        bar.advance(3);
        assert!(bar.current().is_none());
        bar.finish();
    }
}
