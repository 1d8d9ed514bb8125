# checkArgs fn args: `args` if they are arguments buildWithDynDrv/buildWithIFD (named `fn` in the
# messages) accept, else an evaluation error that names what is wrong and what to do.
#
# Arguments:
#   fn    the calling function's name, for messages
#   args  the builder's arguments; `knownArgs` below are all it accepts (buildGoModule's names)
{ toolchain, lib }:
let
  # The arguments the builders accept. Anything else is an error.
  knownArgs = [
    "pname" "version" "name" "src" "modRoot" "subPackages" "excludedPackages" "ldflags" "tags"
    "env" "GOFLAGS" "vendorHash" "modules" "buildInputs" "nativeBuildInputs" "allowGoReference"
    "contentAddressed" "passthru" "meta" "overrideModAttrs" "packageOverrides"
    # Go tests: doCheck (default true) runs them, checkFlags are the test binaries' flags,
    # checkData widens what a test run sees of the source.
    "doCheck" "checkFlags" "checkData"
    # proxyVendor: godrv's module derivation is always a module cache fetched with `go mod
    # download`, which is what `proxyVendor = true` gives buildGoModule; both values are accepted.
    "proxyVendor"
    # "package" (every package its own derivation) or "module" (std as one derivation; see
    # nix/README.md).
    "granularity"
  ];
  # packageOverrides: import path → { buildInputs; nativeBuildInputs; }.
  overrideKeys = [ "buildInputs" "nativeBuildInputs" ];
  packageOverrides = args: args.packageOverrides or { };
  # Credentials in `env` are an evaluation error (they would be stored in .drv files).
  refuseSecrets = import ../refuseSecrets.nix;

  # The type of each argument (nix/README.md): a predicate and what it says when it fails.
  # overrideModAttrs, doCheck and packageOverrides have their own messages below.
  isPathLike = v: builtins.isPath v || builtins.isString v || (builtins.isAttrs v && v ? outPath);
  isScalar = v: builtins.isString v || builtins.isInt v || builtins.isPath v || (builtins.isAttrs v && v ? outPath);
  isStringList = v: builtins.isList v && builtins.all builtins.isString v;
  types = {
    string = { check = builtins.isString; what = "a string"; };
    bool = { check = builtins.isBool; what = "true or false"; };
    attrs = { check = builtins.isAttrs; what = "an attribute set"; };
    list = { check = builtins.isList; what = "a list"; };
    strings = { check = isStringList; what = "a list of strings (e.g. [ \"a\" \"b\" ])"; };
    flags = { check = v: builtins.isString v || isStringList v; what = "a list of strings or one string"; };
    path = { check = isPathLike; what = "a path, a string or a derivation"; };
    nullOrPath = { check = v: v == null || isPathLike v; what = "null, a path or a string"; };
    nullOrString = { check = v: v == null || builtins.isString v; what = "null or a string"; };
    env = { check = v: builtins.isAttrs v && builtins.all isScalar (builtins.attrValues v); what = "an attribute set of strings (e.g. { CGO_ENABLED = \"0\"; })"; };
  };
  argTypes = with types; {
    pname = string; version = string; name = string; src = path; modRoot = string;
    subPackages = strings; excludedPackages = strings; tags = strings;
    ldflags = flags; checkFlags = flags; GOFLAGS = flags;
    env = env; vendorHash = nullOrString; modules = nullOrPath;
    buildInputs = list; nativeBuildInputs = list;
    allowGoReference = bool; contentAddressed = bool; proxyVendor = bool;
    passthru = attrs; meta = attrs;
  };
  # A value in an error message: scalars as they are, anything else by its type.
  describe =
    v:
    let
      t = builtins.typeOf v;
    in
    if builtins.elem t [ "string" "int" "float" "bool" "null" ] then "${t} ${builtins.toJSON v}"
    else if t == "list" then "a list with ${builtins.concatStringsSep ", " (map builtins.typeOf v)} elements"
    else if t == "set" && v ? outPath then "a derivation"
    else "a ${t}";
  # The first argument of the wrong type as an error message, or null.
  wrongType =
    fn: args:
    let
      bad = builtins.filter (n: argTypes ? ${n} && !(argTypes.${n}.check args.${n})) (builtins.attrNames args);
      n = builtins.head bad;
      # env: the variable whose value is not a string.
      badEnv = builtins.filter (k: !(isScalar args.env.${k})) (builtins.attrNames args.env);
      detail =
        if n == "env" && builtins.isAttrs args.env then
          " (`env.${builtins.head badEnv}` is ${describe args.env.${builtins.head badEnv}})"
        else
          " (got ${describe args.${n}})";
    in
    if bad == [ ] then null else "godrv.${fn}: `${n}` must be ${argTypes.${n}.what}${detail} (see nix/README.md).";
in
fn: args:
let
  unknown = builtins.filter (n: !(builtins.elem n knownArgs)) (builtins.attrNames args);
  typeError = wrongType fn args;
in
if unknown != [ ] then
  throw "godrv.${fn}: unknown or unsupported argument(s): ${builtins.concatStringsSep ", " unknown}. Supported: ${builtins.concatStringsSep ", " knownArgs} (see nix/README.md)."
else if typeError != null then
  throw typeError
else if !(builtins.isAttrs (packageOverrides args) && builtins.all builtins.isAttrs (builtins.attrValues (packageOverrides args))) then
  throw "godrv.${fn}: `packageOverrides` must be an attribute set of import path → { buildInputs = [ … ]; nativeBuildInputs = [ … ]; }."
else if builtins.any (o: builtins.any (k: !(builtins.elem k overrideKeys)) (builtins.attrNames o)) (builtins.attrValues (packageOverrides args)) then
  throw "godrv.${fn}: `packageOverrides`: unknown attribute(s) ${builtins.concatStringsSep ", " (builtins.concatLists (builtins.attrValues (builtins.mapAttrs (p: o: map (k: "${p}.${k}") (builtins.filter (k: !(builtins.elem k overrideKeys)) (builtins.attrNames o))) (packageOverrides args))))}; an entry takes ${builtins.concatStringsSep " and " overrideKeys}."
else if builtins.any (o: builtins.any (k: !(builtins.isList o.${k})) (builtins.attrNames o)) (builtins.attrValues (packageOverrides args)) then
  throw "godrv.${fn}: `packageOverrides`: ${builtins.concatStringsSep ", " (builtins.concatLists (builtins.attrValues (builtins.mapAttrs (p: o: map (k: "${p}.${k}") (builtins.filter (k: !(builtins.isList o.${k})) (builtins.attrNames o))) (packageOverrides args))))} must be a list of inputs."
else if args ? overrideModAttrs && !(builtins.isFunction args.overrideModAttrs || builtins.isAttrs args.overrideModAttrs) then
  throw "godrv.${fn}: `overrideModAttrs` must be a function `old: { … }` (or `final: prev: { … }`) or an attribute set, not a ${builtins.typeOf args.overrideModAttrs}."
else if !builtins.isBool (args.doCheck or true) then
  throw "godrv.${fn}: `doCheck` must be true or false (got ${builtins.typeOf args.doCheck}); for test binaries without running them use the result's `.testBinaries`."
else if !(builtins.isAttrs (args.checkData or { }) && builtins.all (l: builtins.isList l && builtins.all builtins.isString l) (builtins.attrValues (args.checkData or { }))) then
  throw "godrv.${fn}: `checkData` must be an attribute set of import path (or \"*\" for every package) → list of paths relative to modRoot, e.g. { \"example.com/m/parser\" = [ \"testdata\" ]; } (got ${builtins.typeOf args.checkData} or a value that is not a list of strings)."
else if (args.modules or null) != null && (args.vendorHash or null) != null then
  throw "godrv.${fn}: give either `vendorHash` (one fixed-output derivation for all modules) or `modules` (a lockfile: one per module), not both."
else if !(builtins.elem (lib.common.granularityOf args) lib.common.granularities) then
  throw "godrv.${fn}: `granularity` must be one of ${builtins.concatStringsSep ", " (map (g: "\"${g}\"") lib.common.granularities)} (got ${builtins.toJSON (args.granularity)})."
else if !(args ? src) then
  throw "godrv.${fn}: `src` is required: the directory of the Go module (or a tree with it under `modRoot`)."
else if !(args ? pname || args ? name) then
  throw "godrv.${fn}: give `pname` (and `version`) or `name`."
else
  builtins.seq (refuseSecrets { what = "godrv.${fn}: env"; } (lib.common.userEnv args)) args
