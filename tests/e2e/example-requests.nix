# One line per example for tests/e2e/tests/reliability.sh:
#   <attr> <kind> <godrv-build> <top derivation name> <src store path> <request JSON>
# where kind is `program` (a program to compare with go build), `test-binaries` (the example is
# the test binaries) or `fails` (its build must fail: a failing Go test); godrv-build is `yes` when
# `godrv build` can build it (not with C inputs from Nix or a lockfile, which only the Nix functions
# take), `no` otherwise; the request is the
# planner's (godrvPlanConfig without the toolchain, source and mode): what `godrv build --request`
# takes.
# granularity: null (each example's own) or "package"/"module" for every example, as default.nix.
{ repo, granularity ? null }:
let
  godrv = import (repo + "/nix") { };
  build = if granularity == null then godrv.buildWithDynDrv else args: godrv.buildWithDynDrv (args // { inherit granularity; });
  examples = import (repo + "/examples") { inherit build; inherit (godrv.toolchain) system; };
  # Planner configuration fields that are not part of the request.
  notRequest = [
    "mode" "system" "name" "addressing" "src" "go" "godrv" "cc" "modcache" "nix"
    "inputs" "packageInputs" "lockedModules" "lockfile" "goCacheSeed" "stdPlan" "moduleDirs" "sourceSets" "plan" "moduleGroups"
  ];
  line =
    attr: e:
    let
      config = builtins.fromJSON (builtins.unsafeDiscardStringContext e.drv.planner.godrvPlanConfig);
      kind =
        if e.buildFails or false then "fails"
        else if (config.check.mode or null) == "binaries" then "test-binaries"
        else "program";
      godrvBuild =
        if (config.inputs or [ ]) != [ ] || (config.packageInputs or { }) != { } || (config.lockedModules or null) != null
        then "no" else "yes";
    in
    "${attr} ${kind} ${godrvBuild} ${config.name} ${config.src} ${builtins.toJSON (removeAttrs config notRequest)}";
in
builtins.concatStringsSep "\n" (builtins.attrValues (builtins.mapAttrs line examples)) + "\n"
