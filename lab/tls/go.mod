module perfkit.local/tlslab

go 1.22
