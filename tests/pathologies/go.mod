module perfkit.test/pathologies

go 1.21
