//! TODO(keys/ssh): being written.
