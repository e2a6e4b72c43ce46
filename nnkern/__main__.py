"""Command line: ``python -m nnkern {demo,config}``."""
import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m nnkern",
                                     description="nnkern command line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="run the main job: train and diagnose models on the digits data")
    demo.add_argument("--out", default="demo_out", help="directory for plots and summary.json")
    demo.add_argument("--threads", type=int, default=None, help="nnkern thread count")
    demo.add_argument("--quick", action="store_true", help="a short run (seconds)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--no-progress", action="store_true", help="hide progress bars")
    sub.add_parser("config", help="print the build and run-time configuration")
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    import nnkern
    if args.command == "config":
        nnkern.show_config()
        return 0
    if args.threads is not None:
        nnkern.set_num_threads(args.threads)
    from .demo import run_demo
    return run_demo(args)


if __name__ == "__main__":
    sys.exit(main())
