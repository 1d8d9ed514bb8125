# dynPlanner name config extra: a planner that registers its derivations from inside the build
# (recursive Nix); its output is the top .drv: a text-hashed content-addressed output named
# `<name>.drv` (Nix names the dynamic derivation after it, so the top derivation has that name).
#
# Arguments:
#   name    the top derivation's name
#   config  the planner's configuration (godrv's `PlanConfig`), written as `godrvPlanConfig`
#   extra   more derivation attributes (the std planner's output: `godrvStdPlan`)
{ toolchain, lib }:
name: config: extra:
lib.common.planDerivation "${name}.drv" config (
  {
    __contentAddressed = true;
    outputHashMode = "text";
    outputHashAlgo = "sha256";
  }
  // lib.common.recursiveNix
  // extra
)
