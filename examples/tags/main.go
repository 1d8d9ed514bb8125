// tags: which file defines tag() depends on the build tag foo (built with tags = [ "foo" ]).
package main

import "fmt"

func main() {
	fmt.Println("Hello, godrv! tag " + tag())
}
