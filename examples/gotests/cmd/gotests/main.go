// gotests prints greet.Greet(); its packages have tests that doCheck runs.
package main

import (
	"fmt"

	"example.com/gotests/greet"
)

func main() { fmt.Println(greet.Greet()) }
