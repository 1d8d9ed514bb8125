# One line per example for tests/e2e/tests/reliability.sh:
#   <attr> <kind> <top derivation name> <src store path> <request JSON>
# where kind is `program` (a program to compare with go build), `test-binaries` (the example is
# the test binaries) or `fails` (its build must fail: a failing Go test), and the request is the
# planner's (godrvPlanConfig without the toolchain, source and mode): what `godrv build --request`
# takes.
{ repo }:
let
  examples = import (repo + "/examples") { build = (import (repo + "/nix") { }).buildWithDynDrv; };
  # Planner configuration fields that are not part of the request.
  notRequest = [ "mode" "system" "name" "addressing" "src" "go" "godrv" "cc" "modcache" "nix" ];
  line =
    attr: e:
    let
      config = builtins.fromJSON (builtins.unsafeDiscardStringContext e.drv.planner.godrvPlanConfig);
      kind =
        if e.buildFails or false then "fails"
        else if (config.check.mode or null) == "binaries" then "test-binaries"
        else "program";
    in
    "${attr} ${kind} ${config.name} ${config.src} ${builtins.toJSON (removeAttrs config notRequest)}";
in
builtins.concatStringsSep "\n" (builtins.attrValues (builtins.mapAttrs line examples)) + "\n"
