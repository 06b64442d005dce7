"""A plugin that ends the program while it is imported (as a script's main() would)."""

import sys

sys.exit("zoo-exit gives up")
