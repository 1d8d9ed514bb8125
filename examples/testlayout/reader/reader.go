// Package reader's tests read ../testdata/, the module's shared test data outside the package
// directory: they need checkData."example.com/testlayout/reader" = [ "testdata" ].
package reader

// Punct ends the greeting.
func Punct() string { return "! tests see their files" }
