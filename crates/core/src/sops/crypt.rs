//! TODO(crypt): being written.
