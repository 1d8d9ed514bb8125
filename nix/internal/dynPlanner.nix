# dynPlanner name config extra: a planner that registers its derivations from inside the build
# (recursive Nix); its output is the top .drv: a text-hashed content-addressed output named
# `<name>.drv` (Nix names the dynamic derivation after it, so the top derivation has that name).
#
# Arguments:
#   name    the top derivation's name
#   config  the planner's configuration (godrv's `PlanConfig`), written as `godrvPlanConfig`
#   extra   more derivation attributes (the std planner's output: `godrvStdPlan`)
{ toolchain, lib }:
let
  inherit (toolchain) godrv system;
in
name: config: extra:
derivation (
  {
    name = "${name}.drv";
    inherit system;
    builder = "${godrv}/bin/godrv";
    args = [ "plan" ];
    godrvPlanConfig = builtins.toJSON config;
    __contentAddressed = true;
    outputHashMode = "text";
    outputHashAlgo = "sha256";
    requiredSystemFeatures = [ "recursive-nix" ];
    # Built where Nix runs whenever it can (max-jobs > 0), never on a remote builder: Nix copies
    # back only a remote build's outputs, not the derivations the planner registered in the
    # builder's store, which its output refers to (docs/remote-builders.md).
    preferLocalBuild = true;
    NIX_CONFIG = "experimental-features = nix-command dynamic-derivations ca-derivations recursive-nix";
  }
  // extra
)
