# instantiate args plan: IFD: the top derivation of `plan` (the JSON a planner in "ifd" mode
# writes, godrv's `DrvPlan`). Each action is the attributes of one `derivation` call, each a typed
# value (godrv_nix::Attr) resolved here as godrv's register::derivation resolves it in dyn mode,
# so both modes give the same .drv paths. This file knows the kinds of values, not the
# attributes: those are made in one place, godrv_nix's DrvPlan::new.
#
# Arguments:
#   args  the builder's arguments: `src`, the C inputs, the module cache or lockfile
#   plan  the plan, read with builtins.fromJSON
{ toolchain, lib }:
args: plan:
let
  src = args.src;
  # What `{ toolchain = { input; path; }; }` names.
  inputs = {
    inherit (toolchain) go godrv cc system;
    modcache = lib.vendorModules args;
  };
  cInputs = lib.common.cInputs args;
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
      builtins.path { path = "${inputs.modcache}/${m.dir}"; inherit (m) name sha256; };
  # One typed value; null: the attribute is left out (no such toolchain input, no C inputs).
  value =
    v:
    if v ? string then
      v.string
    else if v ? strings then
      v.strings
    else if v ? bool then
      v.bool
    else if v ? toolchain then
      let
        input = inputs.${v.toolchain.input};
        path = v.toolchain.path or "";
      in
      if input == null then null else if path == "" then input else "${input}${path}"
    else if v ? dep then
      # An output of another action, or a directory of it (a group member's).
      let
        out = drvs.${v.dep.key}.${v.dep.output};
      in
      if v.dep ? dir then "${out}/${v.dep.dir}" else out
    else if v ? src then
      sourceSet v.src
    else if v ? module then
      moduleInput v.module
    else if v ? cInputs then
      let
        all = (if v.cInputs.user or false then cInputs else [ ]) ++ builtins.concatMap (p: perPackage.${p}) (v.cInputs.packages or [ ]);
      in
      if all == [ ] then null else all
    else
      throw "godrv: the plan has an attribute value this nix/ library does not know (${builtins.toJSON (builtins.attrNames v)}): update nix/ and godrv together.";
  present = attrs: builtins.removeAttrs attrs (builtins.filter (n: attrs.${n} == null) (builtins.attrNames attrs));
  drvs = builtins.mapAttrs (_: a: derivation (present (builtins.mapAttrs (_: value) a))) plan.actions;
in
if plan.version != lib.contract.planVersion then throw "godrv: plan version ${toString plan.version} is not the one this nix/ library reads (${toString lib.contract.planVersion}): update nix/ and godrv together." else drvs.${plan.top}
