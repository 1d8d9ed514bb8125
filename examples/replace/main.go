// Command replace builds with two replace directives: example.com/greet at another version
// (v1.0.0) and example.com/shout from the local directory ./shout. Prints
// "HELLO, GODRV! (local shout)".
package main

import (
	"fmt"

	"example.com/greet"
	"example.com/shout"
)

func main() {
	fmt.Println(shout.Shout(greet.Hello()))
}
