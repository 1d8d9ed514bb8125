// Package greet: an external test (package greet_test); imports words.
package greet

import "example.com/gotests/words"

func Greet() string { return words.Hello() + ", godrv" }
