# godrv as a flake. Nothing has to be fetched to evaluate `lib`, `overlays` and `templates`: the
# `nixpkgs` input defaults to an empty local flake (nix/no-nixpkgs). Give godrv your nixpkgs with
#
#   inputs.godrv.inputs.nixpkgs.follows = "nixpkgs";
#
# and `packages.<system>.godrv` (the godrv tool, nix/package.nix) appears for nixpkgs' systems.
{
  description = "godrv: build Go programs with Nix, one derivation per Go package of your own code";

  inputs.nixpkgs.url = "path:./nix/no-nixpkgs";

  outputs =
    { self, nixpkgs }:
    let
      hasNixpkgs = nixpkgs ? legacyPackages;
      systems = if hasNixpkgs then builtins.attrNames nixpkgs.legacyPackages else [ ];
      forSystems = f: builtins.listToAttrs (map (system: { name = system; value = f system; }) systems);
    in
    {
      # The builders (nix/default.nix): `godrv.lib { inherit pkgs; }` with nixpkgs, or
      # `godrv.lib { toolchain = { go; godrv; nix; cc; system; }; }` without it; `godrv.lib { }`
      # reads the toolchain from the JSON file named by $GODRV_TOOLCHAIN (needs --impure).
      # Returns { buildWithDynDrv, buildWithIFD, toolchain, goIndex }.
      lib = { pkgs ? null, toolchain ? null }: import ./nix { inherit pkgs toolchain; };

      # Adds `godrv` (the tool) and `godrvLib` (the builders, from this package set) to nixpkgs.
      overlays.default = final: _prev: {
        godrv = final.callPackage ./nix/package.nix { };
        godrvLib = import ./nix { pkgs = final; };
      };

      packages = forSystems (system: rec {
        godrv = nixpkgs.legacyPackages.${system}.callPackage ./nix/package.nix { };
        default = godrv;
      });

      templates = {
        default = self.templates.dyn;
        dyn = {
          path = ./templates/dyn;
          description = "A Go program built by godrv with dynamic derivations (buildWithDynDrv)";
        };
        ifd = {
          path = ./templates/ifd;
          description = "A Go program built by godrv with import-from-derivation (buildWithIFD)";
        };
      };
    };
}
