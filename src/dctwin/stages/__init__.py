"""A run as a chain of named stages, and the cache that lets a re-run redo only what changed.

``run_stages`` is the chain (read ``dctwin/stages/chain.py`` to see a whole run on one screen);
``StageCache(DIR)`` keeps each stage's result under a hash of exactly what it reads.
"""

from dctwin.stages.cache import NoCache, StageCache
from dctwin.stages.chain import run_stages

__all__ = ["NoCache", "StageCache", "run_stages"]
