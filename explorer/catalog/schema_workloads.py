"""The schema of the workloads, the serverless APIs, the measured results and the market checks."""

from __future__ import annotations

from typing import Any

from .validator import (
    ID_PATTERN,
    POWER_EXTRA,
    RESULT_COMPUTE_PRECISIONS,
    STORAGE_PRECISIONS,
    Issue,
    Quantity,
    Text,
    Validator,
)

WORKLOAD_FIELDS: dict[str, Quantity | Text] = {
    "name": Text("Workload name"),
    "task": Text("The task, e.g. image classification"),
    "model": Text("The model and its version"),
    "request": Text("What one request is, in plain words"),
    "precision": Text("Precision it is usually served at"),
    "mlperf": Text("The MLPerf Inference benchmark one request matches, if any", required=False),
    "notes": Text("Free text for reviewers", required=False),
    "parameters": Quantity("Model parameters", "count", "count", (1e3, 1e13)),
    "compute_per_request": Quantity("Compute per request", "work", "GFLOP", (1e-3, 1e9)),
    "memory_traffic_per_request": Quantity("Memory traffic per request", "bytes", "MB", (1e-3, 1e9)),
    "activations_per_request": Quantity(
        "Activation elements one request writes (every layer's output), for the on-chip fit test; optional",
        "count",
        "count",
        (1, 1e13),
        False,
    ),
    "peak_activations_per_request": Quantity(
        "Most activation elements one request holds at once (a layer's input and output, plus any input "
        "kept for a later residual add), for the partial on-chip reuse test; optional",
        "count",
        "count",
        (1, 1e13),
        False,
    ),
    "input_tokens_per_request": Quantity(
        "Input tokens per request (LLMs)", "count", "count", (1, 1e7), False
    ),
    "output_tokens_per_request": Quantity(
        "Output tokens per request (LLMs)", "count", "count", (1, 1e7), False
    ),
    # An LLM's architecture, for the serving model (explorer.model.serving): optional for other workloads.
    "active_parameters": Quantity(
        "Parameters one token runs through (LLMs; a mixture of experts' active experts, equal to the "
        "parameters for a dense model); optional: the parameters where omitted",
        "count",
        "count",
        (1e3, 1e13),
        False,
    ),
    "layers": Quantity("Transformer layers (LLMs: num_hidden_layers)", "count", "count", (1, 10_000), False),
    "attention_heads": Quantity(
        "Query heads per layer (LLMs: num_attention_heads)", "count", "count", (1, 10_000), False
    ),
    "kv_heads": Quantity(
        "Key-value heads per layer (LLMs: num_key_value_heads; fewer than the query heads with grouped-query "
        "attention)",
        "count",
        "count",
        (1, 10_000),
        False,
    ),
    "head_dim": Quantity("Dimensions per attention head (LLMs)", "count", "count", (1, 100_000), False),
    "context_tokens": Quantity(
        "Context window: the most input and output tokens one request may hold together (LLMs: "
        "max_position_embeddings); optional: no bound where omitted",
        "count",
        "count",
        (1, 1e9),
        False,
    ),
}


#: A serverless API's tiers: standard (answers in seconds) or batch (answers within hours, cheaper).
API_TIERS = ("standard", "batch")
API_FIELDS: dict[str, Quantity | Text] = {
    "name": Text("The model the API offers serve, as people name it"),
    "model": Text("The open model's id (e.g. its Hugging Face name)"),
    "comparable": Text(
        "Where the served model is not the catalog workload's own: how it differs (size, weights)",
        required=False,
    ),
    "notes": Text("Free text for reviewers", required=False),
    "parameters": Quantity(
        "The served model's parameters, for matching your model by size", "count", "count", (1e3, 1e13)
    ),
}
PRICE_TOKENS = Quantity(
    "Price per token as the provider's page prints it", "token_price", "USD/Mtoken", (1e-4, 1000), as_of=True
)
API_OFFER_KEYS = ("provider", "model_id", "tier", "input_price", "output_price", "note")


RESULT_THROUGHPUT = Quantity("Measured throughput of the whole system", "rate", "", (1e-6, 1e9))
#: The scenario a result ran, as MLPerf Inference names them: Offline (all queries at once, no latency
#: bound), Server (Poisson arrivals under a p99 latency bound), Interactive (Server with tighter LLM bounds),
#: SingleStream / MultiStream (one query, or one fixed batch, at a time: latency runs).
RESULT_SCENARIOS = ("Offline", "Server", "Interactive", "SingleStream", "MultiStream")
#: Latency bounds a Server or Interactive run met (MLPerf's p99 limits): time to first token and time per
#: output token for LLMs, the whole query's latency otherwise.
RESULT_LATENCY_BOUNDS: dict[str, Quantity] = {
    "ttft_limit": Quantity("p99 time-to-first-token bound the run met", "latency", "ms", (0.01, 1e6), False),
    "tpot_limit": Quantity(
        "p99 time-per-output-token bound the run met", "latency", "ms", (0.01, 1e6), False
    ),
    "latency_limit": Quantity("p99 latency bound per query the run met", "latency", "ms", (0.01, 1e7), False),
}
RESULT_POWER = Quantity("Measured power", "power", "W", (0.1, 1e6), required=False, extra=POWER_EXTRA)


def validate_workload(path: str, doc: dict[str, Any]) -> list[Issue]:
    v = Validator(path, doc)
    v.check_sources()
    v.check_fields(doc, WORKLOAD_FIELDS, extra_ok={"sources"})
    return v.issues


def validate_api(path: str, doc: dict[str, Any]) -> list[Issue]:
    """A serverless API file (``catalog/apis/<id>.toml``): the model it serves, the catalog workloads it
    can stand in for (``serves``), and ``[[offer]]`` rows priced per million input and output tokens."""
    v = Validator(path, doc)
    v.check_sources()
    v.check_fields(doc, API_FIELDS, extra_ok={"sources", "serves", "offer"})
    serves = doc.get("serves")
    if not isinstance(serves, list) or not all(isinstance(x, str) and ID_PATTERN.match(x) for x in serves):
        v.error("serves", 'must be a list of catalog workload ids, e.g. ["llama-3.1-8b"] ([] for none)')
    offers = doc.get("offer")
    if not isinstance(offers, list) or not offers:
        v.error("offer", "missing: one or more [[offer]] tables with provider, model_id, tier and prices")
        return v.issues
    for i, row in enumerate(offers):
        prefix = f"offer[{i}]."
        if not isinstance(row, dict):
            v.error(f"offer[{i}]", "must be a table")
            continue
        v.check_text(row, prefix, "provider", Text("the provider's name"))
        v.check_text(row, prefix, "model_id", Text("the model's id as the provider prints it"))
        v.check_text(row, prefix, "tier", Text("the price tier", API_TIERS))
        v.check_text(row, prefix, "note", Text("free text", required=False))
        v.check_quantity(row, prefix, "input_price", PRICE_TOKENS)
        v.check_quantity(row, prefix, "output_price", PRICE_TOKENS)
        for key in set(row) - set(API_OFFER_KEYS):
            v.error(f"{prefix}{key}", f"unknown key; allowed: {', '.join(API_OFFER_KEYS)}")
    return v.issues


#: A market-check file (``catalog/market/<id>.toml``): a published cost per million tokens for serving an
#: LLM on named devices, with the conditions it states (tokens per request, interactivity, how the GPU is
#: priced), which ``accel-explorer validate --market`` compares with the tool's own figure.
MARKET_PRICINGS = ("cheapest-on-demand", "stated")
MARKET_TOKENS = ("total", "output")
MARKET_FIELDS: dict[str, Quantity | Text] = {
    "title": Text("What the analysis is called, as its publisher titles it"),
    "publisher": Text("Who published it"),
    "workload": Text("The catalog workload the analysed model is (or stands in for)"),
    "comparable": Text("Where the analysed model is not the workload's own: how it differs", required=False),
    "pricing": Text(
        "How the source prices a GPU-hour: the cheapest on-demand rental (the tool then uses its own "
        "cheapest on-demand offer) or a price the file states (gpu_price; the tool then uses it too)",
        MARKET_PRICINGS,
    ),
    "tokens": Text("Which tokens the cost is per: input and output (total) or output only", MARKET_TOKENS),
    "software": Text("The serving software the source ran"),
    "precision": Text("The number format the source ran (or 'not stated')"),
    "notes": Text("Free text for reviewers", required=False),
    "input_tokens": Quantity("Input tokens per request the source ran", "count", "count", (1, 1e7)),
    "output_tokens": Quantity("Output tokens per request the source ran", "count", "count", (1, 1e7)),
    "gpu_price": Quantity(
        "The price per GPU-hour the source states (pricing = 'stated')",
        "money_per_hour",
        "USD/hour",
        (0.01, 2000),
        required=False,
        as_of=True,
    ),
}
#: Where the source takes the cheapest on-demand rental among a named set of clouds (``providers``), the
#: tool takes its own cheapest offer among the same clouds; the set needs the source that names it.
MARKET_PROVIDERS_KEYS = ("names", "source", "note")
#: Where the source states no precision, ``[served_at]`` names the one its points are served at (the
#: scenario's serving precisions, less "auto"), with the source and method that choose it.
MARKET_SERVED_AT_KEYS = ("value", "source", "method")
MARKET_SERVED_AT_PRECISIONS = ("bf16", "fp8", "int8", "fp4")
MARKET_COST = Quantity(
    "Published cost per million tokens", "token_price", "USD/Mtoken", (1e-4, 1000), as_of=True
)
MARKET_INTERACTIVITY = Quantity(
    "Output tokens per second each user gets at that cost", "token_rate", "tokens/s", (0.1, 10_000)
)
MARKET_POINT_KEYS = ("device", "cost", "tokens_per_s_per_user", "gpu_price", "note", "calibrates")
MARKET_POINT_PRICE = Quantity(
    "The price per device-hour the source states for this point's device (used in place of the tool's)",
    "money_per_hour",
    "USD/hour",
    (0.01, 2000),
    required=False,
    as_of=True,
)


def validate_market(path: str, doc: dict[str, Any]) -> list[Issue]:
    """A market-check file: the conditions the source states and ``[[point]]`` rows (device, cost per
    million tokens, tokens/s per user)."""
    v = Validator(path, doc)
    v.check_sources()
    v.check_fields(doc, MARKET_FIELDS, extra_ok={"sources", "point", "providers", "served_at"})
    if "providers" in doc:
        _check_providers(v, doc["providers"], doc.get("pricing"))
    if "served_at" in doc:
        _check_served_at(v, doc["served_at"], doc.get("precision"))
    if doc.get("pricing") == "stated" and "gpu_price" not in doc:
        v.error("gpu_price", "missing: pricing = 'stated' needs the price per GPU-hour the source states")
    points = doc.get("point")
    if not isinstance(points, list) or not points:
        v.error("point", "missing: one or more [[point]] tables with device, cost, tokens_per_s_per_user")
        return v.issues
    for i, row in enumerate(points):
        prefix = f"point[{i}]."
        if not isinstance(row, dict):
            v.error(f"point[{i}]", "must be a table")
            continue
        v.check_text(row, prefix, "device", Text("a catalog device id"))
        v.check_text(row, prefix, "note", Text("free text", required=False))
        # a point the catalog took a figure from is no independent check of it: the market check says so
        v.check_text(row, prefix, "calibrates", Text("the assumption this point sets", required=False))
        v.check_quantity(row, prefix, "cost", MARKET_COST)
        v.check_quantity(row, prefix, "tokens_per_s_per_user", MARKET_INTERACTIVITY)
        v.check_quantity(row, prefix, "gpu_price", MARKET_POINT_PRICE)
        for key in set(row) - set(MARKET_POINT_KEYS):
            v.error(f"{prefix}{key}", f"unknown key; allowed: {', '.join(MARKET_POINT_KEYS)}")
    return v.issues


def _check_served_at(v: Validator, table: Any, precision: Any) -> None:
    """``[served_at]``: where the source states no precision, the one the check serves its points at (the
    serving software's documented default for the model's published weights), with its source and method."""
    if not isinstance(table, dict):
        v.error("served_at", "must be a table with value (a serving precision), source and method")
        return
    if precision in MARKET_SERVED_AT_PRECISIONS:
        v.error("served_at", f"only where the source states no precision (precision is {precision!r})")
    v.check_text(table, "served_at.", "value", Text("a serving precision", MARKET_SERVED_AT_PRECISIONS))
    v.check_source_ref("served_at", table.get("source"))
    v.check_text(table, "served_at.", "method", Text("why this precision: the default it is, and where from"))
    for key in set(table) - set(MARKET_SERVED_AT_KEYS):
        v.error(f"served_at.{key}", f"unknown key; allowed: {', '.join(MARKET_SERVED_AT_KEYS)}")


def _check_providers(v: Validator, table: Any, pricing: Any) -> None:
    """``[providers]``: the clouds whose cheapest on-demand rental the source took (names as the catalog's
    price files spell them), with the source that names them."""
    if not isinstance(table, dict):
        v.error("providers", "must be a table with names (a list of cloud names) and source")
        return
    names = table.get("names")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n.strip() for n in names):
        v.error("providers.names", f"must be a non-empty list of cloud names (strings), got {names!r}")
    if pricing != "cheapest-on-demand":
        v.error("providers", "only with pricing = 'cheapest-on-demand' (where the cheapest is taken from)")
    v.check_source_ref("providers", table.get("source"))
    v.check_text(table, "providers.", "note", Text("free text", required=False))
    for key in set(table) - set(MARKET_PROVIDERS_KEYS):
        v.error(f"providers.{key}", f"unknown key; allowed: {', '.join(MARKET_PROVIDERS_KEYS)}")


def validate_results(path: str, doc: dict[str, Any], item_id: str) -> list[Issue]:
    v = Validator(path, doc)
    v.check_sources()
    if doc.get("workload") != item_id:
        v.error("workload", f"{doc.get('workload')!r} must equal the file's id {item_id!r}")
    for key in set(doc) - {"workload", "result", "sources", "notes"}:
        v.error(key, "unknown field; allowed: notes, result, sources, workload")
    rows = doc.get("result")
    if not isinstance(rows, list) or not rows:
        v.error("result", "missing: one or more [[result]] tables")
        return v.issues
    texts = ("device", "benchmark", "division", "scenario", "system", "submitter", "precision")
    formats = {
        "compute_precision": Text(
            "Format the matrix maths ran in, when the source states it", RESULT_COMPUTE_PRECISIONS, False
        ),
        "storage_precision": Text(
            "Format weights and activations were kept in, when the source states it",
            STORAGE_PRECISIONS,
            False,
        ),
    }
    for i, row in enumerate(rows):
        prefix = f"result[{i}]."
        if not isinstance(row, dict):
            v.error(f"result[{i}]", "must be a table")
            continue
        for key in texts:
            v.check_text(row, prefix, key, Text(key, required=key not in ("submitter",)))
        for key, spec in formats.items():
            v.check_text(row, prefix, key, spec)
        if isinstance(row.get("scenario"), str) and row["scenario"] not in RESULT_SCENARIOS:
            v.error(
                f"{prefix}scenario",
                f"{row['scenario']!r} is not allowed; allowed: {', '.join(RESULT_SCENARIOS)} "
                "(as MLPerf names them; a vendor's throughput table is Offline, a batch-1 latency table "
                "SingleStream)",
            )
        for key, spec in RESULT_LATENCY_BOUNDS.items():
            v.check_quantity(row, prefix, key, spec)
        if (
            row.get("scenario") in ("Server", "Interactive")
            and str(row.get("benchmark", "")).startswith("MLPerf")
            and not any(k in row for k in RESULT_LATENCY_BOUNDS)
        ):
            v.error(
                f"{prefix}scenario",
                f"an MLPerf {row['scenario']} result needs the latency bound it met: ttft_limit and "
                "tpot_limit (LLMs) or latency_limit, each { value, unit, source }",
            )
        n = row.get("accelerators")
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            v.error(f"{prefix}accelerators", f"{n!r} must be a whole number of accelerators, at least 1")
        v.check_quantity(row, prefix, "throughput", RESULT_THROUGHPUT)
        v.check_quantity(row, prefix, "power", RESULT_POWER)
        if "comparable" in row:
            if not isinstance(row["comparable"], bool):
                v.error(f"{prefix}comparable", "must be true or false")
            elif row["comparable"] is False and not str(row.get("why_not_comparable", "")).strip():
                v.error(
                    f"{prefix}why_not_comparable",
                    "comparable = false needs the reason: what differs from the workload's request",
                )
        for key in set(row) - {
            *texts,
            *formats,
            "accelerators",
            "throughput",
            "power",
            "note",
            "id",
            "comparable",
            "why_not_comparable",
            *RESULT_LATENCY_BOUNDS,
        }:
            v.error(
                f"{prefix}{key}",
                f"unknown key; allowed: {', '.join(sorted({*texts, *formats, 'accelerators'}))}, "
                "throughput, power, note, id, comparable, why_not_comparable, "
                + ", ".join(RESULT_LATENCY_BOUNDS),
            )
    return v.issues
