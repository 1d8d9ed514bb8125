module example.com/lib/cmd/nestedcmd

go 1.19

require example.com/lib v0.0.0

// The repository root is the library.
replace example.com/lib => ../../
