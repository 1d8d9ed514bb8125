# One line per example for tests/e2e/tests/reliability.sh:
#   <attr> <top derivation name> <src store path> <request JSON>
# where the request is the planner's (godrvPlanConfig without the toolchain, source and mode),
# what `godrv build --request` takes.
{ repo }:
let
  examples = (import (repo + "/default.nix") { useDynDrv = true; }).examples;
  # Planner configuration fields that are not part of the request.
  notRequest = [ "mode" "system" "name" "addressing" "src" "go" "godrv" "cc" "modcache" "nix" ];
  line =
    attr: drv:
    let
      config = builtins.fromJSON (builtins.unsafeDiscardStringContext drv.planner.godrvPlanConfig);
    in
    "${attr} ${config.name} ${config.src} ${builtins.toJSON (removeAttrs config notRequest)}";
in
builtins.concatStringsSep "\n" (builtins.attrValues (builtins.mapAttrs line examples)) + "\n"
