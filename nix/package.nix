# The aesec command, built from this workspace with nixpkgs' Rust tooling.
#
# Called with `pkgs.callPackage ./package.nix { }` by the flake (packages, overlay) and, when
# `pkgs.aesec` is absent, by the NixOS module for its default `aesec.package`. The crates come
# from Cargo.lock (no git dependencies, so no `outputHashes`). The workspace needs Rust 1.95
# (`rust-version` in Cargo.toml): an older nixpkgs fails the build with cargo's own message.
{
  lib,
  rustPlatform,
}:

let
  cargoToml = builtins.fromTOML (builtins.readFile ../Cargo.toml);
in
rustPlatform.buildRustPackage {
  pname = "aesec";
  inherit (cargoToml.workspace.package) version;

  # Only what cargo reads: every workspace member must be present for the lock to resolve.
  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../Cargo.toml
      ../Cargo.lock
      ../clippy.toml
      ../crates
      ../tests
    ];
  };
  cargoLock.lockFile = ../Cargo.lock;

  cargoBuildFlags = [
    "--package"
    "aesec-cli"
  ];
  # The test suite runs real peers (sops, OpenBao, sshd, nix) that the build sandbox lacks;
  # it runs in the project's own CI instead.
  doCheck = false;

  meta = {
    description = "sops-compatible secrets and key lifecycle for NixOS fleets";
    homepage = cargoToml.workspace.package.repository;
    license = with lib.licenses; [
      mit
      asl20
    ];
    mainProgram = "aesec";
    platforms = lib.platforms.unix;
  };
}
