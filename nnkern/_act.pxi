# _act.pxi -- bindings for the act kernels (filled by its issue).
