//! Tests of the OpenBao client against a real `bao server -dev` on 127.0.0.1 (never a mock of
//! OpenBao): auth, KV v2, Transit and the fault paths (sealed, rate limit, TLS, refused
//! connections). One test binary; each test starts its own server (about 0.2 s), so tests
//! stay independent and run in parallel. What a dev server cannot show (`X-Vault-Index`,
//! init and unseal, standbys, a leader killed mid-push) runs on Raft nodes started by
//! `aesec_tests::BaoCluster`.

mod server;

mod approle;
mod bootstrap;
mod faults;
mod jwt;
mod kubernetes;
mod kv;
mod manifests;
mod publish;
mod pull;
mod raft;
mod token;
mod transit;
