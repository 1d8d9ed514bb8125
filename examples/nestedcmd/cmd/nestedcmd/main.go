// nestedcmd: a command in its own module (cmd/nestedcmd/go.mod) that uses the library at the
// repository root through `replace example.com/lib => ../../` (built with modRoot = "cmd/nestedcmd").
package main

import (
	"fmt"

	"example.com/lib"
)

func main() {
	fmt.Println(lib.Greeting())
}
