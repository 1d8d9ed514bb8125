// modroot: the module is in sub/ of the source tree (modRoot = "sub").
package main

import "fmt"

func main() {
	fmt.Println("Hello, godrv! from sub")
}
