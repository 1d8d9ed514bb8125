// Command dep uses two third-party modules from the local file GOPROXY (testdata/goproxy) and
// prints "HELLO, GODRV!".
package main

import (
	"fmt"

	"example.com/greet"
	"example.com/shout"
)

func main() {
	fmt.Println(shout.Shout(greet.Hello()))
}
