module traceshapes

go 1.27
