# nix/module.nix evaluated without nixpkgs (through ./eval-module.nix) on a host configuration,
# for tests/tests/nix_module.rs. `case` picks the host:
#
# - `fleet`: secrets with defaults, an owner, a custom path, a `neededForUsers` secret, a
#   template and the OpenSSH host keys: returns both manifests, their build-time check
#   commands and the activation scripts;
# - `keyFileInStore`: `aesec.age.keyFile` given as a Nix path (refused by its type);
# - `usersNotRoot`: a `neededForUsers` secret owned by a user (refused by an assertion);
# - `sysusers`: systemd-sysusers enabled (refused by an assertion);
# the refused ones return the failed assertion messages;
# - `generateKey`: `fleet` with `aesec.age.generateKey`: returns the activation scripts.
{
  # The vendored sops-nix assets (crates/core/tests/vectors/sops-nix).
  vectors,
  # A directory with `bin/aesec`, standing for the package.
  aesecPackage,
  case ? "fleet",
  # `aesec.age.keyFile`.
  keyFile ? "/var/lib/aesec/key.txt",
}:

let
  pkgs = {
    aesec = {
      outPath = aesecPackage;
      meta.mainProgram = "aesec";
    };
    stdenv = {
      buildPlatform = "x86_64-linux";
      hostPlatform = "x86_64-linux";
    };
    writeText = builtins.toFile;
    # The text goes to the store as nixpkgs' writeTextFile writes it; the check runs in the test.
    writeTextFile =
      {
        name,
        text,
        checkPhase,
      }:
      {
        outPath = builtins.toFile name text;
        inherit checkPhase;
      };
  };

  fleet = config: {
    users.users = {
      nginx.group = "www";
      root.group = "root";
    };
    services.openssh = {
      enable = true;
      hostKeys = [
        {
          type = "rsa";
          path = "/etc/ssh/ssh_host_rsa_key";
        }
        {
          type = "ed25519";
          path = "/etc/ssh/ssh_host_ed25519_key";
        }
        {
          type = "ed25519";
          path = "/run/secrets/initrd_host_key";
        }
      ];
    };
    system.dryActivationScript = "";
    aesec = {
      defaultSopsFile = vectors + "/secrets.yaml";
      age.keyFile = keyFile;
      secrets = {
        test_key = {
          owner = "nginx";
          restartUnits = [ "nginx.service" ];
        };
        "nested/file" = {
          key = "nested/test/file";
          path = "/etc/app/nested";
          mode = "0440";
        };
        password = {
          key = "test_key";
          neededForUsers = true;
        };
      };
      templates."app.conf" = {
        content = "value = ${config.aesec.placeholder.test_key}\n";
        owner = "nginx";
        reloadUnits = [ "nginx.service" ];
      };
    };
  };

  hosts = {
    inherit fleet;
    keyFileInStore =
      config:
      let
        host = fleet config;
      in
      host // { aesec = host.aesec // { age.keyFile = vectors + "/age-keys.txt"; }; };
    usersNotRoot =
      config:
      let
        host = fleet config;
      in
      host
      // {
        aesec = host.aesec // {
          secrets = host.aesec.secrets // {
            password = host.aesec.secrets.password // { owner = "nginx"; };
          };
        };
      };
    sysusers = config: fleet config // { systemd.sysusers.enable = true; };
    generateKey =
      config:
      let
        host = fleet config;
      in
      host // { aesec = host.aesec // { age = host.aesec.age // { generateKey = true; }; }; };
  };

  result = import ./eval-module.nix {
    module = ../../nix/module.nix;
    host = hosts.${case};
    declared = {
      systemd = if case == "sysusers" then { sysusers = { }; } else { };
      services = { };
    };
    inherit pkgs;
  };
  failed = map (assertion: assertion.message) (
    builtins.filter (assertion: !assertion.assertion) result.assertions
  );
  build = result.system.build;
in
if case == "fleet" then
  {
    inherit failed;
    manifest = build.aesec-manifest;
    manifestForUsers = build.aesec-manifest-for-users;
    check = build.aesec-manifest.checkPhase;
    checkForUsers = build.aesec-manifest-for-users.checkPhase;
    scripts = result.system.activationScripts;
    sopsFileHash = result.config.aesec.secrets.test_key.sopsFileHash;
  }
else if case == "keyFileInStore" then
  build.aesec-manifest
else if case == "generateKey" then
  {
    inherit failed;
    scripts = result.system.activationScripts;
  }
else
  { inherit failed; }
