"""The embedded backend: Whoosh, pure Python, ``pip install`` only; the default.

``backend`` is the read side (live generation, per-thread searchers, the
shared NumPy ``ranker``); ``store`` writes (generations, the parallel segment
writer, add and delete); ``generations`` is the on-disk layout both share, and
``schema`` the fields. A reader never imports ``store``.
"""
