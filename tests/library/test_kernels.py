"""Named kernels, kernels written as text or stored in files, and their validation."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

from digitzoo.errors import ImageError
from digitzoo.image import kernels as K
from digitzoo.image.kernels import (
    KERNELS,
    DESCRIPTIONS,
    KernelError,
    check_kernel,
    get_kernel,
    load_kernel,
    parse_kernel,
    resolve_kernel,
)

SOBEL = [[1, 0, -1], [2, 0, -2], [1, 0, -1]]


def test_the_tutorials_kernel_and_the_required_names():
    np.testing.assert_array_equal(KERNELS["vertical"], [[1, 0, -1], [1, 0, -1], [1, 0, -1]])
    required = {"vertical", "horizontal", "sobel-x", "sobel-y", "scharr-x", "scharr-y", "laplacian",
                "sharpen", "box-blur", "gaussian-blur", "emboss", "identity"}  # fmt: skip
    assert required <= set(KERNELS)
    assert set(DESCRIPTIONS) == set(KERNELS)


@pytest.mark.parametrize("name", list(KERNELS))
def test_every_named_kernel_is_valid_and_read_only(name):
    kernel = KERNELS[name]
    np.testing.assert_array_equal(check_kernel(kernel), kernel)
    assert kernel.dtype == np.float64
    with pytest.raises(ValueError):
        kernel[0, 0] = 7.0
    constant = getattr(K, name.upper().replace("-", "_"))
    assert constant is kernel


@pytest.mark.parametrize("name", ["box-blur", "gaussian-blur", "gaussian-blur-5", "sharpen", "identity", "emboss"])
def test_kernels_that_keep_brightness_sum_to_one(name):
    assert KERNELS[name].sum() == pytest.approx(1.0)


@pytest.mark.parametrize(
    "name", ["vertical", "horizontal", "sobel-x", "sobel-y", "scharr-x", "scharr-y", "laplacian", "laplacian-8"]
)
def test_edge_kernels_sum_to_zero_so_flat_areas_cancel(name):
    assert KERNELS[name].sum() == 0


def test_names_are_case_insensitive_and_typos_suggest_close_names():
    assert get_kernel("Sobel-X") is K.SOBEL_X
    with pytest.raises(KernelError) as info:
        get_kernel("sobelx")
    assert str(info.value) == "unknown kernel 'sobelx'; did you mean sobel-x, sobel-y?"
    with pytest.raises(KernelError) as info:
        get_kernel("zzz")
    assert str(info.value) == f"unknown kernel 'zzz'; the named kernels are {', '.join(K.KERNELS)}"
    assert issubclass(KernelError, ImageError)


@pytest.mark.parametrize(
    "text",
    [
        "1,0,-1;2,0,-2;1,0,-1",
        "1 0 -1; 2 0 -2; 1 0 -1",
        "1, 0, -1\n2, 0, -2\n1, 0, -1\n",
        "# sobel\n1 0 -1\n2 0 -2  # centre\n1 0 -1",
    ],
)
def test_parse_kernel_accepts_commas_spaces_semicolons_and_newlines(text):
    np.testing.assert_array_equal(parse_kernel(text), SOBEL)


def test_parse_kernel_any_odd_size_and_decimals():
    kernel = parse_kernel("0.5 -1.5e-1 2")
    assert kernel.shape == (1, 3)
    np.testing.assert_allclose(kernel, [[0.5, -0.15, 2.0]])
    assert parse_kernel("1,1,1,1,1;1,1,1,1,1;1,1,1,1,1").shape == (3, 5)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1,0,-1;2,0;1,0,-1", "kernel row 2 has 2 values, row 1 has 3"),
        ("1,2,3;4,5,6;7,8,9;1,1,1", "kernel must have odd height and width, got 4×3"),
        ("1,0;0,-1", "kernel must have odd height and width, got 2×2"),
        ("1,x,3", "kernel row 1: 'x' is not a number"),
        ("1,nan,3", "kernel contains NaN or infinite values"),
        (" ; ;", "kernel text has no numbers"),
    ],
)
def test_parse_kernel_errors_name_the_rule_and_the_value(text, message):
    with pytest.raises(KernelError) as info:
        parse_kernel(text)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("kernel", "message"),
    [
        (np.ones(3), "kernel must be 2-D, got shape (3,)"),
        (np.ones((3, 3, 1)), "kernel must be 2-D, got shape (3, 3, 1)"),
        (np.ones((0, 3)), "kernel is empty (0×3)"),
        (np.ones((3, 4)), "kernel must have odd height and width, got 3×4"),
        (np.ones((257, 3)), "kernel must be at most 255×255, got 257×3"),
        (np.array([[np.inf]]), "kernel contains NaN or infinite values"),
        (np.ones((3, 3), bool), "kernel must hold real numbers, got dtype bool"),
        (np.array([["a"]]), "kernel must hold real numbers, got dtype <U1"),
    ],
)
def test_check_kernel_errors(kernel, message):
    with pytest.raises(KernelError) as info:
        check_kernel(kernel)
    assert str(info.value) == message


def test_load_kernel_from_npy_and_text(tmp_path):
    np.save(tmp_path / "k.npy", np.array(SOBEL, dtype=np.int16))
    np.testing.assert_array_equal(load_kernel(tmp_path / "k.npy"), SOBEL)
    (tmp_path / "k.txt").write_text("1 0 -1\n2 0 -2\n1 0 -1\n")
    np.testing.assert_array_equal(load_kernel(tmp_path / "k.txt"), SOBEL)


def test_load_kernel_refuses_pickles_and_bad_files(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(KernelError, match=r"obj\.npy: cannot read a kernel \(.*allow_pickle=False"):
        load_kernel(tmp_path / "obj.npy")
    (tmp_path / "p.npy").write_bytes(pickle.dumps([[1.0]]))
    with pytest.raises(KernelError, match=r"p\.npy: cannot read a kernel"):
        load_kernel(tmp_path / "p.npy")
    np.save(tmp_path / "even.npy", np.ones((2, 2)))
    with pytest.raises(KernelError) as info:
        load_kernel(tmp_path / "even.npy")
    assert str(info.value) == f"{tmp_path / 'even.npy'}: kernel must have odd height and width, got 2×2"
    (tmp_path / "bad.txt").write_text("1 2\n3\n")
    with pytest.raises(KernelError) as info:
        load_kernel(tmp_path / "bad.txt")
    assert str(info.value) == f"{tmp_path / 'bad.txt'}: kernel row 2 has 1 values, row 1 has 2"
    with pytest.raises(KernelError) as info:
        load_kernel(tmp_path / "missing.npy")
    assert str(info.value) == f"{tmp_path / 'missing.npy'}: no such kernel file"


def test_resolve_kernel_names_matrices_and_files(tmp_path):
    label, kernel = resolve_kernel("Vertical")
    assert label == "vertical" and kernel is K.VERTICAL
    label, kernel = resolve_kernel("1,0,-1;2,0,-2;1,0,-1")
    assert label == "custom"
    np.testing.assert_array_equal(kernel, SOBEL)
    np.save(tmp_path / "my edge.npy", np.array(SOBEL))
    label, kernel = resolve_kernel(str(tmp_path / "my edge.npy"))
    assert label == "my-edge"
    np.testing.assert_array_equal(kernel, SOBEL)
    with pytest.raises(KernelError) as info:
        resolve_kernel(str(tmp_path / "none.npy"))
    assert str(info.value) == f"{tmp_path / 'none.npy'}: no such kernel file"
    with pytest.raises(KernelError) as info:
        resolve_kernel("lapalcian")
    assert str(info.value) == "unknown kernel 'lapalcian'; did you mean laplacian, laplacian-8?"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("1,0,a;2,0,-2;1,0,-1", "kernel row 1: 'a' is not a number"),
        ("1 0 -1; 2 0 -2; 1 0 one", "kernel row 3: 'one' is not a number"),
        ("-x", "kernel row 1: '-x' is not a number"),
        ("3x3", "kernel row 1: '3x3' is not a number"),
    ],
)
def test_a_matrix_with_a_typo_names_the_value_not_an_unknown_kernel(spec, message):
    with pytest.raises(KernelError) as info:
        resolve_kernel(spec)
    assert str(info.value) == message


def test_a_file_whose_name_looks_like_a_matrix_is_still_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "3x3,edge").write_text("1 0 -1\n1 0 -1\n1 0 -1\n")
    label, kernel = resolve_kernel("3x3,edge")
    assert label == "3x3-edge"
    np.testing.assert_array_equal(kernel, K.VERTICAL)


def test_weights_beyond_float32_are_refused_before_they_overflow():
    """Found by tests/library/test_image_fuzz.py: 3.4e38 became inf in float32 with a bare numpy warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(KernelError) as info:
            check_kernel(np.array([[3.40282357e38]]))
    assert str(info.value) == "kernel has weights beyond ±1e+30; scale it down"


def test_resolve_kernel_without_files_never_reads_one(tmp_path, monkeypatch):
    """What the web app asks: a client's text is a name or a matrix, never a file on the server."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "edge").write_text("1 0 -1\n1 0 -1\n1 0 -1\n")
    assert resolve_kernel("edge")[0] == "edge"
    for spec in ("edge", "missing.npy"):
        with pytest.raises(KernelError) as info:
            resolve_kernel(spec, files=False)
        assert str(info.value) == f"unknown kernel {spec!r}; the named kernels are {', '.join(K.KERNELS)}"
