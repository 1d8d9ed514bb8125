package calc_test

import (
	"os"
	"testing"

	"example.com/gotests/calc"
)

func TestSumFile(t *testing.T) {
	b, err := os.ReadFile("testdata/input.txt")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := calc.Sum(string(b)); err != nil || n != 6 {
		t.Fatalf("Sum = %d, %v", n, err)
	}
}
