// Package greet says hello.
package greet

import "example.com/greet/internal/words"

// Hello returns "Hello, godrv!".
func Hello() string {
	return words.Greeting + ", " + words.Name + "!"
}
