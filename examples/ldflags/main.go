// ldflags: main.version is set by the linker (`-X main.version=...`); prints it.
package main

import "fmt"

var version = "dev"

func main() {
	fmt.Println("Hello, godrv! version " + version)
}
