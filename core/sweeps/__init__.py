"""Hyperparameter sweeps on Optuna: ``fmnist-tui sweep SPACE.toml``.

A sweep is an Optuna study; each trial is an ordinary run folder (resumable, listed with the
other runs, in TensorBoard) whose ``config.json`` names its study and trial number. The modules:

- :mod:`core.sweeps.space`: the space file (TOML) read and checked, each setting turned into
  an Optuna distribution, and a trial's parameters into a :class:`~core.config.TrainConfig`;
- :mod:`core.sweeps.storage`: where a study lives (a journal file in the runs folder, or
  PostgreSQL), its URL with the password hidden, and database errors as one line;
- :mod:`core.sweeps.heartbeats`: the storages with heartbeats, so that a worker killed
  mid-trial has its trial failed and retried by another;
- :mod:`core.sweeps.worker`: one worker process's loop and the objective;
- :mod:`core.sweeps.events`: what a worker reports to its front end;
- :mod:`core.sweeps.watch`: a read-only view of the studies for a front end to poll.

Optuna is imported only when a sweep runs or a study is watched, never by the modules the
command line's ``--help`` or the app's first frame import.
"""
