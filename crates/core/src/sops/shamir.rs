//! TODO(shamir): being written.
