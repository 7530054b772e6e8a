# flake.nix's outputs, and nix/package.nix, evaluated with a stand-in for nixpkgs (which a
# test without the network cannot fetch), for tests/tests/nix_module.rs. The stand-in records
# what `callPackage` and `buildRustPackage` are given; the test checks the wiring: which file
# each output builds, the inputs, and the package's source, lock file, version and binary.
let
  flake = import ../../flake.nix;
  genAttrs = names: f: builtins.listToAttrs (map (name: { inherit name; value = f name; }) names);
  # A package set that records calls.
  stubPkgs = system: {
    stdenv.hostPlatform.system = system;
    callPackage = file: arguments: {
      file = toString file;
      inherit system arguments;
    };
  };
  nixpkgs = {
    lib = { inherit genAttrs; };
    legacyPackages = genAttrs [
      "x86_64-linux"
      "aarch64-linux"
      "x86_64-darwin"
      "aarch64-darwin"
    ] stubPkgs;
  };
  outputs = flake.outputs {
    self = outputs;
    inherit nixpkgs;
  };
  overlay = outputs.overlays.default (stubPkgs "x86_64-linux") { };
  package = import ../../nix/package.nix {
    lib = {
      fileset = {
        unions = files: map toString files;
        toSource = { root, fileset }: {
          root = toString root;
          files = fileset;
        };
      };
      licenses = {
        mit = "MIT";
        asl20 = "Apache-2.0";
      };
      platforms.unix = [ "unix" ];
    };
    rustPlatform.buildRustPackage = attributes: attributes;
  };
in
{
  inputs = builtins.attrNames flake.inputs;
  systems = builtins.attrNames outputs.packages;
  default = outputs.packages.x86_64-linux.default;
  aesec = outputs.packages.aarch64-darwin.aesec;
  overlay = overlay.aesec;
  module = toString outputs.nixosModules.default;
  members = (builtins.fromTOML (builtins.readFile ../../Cargo.toml)).workspace.members;
  package = {
    inherit (package) pname version cargoBuildFlags doCheck src;
    lockFile = toString package.cargoLock.lockFile;
    mainProgram = package.meta.mainProgram;
    licenses = package.meta.license;
  };
}
