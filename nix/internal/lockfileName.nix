# lockfileName args: the file name of the lockfile `modules` (for messages: `godrv.lock`,
# `gomod2nix.toml`).
#
# Arguments: the builder's arguments; read here:
#   modules  the lockfile (a path)
{ toolchain, lib }:
args: baseNameOf (toString args.modules)
