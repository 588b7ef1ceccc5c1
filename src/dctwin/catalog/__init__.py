"""Hardware catalog: GPU racks and servers, every number with its source."""

from dctwin.catalog.loader import get_platform, load_catalog, read_platform_file
from dctwin.catalog.platform import Platform, PowerPart

__all__ = ["Platform", "PowerPart", "load_catalog", "get_platform", "read_platform_file"]
