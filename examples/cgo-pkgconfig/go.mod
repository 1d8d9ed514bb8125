module example.com/cgopkgconfig

go 1.19
