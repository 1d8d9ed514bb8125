# planner mode args { name ? …, check ? … }: the planner derivation: `godrv plan` runs
# `go build -n` (and `go test -c -n`), parses and plans. In "dyn" mode it registers every
# per-package derivation from inside the build (recursive Nix; see dynPlanner; with std's and the
# dependencies' planners as inputs in "package" granularity) and its output is the top .drv; in "ifd" mode its output is the plan (JSON) that `instantiate` reads. The same
# configuration (`godrvPlanConfig`, godrv's `PlanConfig`) in both modes but for `mode`, `nix`
# and dyn mode's `sourceSets` (the main module's source sets computed while evaluating: see
# sourceSets.nix). With content addressing (the default) the planning itself (`go build -n`
# and the rest) runs in a derivation of its own on the source's skeleton (skeleton.nix), and
# this one only registers or pins its plan with the source (see `unpinned` below); the result
# then has the attributes `skeleton` and `unpinnedPlan`; with a go-modindex (goModIndex), `modIndex`.
#
# Arguments:
#   mode   "dyn" or "ifd"
#   args   the builder's arguments (checked by checkArgs)
#   name   the top derivation's name                       default: nameOf args
#   check  { mode = "run" | "binaries" | null; flags; }   default: checkOf args (doCheck)
{ toolchain, lib }:
let
  inherit (toolchain) go godrv nix cc system;
  inherit (lib.common) planDerivation nameOf checkOf inputRef cInputs cInputsOf packageInputs inputsOf getBin getDev splitFlags userEnv downloadEnv;
in
mode: args:
{ name ? nameOf args, check ? checkOf args }:
let
  modcache = lib.vendorModules args;
  locked = lib.lockedModules args;
  modIndex = lib.goModIndex args modcache;
  base = {
    inherit mode system name check;
    addressing = lib.common.addressing args;
    src = "${args.src}";
    go = inputRef go;
    godrv = inputRef godrv;
    cc = inputRef cc;
    modcache = inputRef modcache;
    inputs = map inputRef (cInputs args);
    packageInputs = builtins.mapAttrs (_: l: map inputRef (cInputsOf l)) (packageInputs args);
    lockedModules = if locked == null then null else builtins.mapAttrs (_: m: { inherit (m) key path version; source = inputRef m.drv; }) locked;
    lockfile = if locked == null then null else lib.lockfileName args;
    nix = if mode == "dyn" then "${nix}/bin/nix" else null;
    modRoot = args.modRoot or "";
    subPackages = args.subPackages or [ ];
    excludedPackages = args.excludedPackages or [ ];
    path = map (x: "${getBin x}/bin") (inputsOf args);
    pkgConfigPath = builtins.concatMap (x: [ "${getDev x}/lib/pkgconfig" "${getDev x}/share/pkgconfig" ]) (inputsOf args);
    ldflags = splitFlags (args.ldflags or [ ]);
    tags = args.tags or [ ];
    allowGoReference = args.allowGoReference or false;
    goFlags = [ ];
    # go's index of GOROOT and, with a vendorHash module cache, of its modules (goModIndex).
    goCacheSeed = if modIndex == null then "${lib.goIndex}" else "${modIndex}";
    env = removeAttrs (userEnv args) downloadEnv;
    granularity = lib.common.granularityOf args;
  };
  # In "module" granularity std is one derivation, planned and (dyn) registered by std's group
  # planner, whose output (std's plan) the program's planner reads instead of running
  # `go build -n std`; with vendorHash, the module directories come hashed (and, dyn, added) from
  # moduleDirs.
  config =
    (if base.granularity == "module" then base // { stdPlan = "${lib.stdGroupPlanner mode base}"; } else base)
    // (if modcache == null then { } else { moduleDirs = "${lib.moduleDirs mode base}"; });
  deps = lib.depsPlanner args config;
  # With content addressing the plan is made from the source's skeleton (skeleton.nix: what
  # `go build -n` reads of `src`) by a content-addressed derivation of its own, whose output is
  # the plan without the sources' hashes (mode "unpinned"). An edit that leaves the skeleton as
  # it was (a function body, an added function) leaves this derivation, resolved, as it was:
  # Nix finds it built, and `go build -n` does not run. Its configuration names nothing that
  # changes with the source's text: not `src`, not the module cache's fixed-output .drv (whose
  # path changes with `src`: by its output path only, as in depsPlanner), not the module
  # directories (only the next step reads them).
  skeleton = lib.skeleton args.src;
  modcacheByPath = if config.modcache == null then null else config.modcache // { drv = null; output = null; };
  # Dyn mode, granularity "module", with third-party modules (a module cache or a lockfile): the
  # unpinned planner also writes the third-party part of its plan (the module groups, std's
  # group they depend on) as a second output, which the module groups' registrar below reads.
  withGroups = mode == "dyn" && config.granularity == "module" && (modcache != null || locked != null);
  unpinned =
    if config.addressing != "content-addressed" then
      null
    else
      planDerivation "${name}-unpinned-plan.json"
        (
          removeAttrs config [ "moduleDirs" ]
          // {
            mode = "unpinned";
            nix = null;
            src = "${skeleton}";
            modcache = modcacheByPath;
          }
        )
        (lib.common.floatingCA // (if withGroups then { outputs = [ "out" lib.contract.moduleGroupsOutput ]; } else { }));
  # The module groups' registrar (dyn mode, granularity "module"): registers that part's module
  # groups inside recursive Nix; its output refers to their .drvs and is an input of the planner
  # proper, which then finds them valid instead of adding them again after every edit. It reads
  # nothing that changes with the main module's text or path: the part (content-addressed: the
  # same path while the program's third-party modules and the packages it needs from them stay
  # as they were), the toolchain, the module cache by its output path only, the module
  # directories, the lockfile's modules, std's group (so std's group .drv is not added here
  # either). After an edit Nix finds it built. If registering fails it says so and registers
  # nothing: the planner proper then adds the groups itself.
  moduleGroups =
    if unpinned == null || !withGroups then
      null
    else
      planDerivation "go-module-groups.json"
        (
          {
            inherit (config) addressing system go godrv cc inputs packageInputs lockedModules lockfile nix granularity;
            mode = "module-groups";
            name = "go-module-groups";
            src = "";
            modcache = modcacheByPath;
            plan = "${unpinned.${lib.contract.moduleGroupsOutput}}";
          }
          // (if config ? stdPlan then { inherit (config) stdPlan; } else { })
          // (if config ? moduleDirs then { inherit (config) moduleDirs; } else { })
        )
        (lib.common.floatingCA // lib.common.recursiveNix);
  # The planner proper then pins (IFD) or registers (dyn) that plan with `src` itself, whose
  # files the source sets are, and runs no `go`. With input addressing it plans as well.
  given =
    (if unpinned == null then { } else { plan = "${unpinned}"; })
    // (if moduleGroups == null then { } else { moduleGroups = "${moduleGroups}"; });
  helpers =
    (if unpinned == null then { } else { inherit skeleton; unpinnedPlan = unpinned; })
    // (if moduleGroups == null then { } else { inherit moduleGroups; })
    // (if modIndex == null then { } else { inherit modIndex; });
in
if mode == "dyn" then
  # In "module" granularity third-party modules are one derivation each, made by the program's
  # planner: the package granularity's std and dependencies' planners are not used.
  # The main module's source sets, computed while evaluating (sourceSets), are inputs of the
  # program's planner only (not of the helpers made from `config` above, which must not change
  # with the source): it finds them valid instead of adding them after every edit.
  lib.dynPlanner name (config // { sourceSets = lib.sourceSets args; } // given) (
    if config.granularity != "package" then { }
    else { godrvStdPlan = lib.stdPlanner config; }
      // (if deps == null then { } else { godrvDepsPlan = deps; })
  )
  // helpers
else
  planDerivation "${name}-plan.json" (config // given) { }
  // helpers
