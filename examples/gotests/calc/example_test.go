package calc_test

import (
	"fmt"

	"example.com/gotests/calc"
)

// An example with an Output comment: go test runs it and compares what it prints.
func ExampleSum() {
	n, _ := calc.Sum("40 2")
	fmt.Println(n)
	// Output: 42
}
