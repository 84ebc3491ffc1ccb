"""libgate: one secure front door to a public library service."""

__version__ = "0.1.0"
