//! Turn a go action graph into one derivation spec per action
