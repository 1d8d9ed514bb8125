module example.com/subpackage

go 1.19
