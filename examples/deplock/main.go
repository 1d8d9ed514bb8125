// Command deplock uses two third-party modules pinned by godrv.lock (lockfile mode: one
// fixed-output derivation per module) from the local file GOPROXY (testdata/goproxy) and prints
// "HELLO, GODRV!".
package main

import (
	"fmt"

	"example.com/greet"
	"example.com/shout"
)

func main() {
	fmt.Println(shout.Shout(greet.Hello()))
}
