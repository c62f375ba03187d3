module perfkit.test/tlsgen

go 1.26
