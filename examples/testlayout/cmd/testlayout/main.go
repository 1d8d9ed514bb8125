// testlayout: tests that read files beyond their package's own files and testdata/.
package main

import (
	"fmt"

	"example.com/testlayout/reader"
	"example.com/testlayout/snap"
)

func main() {
	fmt.Println(snap.Greeting() + reader.Punct())
}
