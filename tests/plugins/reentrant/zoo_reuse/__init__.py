"""A plugin that reads the zoo while it is imported, to reuse a built-in recipe."""

from digitzoo import list_models, model_info, register_model

assert "mlp" in list_models()


@register_model(
    "mlp-reuse",
    description="The built-in mlp's recipe for a model of its own.",
    params=1,
    recipe=model_info("mlp").recipe,
    behaviour="underfits",
)
def mlp_reuse():
    raise AssertionError("never built")
