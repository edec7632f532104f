"""Words and fonts of the charts: labels in English and Chinese, and a font that draws Chinese.

:func:`text` and :func:`indicator_name` give a chart's labels in ``lang`` (``en`` or ``zh``). Chinese labels need a
font covering CJK characters; :func:`require_language` checks with ``matplotlib.font_manager`` and fails with what
to install when there is none, so a chart never shows boxes in place of characters; :func:`language_context`
sets that font for the charts drawn inside it. matplotlib is imported only by these two functions and
:func:`cjk_font`, so ``edusim`` can check ``--lang`` and build its parser without loading it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any, Literal

from sim.errors import InputError

__all__ = ["CJK_INSTALL_HINT", "LANGUAGES", "Lang", "cjk_font", "indicator_name", "language_context",
           "require_language", "text"]

Lang = Literal["en", "zh"]
LANGUAGES: tuple[str, ...] = ("en", "zh")

#: Font families known to cover CJK (checked by coverage too, so the list only orders the search).
CJK_FAMILIES = (
    "Noto Sans CJK SC", "Noto Sans CJK TC", "Noto Sans CJK JP", "Noto Serif CJK SC", "Source Han Sans SC",
    "Source Han Sans TC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Droid Sans Fallback", "AR PL UMing TW",
    "AR PL UKai TW", "SimHei", "Microsoft YaHei", "PingFang SC", "Heiti TC", "Hiragino Sans GB",
)
#: Characters a CJK font must cover (from our labels, traditional and simplified forms).
_CJK_PROBE = "優質均衡縣學校教師編制概率區间間"

#: What to install when no CJK font is found.
CJK_INSTALL_HINT = (
    "install a font covering Chinese, e.g. on Debian/Ubuntu `apt-get install fonts-noto-cjk` (or "
    "fonts-wqy-zenhei), then remove matplotlib's font cache (~/.cache/matplotlib) and try again; "
    "or use --lang en"
)



# ---------------------------------------------------------------------------------------------------------
# Words


_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "region": "Region (all counties)",
        "south": "South (four southern prefectures)",
        "year": "school year",
        "median": "median of {n} draws",
        "band": "{width:.0f}% of draws ({lo:g}th–{hi:g}th percentile)",
        "history": "history (to {last}, historical policy)",
        "target": "{id}: {cmp} {value} in {year}",
        "target_each": "{id}: {cmp} {value} every year from {year}",
        "cv_limit": "CV limit {value:g}",
        "probability": "probability of reaching the target",
        "target_chart": "Probability of reaching each target (95% interval)",
        "not_computed": "not computed",
        "primary": "primary",
        "junior": "junior",
        "difference": "{b} minus {a} (same draws)",
        "zero": "no difference",
        "cv_title": "County coefficient of variation of each indicator: median over counties ({area})",
    },
    "zh": {
        "region": "全區(所有縣)",
        "south": "南疆四地州",
        "year": "學年",
        "median": "{n}次抽樣的中位數",
        "band": "{width:.0f}%的抽樣(第{lo:g}–{hi:g}百分位)",
        "history": "歷史年份(至{last}年,原有政策)",
        "target": "{id}:{year}年{cmp}{value}",
        "target_each": "{id}:{year}年起每年{cmp}{value}",
        "cv_limit": "差異系數上限{value:g}",
        "probability": "達成目標的概率",
        "target_chart": "各目標達成概率(95%區間)",
        "not_computed": "未計算",
        "primary": "小學",
        "junior": "初中",
        "difference": "{b}減{a}(同一抽樣)",
        "zero": "無差異",
        "cv_title": "各指標縣內校際差異系數:各縣中位數({area})",
    },
}

_INDICATOR_NAMES: dict[str, dict[str, str]] = {
    "en": {
        "qualified_teachers_per_100": "qualified teachers /100 pupils",
        "backbone_teachers_per_100": "backbone teachers /100 pupils",
        "pe_art_teachers_per_100": "PE and art teachers /100 pupils",
        "floor_area_m2_per_student": "floor area m² /pupil",
        "sports_area_m2_per_student": "sports ground m² /pupil",
        "equipment_cny_per_student": "equipment CNY /pupil",
        "multimedia_rooms_per_100": "multimedia rooms /100 pupils",
    },
    "zh": {
        "qualified_teachers_per_100": "高於規定學歷教師數",
        "backbone_teachers_per_100": "縣級以上骨幹教師數",
        "pe_art_teachers_per_100": "體育、藝術專任教師數",
        "floor_area_m2_per_student": "生均教學及輔助用房面積",
        "sports_area_m2_per_student": "生均體育運動場館面積",
        "equipment_cny_per_student": "生均教學儀器設備值",
        "multimedia_rooms_per_100": "網絡多媒體教室數",
    },
}


def text(key: str, lang: Lang = "en", **values: Any) -> str:
    """A label in ``lang``, formatted with ``values``."""
    return _TEXT[lang][key].format(**values)


def indicator_name(indicator: str, lang: Lang = "en") -> str:
    return _INDICATOR_NAMES[lang].get(indicator, indicator)



# ---------------------------------------------------------------------------------------------------------
# Fonts


def cjk_font() -> str | None:
    """The family name of an installed font that covers Chinese characters, or ``None``."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    fonts = list(font_manager.fontManager.ttflist)
    ranked = sorted(fonts, key=lambda f: (f.name not in CJK_FAMILIES, "CJK" not in f.name, f.name))
    probe = [ord(c) for c in _CJK_PROBE]
    for font in ranked:
        if font.name not in CJK_FAMILIES and not any(k in font.name for k in ("CJK", "Han", "Hei", "Ming", "Song",
                                                                                 "Kai", "Fallback", "Gothic")):
            continue
        try:
            charmap = FT2Font(font.fname).get_charmap()
        except (OSError, RuntimeError, ValueError):
            continue
        if all(c in charmap for c in probe):
            return str(font.name)
    return None


def require_language(lang: str) -> str | None:
    """Check that ``lang`` can be drawn; return the CJK font family for ``zh`` (``None`` for ``en``).

    Raises
    ------
    InputError
        For an unknown language, or for ``zh`` when no installed font covers Chinese (naming what to install).
    """
    if lang not in LANGUAGES:
        raise InputError(f"unknown language {lang!r}; valid: {', '.join(LANGUAGES)}", key="--lang")
    if lang == "en":
        return None
    font = cjk_font()
    if font is None:
        raise InputError(f"no font covering Chinese characters is installed; {CJK_INSTALL_HINT}", key="--lang")
    return font


@contextlib.contextmanager
def language_context(lang: Lang) -> Iterator[None]:
    """Matplotlib settings for ``lang``: a CJK font family first (with DejaVu Sans as fallback) for ``zh``."""
    import matplotlib

    if lang == "zh":
        font = require_language("zh")
        # CJK collections often ship one weight; matplotlib logs each substitution ("findfont: …") otherwise
        logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
        with matplotlib.rc_context({"font.family": "sans-serif", "font.sans-serif": [font, "DejaVu Sans"],
                                    "axes.unicode_minus": False, "svg.fonttype": "path"}):
            yield
    else:
        with matplotlib.rc_context({"svg.fonttype": "none"}):  # Latin text stays text: smaller, faster
            yield
