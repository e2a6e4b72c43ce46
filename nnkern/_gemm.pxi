# _gemm.pxi -- bindings for the gemm kernels (filled by its issue).
