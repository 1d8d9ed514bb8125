// Package words holds the words greet uses.
package words

// Greeting is the word a greeting starts with.
const Greeting = "Hello"

// Name is who is greeted.
const Name = "godrv"
