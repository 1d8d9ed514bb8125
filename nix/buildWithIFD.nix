# buildWithIFD: the same per-package derivations as buildWithDynDrv, for Nix without dynamic
# derivations. The plan is built by an ordinary derivation and imported at evaluation time
# (import from derivation); Nix then instantiates the per-package derivations with `derivation`,
# with the same attributes godrv writes in dyn mode, so both give the same .drv paths.
#
# Arguments: exactly those of buildWithDynDrv (see buildWithDynDrv.nix and nix/README.md).
{ toolchain, lib }:
args:
let
  args' = lib.checkArgs "buildWithIFD" args;
  planner = lib.planner "ifd" args' { };
  # The plan names the store paths of C inputs (pkg-config's -I/-L flags); readFile would give them
  # to every derivation as plain sources. They are inputs already (`buildInputs`, as derivation
  # outputs, as in dyn mode): drop the context so both modes give the same .drv.
  plan = builtins.fromJSON (builtins.unsafeDiscardStringContext (builtins.readFile planner));
in
lib.finish args' (lib.instantiate args' plan) // {
  inherit planner plan;
  goModules = lib.goModules args';
  # The test binaries ($out/bin/<pkg>.test), built and not run (a plan of their own).
  testBinaries =
    let
      testPlanner = lib.testPlanner "ifd" args';
    in
    lib.instantiate args' (builtins.fromJSON (builtins.readFile testPlanner)) // { planner = testPlanner; };
}
