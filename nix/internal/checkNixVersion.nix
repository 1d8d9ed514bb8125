# checkNixVersion fn version: true when `version` (the evaluating Nix's, builtins.nixVersion) is
# one buildWithDynDrv works with (builtins.outputOf, `nix derivation add` with JSON format 4),
# else an evaluation error naming it and the remedies.
#
# Arguments:
#   fn       the calling function's name, for messages
#   version  a Nix version string
{ toolchain, lib }:
let
  minimumNixVersion = "2.33";
in
fn: version:
builtins.compareVersions version minimumNixVersion >= 0
|| throw "godrv.${fn}: this Nix (${version}) is too old: dynamic derivations as godrv uses them need Nix >= ${minimumNixVersion} (nixpkgs: nixVersions.latest). Upgrade Nix, or use buildWithIFD, which works with any Nix that allows import from derivation."
