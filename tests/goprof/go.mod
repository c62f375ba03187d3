module perfkit.test/goprof

go 1.21
