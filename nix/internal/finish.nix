# finish args drv: the builder's result: `drv` with `passthru` and `meta` (and the passthru
# attributes on the result itself, as mkDerivation does).
#
# Arguments:
#   args  the builder's arguments: `passthru`, `meta`
#   drv   the result derivation
{ toolchain, lib }:
args: drv: drv // { passthru = args.passthru or { }; meta = args.meta or { }; } // (args.passthru or { })
