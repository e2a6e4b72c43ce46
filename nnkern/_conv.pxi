# _conv.pxi -- bindings for the conv kernels (filled by its issue).
