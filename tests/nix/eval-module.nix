# A small stand-in for nixpkgs' `lib.evalModules`, enough to evaluate nix/module.nix without
# nixpkgs (for tests/tests/nix_module.rs). It does what the module relies on, no more:
#
# - `mkOption` declarations with defaults, nested option sets, `types.attrsOf (submodule …)`
#   with `name` and a `config` fixpoint per element;
# - definitions from the host configuration (priority 100) and from the module's own `config`,
#   where `mkIf` conditions stay lazy around each definition (as nixpkgs pushes them down, so
#   `aesec.secrets` never depends on a condition reading `aesec.secrets`), `mkMerge`, and
#   `mkDefault` (priority 1000) below host definitions;
# - every value checked against its option type, as nixpkgs does.
#
# It does not implement what the module does not use (`imports`, `mkForce`, `mkOrder`,
# declaration merging across modules, documentation). `pkgs` is a stub given by the caller.
{
  # The module file under test.
  module,
  # The host configuration, an attribute set or a function of the final `config`: `aesec.*`
  # definitions, and the options the module reads elsewhere (`users.users`,
  # `services.openssh`, `system`).
  host,
  # The option sets other NixOS modules would declare (the module tests `options.systemd ?
  # sysusers`).
  declared ? {
    systemd = { };
    services = { };
  },
  pkgs,
}:

let
  inherit (builtins)
    all
    attrNames
    concatMap
    elem
    filter
    foldl'
    head
    isAttrs
    isBool
    isInt
    isList
    isPath
    isString
    length
    listToAttrs
    replaceStrings
    stringLength
    substring
    tail
    ;

  hasPrefix = prefix: text: substring 0 (stringLength prefix) text == prefix;
  absolute = value: isPath value || (isString value && hasPrefix "/" value);
  type = name: check: { inherit name check; };

  lib = {
    mkOption = declaration: declaration // { _type = "option"; };
    mkIf = condition: content: {
      _type = "if";
      inherit condition content;
    };
    mkMerge = contents: {
      _type = "merge";
      inherit contents;
    };
    mkDefault = content: {
      _type = "override";
      priority = 1000;
      inherit content;
    };
    types = {
      str = type "str" isString;
      singleLineStr = type "singleLineStr" (value: isString value && !(elem "\n" (lib.stringToCharacters value)));
      lines = type "lines" isString;
      int = type "int" isInt;
      bool = type "bool" isBool;
      path = type "path" absolute;
      package = type "package" (value: isAttrs value && value ? outPath);
      ints.unsigned = type "unsigned int" (value: isInt value && value >= 0);
      enum = values: type "one of ${toString values}" (value: elem value values);
      nullOr = inner: inner // {
        name = "null or ${inner.name}";
        check = value: value == null || inner.check value;
      };
      listOf = inner: type "list of ${inner.name}" (value: isList value && all inner.check value);
      attrsOf = inner: {
        name = "attribute set of ${inner.name}";
        check = isAttrs;
        element = inner;
      };
      submodule = function: {
        name = "submodule";
        check = isAttrs;
        inherit function;
      };
      addCheck = inner: extra: inner // {
        check = value: inner.check value && extra value;
      };
    };
    literalExpression = text: {
      _type = "literalExpression";
      inherit text;
    };
    literalMD = text: {
      _type = "literalMD";
      inherit text;
    };
    stringToCharacters = text: builtins.genList (index: substring index 1 text) (stringLength text);
    filterAttrs =
      keep: set:
      listToAttrs (
        concatMap (name: if keep name set.${name} then [ { inherit name; value = set.${name}; } ] else [ ]) (
          attrNames set
        )
      );
    inherit hasPrefix all concatMap;
    inherit (builtins) filter mapAttrs;
    optional = condition: value: if condition then [ value ] else [ ];
    optionalString = condition: text: if condition then text else "";
    optionalAttrs = condition: set: if condition then set else { };
    getExe = package: "${package}/bin/${package.meta.mainProgram}";
    # As nixpkgs: left bare when it is made of safe characters only.
    escapeShellArg =
      text:
      if builtins.match "[[:alnum:],._+:@%/-]+" text != null then
        text
      else
        "'${replaceStrings [ "'" ] [ "'\\''" ] text}'";
    stringAfter = deps: text: { inherit deps text; };
  };

  # The definitions found at `path` in a definition tree; a `mkIf` around a parent stays
  # around each definition found below it, unevaluated.
  lookup =
    path: definition:
    if isAttrs definition && definition._type or null == "merge" then
      concatMap (lookup path) definition.contents
    else if isAttrs definition && definition._type or null == "if" then
      map (lib.mkIf definition.condition) (lookup path definition.content)
    else if path == [ ] then
      [ definition ]
    else if isAttrs definition && definition ? ${head path} then
      lookup (tail path) definition.${head path}
    else
      [ ];

  # Conditions evaluated: a list of `{ priority; value; }`.
  unwrap =
    priority: definition:
    if isAttrs definition && definition._type or null == "if" then
      (if definition.condition then unwrap priority definition.content else [ ])
    else if isAttrs definition && definition._type or null == "merge" then
      concatMap (unwrap priority) definition.contents
    else if isAttrs definition && definition._type or null == "override" then
      unwrap definition.priority definition.content
    else
      [ { inherit priority; value = definition; } ];

  # The definitions of the highest priority (lowest number).
  winners =
    definitions:
    let
      best = foldl' (low: definition: if definition.priority < low then definition.priority else low) 1500 definitions;
    in
    map (definition: definition.value) (filter (definition: definition.priority == best) definitions);

  isOption = value: isAttrs value && value._type or null == "option";

  # The value of one option from its (priority-tagged) definitions, checked against its type.
  optionValue =
    location: option: definitions:
    let
      given = winners (concatMap (definition: unwrap definition.priority definition.value) definitions);
      element = option.type.element or null;
      value =
        if given == [ ] then
          option.default or (throw "option ${location} is used but not defined")
        else if element != null then
          mergeAttrsOf location element given
        else if isList (head given) then
          concatMap (x: x) given
        else if all (other: other == head given) given then
          head given
        else
          throw "option ${location} has conflicting definitions";
    in
    if option.type.check value then
      value
    else
      throw "option ${location}: the value is not of type ${option.type.name}";

  # `attrsOf T`: elements merged name by name; a submodule element is evaluated with `name`
  # and its own `config`.
  mergeAttrsOf =
    location: element: sets:
    let
      names = attrNames (foldl' (all: set: all // set) { } sets);
      definitionsOf = name: concatMap (set: if set ? ${name} then [ set.${name} ] else [ ]) sets;
      one =
        name:
        let
          elementLocation = "${location}.\"${name}\"";
        in
        if element ? function then
          submodule elementLocation element.function name (definitionsOf name)
        else
          optionValue elementLocation {
            type = element;
          } (map (value: { priority = 100; inherit value; }) (definitionsOf name));
    in
    listToAttrs (map (name: { inherit name; value = one name; }) names);

  submodule =
    location: function: name: definitions:
    let
      declared = function {
        inherit name config;
        lib = lib;
      };
      config = fill location declared.options (map (value: { priority = 100; inherit value; }) definitions);
    in
    config;

  # Every option of a declaration tree, from priority-tagged definition trees.
  fill =
    location: options: definitions:
    lib.mapAttrs (
      attr: declaration:
      let
        here = "${location}.${attr}";
        below = concatMap (
          definition:
          map (value: { inherit (definition) priority; inherit value; }) (lookup [ attr ] definition.value)
        ) definitions;
      in
      if isOption declaration then optionValue here declaration below else fill here declaration below
    ) options;

  evaluated = import module {
    inherit lib pkgs config;
    options = declared;
  };

  aesec = fill "aesec" evaluated.options.aesec [
    {
      priority = 100;
      value = hostConfig.aesec or { };
    }
    {
      priority = 100;
      value = lib.mkMerge (lookup [ "aesec" ] evaluated.config);
    }
  ];
  hostConfig = if builtins.isFunction host then host config else host;
  config = hostConfig // {
    inherit aesec;
  };

  # A definition tree without options (assertions, activation scripts, build outputs): attribute
  # sets merged recursively, lists concatenated; a package (`outPath`) is a value.
  merge =
    definitions:
    let
      values = map (definition: definition.value) (concatMap (unwrap 100) definitions);
    in
    if values == [ ] then
      null
    else if isList (head values) then
      concatMap (x: x) values
    else if isAttrs (head values) && !(head values ? outPath) then
      let
        names = attrNames (foldl' (all: set: all // set) { } values);
      in
      # An attribute whose definitions were all under a false `mkIf` is not defined.
      listToAttrs (
        filter (pair: pair.value != null) (
          map (name: {
            inherit name;
            value = merge (concatMap (set: if set ? ${name} then [ set.${name} ] else [ ]) values);
          }) names
        )
      )
    else if length values == 1 then
      head values
    else
      throw "conflicting definitions: ${toString (length values)}";
in
{
  inherit config;
  # What the module defines outside `aesec.*`.
  assertions = merge (lookup [ "assertions" ] evaluated.config);
  system = merge (lookup [ "system" ] evaluated.config);
}
