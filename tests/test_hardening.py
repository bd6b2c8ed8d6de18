"""The public Voila app: a visitor reads no file and reaches no Jupyter API, and query parameters cannot
inject script or hang the server (issue 7, first part)."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from .conftest import REPO
from .servers import voila

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with voila(REPO / "notebooks" / "app.ipynb") as u:
        yield u.rstrip("/")


def get(url: str, timeout: float = 30) -> tuple[int, str, float]:
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace"), time.monotonic() - t0
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8", "replace"), time.monotonic() - t0


@pytest.mark.parametrize(
    "path",
    [
        "/voila/files/pyproject.toml",
        "/voila/files/../pyproject.toml",
        "/voila/files/%2e%2e/pyproject.toml",
        "/voila/files/notebooks/app.ipynb",
        "/voila/files/catalog/devices/nvidia-h100-sxm.toml",
        "/voila/files/notebooks/images/app.png",
        "/voila/static/../../pyproject.toml",
        "/api/kernels",
        "/api/sessions",
        "/api/contents",
        "/api/contents/pyproject.toml",
    ],
)
def test_no_file_and_no_jupyter_api_is_served(url: str, path: str) -> None:
    code, body, _ = get(url + path)
    assert code in (403, 404), (path, code)
    assert "[project]" not in body and '"cells"' not in body and "nvidia" not in body.lower()


def test_theme_parameter_cannot_inject_script(url: str) -> None:
    code, body, _ = get(url + "/?theme=%3Cscript%3Ealert(1)%3C/script%3E")
    assert code == 200
    assert "<script>alert(1)</script>" not in body and "alert(1)" not in body


def test_missing_template_parameter_does_not_hang(url: str) -> None:
    code, body, seconds = get(url + "/?template=no-such-template", timeout=60)
    assert code == 200 and seconds < 60
    assert "no-such-template" not in body


def test_sources_are_not_in_the_page(url: str) -> None:
    _, body, _ = get(url + "/")
    assert "explorer_app(" not in body and "get_query_string" not in body
