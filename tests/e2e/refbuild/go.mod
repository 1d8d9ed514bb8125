module godrv.test/refbuild

go 1.19
