# _pool.pxi -- bindings for the pool kernels (filled by its issue).
