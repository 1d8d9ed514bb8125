{
  description = "hello: a Go program built by godrv, one derivation per Go package of its own";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    # Where you get godrv from (a git URL or a local checkout: "path:/path/to/godrv").
    godrv.url = "git+file:///path/to/godrv";
    godrv.inputs.nixpkgs.follows = "nixpkgs";
  };

  outputs =
    { self, nixpkgs, godrv }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      forAllSystems = f: builtins.listToAttrs (map (system: { name = system; value = f system; }) systems);
      # With nixpkgs: its go, nix and C compiler. Without (a nixpkgs input with no package set):
      # the toolchain JSON file named by $GODRV_TOOLCHAIN, read with --impure.
      godrvFor = system: godrv.lib { pkgs = nixpkgs.legacyPackages.${system} or null; };
    in
    {
      packages = forAllSystems (system: {
        # import from derivation: the plan is built during evaluation, then Nix instantiates
        # one derivation per package of this module, one for std (any Nix with ca-derivations)
        default = (godrvFor system).buildWithIFD {
          pname = "hello";
          version = "0.1.0";
          src = ./.;
          # buildGoModule's arguments: subPackages, ldflags, tags, env.CGO_ENABLED, vendorHash, …
          ldflags = [ "-s" "-w" ];
          env.CGO_ENABLED = "0";
        };
      });
    };
}
