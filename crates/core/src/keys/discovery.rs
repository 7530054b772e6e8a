//! TODO(keys/discovery): being written.
