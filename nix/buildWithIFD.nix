# buildWithIFD: the same per-package derivations as buildWithDynDrv, for Nix without dynamic
# derivations. The plan is built by an ordinary derivation and imported at evaluation time
# (import from derivation); Nix then instantiates the per-package derivations with `derivation`,
# with the same attributes godrv writes in dyn mode, so both give the same .drv paths.
#
# Arguments: exactly those of buildWithDynDrv (see buildWithDynDrv.nix and nix/README.md).
{ core }:
args:
let
  args' = core.checkArgs "buildWithIFD" args;
  planner = core.planner "ifd" args';
  plan = builtins.fromJSON (builtins.readFile planner);
in
core.finish args' (core.instantiate args' plan) // { inherit planner plan; goModules = core.goModules args'; }
