# godrv itself, built with nixpkgs' rustPlatform (only used when nixpkgs is given).
{ rustPlatform, lib }:
rustPlatform.buildRustPackage {
  pname = "godrv";
  version = "0.1.0";
  src = lib.cleanSource ./..;
  cargoLock.lockFile = ../Cargo.lock;
  cargoBuildFlags = [ "-p" "godrv" ];
  doCheck = false;
  # The builder of every per-package derivation: keep it free of runtime dependencies.
  RUSTFLAGS = "-C target-feature=+crt-static";
  meta.mainProgram = "godrv";
}
