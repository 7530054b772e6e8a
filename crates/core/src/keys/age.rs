//! TODO(keys/age): being written.
