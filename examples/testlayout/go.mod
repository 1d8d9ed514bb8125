module example.com/testlayout

go 1.19
