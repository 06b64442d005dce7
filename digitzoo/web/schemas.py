"""The shapes of the API's answers, for the OpenAPI schema at ``/openapi.json``.

The routes return what :mod:`digitzoo.web.service` builds; these models describe it field by
field, so a client can be written from the schema alone.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = [
    "ErrorBody",
    "ModelEntry",
    "ModelsAnswer",
    "KernelEntry",
    "KernelsAnswer",
    "Alternative",
    "DigitAnswer",
    "PredictAnswer",
    "KernelUsed",
    "FilterAnswer",
    "ERRORS",
]


class ErrorBody(BaseModel):
    error: str = Field(description="what is wrong, in one line")


class ModelEntry(BaseModel):
    name: str
    description: str
    params: int = Field(description="number of weights")
    pretrained: bool = Field(description="digitzoo ships trained weights for it")
    test_accuracy: float | None = Field(description="the shipped weights' accuracy on MNIST's test set, 0–1")
    available: bool = Field(description="it reads digits here without training (shipped, or trained by the user)")
    loaded: bool = Field(description="it is in the server's memory already")
    problem: str | None = Field(
        default=None, description="why it cannot read digits here although it seems to (a damaged cache entry), or null"
    )


class ModelsAnswer(BaseModel):
    default: str = Field(description="the model /api/predict uses when none is named")
    models: list[ModelEntry]


class KernelEntry(BaseModel):
    name: str
    description: str
    matrix: list[list[float]]


class KernelsAnswer(BaseModel):
    kernels: list[KernelEntry]


class Alternative(BaseModel):
    digit: int
    p: float = Field(description="probability, 0–1")


class DigitAnswer(BaseModel):
    digit: int
    confidence: float
    top: list[Alternative] = Field(description="the likeliest digits, most likely first")
    probabilities: list[float] = Field(description="the ten probabilities, of digits 0 to 9")
    input: str = Field(description="the 28×28 image the model saw, as a PNG data URL")


class Reading(BaseModel):
    digits: str
    p: float = Field(description="joint probability: the product of the digits' probabilities")


class PredictAnswer(BaseModel):
    model: str
    digits: str = Field(description="the digits read, left to right")
    confidence: float = Field(description="the product of the digits' probabilities")
    row: bool = Field(description="the image was read as a row of digits")
    why: str = Field(description="why it was read as one digit or as a row")
    compared: dict[str, Reading] = Field(
        description="when the model chose between one digit and a row: each reading's digits and joint probability"
    )
    calibrated: bool = Field(description="the probabilities are calibrated (false: the model's own)")
    columns: int = Field(description="how many digits side by side the ink looks like")
    guesses: list[DigitAnswer] = Field(description="one per digit, left to right")


class KernelUsed(BaseModel):
    name: str | None = Field(description="the kernel's name, or null for a matrix that was typed")
    matrix: list[list[float]]


class FilterAnswer(BaseModel):
    kernel: KernelUsed
    original: str = Field(description="the image as filtered (gray, or colour with color), as a PNG data URL")
    filtered: str = Field(description="the response as a picture, as `digitzoo filter` writes it: a PNG data URL")
    width: int = Field(description="width of the image filtered, after shrinking")
    height: int
    scaled: bool = Field(description="the image was shrunk to 1024 pixels on its longer side first")
    mode: str
    border: str
    display: str


#: The error answers every image route may give, for ``responses=``.
ERRORS = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        400: "malformed JSON or multipart body (one cut before its closing boundary too), a bad data URL, an empty image",
        404: "unknown model",
        500: "the server's own fault (a damaged model or cache entry); details in the server's log, not here",
        409: "a model without trained weights here (a request never trains)",
        413: "the request body is over the server's limit",
        415: "neither multipart/form-data nor JSON, or a data URL of something else than an image",
        422: "not an image, no ink, an unknown kernel or a bad matrix, a bad option",
    }.items()
}
