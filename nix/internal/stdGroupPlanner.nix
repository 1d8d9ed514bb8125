# stdGroupPlanner mode config: granularity "module"'s std planner. It plans every std package for
# the settings that shape std (stdConfig), makes them the one std group derivation (go-stdlib)
# and, in dyn mode, registers it (under a top "go-std" derivation, never built). Its output, a
# JSON file with std's plan and that top .drv (a reference: the group's .drv is in its closure),
# is the program planner's `stdPlan`: the program's planner makes the same group from std's plan
# instead of running `go build -n std`, and the store reports its .drv valid, so it is not added
# again. One per toolchain, std-shaping settings and mode. If std's planning fails, the file says
# so and the program's planner plans std itself.
#
# Arguments:
#   mode    "dyn" or "ifd"
#   config  a program planner's configuration; only its std-shaping fields are used (stdConfig)
{ toolchain, lib }:
mode: config:
lib.common.planDerivation "go-stdlib-plan.json" (lib.stdConfig config // { granularity = "module"; }) (
  if mode == "dyn" then lib.common.floatingCA // lib.common.recursiveNix else { }
)
