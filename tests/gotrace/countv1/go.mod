module countv1

go 1.23
