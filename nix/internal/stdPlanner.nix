# stdPlanner config: the derivations of every std package for the settings that shape std's
# compile commands (toolchain, C compiler, addressing, tags, allowGoReference, env), registered
# once: its output (the .drv of a "go-std" derivation depending on all of them, never built) is an
# input of the program's dyn planner, so the std derivations are among that build's inputs and
# the planner need not add them again (inside recursive Nix every added path costs Nix a bind
# mount into the sandbox). An optimization only: a std derivation it lacks is added by the
# program's planner, and if `go build -n std` fails it says so in its log and registers nothing.
# "package" granularity's (std's group planner, stdGroupPlanner, is "module"'s); its configuration
# says so, since godrv's own default is "module".
#
# Arguments:
#   config  a program planner's configuration; only its std-shaping fields are used (stdConfig)
{ toolchain, lib }:
config:
lib.dynPlanner lib.contract.stdPlanner (lib.stdConfig config // { granularity = "package"; }) { }
