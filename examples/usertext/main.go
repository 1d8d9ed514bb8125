// usertext: text with `$` in it passes through godrv unchanged (issue 16): -X values that start
// like godrv's tokens ($OUTLOOK, $WORKDIR, $GOROOT) and an example whose output mentions them.
package main

import "fmt"

var (
	greeting = "unset"
	dir      = "unset"
	root     = "unset"
)

func show() string {
	return "Hello, godrv! " + greeting + " " + dir + " " + root
}

func main() {
	fmt.Println(show())
}
