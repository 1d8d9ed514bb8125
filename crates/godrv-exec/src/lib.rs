//! Replay one planned go action inside a Nix build, without a shell
