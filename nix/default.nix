# godrv's Nix library: build Go programs with one derivation per Go package of your own
# code (the standard library and each third-party module: one each, by default).
#
# With nixpkgs:    import ./nix { inherit pkgs; }
# Without it:      import ./nix { toolchain = { go = …; godrv = …; nix = …; cc = …; system = …; }; }
#                  (or set GODRV_TOOLCHAIN to a JSON file with those keys, as vmtest/ does)
#
# Every function is documented in its own file and in nix/README.md.
{
  # nixpkgs, if you have it: supplies go, nix, the C compiler and godrv itself.
  pkgs ? null,
  # The toolchain when there is no nixpkgs: an attrset with `go` (a GOROOT with bin/go),
  # `godrv` (a prefix with bin/godrv), `nix` (a prefix with bin/nix), `cc` (a prefix with
  # bin/gcc, or null) and `system`. Defaults to the JSON file named by $GODRV_TOOLCHAIN.
  toolchain ? null,
}:
let
  toolchain' = import ./toolchain.nix { inherit pkgs toolchain; };
  # The library: one function per file, each documented at its top and called with the toolchain
  # and the library itself (`lib`). The public ones are in nix/, the others in nix/internal/.
  call = file: import file { toolchain = toolchain'; inherit lib; };
  lib = {
    # What the Nix library and godrv must agree on (plan version, planner names, module store
    # names, the fetchers' impureEnvVars), written once; godrv embeds the same file.
    contract = builtins.fromJSON (builtins.readFile ./contract.json);
    buildWithDynDrv = call ./buildWithDynDrv.nix;
    buildWithIFD = call ./buildWithIFD.nix;
    goIndex = call ./goIndex.nix;
    checkArgs = call ./internal/checkArgs.nix;
    checkNixVersion = call ./internal/checkNixVersion.nix;
    common = call ./internal/common.nix;
    depsPlanner = call ./internal/depsPlanner.nix;
    dynPlanner = call ./internal/dynPlanner.nix;
    fetchModule = call ./internal/fetchModule.nix;
    finish = call ./internal/finish.nix;
    goModIndex = call ./internal/goModIndex.nix;
    goModules = call ./internal/goModules.nix;
    instantiate = call ./internal/instantiate.nix;
    linkTree = call ./internal/linkTree.nix;
    lockedModules = call ./internal/lockedModules.nix;
    lockfileName = call ./internal/lockfileName.nix;
    moduleDirs = call ./internal/moduleDirs.nix;
    moduleFiles = call ./internal/moduleFiles.nix;
    planner = call ./internal/planner.nix;
    skeleton = call ./internal/skeleton.nix;
    sourceSets = call ./internal/sourceSets.nix;
    stdConfig = call ./internal/stdConfig.nix;
    stdGroupPlanner = call ./internal/stdGroupPlanner.nix;
    stdPlanner = call ./internal/stdPlanner.nix;
    testPlanner = call ./internal/testPlanner.nix;
    vendorModules = call ./internal/vendorModules.nix;
  };
in
{
  toolchain = toolchain';
  inherit (lib) goIndex buildWithDynDrv buildWithIFD;
}
