module goruntime.bench

go 1.27
