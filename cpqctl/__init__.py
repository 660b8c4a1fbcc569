"""cpqctl: configure-price-quote and subscription contracts as code."""

__version__ = "0.1.0"
