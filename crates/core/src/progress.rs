//! TODO(progress): observer.
