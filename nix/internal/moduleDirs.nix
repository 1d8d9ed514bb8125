# moduleDirs mode config: vendorHash mode's module directories. `godrv module-dirs` hashes every
# module directory of the module cache and, in dyn mode, adds each as its own source path (the
# path the planners would add, `gomod-<dir>`), once per module cache: its output (directory →
# path and NAR hash; a reference to each path) is the planners' `moduleDirs`, so after an edit a
# planner neither hashes nor adds a module's tree again. The module cache is named by its output
# path only (as in depsPlanner) and the derivation is content-addressed, so the new .drv of the
# module cache after an edit resolves to the same derivation and nothing runs again (in IFD mode
# with `contentAddressed = false`, where ca-derivations may be off, it is input-addressed and runs
# with every planner).
#
# Arguments:
#   mode    "dyn" or "ifd"
#   config  a program planner's configuration with a module cache: `modcache`, `nix`, `addressing`
{ toolchain, lib }:
let
  inherit (toolchain) godrv system;
in
mode: config:
derivation (
  {
    name = "go-module-dirs.json";
    inherit system;
    builder = "${godrv}/bin/godrv";
    args = [ "module-dirs" ];
    godrvModuleDirsConfig = builtins.toJSON {
      inherit mode;
      modcache = config.modcache.path;
      nix = config.nix;
    };
  }
  // (if mode == "dyn" || config.addressing == "content-addressed" then lib.common.floatingCA else { })
  // (if mode == "dyn" then lib.common.recursiveNix else { })
)
