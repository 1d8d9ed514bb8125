// Package greeting makes greetings.
package greeting

// Hello greets name.
func Hello(name string) string {
	return "Hello, " + name + "!"
}
