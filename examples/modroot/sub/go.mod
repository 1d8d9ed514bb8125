module example.com/modroot

go 1.19
