"""The run bundle, the contract between training and everything that uses a trained model:
its files (bundle/folder.py: weights, primers, vocabulary, config) and its config
(bundle/config.py: written by one function for every family, read through `RunConfig`)."""

from cadenza.bundle.config import RunConfig, bundle_config, library_versions
from cadenza.bundle.folder import Bundle, load_bundle, read_run_config, save_bundle

__all__ = [
    "Bundle",
    "RunConfig",
    "bundle_config",
    "library_versions",
    "load_bundle",
    "read_run_config",
    "save_bundle",
]
