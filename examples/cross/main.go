// cross: built for linux/arm64 and windows/amd64 (GOOS/GOARCH in env); not run by testExamples.
package main

import (
	"fmt"
	"runtime"
)

func main() {
	fmt.Println("Hello, godrv! " + runtime.GOOS + "/" + runtime.GOARCH)
}
