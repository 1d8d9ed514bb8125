// Package greeting says hello.
package greeting

// Hello returns the greeting.
//
// It is kept out of line so that its body is not part of the package's export data: editing
// the body then changes this package's link object only, and no importer recompiles (the
// early-cutoff test in tests/e2e edits it).
//
//go:noinline
func Hello() string {
	return "Hello, godrv"
}
