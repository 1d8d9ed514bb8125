module example.com/lib

go 1.19

require example.com/shout v0.2.0
