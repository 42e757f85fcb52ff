module tracer

go 1.27
