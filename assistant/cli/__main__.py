"""`python -m assistant.cli`: the `assistant` command without the installed script."""

from assistant.cli import main

main()
