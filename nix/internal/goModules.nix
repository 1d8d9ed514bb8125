# goModules args: the result's `.goModules`: the vendorHash derivation, or in lockfile mode an
# attribute set of the per-module ones (keyed by module cache directory), or null.
#
# Arguments:
#   args  the builder's arguments: `vendorHash` or `modules`
{ toolchain, lib }:
args:
let
  locked = lib.lockedModules args;
in
if locked != null then builtins.mapAttrs (_: m: m.drv) locked else lib.vendorModules args
