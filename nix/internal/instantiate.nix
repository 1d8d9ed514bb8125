# instantiate args plan: IFD: the top derivation of `plan` (the JSON a planner in "ifd" mode
# writes, godrv's `DrvPlan`), every per-package derivation made with `derivation` and the same
# attributes godrv writes in dyn mode, so both modes give the same .drv paths.
#
# Arguments:
#   args  the builder's arguments: `src`, the C inputs, the module cache or lockfile
#   plan  the plan, read with builtins.fromJSON
{ toolchain, lib }:
let
  inherit (toolchain) go godrv cc system;
in
args: plan:
let
  src = args.src;
  modcache = lib.vendorModules args;
  inputs = lib.common.cInputs args;
  perPackage = builtins.mapAttrs (_: lib.common.cInputsOf) (lib.common.packageInputs args);
  srcPrefix = "${toString src}/";
  prefixLen = builtins.stringLength srcPrefix;
  relative = p: builtins.substring prefixLen (builtins.stringLength p) p;
  # With the set's NAR hash (from the planner), builtins.path only checks that the path is
  # valid: the filter walks `src` (and the files are hashed) only for a set not yet in the
  # store, i.e. after an edit, only the edited packages'.
  sourceSet =
    set:
    let
      admitted = builtins.listToAttrs (map (p: { name = p; value = true; }) set.paths);
    in
    builtins.path {
      path = src;
      name = set.name;
      filter = p: _type: admitted ? ${relative (toString p)};
      inherit (set) sha256;
    };
  # A module's own store path: its directory of the realised module cache, added as a source
  # path with the name godrv gives it (the same path `nix store add` gives in dyn mode); its
  # NAR hash from the planner spares the evaluator hashing the tree once the path is valid.
  # In lockfile mode, the module's own fixed-output derivation.
  locked = lib.lockedModules args;
  moduleInput =
    m:
    if locked != null then
      locked.${m.dir}.drv
    else
      builtins.path { path = "${modcache}/${m.dir}"; inherit (m) name sha256; };
  ca = plan.addressing == "content-addressed";
  drvs = builtins.mapAttrs mk plan.actions;
  mk =
    _key: a:
    derivation (
      {
        inherit (a) name;
        inherit system;
        builder = "${godrv}/bin/godrv";
        args = [ "exec" ];
        goroot = go;
      }
      // a.env
      # A dependency is an output of a derivation, or a directory of it (a group member's).
      // builtins.mapAttrs (_: d: if d ? dir then "${drvs.${d.key}.${d.output}}/${d.dir}" else drvs.${d.key}.${d.output}) a.deps
      // (if builtins.length a.outputs > 1 then { inherit (a) outputs; } else { })
      // (if a.src != null then { src = sourceSet a.src; } else { })
      // (if a.cc && cc != null then { inherit cc; } else { })
      // (if a.module != null then { module = moduleInput a.module; } else { })
      // builtins.mapAttrs (_: moduleInput) (a.modules or { })
      // (if a.modcache then { inherit modcache; } else { })
      // (
        let
          all = (if a.inputs or false then inputs else [ ]) ++ builtins.concatMap (p: perPackage.${p}) (a.inputPackages or [ ]);
        in
        if all != [ ] then { buildInputs = all; } else { }
      )
      // (if ca then { __contentAddressed = true; } else { })
    );
in
if plan.version != lib.contract.planVersion then throw "godrv: plan version ${toString plan.version} is not the one this nix/ library reads (${toString lib.contract.planVersion}): update nix/ and godrv together." else drvs.${plan.top}
