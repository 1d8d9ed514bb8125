# The default of godrv's `nixpkgs` input: a flake with no outputs, so that godrv's flake evaluates
# offline and pins no nixpkgs. Give godrv your nixpkgs to get `packages.<system>.godrv`:
#
#   inputs.godrv.inputs.nixpkgs.follows = "nixpkgs";
{
  description = "No nixpkgs: godrv's flake without a package set (lib and templates only)";
  outputs = _: { };
}
