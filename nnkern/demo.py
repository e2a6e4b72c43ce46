"""The main job, ``python -m nnkern demo`` (filled in by the training issue)."""
import nnkern


def run_demo(args):
    nnkern.show_config()
    return 0
