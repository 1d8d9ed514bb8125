module example.com/deplock

go 1.19

require (
	example.com/greet v1.1.0
	example.com/shout v0.2.0
)
