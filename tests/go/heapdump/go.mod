module heapdumpprog

go 1.27
