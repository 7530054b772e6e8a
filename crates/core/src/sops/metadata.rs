//! TODO(metadata): being written.
