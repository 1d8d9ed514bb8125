# testPlanner mode args: the planner of the test binaries only (the result's `.testBinaries`):
# `bin/<pkg>.test` of every package with test files, built and not run.
#
# Arguments:
#   mode  "dyn" or "ifd"
#   args  the builder's arguments (checked by checkArgs)
{ toolchain, lib }:
mode: args:
lib.planner mode args {
  name = "${lib.common.nameOf args}-test-binaries";
  check = { mode = "binaries"; flags = [ ]; };
}
