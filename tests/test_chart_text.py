"""sim.chart_text: labels in both languages and the check that Chinese can be drawn."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sim import chart_text
from sim.chart_text import LANGUAGES, indicator_name, language_context, require_language, text
from sim.errors import InputError
from sim.mechanisms.assessment import INDICATORS


def test_every_label_exists_in_both_languages() -> None:
    assert LANGUAGES == ("en", "zh")
    assert set(chart_text._TEXT["en"]) == set(chart_text._TEXT["zh"])
    for lang in LANGUAGES:
        for indicator in INDICATORS:
            assert indicator_name(indicator, lang) != indicator, (lang, indicator)  # each has a name


def test_text_formats_its_values() -> None:
    assert text("median", "en", n=64) == "median of 64 draws"
    assert text("median", "zh", n=64) == "64次抽樣的中位數"
    assert text("band", "en", width=90, lo=5, hi=95) == "90% of draws (5th–95th percentile)"
    assert indicator_name("not_an_indicator") == "not_an_indicator"


def test_require_language(monkeypatch: pytest.MonkeyPatch) -> None:
    assert require_language("en") is None
    with pytest.raises(InputError, match="unknown language 'fr'; valid: en, zh") as info:
        require_language("fr")
    assert info.value.key == "--lang"
    monkeypatch.setattr(chart_text, "cjk_font", lambda: None)
    with pytest.raises(InputError, match="fonts-noto-cjk"):
        require_language("zh")
    monkeypatch.setattr(chart_text, "cjk_font", lambda: "Some CJK Sans")
    assert require_language("zh") == "Some CJK Sans"


def test_language_context_sets_the_font_and_restores_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import matplotlib

    monkeypatch.setattr(chart_text, "cjk_font", lambda: "Some CJK Sans")
    before = list(matplotlib.rcParams["font.sans-serif"])
    with language_context("zh"):
        assert matplotlib.rcParams["font.sans-serif"][:2] == ["Some CJK Sans", "DejaVu Sans"]
        assert matplotlib.rcParams["axes.unicode_minus"] is False
    with language_context("en"):
        assert matplotlib.rcParams["svg.fonttype"] == "none"
    assert list(matplotlib.rcParams["font.sans-serif"]) == before


def test_importing_it_does_not_import_matplotlib() -> None:
    code = "import sys, sim.chart_text; print('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
