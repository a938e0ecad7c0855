"""`python -m bot` is the same as the `replica-bot` command."""

from bot.cli import main

main()
