# The aesec NixOS module: sops-nix's options under `aesec.*`, installed by `aesec install`.
#
# Secrets are declared as with sops-nix (`aesec.secrets.<name>`, `aesec.templates.<name>`); the
# module writes the manifest (./manifest.nix), checks it at build time with
# `aesec install --check-mode`, and runs `aesec install` from an activation script:
# `setupSecretsForUsers` (the `neededForUsers` secrets, root-owned, before users exist) and
# `setupSecrets` (after users and groups). Encrypted files go to the store; plaintext never
# does: it exists only in the RAM file system at /run/secrets.d, written at activation.
#
# Only the activation-script mode exists: with systemd-sysusers or userborn (sops-nix's
# `useSystemdActivation`) the evaluation fails with an assertion, as `aesec install` has no
# systemd mode yet. PGP (`sops.gnupg.*`) has no counterpart.
{
  config,
  options,
  lib,
  pkgs,
  ...
}:

let
  inherit (lib) mkOption types;

  cfg = config.aesec;
  users = config.users.users;

  # A file that must stay out of the store: a string (a Nix path would be copied into the store
  # when the manifest is written), absolute, not under the store directory.
  pathNotInStore = types.addCheck types.str (
    path: lib.hasPrefix "/" path && !lib.hasPrefix "${builtins.storeDir}/" path
  );

  ownershipOptions = config: {
    mode = mkOption {
      type = types.str;
      default = "0400";
      description = "Permission bits of the file, in octal.";
    };
    owner = mkOption {
      type = types.nullOr types.str;
      default = null;
      description = "User owning the file (by name); `uid` applies when null.";
    };
    uid = mkOption {
      type = types.nullOr types.int;
      default = 0;
      description = "User id owning the file, used only when `owner` is null.";
    };
    group = mkOption {
      type = types.nullOr types.str;
      default = if config.owner != null then users.${config.owner}.group else null;
      defaultText = lib.literalExpression "config.users.users.\${owner}.group";
      description = "Group of the file (by name); `gid` applies when null.";
    };
    gid = mkOption {
      type = types.nullOr types.int;
      default = 0;
      description = "Group id of the file, used only when `group` is null.";
    };
    restartUnits = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "nginx.service" ];
      description = "Units restarted when the content changed since the live generation.";
    };
    reloadUnits = mkOption {
      type = types.listOf types.str;
      default = [ ];
      example = [ "nginx.service" ];
      description = "Units reloaded when the content changed since the live generation.";
    };
  };

  secretType = types.submodule (
    { config, name, ... }:
    {
      options = ownershipOptions config // {
        name = mkOption {
          type = types.str;
          default = name;
          description = "File name under /run/secrets; `/` makes directories.";
        };
        key = mkOption {
          type = types.str;
          default = if cfg.defaultSopsKey != null then cfg.defaultSopsKey else name;
          description = ''
            `/`-separated path of the value inside the sops file; `""` is the whole file.
            Ignored for the binary format.
          '';
        };
        path = mkOption {
          type = types.str;
          default =
            if config.neededForUsers then
              "/run/secrets-for-users/${config.name}"
            else
              "/run/secrets/${config.name}";
          defaultText = "/run/secrets-for-users/<name> with neededForUsers, else /run/secrets/<name>";
          description = "Where the secret is reachable; any other path becomes a symlink.";
        };
        format = mkOption {
          type = types.enum [
            "yaml"
            "json"
            "binary"
            "dotenv"
            "ini"
          ];
          default = cfg.defaultSopsFormat;
          description = "Store of the sops file; binary, dotenv and ini are written as they are.";
        };
        sopsFile = mkOption {
          type = types.path;
          default = cfg.defaultSopsFile;
          defaultText = lib.literalExpression "config.aesec.defaultSopsFile";
          description = "The encrypted file (copied into the store when given as a Nix path).";
        };
        sopsFileHash = mkOption {
          type = types.str;
          readOnly = true;
          default = lib.optionalString cfg.validateSopsFiles (builtins.hashFile "sha256" config.sopsFile);
          description = "sha256 of the encrypted file, for `restartTriggers`.";
        };
        neededForUsers = mkOption {
          type = types.bool;
          default = false;
          description = ''
            Install before users and groups exist (under /run/secrets-for-users, root-owned),
            e.g. for `users.users.<name>.hashedPasswordFile`.
          '';
        };
      };
    }
  );

  templateType = types.submodule (
    { config, name, ... }:
    {
      options = ownershipOptions config // {
        name = mkOption {
          type = types.singleLineStr;
          default = name;
          description = "File name under /run/secrets/rendered.";
        };
        path = mkOption {
          type = types.singleLineStr;
          default = "/run/secrets/rendered/${config.name}";
          description = "Where the rendered file is reachable; any other path becomes a symlink.";
        };
        content = mkOption {
          type = types.lines;
          default = "";
          description = "The text, with `config.aesec.placeholder.<secret>` where a secret goes.";
        };
        file = mkOption {
          type = types.path;
          default = pkgs.writeText config.name config.content;
          defaultText = lib.literalExpression "pkgs.writeText name content";
          description = "A file holding the text; when set, `content` is ignored.";
        };
      };
    }
  );

  regularSecrets = lib.filterAttrs (_: secret: !secret.neededForUsers) cfg.secrets;
  secretsForUsers = lib.filterAttrs (_: secret: secret.neededForUsers) cfg.secrets;

  # The manifest file, checked at build time: `sopsfile` (every key exists, no private key)
  # when the sops files are in the store, else `manifest` (structure only).
  # `aesec deploy` finds the manifests in the closure by these names
  # (`…-aesec-manifest.json`, `…-aesec-manifest-for-users.json`; crates/core/src/deploy/check.rs)
  # and refuses a host that cannot decrypt a sops file they name: keep them.
  manifestFor =
    suffix: secrets: templates: paths:
    pkgs.writeTextFile {
      name = "aesec-manifest${suffix}.json";
      text = builtins.toJSON (
        import ./manifest.nix (
          {
            secrets = builtins.attrValues secrets;
            templates = builtins.attrValues templates;
            placeholderBySecretName = cfg.placeholder;
            ageKeyFile = cfg.age.keyFile;
            ageSshKeyPaths = cfg.age.sshKeyPaths;
            inherit (cfg)
              keepGenerations
              useTmpfs
              log
              validateSopsFiles
              ;
          }
          // paths
        )
      );
      checkPhase = ''
        ${lib.getExe cfg.validationPackage} install --check-mode ${
          if cfg.validateSopsFiles then "sopsfile" else "manifest"
        } --manifest "$out"
      '';
    };
  manifest = manifestFor "" regularSecrets cfg.templates { };
  manifestForUsers = manifestFor "-for-users" secretsForUsers { } {
    secretsMountPoint = "/run/secrets-for-users.d";
    symlinkPath = "/run/secrets-for-users";
  };

  aesecExe = lib.getExe cfg.package;
  installScript = message: flags: manifest: ''
    [ -e /run/current-system ] || echo ${message}
    ${aesecExe} install ${flags}--manifest ${manifest}
  '';

  # The ed25519 host keys, except those installed by aesec itself.
  defaultSshKeyPaths =
    if config.services.openssh.enable then
      map (key: key.path) (
        lib.filter (
          key: key.type == "ed25519" && !lib.hasPrefix "/run/secrets" key.path
        ) config.services.openssh.hostKeys
      )
    else
      [ ];

  systemdUsers =
    (options.systemd ? sysusers && config.systemd.sysusers.enable)
    || (options.services ? userborn && config.services.userborn.enable);
  dryActivation = lib.optionalAttrs (config.system ? dryActivationScript) {
    supportsDryActivation = true;
  };
in
{
  options.aesec = {
    secrets = mkOption {
      type = types.attrsOf secretType;
      default = { };
      description = "Secrets installed at activation under /run/secrets.";
    };

    templates = mkOption {
      type = types.attrsOf templateType;
      default = { };
      description = "Files rendered at activation under /run/secrets/rendered.";
    };

    placeholder = mkOption {
      type = types.attrsOf types.str;
      default = { };
      description = ''
        The string standing for each secret inside templates (set by the module; read it as
        `config.aesec.placeholder.<secret>`).
      '';
    };

    defaultSopsFile = mkOption {
      type = types.path;
      description = "The sops file of secrets that name none.";
    };

    defaultSopsFormat = mkOption {
      type = types.str;
      default = "yaml";
      description = "The format of secrets that name none.";
    };

    defaultSopsKey = mkOption {
      type = types.nullOr types.str;
      default = null;
      description = "The key of secrets that name none (default: the secret's name).";
    };

    validateSopsFiles = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Require the sops files in the store and check at build time, with no private key,
        that every secret's key exists in its file.
      '';
    };

    keepGenerations = mkOption {
      type = types.ints.unsigned;
      default = 1;
      description = "Generations kept under /run/secrets.d; 0 keeps them all.";
    };

    log = mkOption {
      type = types.listOf (
        types.enum [
          "keyImport"
          "secretChanges"
        ]
      );
      default = [
        "keyImport"
        "secretChanges"
      ];
      description = "What `aesec install` reports.";
    };

    useTmpfs = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Mount a tmpfs with `noswap` instead of a ramfs (before Linux 6.4, which lacks `noswap`,
        a tmpfs can be swapped to disk).
      '';
    };

    package = mkOption {
      type = types.package;
      default = pkgs.aesec or (pkgs.callPackage ./package.nix { });
      defaultText = lib.literalExpression "pkgs.aesec (the overlay) or nix/package.nix";
      description = "The aesec package run at activation.";
    };

    validationPackage = mkOption {
      type = types.package;
      default =
        if pkgs.stdenv.buildPlatform == pkgs.stdenv.hostPlatform then
          cfg.package
        else
          pkgs.pkgsBuildHost.aesec or (pkgs.pkgsBuildHost.callPackage ./package.nix { });
      defaultText = lib.literalExpression "config.aesec.package (a native build when cross-compiling)";
      description = "The aesec package that checks the manifest at build time.";
    };

    age = {
      keyFile = mkOption {
        type = types.nullOr pathNotInStore;
        default = null;
        example = "/var/lib/aesec/key.txt";
        description = ''
          An age identity file on the host, as a string (a Nix path would copy the key into the
          store, so it is refused).
        '';
      };

      generateKey = mkOption {
        type = types.bool;
        default = false;
        description = "Generate `keyFile` with `aesec keys generate` when it is missing.";
      };

      sshKeyPaths = mkOption {
        type = types.listOf pathNotInStore;
        default = defaultSshKeyPaths;
        defaultText = lib.literalMD "the ed25519 keys of {option}`services.openssh.hostKeys`";
        description = "SSH ed25519 private keys, converted to age identities in memory.";
      };
    };
  };

  config = lib.mkMerge [
    (lib.mkIf (cfg.templates != { }) {
      aesec.placeholder = lib.mapAttrs (
        name: _: lib.mkDefault "<SOPS:${builtins.hashString "sha256" name}:PLACEHOLDER>"
      ) cfg.secrets;
    })

    (lib.mkIf (cfg.secrets != { }) {
      assertions = [
        {
          assertion = cfg.age.keyFile != null || cfg.age.sshKeyPaths != [ ];
          message = "aesec: no key source: set aesec.age.keyFile or aesec.age.sshKeyPaths (or enable services.openssh)";
        }
        {
          assertion = !systemdUsers;
          message = "aesec: systemd-sysusers and userborn need a systemd unit, which aesec install does not have yet; use the activation script (the default users setup)";
        }
        {
          # By name or by number (sops-nix checks only the numbers, so it lets `owner = "nginx"`
          # through, which the users phase then cannot honour).
          assertion = lib.all (
            secret:
            (if secret.owner != null then secret.owner == "root" else secret.uid == 0 || secret.uid == null)
            && (if secret.group != null then secret.group == "root" else secret.gid == 0 || secret.gid == null)
          ) (builtins.attrValues secretsForUsers);
          message = "aesec: neededForUsers secrets must be owned by root";
        }
      ]
      ++ lib.concatMap (
        entry:
        [
          {
            assertion = entry.uid == null || entry.uid == 0 || entry.owner == null;
            message = "aesec: in ${entry.name}, set one of owner and uid";
          }
          {
            assertion = entry.gid == null || entry.gid == 0 || entry.group == null;
            message = "aesec: in ${entry.name}, set one of group and gid";
          }
        ]
      ) (builtins.attrValues cfg.secrets ++ builtins.attrValues cfg.templates);

      system.activationScripts = {
        setupSecrets = lib.mkIf (regularSecrets != { }) (
          lib.stringAfter (
            [
              "specialfs"
              "users"
              "groups"
            ]
            ++ lib.optional cfg.age.generateKey "aesec-generate-age-key"
          ) (installScript "setting up secrets..." "" manifest)
          // dryActivation
        );


        aesec-generate-age-key = lib.mkIf cfg.age.generateKey (
          let
            keyFile = lib.escapeShellArg cfg.age.keyFile;
          in
          lib.stringAfter [ "specialfs" ] ''
            if [ ! -f ${keyFile} ]; then
              echo 'generating an age key for this host...'
              mkdir -p "$(dirname ${keyFile})"
              ${aesecExe} keys generate --output ${keyFile}
            fi
          ''
        );
      };
    })

    (lib.mkIf (secretsForUsers != { }) {
      system.activationScripts = {
        setupSecretsForUsers =
          lib.stringAfter ([ "specialfs" ] ++ lib.optional cfg.age.generateKey "aesec-generate-age-key") (
            installScript "setting up secrets for users..." "--ignore-passwd " manifestForUsers
          )
          // dryActivation;
        users.deps = [ "setupSecretsForUsers" ];
      };
    })

    (lib.mkIf cfg.age.generateKey {
      assertions = [
        {
          assertion = cfg.age.keyFile != null;
          message = "aesec: aesec.age.generateKey needs aesec.age.keyFile";
        }
      ];
    })

    {
      system.build.aesec-manifest = manifest;
      system.build.aesec-manifest-for-users = manifestForUsers;
    }
  ];
}
