// Package calc sums numbers. Tests: calc_test.go (internal, package calc), calc_ext_test.go
// (external, package calc_test, reads testdata/input.txt), example_test.go (an Example).
package calc

import (
	"strconv"
	"strings"
)

// Sum adds the space-separated integers in s.
func Sum(s string) (int, error) {
	t := 0
	for _, f := range strings.Fields(s) {
		n, err := strconv.Atoi(f)
		if err != nil {
			return 0, err
		}
		t += n
	}
	return t, nil
}

func double(n int) int { return 2 * n }
