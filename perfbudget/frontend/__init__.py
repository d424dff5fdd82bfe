"""What every front end shares above the recording: confirming timing suspects and finishing the run.

The pytest plugin, ``PerfBudgetRunner`` and the front ends to come drive
``collect.session.RecordingSession`` while tests run; after them, each calls
``finish.finish_run`` (read back, judge, reports, summary lines) and, where
it can rerun a test, ``confirm.confirm_suspects``. They hold no lifecycle
of their own and know nothing of pytest or unittest.
"""
