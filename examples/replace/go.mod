module example.com/replace

go 1.19

require (
	example.com/greet v1.1.0
	example.com/shout v0.2.0
)

// Another version of a module: greet v1.0.0 is downloaded instead of v1.1.0.
replace example.com/greet => example.com/greet v1.0.0

// A local directory inside the source: shout is built from ./shout, not downloaded.
replace example.com/shout => ./shout
