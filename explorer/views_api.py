"""The serverless APIs an LLM workload could be served by instead, as the page and the report show them.

``EvaluationResult.api_options`` (``explorer.model.custom``: kind "api", cheapest first) as one compact
table: the provider (and tier), the price per million input and output tokens, the total over the
horizon for the scenario's tokens, and what each offer cannot do, in a word whose tooltip is the offer's
own reason (your own weights, data residency, rate limits ...); an offer that cannot serve the scenario
says why in words. Another workload gets one line. HTML strings, no widgets: the controller
(``Explorer.update``) publishes it with the headline, and the report (``explorer.export``) includes it.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from . import fmt
from .model.custom import is_llm
from .views import TABLE_CSS

if TYPE_CHECKING:
    from .calc import EvaluationResult
    from .catalog import Catalog


#: What an API offer cannot do, in a word, and the words of its reasons (``explorer.model.custom``) that
#: say so; the cell's tooltip is the reason itself.
API_LIMITS = (
    ("your own weights", ("weights are not served", "does not run your model")),
    ("data residency", ("data residency",)),
    ("rate limits", ("rate limits",)),
    ("training", ("cannot run it",)),
    ("real-time answers", ("answers within hours",)),
)


def api_limits(reasons: Any) -> list[tuple[str, str]]:
    """(word, reason) for each thing an API offer's reasons say it cannot do, in `API_LIMITS` order."""
    out = []
    for word, phrases in API_LIMITS:
        said = next((r for r in reasons if any(p in r.lower() for p in phrases)), None)
        if said is not None:
            out.append((word, said))
    return out


def _serves_an_llm(r: EvaluationResult, cat: Catalog) -> bool:
    if r.custom_workload is not None:
        return is_llm(r.custom_workload)
    rows = cat.workloads[cat.workloads.id == r.scenario.workload]
    return bool(len(rows)) and is_llm(rows.iloc[0])


def api_options_html(r: EvaluationResult, cat: Catalog, *, style: bool = True) -> str:
    """The serverless APIs for an LLM workload, cheapest first: provider, price per million input and
    output tokens, the total over the horizon and what each cannot do; one line for another workload.

    ``style=False`` leaves out the table's style (``views.TABLE_CSS``), for a page that holds it once: a
    style element in HTML replaced on every slider move makes the browser restyle the whole page."""
    apis = list(r.api_options)
    if not apis:
        why = (
            "no catalogued API serves this model or one of its size"
            if _serves_an_llm(r, cat)
            else "not offered for this workload (APIs priced per token are catalogued for LLMs only)"
        )
        return (
            f"<p class='ax-apis ax-apis-none' style='font-size:13px;color:#555'>Serverless APIs: {why}.</p>"
        )
    s = r.scenario
    rec = r.recommendation
    first = apis[0]
    tokens = (
        f" at {fmt.count(first.input_tokens_per_request)} input and "
        f"{fmt.count(first.output_tokens_per_request)} output tokens per request"
        if first.input_tokens_per_request is not None and first.output_tokens_per_request is not None
        else ""
    )
    plan = f" The recommended plan: {fmt.usd(r.option(rec.device_id).tco_usd)}." if rec is not None else ""
    rows = []
    # the model each row serves, where the provider alone does not tell the rows apart or the model is
    # not yours ("DeepInfra" twice for your model: two different 70B Llamas)
    providers = [(o.provider, o.tier) for o in apis]
    name_models = bool(r.custom_workload) or len(set(providers)) < len(providers)
    for o in apis:
        model = (
            f"<br><span class='ax-unit'>{html.escape(o.model_id.rsplit('/', 1)[-1])}</span>"
            if name_models and o.model_id
            else ""
        )
        cannot = ", ".join(
            f"<span title='{html.escape(why, quote=True)}'>{html.escape(word)}</span>"
            for word, why in api_limits(o.reasons)
        )
        if not o.available:  # why, in words on the page: a reader should not have to hover for it
            why_not = f"<i>{html.escape(o.unavailable_reason or 'not available')}</i>"
            cannot = f"{why_not}; {cannot}" if cannot else why_not
        price_tip = html.escape(o.price_source, quote=True)
        rows.append(
            f"<tr data-api='{html.escape(o.device_id, quote=True)}'>"
            f"<td title='{html.escape(o.model_id, quote=True)}'>{html.escape(o.provider)}"
            f"{' (batch)' if o.tier == 'batch' else ''}{model}</td>"
            f"<td class='num' title='{price_tip}'>{fmt.usd(o.input_usd_per_mtoken)}</td>"
            f"<td class='num' title='{price_tip}'>{fmt.usd(o.output_usd_per_mtoken)}</td>"
            f"<td class='num'>{fmt.usd(o.tco_usd) if o.available else 'not available'}</td>"
            f"<td>{cannot}</td></tr>"
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "API",
            "per M input tokens",
            "per M output tokens",
            f"total, {html.escape(fmt.years(s.horizon_years))}",
            "cannot do",
        )
    )
    return (
        f"{TABLE_CSS if style else ''}"
        "<div class='ax-apis' style='font: 13px/1.4 system-ui, sans-serif; margin: 8px 0'>"
        f"<b>Serverless APIs</b>, priced per token{tokens}: no hardware to buy or rent and no porting, but "
        f"the provider's weights in the provider's regions (hover a cell for its source and reason).{plan}"
        f"<table class='ax-table'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )
