// packages: a main package and two local packages, one importing the other.
package main

import (
	"fmt"

	"example.com/packages/internal/shout"
)

func main() {
	fmt.Println(shout.Greeting())
}
