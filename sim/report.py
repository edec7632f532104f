"""``edusim report``: one self-contained HTML page for a run.

The page holds plain-language statements of every target's probability (read from ``targets.csv``, so the
numbers are those of the run folder), traffic lights (green at or above ``green``, amber at or above ``amber``,
red below; grey when not computed), the fan charts and the target chart embedded as base64 PNG, the levers of
the resolved scenario (marked where they differ from the plan's defaults), the uncertainties with their
distributions and sources (``sim.parameters``, the registry behind ``docs/parameters.md``), and the provenance.
Nothing is loaded from the network: no external CSS, scripts or fonts.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from sim.chart_text import Lang
from sim.errors import InputError
from sim.rundir import RunFolder

__all__ = ["light", "render_report", "statement"]

_METRIC_WORDS: dict[str, tuple[str, str]] = {
    "share_counties_quality_balanced": ("of counties quality-balanced", "的縣實現優質均衡"),
    "quality_school_share": ("quality-school share", "優質學校佔比"),
    "quality_school_coverage": ("quality-school coverage of students", "優質學校覆蓋率"),
    "staffing_norm_met": ("of counties meeting the staffing norm", "的縣教職工編制達標"),
    "rural_pairing_coverage": ("of rural schools paired with a town school", "的鄉村學校有城鎮學校對口幫扶"),
    "consolidation_rate": ("consolidation rate", "鞏固率"),
    "special_education_coverage": ("of large counties with a special-education school", "的20萬人以上縣有特教學校"),
    "disabled_enrolment_rate": ("enrolment rate of disabled children", "殘疾兒童入學率"),
    "counselling_room_coverage": ("of urban and township-centre schools with a counselling room",
                                  "的城區及鄉鎮中心學校有心理輔導室"),
    "gigabit_coverage": ("of schools with gigabit broadband", "的學校千兆到校"),
    "standardised_school_share": ("of schools meeting the standards", "的學校達到標准化"),
}
_PREFIX_METRICS = {"share_counties_quality_balanced", "staffing_norm_met", "rural_pairing_coverage",
                   "special_education_coverage", "counselling_room_coverage", "gigabit_coverage",
                   "standardised_school_share"}
_SCOPE_WORDS = {"region": ("region", "全區"), "south": ("south", "南疆四地州"),
                "every_county": ("every county", "每個縣")}


def light(probability: float | None, green: float = 0.8, amber: float = 0.5) -> str:
    """``green``, ``amber``, ``red`` or ``grey`` (not computed)."""
    if probability is None or probability != probability:
        return "grey"
    return "green" if probability >= green else "amber" if probability >= amber else "red"


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def target_phrase(target: Any, lang: Lang = "en") -> str:
    """``≥40% of counties quality-balanced by 2027`` from a target's metric, comparison, threshold and year."""
    en, zh = _METRIC_WORDS.get(target.metric, (target.metric, target.metric))
    cmp = target.comparison.replace(">=", "≥").replace("<=", "≤").replace("==", "=")
    value = f"{100 * target.threshold:g}%"
    if lang == "en":
        core = f"{cmp}{value} {en}" if target.metric in _PREFIX_METRICS else f"{en} {cmp}{value}"
        when = f"by {target.year}" if target.year is not None else f"every year from {target.each_year_from}"
        return f"{core} {when}"
    when = f"到{target.year}年" if target.year is not None else f"{target.each_year_from}年起每年"
    core = f"{cmp}{value}{zh}" if target.metric in _PREFIX_METRICS else f"{zh}{cmp}{value}"
    return f"{when}{core}"


def statement(row: dict[str, str], target: Any | None, lang: Lang = "en") -> str:
    """"T1 (region), ≥40% of counties quality-balanced by 2027: 62% chance (95% interval 60–64%)"."""
    en_scope, zh_scope = _SCOPE_WORDS.get(row["scope"], (row["scope"], row["scope"]))
    phrase = target_phrase(target, lang) if target is not None else row.get("metric", "")
    if row["probability"] == "":
        reason = row.get("note", "")
        return (f"{row['target']} ({en_scope}), {phrase}: not computed ({reason})" if lang == "en"
                else f"{row['target']}({zh_scope}),{phrase}:未計算({reason})")
    p, lo, hi = (float(row[k]) for k in ("probability", "ci95_low", "ci95_high"))
    if lang == "en":
        return f"{row['target']} ({en_scope}), {phrase}: {_pct(p)} chance (95% interval {100 * lo:.0f}–{_pct(hi)})"
    return f"{row['target']}({zh_scope}),{phrase}:概率{_pct(p)}(95%區間{100 * lo:.0f}–{_pct(hi)})"


def _figure_png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _flatten(prefix: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, dict) and value and all(isinstance(k, str) for k in value):
        out = []
        for k, v in value.items():
            out += _flatten(f"{prefix}.{k}" if prefix else k, v)
        return out
    return [(prefix, value)]


def _lever_rows(resolved: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """(lever, value, default, changed) from the resolved scenario."""
    from sim.scenario import Levers

    defaults = dict(_flatten("levers", json.loads(Levers().model_dump_json())))
    rows = []
    for key, value in _flatten("levers", resolved.get("levers", {})):
        default = defaults.get(key)
        changed = default is not None and json.dumps(default, default=str) != json.dumps(_plain(value), default=str)
        rows.append((key, _show(value), "" if default is None else _show(default), changed))
    return rows


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _show(value: Any) -> str:
    return json.dumps(_plain(value), ensure_ascii=False, default=str)


_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;font-size:.9em;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .5em;
vertical-align:top;text-align:left}th{background:#f4f4f4}
.light{display:inline-block;width:.95em;height:.95em;border-radius:50%;margin-right:.4em;vertical-align:-.1em;
border:1px solid #0003}
.green{background:#2e8b57}.amber{background:#f0a202}.red{background:#c0392b}.grey{background:#aaa}
li.statement{list-style:none;margin:.3em 0}img{max-width:100%;height:auto;border:1px solid #eee;margin:.4em 0}
.changed{font-weight:bold;background:#fff6d5}.small{font-size:.85em;color:#555}code{font-size:.9em}
"""


def render_report(run: RunFolder, *, lang: Lang = "en", green: float = 0.8, amber: float = 0.5,
                  figures: bool = True) -> str:
    """The HTML page of ``run`` (see the module docstring)."""
    if not 0.0 <= amber <= green <= 1.0:
        raise InputError(f"need 0 ≤ amber ≤ green ≤ 1, got amber {amber} and green {green}", key="--green/--amber")
    from sim.parameters import PARAMETERS
    from sim.plots import SERIES, cv_figure, fan_figure, language_context, target_probability_chart

    zh = lang == "zh"
    esc = html.escape
    by_id = {t.id: t for t in run.targets}
    try:
        resolved = yaml.safe_load(run.resolved_yaml) or {}
    except yaml.YAMLError:
        resolved = {}
    parts: list[str] = []
    title = (f"edusim 報告:{run.name}" if zh else f"edusim report: {run.name}")
    parts.append(f"<h1>{esc(title)}</h1>")
    if resolved.get("description"):
        parts.append(f"<p>{esc(str(resolved['description']))}</p>")
    draws = run.provenance.get("draws", run.results.sizes["draw"])
    parts.append("<p class=small>" + esc(
        f"每個目標的達成概率:{draws}次蒙特卡洛抽樣中達成的比例,附95% Wilson區間。學校為按公開總數生成的合成名冊。"
        if zh else
        f"Probability of each target: the share of {draws} Monte Carlo draws that meet it, with the 95% Wilson "
        "interval. Schools are a synthetic registry matched to published totals.") + "</p>")

    # statements and lights
    parts.append(f"<h2>{'目標達成概率' if zh else 'Targets'}</h2>")
    parts.append("<p class=small>" + esc(
        f"綠:≥{_pct(green)};黃:{_pct(amber)}–{_pct(green)};紅:<{_pct(amber)};灰:未計算" if zh else
        f"green: ≥{_pct(green)}; amber: {_pct(amber)}–{_pct(green)}; red: <{_pct(amber)}; grey: not computed")
        + "</p><ul>")
    for row in run.rows:
        p = None if row["probability"] == "" else float(row["probability"])
        colour = light(p, green, amber)
        target = by_id.get(row["target"])
        wording = esc(target.zh if zh else target.en) if target is not None else ""
        parts.append(
            f'<li class="statement" data-target="{esc(row["target"])}" data-scope="{esc(row["scope"])}" '
            f'data-probability="{esc(row["probability"])}" data-ci95-low="{esc(row["ci95_low"])}" '
            f'data-ci95-high="{esc(row["ci95_high"])}" data-light="{colour}">'
            f'<span class="light {colour}" title="{colour}"></span>{esc(statement(row, target, lang))}'
            f'<br><span class=small>{wording}</span></li>')
    parts.append("</ul>")

    if figures:
        parts.append(f"<h2>{'圖表' if zh else 'Charts'}</h2>")
        years = run.results["year"].values
        with language_context(lang):
            figs = [target_probability_chart(run.rows, lang=lang).get_figure(root=True)]
            figs += [fan_figure(run.results, s.name, run.targets, lang) for s in SERIES]
            figs += [cv_figure(run.results, "region", lang)]
            for fig in figs:
                parts.append(f'<img alt="chart" src="data:image/png;base64,{_figure_png(fig)}">')
        parts.append("<p class=small>" + esc(
            f"陰影:5–95、10–90、25–75百分位;粗線:中位數;灰色背景:歷史年份({years[0]}–2024,原有政策)。" if zh else
            f"Bands: 5–95, 10–90 and 25–75 percentiles over draws; thick line: median; grey background: history "
            f"years ({years[0]}–2024, historical policy); diamonds and dashed lines: targets.") + "</p>")

    # levers
    parts.append(f"<h2>{'政策槓桿' if zh else 'Levers'}</h2>")
    parts.append("<p class=small>" + esc("粗體:與方案默認值不同。" if zh else
                                         "Bold: differs from the plan as written (the default).") + "</p>")
    parts.append("<table><tr><th>lever</th><th>value</th><th>default</th></tr>")
    for key, value, default, changed in _lever_rows(resolved):
        cls = ' class="changed"' if changed else ""
        parts.append(f"<tr{cls}><td><code>{esc(key)}</code></td><td>{esc(value)}</td><td>{esc(default)}</td></tr>")
    parts.append("</table>")

    # assumptions
    parts.append(f"<h2>{'主要假設及來源' if zh else 'Main assumptions and their sources'}</h2>")
    parts.append("<p class=small>" + esc(
        "不確定參數的分布(每次抽樣取值)及其來源;全表見 docs/parameters.md。" if zh else
        "Uncertain parameters (sampled per draw): distribution in this run and the source of the default; the full "
        "table is docs/parameters.md in the edusim repository.") + "</p>")
    parts.append("<table><tr><th>parameter</th><th>distribution</th><th>meaning</th><th>source</th></tr>")
    uncertainties = resolved.get("uncertainties", {}) if isinstance(resolved.get("uncertainties"), dict) else {}
    for name, param in PARAMETERS.items():
        dist = uncertainties.get(name, None)
        parts.append(f"<tr><td><code>{esc(name)}</code></td><td>{esc(_show(dist) if dist is not None else '')}"
                     f"</td><td>{esc(param.description)} ({esc(param.units)})</td><td>{esc(param.source)}</td></tr>")
    parts.append("</table>")

    # provenance
    parts.append(f"<h2>{'來源記錄' if zh else 'Provenance'}</h2><table>")
    for key, value in run.provenance.items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        parts.append(f"<tr><th>{esc(str(key))}</th><td><code>{esc(str(shown))}</code></td></tr>")
    parts.append(f"<tr><th>run folder</th><td><code>{esc(str(run.path))}</code></td></tr></table>")
    parts.append("<details><summary>scenario.resolved.yaml</summary><pre>" + esc(run.resolved_yaml)
                 + "</pre></details>")

    return ("<!DOCTYPE html>\n<html lang=\"" + ("zh-Hant" if zh else "en") + "\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>\n" + "\n".join(parts)
            + "\n</body></html>\n")


def write_report(run: RunFolder, out: Path, **options: Any) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(run, **options), encoding="utf-8")
    return out


def statements(run: RunFolder, lang: Lang = "en") -> Sequence[str]:
    by_id = {t.id: t for t in run.targets}
    return [statement(row, by_id.get(row["target"]), lang) for row in run.rows]
