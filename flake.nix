# aesec as a flake: the package, an overlay adding `pkgs.aesec`, and the NixOS module.
#
# The only input is nixpkgs. No flake.lock is committed (making one needs the network): the
# first `nix build` or `nix flake lock` writes it, pinning whatever nixpkgs-unstable is then.
# The workspace needs Rust 1.95, so pin a nixpkgs that has it, e.g.
# `nix flake lock --override-input nixpkgs github:NixOS/nixpkgs/<rev>`.
{
  description = "aesec: sops-compatible secrets and key lifecycle for NixOS fleets";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAllSystems (pkgs: {
        aesec = pkgs.callPackage ./nix/package.nix { };
        default = self.packages.${pkgs.stdenv.hostPlatform.system}.aesec;
      });

      overlays.default = final: _prev: {
        aesec = final.callPackage ./nix/package.nix { };
      };

      # The module finds `pkgs.aesec` when the overlay is applied, and builds nix/package.nix
      # with the host's nixpkgs otherwise.
      nixosModules.default = ./nix/module.nix;
      nixosModules.aesec = self.nixosModules.default;
    };
}
