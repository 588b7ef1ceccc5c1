"""dctwin: an open digital twin of an AI datacenter."""

__version__ = "0.1.0"
