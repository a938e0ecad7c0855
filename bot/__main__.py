"""`python -m bot` is the same as the `replica-bot` command."""

from bot.service.cli import main

main()
