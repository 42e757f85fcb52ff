module pacerforced
go 1.27
