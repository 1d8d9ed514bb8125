// The program lives in cmd/hello; built with subPackages = [ "cmd/hello" ].
package main

import (
	"fmt"

	"example.com/subpackage/lib"
)

func main() {
	fmt.Println(lib.Message)
}
