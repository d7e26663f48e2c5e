"""The public face: ``import model`` is light, and every entry point is documented with runnable examples."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

import model


def test_import_model_pulls_in_no_engine():
    code = "import sys, model, model.units; print(sorted(m for m in sys.modules if m.startswith('model')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['model', 'model.units', 'model.version']"


@pytest.mark.parametrize("name", [n for n in model.__all__ if n != "__version__"])
def test_every_entry_point_resolves_and_has_numpydoc_sections(name):
    obj = getattr(model, name)
    assert name in dir(model)
    doc = inspect.getdoc(obj.write if name == "Report" else obj) or ""
    sections = ("Examples",) if name == "Estimate" else ("Parameters", "Returns", "Raises", "Examples")
    for section in sections:
        assert f"\n{section}\n---" in doc, (name, section)


def test_unknown_names_raise_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        model.nothing  # noqa: B018
