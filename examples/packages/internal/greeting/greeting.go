// Package greeting says hello.
package greeting

// Hello returns the greeting.
func Hello() string {
	return "Hello, godrv"
}
