//! Peer harness.
