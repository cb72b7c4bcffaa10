"""The run bundle, the contract between training and everything that uses a trained model:
weights, primers, vocabulary and config, written and checked in bundle/folder.py."""

from cadenza.bundle.folder import (
    Bundle,
    library_versions,
    load_bundle,
    read_run_config,
    save_bundle,
)

__all__ = ["Bundle", "library_versions", "load_bundle", "read_run_config", "save_bundle"]
