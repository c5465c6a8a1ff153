"""The installed package's version, for result files and reports (``matchsim.__version__``)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("matchsim")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
