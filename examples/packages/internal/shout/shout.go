// Package shout punctuates a greeting.
package shout

import "example.com/packages/internal/greeting"

// Greeting returns the greeting with an exclamation mark.
func Greeting() string {
	return greeting.Hello() + "!"
}
