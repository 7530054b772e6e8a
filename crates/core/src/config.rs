//! `.sops.yaml`: discovery, creation rules and store settings.

pub(crate) mod rules;
