"""The ``aura`` command line: commands, running jobs, what a person sees."""
