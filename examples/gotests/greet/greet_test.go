package greet_test

import (
	"testing"

	"example.com/gotests/greet"
)

func TestGreet(t *testing.T) {
	if greet.Greet() != "hello, godrv" {
		t.Fatal(greet.Greet())
	}
}
