//! The progress observer: how long operations report what they are doing.
//!
//! Core never prints. Operations that walk many files (`updatekeys`, `rotate`, `check`,
//! `install`) take an `&dyn Observer` and report through it; the CLI draws a bar, an embedding
//! tool can log, and [`NoProgress`] ignores everything. Every method has an empty default, so an
//! implementation overrides only what it needs. Observers are called from worker threads, hence
//! the `Sync` bound.

use std::fmt;

/// Receives progress reports from long operations.
///
/// A run calls [`start`](Self::start) once, then [`advance`](Self::advance) any number of times
/// (the sum of `n` reaches `total` when the run completes), then [`finish`](Self::finish).
/// [`warn`](Self::warn) may come at any time; it carries a message for the user that does not
/// stop the operation (e.g. "file written by rops, read anyway").
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// use aesec::progress::Observer;
///
/// /// Counts finished units of work.
/// #[derive(Default)]
/// struct Counter(AtomicU64);
///
/// impl Observer for Counter {
///     fn advance(&self, n: u64) {
///         self.0.fetch_add(n, Ordering::Relaxed);
///     }
/// }
///
/// let counter = Counter::default();
/// let observer: &dyn Observer = &counter;
/// observer.start(2, "updating keys");
/// observer.advance(1);
/// observer.advance(1);
/// observer.finish();
/// assert_eq!(counter.0.load(Ordering::Relaxed), 2);
/// ```
pub trait Observer: Sync {
    /// A run of `total` units of work begins; `label` says what the work is.
    fn start(&self, total: u64, label: &str) {
        let _ = (total, label);
    }

    /// `n` more units of work are done.
    fn advance(&self, n: u64) {
        let _ = n;
    }

    /// The run is over (successfully or not).
    fn finish(&self) {}

    /// A message for the user that does not stop the operation.
    fn warn(&self, message: &dyn fmt::Display) {
        let _ = message;
    }
}

/// The observer that ignores every report.
///
/// ```
/// use aesec::progress::{NoProgress, Observer};
///
/// let observer: &dyn Observer = &NoProgress;
/// observer.start(10, "nothing to see");
/// observer.warn(&"ignored");
/// observer.finish();
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoProgress;

impl Observer for NoProgress {}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Records every call as a line of text.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl Observer for Recorder {
        fn start(&self, total: u64, label: &str) {
            self.0
                .lock()
                .unwrap()
                .push(format!("start {total} {label}"));
        }

        fn advance(&self, n: u64) {
            self.0.lock().unwrap().push(format!("advance {n}"));
        }

        fn finish(&self) {
            self.0.lock().unwrap().push("finish".to_owned());
        }

        fn warn(&self, message: &dyn fmt::Display) {
            self.0.lock().unwrap().push(format!("warn {message}"));
        }
    }

    fn run(observer: &dyn Observer) {
        observer.start(3, "files");
        std::thread::scope(|scope| {
            for _ in 0..3 {
                scope.spawn(|| observer.advance(1));
            }
        });
        observer.warn(&format_args!("{} skipped", "x.yaml"));
        observer.finish();
    }

    #[test]
    fn observer_receives_calls_from_threads() {
        let recorder = Recorder::default();
        run(&recorder);
        let calls = recorder.0.into_inner().unwrap();
        assert_eq!(
            calls,
            [
                "start 3 files",
                "advance 1",
                "advance 1",
                "advance 1",
                "warn x.yaml skipped",
                "finish"
            ]
        );
    }

    #[test]
    fn no_progress_accepts_everything() {
        run(&NoProgress);
    }
}
