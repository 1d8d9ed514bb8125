//! Nix derivations as data: nixbase32, store paths, placeholders, JSON v4, ATerm, .drv paths
