"""A plugin that registers one good model, then one whose name is taken: all of it is skipped."""

from digitzoo import Recipe, register_model


@register_model("clash-ok", description="Would be fine alone.", params=1, recipe=Recipe(), behaviour="underfits")
def clash_ok():
    raise AssertionError("never built")


@register_model("mlp", description="Takes a built-in name.", params=1, recipe=Recipe(), behaviour="underfits")
def mlp():
    raise AssertionError("never built")
