"""The compiled engine core: the cluster engine's whole event loop in numba (``run.run_core``).

The Python engine (``engine.py``, ``engine_loop.py``, the policies) stays the reference; the core does the
same things in the same order on arrays and gives byte-identical results (tests/test_engine_paths.py).
Imported only on the compiled path (extra ``dctwin[compiled]``).
"""
