#!/usr/bin/env python3
"""Checks that the workspace's declared rust-version is what its dependency tree really needs.

No older toolchain can be installed on the project's machines, so the MSRV is verified from the
resolved tree instead: every package in Cargo.lock (through `cargo metadata --locked`) declares
the oldest Rust it builds with, and ours must be the greatest of those. A declared version
below it would promise users a toolchain the tree cannot build with; one above it would refuse
toolchains that work. Our own code's use of the standard library is checked against the same
declared version by clippy's `incompatible_msrv` lint (on by default, run with -D warnings).
"""

import json
import subprocess
import sys


def version(text):
    parts = [int(part) for part in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def main():
    metadata = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--locked"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    members = set(metadata["workspace_members"])
    ours = {p["rust_version"] for p in metadata["packages"] if p["id"] in members}
    if len(ours) != 1 or None in ours:
        sys.exit(f"msrv: workspace members declare {sorted(map(str, ours))}, want one rust-version")
    declared = ours.pop()
    needed = max(
        (
            (version(p["rust_version"]), p["name"], p["version"], p["rust_version"])
            for p in metadata["packages"]
            if p["id"] not in members and p.get("rust_version")
        ),
        default=None,
    )
    if needed is None:
        print(f"msrv: {declared} (no dependency declares one)")
        return
    _, name, pkg_version, needs = needed
    if version(declared) != needed[0]:
        sys.exit(
            f"msrv: the workspace declares rust-version {declared}, but the tree needs {needs} "
            f"({name} {pkg_version}); set [workspace.package] rust-version = \"{needs}\""
        )
    print(f"msrv: {declared}, as the tree needs ({name} {pkg_version})")


if __name__ == "__main__":
    main()
