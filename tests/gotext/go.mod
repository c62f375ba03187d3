module perfkit.test/gotext

go 1.21
