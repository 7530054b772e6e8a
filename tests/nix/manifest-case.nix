# A manifest written by nix/manifest.nix from hand-made option values, as the NixOS module
# passes them (every option of a secret and a template, defaults filled in), for
# tests/tests/nix_module.rs. Returns the manifest file, written into the store as the module's
# writeTextFile does.
{
  # Temporary root standing for `/`: every path of the manifest lies under it.
  root,
  # The vendored sops-nix assets (crates/core/tests/vectors/sops-nix).
  vectors,
  # Name the sops file by a string instead of a Nix path (a path is copied into the store).
  sopsFileAsString ? false,
  validateSopsFiles ? true,
  # The key of the `test_key` secret (tests change it to one the file lacks).
  testKey ? "test_key",
}:

let
  sopsFile = if sopsFileAsString then toString vectors + "/secrets.yaml" else vectors + "/secrets.yaml";
  placeholder = name: "<SOPS:${builtins.hashString "sha256" name}:PLACEHOLDER>";
  entry = {
    owner = null;
    uid = 0;
    group = null;
    gid = 0;
    mode = "0400";
    restartUnits = [ ];
    reloadUnits = [ ];
  };
  secret =
    name: fields:
    entry
    // {
      inherit name sopsFile;
      key = name;
      path = "${root}/run/secrets/${name}";
      format = "yaml";
      neededForUsers = false;
      sopsFileHash = if validateSopsFiles then builtins.hashFile "sha256" sopsFile else "";
    }
    // fields;
  content = "value = ${placeholder "test_key"}\n";
  manifest = import ../../nix/manifest.nix {
    secrets = [
      (secret "test_key" {
        key = testKey;
        restartUnits = [ "app.service" ];
      })
      (secret "nested/file" {
        key = "nested/test/file";
        path = "${root}/etc/app/nested";
        mode = "0440";
        reloadUnits = [ "web.service" ];
      })
    ];
    templates = [
      (
        entry
        // {
          name = "app.conf";
          inherit content;
          file = builtins.toFile "app.conf" content;
          path = "${root}/run/secrets/rendered/app.conf";
        }
      )
    ];
    placeholderBySecretName = {
      test_key = placeholder "test_key";
      "nested/file" = placeholder "nested/file";
    };
    secretsMountPoint = "${root}/run/secrets.d";
    symlinkPath = "${root}/run/secrets";
    keepGenerations = 1;
    ageKeyFile = toString vectors + "/age-keys.txt";
    ageSshKeyPaths = [ (toString vectors + "/ssh-ed25519-key") ];
    useTmpfs = false;
    log = [ "secretChanges" ];
    inherit validateSopsFiles;
  };
in
builtins.toFile "aesec-manifest.json" (builtins.toJSON manifest)
