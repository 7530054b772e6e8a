//! TODO(age_key): being written.
