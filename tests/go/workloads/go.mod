module workloads

go 1.27
