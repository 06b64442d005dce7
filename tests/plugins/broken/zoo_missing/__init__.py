"""A plugin whose entry point names a function it does not define (renamed to register)."""


def register():
    raise AssertionError("the entry point names register_models")
