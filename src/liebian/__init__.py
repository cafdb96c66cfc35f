"""Liebian (裂变): an open-source social e-commerce engine."""

__version__ = "0.1.0"
