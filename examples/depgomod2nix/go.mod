module example.com/depgomod2nix

go 1.19

require (
	example.com/greet v1.0.0
	example.com/shout v0.2.0
)
