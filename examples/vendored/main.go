// Command vendored uses two third-party modules from its own vendor/ directory (written by
// `go mod vendor`; vendorHash = null: no download) and prints "HELLO, GODRV!".
package main

import (
	"fmt"

	"example.com/greet"
	"example.com/shout"
)

func main() {
	fmt.Println(shout.Shout(greet.Hello()))
}
