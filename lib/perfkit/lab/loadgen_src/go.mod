module perfkit.local/loadgen

go 1.21
