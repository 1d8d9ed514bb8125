// hello prints a greeting. Each Go package (this one and ./greeting) is its own derivation: an
// edit of greeting's function bodies recompiles greeting and relinks, nothing else.
package main

import (
	"fmt"

	"example.com/hello/greeting"
)

func main() {
	fmt.Println(greeting.Hello("Nix"))
}
