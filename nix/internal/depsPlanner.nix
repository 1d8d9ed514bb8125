# depsPlanner args config: the derivations of the packages of the third-party modules the
# program's go.mod requires (the module cache or the lockfile's modules), registered by a planner
# that sees only go.mod and go.sum: an edit of the program's own sources does not change its
# inputs, so it runs once per go.mod/go.sum and settings, and its output (a "go-deps" derivation
# depending on all of them, never built) is an input of the program's dyn planner, which then finds
# them valid instead of adding them again after every edit. It plans every package of those
# modules that `go list` loads without error (commands left out), a superset of what the program
# imports. An optimization only: if its planning fails, it says so in its log and registers
# nothing.
#
# Returns null (no such planner) without third-party modules (or with them in vendor/, which are
# sources), for a go.work workspace, and when `src` is not a plain path (a derivation's output:
# reading its go.mod would need import from derivation).
#
# Arguments:
#   args    the builder's arguments: `src`, `modRoot`
#   config  the program planner's configuration (godrv's `PlanConfig`)
{ toolchain, lib }:
args: config:
let
  # The go.mod and go.sum of modRoot (and the directories above them), nothing else.
  moduleFiles = lib.moduleFiles args;
in
if (config.modcache == null && config.lockedModules == null) || moduleFiles == null then
  null
else
  lib.dynPlanner lib.contract.depsPlanner (
    removeAttrs config [ "subPackages" "excludedPackages" "ldflags" ]
    // {
      deps = true;
      name = lib.contract.depsPlanner;
      src = "${moduleFiles}";
      # It loads every module once per go.mod/go.sum: it starts from GOROOT's index alone and
      # does not wait for go-modindex.
      goCacheSeed = "${lib.goIndex}";
      # The module cache by its output path only: its fixed-output derivation reads the whole
      # source (`go mod download` runs in it), so its .drv changes with every edit; named in
      # this planner's configuration, it would make the planner run again after every edit.
      modcache = if config.modcache == null then null else config.modcache // { drv = null; output = null; };
      check = { mode = null; flags = [ ]; };
    }
  ) { godrvStdPlan = lib.stdPlanner config; }
