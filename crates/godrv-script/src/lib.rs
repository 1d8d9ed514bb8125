//! Parse `go build -n` scripts into a typed action graph
