//! TODO(master_key): being written.
