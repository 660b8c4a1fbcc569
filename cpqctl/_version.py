"""The version, in a leaf module: what the parse cache and `--version` read without importing the API."""

__version__ = "0.1.0"
