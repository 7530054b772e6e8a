//! Test hooks, compiled in debug builds only: a release binary has none of this.
//!
//! [`install`] reads [`AESEC_TEST_PAUSE_AFTER_WRITES`](crate::env::AESEC_TEST_PAUSE_AFTER_WRITES)
//! and holds the writes of a fleet run past that count between their temporary file and the
//! rename, forever. The crash test (`crates/cli/tests/fleet.rs`) waits for that state and kills
//! the run with SIGKILL: the kill then lands mid-write by construction, not by timing.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aesec::fleet::{ApplyOptions, BeforeRename};

/// Sets the pause hook on `options` when the environment asks for it.
pub(crate) fn install(options: &mut ApplyOptions) {
    let Some(limit) = std::env::var(crate::env::AESEC_TEST_PAUSE_AFTER_WRITES)
        .ok()
        .and_then(|value| value.parse::<usize>().ok())
    else {
        return;
    };
    let started = AtomicUsize::new(0);
    options.before_rename = Some(BeforeRename(Arc::new(move |path: &Path| {
        if started.fetch_add(1, Ordering::SeqCst) < limit {
            return;
        }
        // Nothing sensible can be done if stderr itself is gone.
        let _ = writeln!(
            std::io::stderr().lock(),
            "test hook: holding the write of '{}' before its rename",
            path.display()
        );
        loop {
            std::thread::park();
        }
    })));
}
