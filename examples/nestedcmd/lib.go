// Package lib is a library at the root of its repository; the command in cmd/nestedcmd is its
// own module, which replaces example.com/lib with ../../ (this directory).
package lib

import (
	"embed"
	"strings"
)

//go:embed assets
var assets embed.FS

// Greeting reads the greeting from the embedded assets directory.
func Greeting() string {
	hello, err := assets.ReadFile("assets/hello.txt")
	if err != nil {
		panic(err)
	}
	punct, err := assets.ReadFile("assets/sub/punct.txt")
	if err != nil {
		panic(err)
	}
	return strings.TrimSpace(string(hello)) + strings.TrimSpace(string(punct))
}
