module godrv.test/authproxy

go 1.22
