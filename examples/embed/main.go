// embed: go:embed of a file and of a directory with a subdirectory.
package main

import (
	"embed"
	"fmt"
	"strings"
)

//go:embed greeting.txt
var greeting string

//go:embed static
var static embed.FS

func main() {
	punct, err := static.ReadFile("static/sub/punct.txt")
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.TrimSpace(greeting) + strings.TrimSpace(string(punct)))
}
