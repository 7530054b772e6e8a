//! TODO(config/rules): being written.
