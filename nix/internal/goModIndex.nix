# goModIndex args modcache: goIndex plus go's own index of the module cache's modules
# (`godrv go-mod-index`), the program planners' GOCACHE seed. go indexes a whole module of the
# module cache the first time it loads a package of it and keys that index by the go version and
# the module's directory alone (module cache trees do not change), so the program's planners,
# which see the same module cache at the same store path, read every module from it instead of
# reading and parsing all its files (docs/profile.md). It sees only go.mod and go.sum
# (moduleFiles) and the module cache's output path, which an edit of the program does not change
# (a fixed output), so it is built once per go.mod/go.sum. No package derivation depends on it.
#
# With content addressing (the default), it does not see go.mod itself but `key`: a small
# content-addressed derivation (`godrv go-mod-index-key`) whose output is go.mod with its module
# path replaced by a fixed one (`go mod edit -module`), and go.sum. Which modules go indexes (the
# build list) and how (by go version and module directory) do not depend on the main module's
# path, so after a rename of the module Nix builds `key` again, finds its output as it was, and
# resolves go-modindex to the derivation it built before: nothing else is built (e2e
# `module_rename_rebuilds_no_modindex`). With input addressing (contentAddressed = false, which
# needs no ca-derivations) go-modindex reads go.mod directly, as before.
#
# Returns null in lockfile mode (the planner assembles that module cache in its scratch
# directory, a new path every run), without third-party modules, and when moduleFiles is null (a
# go.work workspace, a `src` that is a derivation's output): the planners then start from
# goIndex.
#
# Arguments:
#   args      the builder's arguments: `src`, `modRoot`, `contentAddressed`
#   modcache  the vendorHash module cache (vendorModules args), or null
{ toolchain, lib }:
args: modcache:
let
  inherit (toolchain) go godrv system;
  files = lib.moduleFiles args;
  modRoot = args.modRoot or "";
  # The directory of go.mod and go.sum.
  moduleDir = if modRoot == "" then "${files}" else "${files}/${modRoot}";
  key = derivation (
    {
      name = "go-modindex-key";
      inherit system;
      builder = "${godrv}/bin/godrv";
      args = [ "go-mod-index-key" ];
      go = "${go}";
      src = moduleDir;
    }
    // lib.common.floatingCA
  );
in
if modcache == null || files == null then
  null
else
  derivation {
    name = "go-modindex";
    inherit system;
    builder = "${godrv}/bin/godrv";
    args = [ "go-mod-index" ];
    go = "${go}";
    seed = "${lib.goIndex}";
    # The directory of go.mod and go.sum.
    src = if lib.common.addressing args == "content-addressed" then "${key}" else moduleDir;
    modcache = "${modcache}";
  }
