// Package snap's tests compare with snapshots in snap/snapshots/, a subdirectory of the package
// that is not testdata/.
package snap

// Greeting is what the snapshot holds.
func Greeting() string { return "Hello, godrv" }
