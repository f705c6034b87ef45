"""Run folders, one module per job.

- :mod:`core.runs.layout`: the files a run folder holds, and saving them atomically.
- :mod:`core.runs.reading`: reading them back, every failure a one-line reason.
- :mod:`core.runs.checkpoints`: the per-epoch checkpoints a resume starts from.
- :mod:`core.runs.lock`: the lock held by the process training a run.
- :mod:`core.runs.catalogue`: a saved run read whole, and the listing of them all.
- :mod:`core.runs.resume`: whether and how far a saved run can be trained further.

Errors are :class:`core.errors.RunError`.
"""
