// Package lib holds the message.
package lib

// Message is what cmd/hello prints.
const Message = "Hello, godrv!"
