# godrv: the builders, every example, and testExamples.
#
#   nix-build -A testExamples --arg useDynDrv true     # dynamic derivations
#   nix-build -A testExamples --arg useDynDrv false    # import from derivation
#   nix-build -A examples.hello                        # one example
{
  pkgs ? null,
  toolchain ? null,
  # true: buildWithDynDrv; false: buildWithIFD.
  useDynDrv ? true,
}:
let
  godrv = import ./nix { inherit pkgs toolchain; };
  build = if useDynDrv then godrv.buildWithDynDrv else godrv.buildWithIFD;
  examples = import ./examples { inherit build; };
  inherit (godrv.toolchain) system;
in
{
  inherit (godrv) buildWithDynDrv buildWithIFD toolchain;
  examples = builtins.mapAttrs (_: e: e.drv) examples;

  # Runs every example's program and checks what it prints (godrv check: no shell needed).
  testExamples = derivation {
    name = "godrv-test-examples";
    inherit system;
    builder = "${godrv.toolchain.godrv}/bin/godrv";
    args = [ "check" ];
    godrvChecks = builtins.toJSON (
      builtins.attrValues (
        builtins.mapAttrs (name: e: {
          inherit name;
          program = "${e.drv}/bin/${e.check.program}";
          stdout = e.check.stdout;
          expectFailure = e.check.expectFailure or false;
        }) examples
      )
    );
  };
}
