#!/usr/bin/env python3
"""python-tuf's ngclient doing what `update-client download` does: refresh, find one
target through the delegations, download and verify it.

Usage: ngclient_download.py METADATA_DIR METADATA_URL TARGETS_URL TARGET TARGET_DIR
METADATA_DIR must hold the trusted root.json.
"""
import sys

from tuf.ngclient import Updater, UpdaterConfig


def main():
    metadata_dir, metadata_url, targets_url, target, target_dir = sys.argv[1:6]
    config = UpdaterConfig(targets_max_length=1 << 30, snapshot_max_length=1 << 30)
    updater = Updater(metadata_dir, metadata_url, target_dir, targets_url, config=config, bootstrap=None)
    updater.refresh()
    info = updater.get_targetinfo(target)
    if info is None:
        sys.exit(f"{target}: not found")
    updater.download_target(info)


if __name__ == "__main__":
    main()
