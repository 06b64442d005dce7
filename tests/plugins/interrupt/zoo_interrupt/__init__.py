"""A plugin whose import the user interrupts with Ctrl-C."""

raise KeyboardInterrupt
