//! TODO(mac): being written.
