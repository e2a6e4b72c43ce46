"""Import path shared by the bench scripts (run.py, memprobe.py, the
pytest conftest): this folder first, then the checkout itself when it holds
an in-place build (otherwise the installed nnkern is used).  Importable
because a script's own folder, and a conftest's, is already on sys.path."""
import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
if glob.glob(os.path.join(ROOT, "nnkern", "_C*.so")) and ROOT not in sys.path:
    sys.path.insert(1, ROOT)
