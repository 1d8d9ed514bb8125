# common: small helpers and constants the library's functions share: what they read from the builders'
# arguments (buildGoModule's names), and the environment lists of the fetchers.
#
# Arguments: { toolchain, lib } (toolchain: godrv and the system, for planDerivation).
# Returns an attribute set:
#   nameOf args         the result's name: `name`, or `pname-version`
#   userEnv args        go's environment: `env` (values as strings) plus `GOFLAGS`
#   splitFlags f        a list of flags, or a string of them split at spaces
#   addressing args     "content-addressed" (contentAddressed, the default) or "input-addressed"
#   granularities       the values `granularity` takes: "package", "module"
#   granularityOf args  `granularity`, default "module" (nix/README.md, "Granularity", says why)
#   checkOf args        what the planner does with the tests: { mode = "run" | null; flags; data?; }
#   getBin x, getDev x  the `bin` / `dev` output of an input if it has one (lib.getBin/getDev)
#   inputsOf args       every C input (own and packageOverrides'): on PATH/PKG_CONFIG_PATH
#   cInputsOf list      a list of inputs with their dev and bin outputs, each once
#   cInputs args        cInputsOf the own inputs (buildInputs ++ nativeBuildInputs)
#   packageInputs args  packageOverrides: import path → its own inputs
#   inputRef x          { path; drv; output; } of a store path or derivation output (or null)
#   downloadEnv         go variables that only matter for downloading modules
#   fetcherImpureEnvVars  variables of the calling environment a fetcher derivation lets in
#   floatingCA          the attributes of a content-addressed derivation (NAR-hashed output)
#   recursiveNix        the attributes of a derivation that adds paths to the store (recursive
#                       Nix), built locally
#   planDerivation name config extra  a derivation `godrv plan` builds from `config` (godrv's
#                       `PlanConfig`), with `extra` attributes (content addressing, recursive Nix,
#                       outputs): every planner (planner, dynPlanner, stdGroupPlanner)
{ toolchain, lib }:
let
  getBin = x: if builtins.isAttrs x && x ? bin then x.bin else x;
  getDev = x: if builtins.isAttrs x && x ? dev then x.dev else x;
  ownInputs = args: (args.nativeBuildInputs or [ ]) ++ (args.buildInputs or [ ]);
  # packageOverrides: import path → { buildInputs; nativeBuildInputs; }.
  packageOverrides = args: args.packageOverrides or { };
  # What a derivation gets as its `buildInputs` attribute for a list of inputs: each input with
  # its `dev` and `bin` outputs (headers and .pc files are often in `dev`), each once.
  cInputsOf =
    list:
    builtins.foldl' (acc: x: if builtins.any (y: "${y}" == "${x}") acc then acc else acc ++ [ x ]) [ ] (
      builtins.concatMap (x: [ x (getDev x) (getBin x) ]) list
    );
in
{
  inherit getBin getDev cInputsOf;
  nameOf = args: args.name or (if args ? version then "${args.pname}-${args.version}" else args.pname);
  userEnv = args: builtins.mapAttrs (_: toString) ((args.env or { }) // (if args ? GOFLAGS then { GOFLAGS = toString args.GOFLAGS; } else { }));
  splitFlags = f: if builtins.isList f then f else builtins.filter (s: s != "" && !builtins.isList s) (builtins.split " +" f);
  addressing = args: if args.contentAddressed or true then "content-addressed" else "input-addressed";
  granularities = [ "package" "module" ];
  granularityOf = args: args.granularity or "module";
  # What the planner does with the packages' tests: run them (doCheck, the default, as
  # buildGoModule) or not; checkFlags are the test binaries' flags; checkData (import path or "*"
  # → paths relative to modRoot) is what a run sees besides its package directory.
  # (Left out when empty, so planners without it stay the same derivations.)
  checkOf =
    args:
    {
      mode = if args.doCheck or true then "run" else null;
      flags = lib.common.splitFlags (args.checkFlags or [ ]);
    }
    // (if (args.checkData or { }) != { } then { data = args.checkData; } else { });
  # Every input: on PATH / PKG_CONFIG_PATH while planning.
  inputsOf = args: ownInputs args ++ builtins.concatMap ownInputs (builtins.attrValues (packageOverrides args));
  # The cgo/C/link derivations of every user package get these; those of one package (and the
  # links) also get its packageOverrides entry's.
  cInputs = args: cInputsOf (ownInputs args);
  packageInputs = args: builtins.mapAttrs (_: ownInputs) (packageOverrides args);
  # A store path godrv's generated derivations depend on, with the derivation output producing it.
  inputRef =
    x:
    if x == null then
      null
    else
      {
        path = "${x}";
        drv = if builtins.isAttrs x && x ? drvPath then x.drvPath else null;
        output = if builtins.isAttrs x && x ? outputName then x.outputName else null;
      };
  # Variables that only matter for downloading modules: given to the vendorHash derivation, kept
  # from the planner (so changing a proxy does not re-plan, and planning never downloads).
  downloadEnv = [
    "GOPROXY" "GOPRIVATE" "GONOPROXY" "GONOSUMDB" "GONOSUMCHECK" "GOSUMDB" "GOINSECURE" "GOAUTH"
    "GOVCS" "SSL_CERT_FILE" "SSL_CERT_DIR"
  ];
  # Proxies of the calling environment reach a fixed-output derivation, and NETRC (the path of a
  # netrc file with credentials for private modules, made visible to the sandbox with
  # `extra-sandbox-paths`): never copied into the store.
  fetcherImpureEnvVars = lib.contract.fetcherImpureEnvVars;
  floatingCA = {
    __contentAddressed = true;
    outputHashMode = "recursive";
    outputHashAlgo = "sha256";
  };
  planDerivation =
    name: config: extra:
    derivation (
      {
        inherit name;
        inherit (toolchain) system;
        builder = "${toolchain.godrv}/bin/godrv";
        args = [ "plan" ];
        godrvPlanConfig = builtins.toJSON config;
      }
      // extra
    );
  recursiveNix = {
    requiredSystemFeatures = [ "recursive-nix" ];
    # Built where Nix runs whenever it can (max-jobs > 0), never on a remote builder: Nix copies
    # back only a remote build's outputs, not the paths such a derivation added to the builder's
    # store, which its output refers to (docs/remote-builders.md).
    preferLocalBuild = true;
    NIX_CONFIG = "experimental-features = nix-command dynamic-derivations ca-derivations recursive-nix";
  };
}
