"""Sub-commands of the perfbudget CLI, one module each (see cli.py)."""
