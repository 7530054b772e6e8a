//! Keys: age identities and recipients, SSH keys converted to age, and sops' key discovery.

pub mod age;
pub mod discovery;
pub mod ssh;
