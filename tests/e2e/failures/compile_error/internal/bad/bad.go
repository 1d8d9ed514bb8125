// Package bad does not compile: line 6 returns a string from an int function.
package bad

// Answer is the answer.
func Answer() int {
	return "forty-two"
}
