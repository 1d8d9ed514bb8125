module example.com/usertext

go 1.22
