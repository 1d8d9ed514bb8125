# stdConfig config: the configuration of std's planners (stdPlanner, stdGroupPlanner): the fields
# of a program planner's configuration that shape std's compile commands (toolchain, C compiler,
# addressing, tags, allowGoReference, env), with `std = true`.
#
# Arguments:
#   config  a program planner's configuration; only its `stdShaping` fields are used
{ toolchain, lib }:
let
  # Not goCacheSeed: go-std and go-index, both needed before a toolchain's first program planner,
  # build side by side.
  stdShaping = [ "mode" "system" "addressing" "go" "godrv" "cc" "nix" "tags" "allowGoReference" "goFlags" "env" ];
in
config:
builtins.intersectAttrs (builtins.listToAttrs (map (name: { inherit name; value = null; }) stdShaping)) config
// {
  std = true;
  name = lib.contract.stdPlanner;
  src = "";
}
