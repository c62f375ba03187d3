module perfkit.test/gotrace

go 1.22
