module tracecorpus

go 1.27
