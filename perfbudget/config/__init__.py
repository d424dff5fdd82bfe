"""What every front end is told by the user: the option declarations, their defaults and the default paths.

The bottom layer beside ``errors``: plain declarations with no import of
the rest of the package, so the ``pytest11`` entry point, Django's runner,
the CLI and the action's judging step can all read them cheaply.
"""
