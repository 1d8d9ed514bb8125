# godrv: the builders, every example, and testExamples.
#
#   nix-build -A testExamples --arg useDynDrv true     # dynamic derivations
#   nix-build -A testExamples --arg useDynDrv false    # import from derivation
#   nix-build -A examples.hello                        # one example
#   nix-build -A testExamples --argstr granularity package  # every package its own derivation
{
  pkgs ? null,
  toolchain ? null,
  # true: buildWithDynDrv; false: buildWithIFD.
  useDynDrv ? true,
  # null: each example's own (the builders' default, "module"); "package" or "module": every
  # example built with that granularity.
  granularity ? null,
}:
let
  godrv = import ./nix { inherit pkgs toolchain; };
  builder = if useDynDrv then godrv.buildWithDynDrv else godrv.buildWithIFD;
  build = if granularity == null then builder else args: builder (args // { inherit granularity; });
  examples = import ./examples { inherit build system; };
  # Examples whose build must fail (a failing Go test): not in testExamples; tests/e2e checks them.
  buildFailures = builtins.filter (n: examples.${n}.buildFails or false) (builtins.attrNames examples);
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
    # An example's check is one check or a list (several programs); each runs `program` and
    # compares its stdout, or, with `startsWith`, only checks the file's first bytes (binaries
    # for another platform), or with `stdoutContains` that stdout contains it.
    godrvChecks = builtins.toJSON (
      builtins.concatLists (
        builtins.attrValues (
          builtins.mapAttrs (
            name: e:
            let
              checks = if builtins.isList e.check then e.check else [ e.check ];
            in
            map (c: {
              name = if builtins.length checks > 1 then "${name}/${c.program}" else name;
              program = "${e.drv}/bin/${c.program}";
              stdout = c.stdout or "";
              stdoutContains = c.stdoutContains or null;
              expectFailure = c.expectFailure or false;
              startsWith = c.startsWith or null;
            }) checks
          ) (builtins.removeAttrs examples buildFailures)
        )
      )
    );
  };
}
