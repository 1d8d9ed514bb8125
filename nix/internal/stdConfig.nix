# stdConfig config: the configuration of std's planners (stdPlanner, stdGroupPlanner): the fields
# of a program planner's configuration that shape std's compile commands (toolchain, C compiler,
# addressing, tags, allowGoReference, env), with `std = true`.
#
# Arguments:
#   config  a program planner's configuration; only its `stdShaping` fields are used
{ toolchain, lib }:
let
  # The field list is the contract's (nix/contract.json, godrv_nix::contract::Contract::std_shaping).
  inherit (lib.contract) stdShaping;
in
config:
builtins.intersectAttrs (builtins.listToAttrs (map (name: { inherit name; value = null; }) stdShaping)) config
// {
  std = true;
  name = lib.contract.stdPlanner;
  src = "";
}
