module example.com/cgozlib

go 1.19
