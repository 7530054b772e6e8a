# The manifest `aesec install --manifest` reads, built from the NixOS module's option values.
#
# It uses builtins only (no nixpkgs `lib`), so the module's output can be evaluated and fed to
# `aesec install` without nixpkgs (tests/tests/nix_module.rs does exactly that). The fields are
# sops-nix's manifest fields, the ones crates/core/src/install/manifest.rs reads; option values
# the installer does not read (`neededForUsers`, `sopsFileHash`) are left out.
#
# A `sopsFile` given as a Nix path (`./secrets.yaml`) is copied into the store by
# `builtins.toJSON`: encrypted files go to the store. Key files are strings and stay where they
# are: a private key never does.
{
  # Secret option values (`aesec.secrets.<name>`), as a list.
  secrets,
  # Template option values (`aesec.templates.<name>`), as a list.
  templates ? [ ],
  # `aesec.placeholder`: secret name -> the string standing for it in templates.
  placeholderBySecretName ? { },
  secretsMountPoint ? "/run/secrets.d",
  symlinkPath ? "/run/secrets",
  keepGenerations ? 1,
  ageKeyFile ? null,
  ageSshKeyPaths ? [ ],
  useTmpfs ? false,
  log ? [
    "keyImport"
    "secretChanges"
  ],
  # Refuse sops files that are missing or outside the store (`aesec.validateSopsFiles`).
  validateSopsFiles ? true,
}:

let
  storePrefix = "${builtins.storeDir}/";
  inStore =
    file:
    builtins.isPath file
    || (
      builtins.isString file
      && builtins.substring 0 (builtins.stringLength storePrefix) file == storePrefix
    );
  option = secret: "aesec.secrets.\"${secret.name}\".sopsFile";
  problems = builtins.concatMap (
    secret:
    (
      if builtins.pathExists secret.sopsFile then
        [ ]
      else
        [ "cannot find '${toString secret.sopsFile}' set in ${option secret}" ]
    )
    ++ (
      if inStore secret.sopsFile then
        [ ]
      else
        [
          "'${toString secret.sopsFile}' set in ${option secret} is not in the Nix store: give a path (./secrets.yaml) or set aesec.validateSopsFiles = false"
        ]
    )
  ) secrets;

  ownership = entry: {
    inherit (entry)
      owner
      uid
      group
      gid
      mode
      restartUnits
      reloadUnits
      ;
  };
in
if validateSopsFiles && problems != [ ] then
  throw "aesec: invalid sops files:\n${builtins.concatStringsSep "\n" (map (p: "- ${p}") problems)}"
else
  {
    secrets = map (
      secret:
      ownership secret
      // {
        inherit (secret)
          name
          key
          path
          sopsFile
          format
          ;
      }
    ) secrets;
    templates = map (
      template:
      ownership template
      // {
        inherit (template)
          name
          content
          file
          path
          ;
      }
    ) templates;
    inherit
      placeholderBySecretName
      secretsMountPoint
      symlinkPath
      keepGenerations
      ageKeyFile
      ageSshKeyPaths
      useTmpfs
      ;
    # PGP is not supported: the fields are written empty, as sops-nix writes them unset.
    sshKeyPaths = [ ];
    gnupgHome = null;
    userMode = false;
    logging = {
      keyImport = builtins.elem "keyImport" log;
      secretChanges = builtins.elem "secretChanges" log;
    };
  }
