// Command app is one module of a go.work workspace and imports the other (example.com/lib).
package main

import (
	"fmt"

	"example.com/lib"
)

func main() {
	fmt.Println(lib.Greeting())
}
