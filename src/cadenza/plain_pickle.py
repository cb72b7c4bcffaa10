"""The one restricted unpickler, for the plain-data pickles that classic datasets come in.

A pickle can name any Python callable for the loader to call, which is how a malicious file
runs code. The policy here: resolve only the names that plain data needs, and refuse every
other name with its name. Allowed:

- numpy's `ndarray` and `dtype`, its array and scalar rebuilders (`_reconstruct`, `scalar`,
  under numpy 1's `numpy.core.multiarray` and numpy 2's `numpy._core.multiarray`): arrays,
  object arrays of arrays (the JSB `.npz`) and numpy numbers;
- `set` and `frozenset` (under Python 3's `builtins` and Python 2's `__builtin__`);
- `_codecs.encode`, with which Python 3 writes bytes into protocol 0-2 pickles.

None of these reads or writes a file or evaluates code (`codecs.encode` looks its codec up
among the installed codecs only); lists, tuples, dicts, numbers and strings need no names at
all. A crafted file can still be malformed (refused as damaged), but it cannot run code. One
policy serves every reader: the JSB chorales' `.npz` (music/jsb.py) and, after
--allow-pickle, the frame datasets' pickles (corpus/frame_datasets.py).
"""

from __future__ import annotations

import codecs
import pickle
from typing import IO

import numpy as np

from cadenza.errors import CadenzaError


def _allowed_names() -> dict[tuple[str, str], object]:
    """The names plain data needs, under numpy 1 and numpy 2 module names and Python 2's."""
    rebuild_array = np.zeros(1).__reduce__()[0]  # numpy's own, whatever its module path
    rebuild_scalar = np.float64(0).__reduce__()[0]
    allowed: dict[tuple[str, str], object] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(module, "_reconstruct")] = rebuild_array
        allowed[(module, "scalar")] = rebuild_scalar
    # Python 3 writes bytes into protocol 0-2 pickles as _codecs.encode(text, "latin1").
    allowed[("_codecs", "encode")] = codecs.encode
    for module in ("builtins", "__builtin__"):
        allowed[(module, "set")] = set
        allowed[(module, "frozenset")] = frozenset
    return allowed


class PlainDataUnpickler(pickle.Unpickler):
    """Loads lists, tuples, dicts, numbers, strings, sets and numpy arrays; nothing else."""

    allowed = _allowed_names()

    def find_class(self, module: str, name: str) -> object:
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refused to load {module}.{name}") from None


def load_plain_pickle(handle: IO[bytes], where: str) -> object:
    """Unpickle plain data from `handle`; Python 2 pickles (the original files) included."""
    try:
        # latin1: how Python 2 byte strings inside numpy arrays must be read back
        return PlainDataUnpickler(handle, encoding="latin1").load()
    except pickle.UnpicklingError as error:
        raise CadenzaError(f"{where}: not a plain-data pickle ({error})") from None
    except (EOFError, ValueError, TypeError, AttributeError, IndexError) as error:
        raise CadenzaError(f"{where}: a damaged pickle ({type(error).__name__}: {error})") from None
