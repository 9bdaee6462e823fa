"""Command line: ``python -m reidlib ...`` (subcommands arrive with the training chapter)."""
from __future__ import annotations

import argparse

import reidlib


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="reidlib", description="Video person re-identification, the book's library.")
    p.add_argument("--version", action="version", version=f"reidlib {reidlib.__version__}")
    sub = p.add_subparsers(dest="command")
    sub.add_parser("info", help="print the version, the profile and the device")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "info":
        print(f"reidlib {reidlib.__version__}  profile={reidlib.profile()}  device={reidlib.device()}")
        return 0
    build_parser().print_help()
    return 0
