//! TODO(value): being written.
