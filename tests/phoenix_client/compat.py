"""Drives Phoenix's own Python client (arize-phoenix-client, unchanged) against an Ember server.

    python compat.py --base-url http://127.0.0.1:6006 --project phx-compat \
        --spans '{"root1": "<span id>", "llm": "<span id>", "root2": "<span id>"}' [--flows spans,datasets]

The server must already hold the spans described by --spans (tests/e2e/phoenix_client.rs sends
them): trace 1 = CHAIN root "agent" + LLM child "llm-call"; trace 2 = CHAIN root "agent".
Every flow runs even when an earlier one fails; exits 1 listing the failures.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
import uuid
from datetime import datetime, timezone
from typing import Any, Callable

import pandas as pd
from phoenix.client import Client
from phoenix.client.types.spans import SpanQuery

QUESTIONS = {
    "What is the capital of France?": "Paris",
    "What is the capital of Japan?": "Tokyo",
    "What is the capital of Peru?": "Lima",
    "What is the capital of Chad?": "N'Djamena",
}
# The task gets Chad wrong on purpose, so that evaluator scores differ between examples.
TASK_ANSWERS = {**QUESTIONS, "What is the capital of Chad?": "Abeche"}


def check(cond: bool, message: str) -> None:
    if not cond:
        raise AssertionError(message)


def eq(actual: Any, expected: Any, what: str) -> None:
    check(actual == expected, f"{what}: expected {expected!r}, got {actual!r}")


class Ctx:
    def __init__(self, args: argparse.Namespace) -> None:
        self.client = Client(base_url=args.base_url)
        self.project: str = args.project
        self.spans: dict[str, str] = json.loads(args.spans)
        self.suffix = uuid.uuid4().hex[:8]


# --- spans ---------------------------------------------------------------------------------


def flow_spans(ctx: Ctx) -> None:
    c, ids = ctx.client, ctx.spans
    df = c.spans.get_spans_dataframe(project_identifier=ctx.project)
    eq(len(df), 3, "get_spans_dataframe row count")
    eq(df.index.name, "context.span_id", "dataframe index name")
    eq(set(df["context.span_id"]), set(ids.values()), "span ids in dataframe")
    llm = df.loc[ids["llm"]]
    eq(llm["name"], "llm-call", "LLM span name")
    eq(llm["span_kind"], "LLM", "LLM span kind")
    eq(llm["parent_id"], ids["root1"], "LLM span parent")
    eq(int(llm["attributes.llm.token_count.prompt"]), 12, "prompt tokens")
    eq(llm["attributes.llm.model_name"], "gpt-4o-mini", "model name")
    eq(df.loc[ids["root1"], "attributes.input.value"], "What is the capital of France?", "root input.value")
    check(str(df["start_time"].dtype).startswith("datetime64"), f"start_time dtype {df['start_time'].dtype}")
    eq(df.loc[ids["root1"], "start_time"], pd.Timestamp(1_700_000_000_000_000_000, tz="UTC"), "root start_time")
    check(pd.isna(df.loc[ids["root1"], "parent_id"]), "root span parent_id is null")

    q = SpanQuery().where("span_kind == 'LLM'").select("input.value", "output.value", "llm.token_count.total")
    sel = c.spans.get_spans_dataframe(query=q, project_identifier=ctx.project)
    eq(list(sel.index), [ids["llm"]], "filtered span ids")
    eq(sorted(sel.columns), ["input.value", "llm.token_count.total", "output.value"], "selected columns")
    eq(sel.iloc[0]["output.value"], "Paris", "selected output.value")
    eq(int(sel.iloc[0]["llm.token_count.total"]), 17, "selected total tokens")

    q = SpanQuery().where("'France' in input.value and parent_id is None").select("name").rename(name="span_name")
    ren = c.spans.get_spans_dataframe(query=q, project_identifier=ctx.project)
    eq(list(ren.index), [ids["root1"]], "substring + is None filter")
    eq(list(ren.columns), ["span_name"], "renamed column")

    q = SpanQuery().where("status_code == 'ERROR' or llm.model_name == 'none-such'")
    eq(len(c.spans.get_spans_dataframe(query=q, project_identifier=ctx.project)), 0, "a condition matching nothing")
    q = SpanQuery().where("(llm.token_count.total >= 17 or parent_id is None) and not (name in ('nope', 'agent'))")
    eq(list(c.spans.get_spans_dataframe(query=q, project_identifier=ctx.project).index), [ids["llm"]], "numbers, in, not")

    roots = c.spans.get_spans_dataframe(project_identifier=ctx.project, root_spans_only=True)
    eq(set(roots.index), {ids["root1"], ids["root2"]}, "root_spans_only")
    eq(len(c.spans.get_spans_dataframe(project_identifier=ctx.project, limit=2)), 2, "limit")
    late = c.spans.get_spans_dataframe(
        project_identifier=ctx.project, start_time=datetime(2023, 11, 14, 22, 13, 25, tzinfo=timezone.utc)
    )
    eq(set(late.index), {ids["root2"]}, "start_time bound")

    project = c.projects.get(project_name=ctx.project)
    by_id = c.spans.get_spans_dataframe(project_identifier=project["id"])
    eq(len(by_id), 3, "dataframe by project GlobalID")
    empty = c.spans.get_spans_dataframe(project_identifier=f"no-such-project-{ctx.suffix}")
    eq(len(empty), 0, "unknown project gives an empty dataframe")

    spans = c.spans.get_spans(project_identifier=ctx.project, span_kind="LLM")
    eq([s["context"]["span_id"] for s in spans], [ids["llm"]], "get_spans(span_kind=LLM)")
    eq(spans[0]["attributes"].get("llm.model_name"), "gpt-4o-mini", "get_spans attributes")
    spans = c.spans.get_spans(project_identifier=ctx.project, attributes={"llm.model_name": "gpt-4o-mini"})
    eq(len(spans), 1, "get_spans(attributes=...)")
    spans = c.spans.get_spans(project_identifier=ctx.project, parent_id="null", limit=1)
    eq(len(spans), 1, "get_spans(limit=1)")
    spans = c.spans.get_spans(project_identifier=ctx.project, trace_ids=[spans[0]["context"]["trace_id"]])
    check(len(spans) >= 1, "get_spans(trace_ids=...)")


# --- annotations -------------------------------------------------------------------------


def flow_annotations(ctx: Ctx) -> None:
    c, ids = ctx.client, ctx.spans
    name1, name2 = f"correctness-{ctx.suffix}", f"helpfulness-{ctx.suffix}"
    inserted = c.spans.add_span_annotation(
        span_id=ids["llm"], annotation_name=name1, annotator_kind="HUMAN",
        label="correct", score=1.0, explanation="matches the reference", metadata={"reviewer": "qa"}, sync=True,
    )
    check(inserted is not None and inserted.get("id"), f"sync add_span_annotation returns an id: {inserted!r}")
    frame = pd.DataFrame(
        {"span_id": [ids["root1"], ids["root2"]], "label": ["good", "bad"], "score": [0.9, 0.1],
         "explanation": ["clear", "wrong"]}
    )
    logged = c.spans.log_span_annotations_dataframe(
        dataframe=frame, annotation_name=name2, annotator_kind="LLM", sync=True
    )
    eq(len(logged or []), 2, "log_span_annotations_dataframe inserted ids")
    # Without sync: queued, must still land.
    c.spans.add_span_annotation(span_id=ids["root2"], annotation_name=f"async-{ctx.suffix}", label="x")

    spans_df = c.spans.get_spans_dataframe(project_identifier=ctx.project)
    got = c.spans.get_span_annotations_dataframe(
        spans_dataframe=spans_df, project_identifier=ctx.project, include_annotation_names=[name1, name2]
    )
    eq(len(got), 3, "annotations read back")
    eq(got.index.name, "span_id", "annotations index")
    row = got[got["annotation_name"] == name1].iloc[0]
    eq(row.name, ids["llm"], "annotation span id")
    eq(row["result.label"], "correct", "label")
    eq(float(row["result.score"]), 1.0, "score")
    eq(row["result.explanation"], "matches the reference", "explanation")
    eq(row["annotator_kind"], "HUMAN", "annotator_kind")
    eq(row["metadata"], {"reviewer": "qa"}, "metadata")
    h = got[got["annotation_name"] == name2].sort_values("result.score")
    eq(list(h.index), [ids["root2"], ids["root1"]], "dataframe annotations' spans")
    eq(list(h["result.label"]), ["bad", "good"], "dataframe annotations' labels")
    eq([round(float(s), 6) for s in h["result.score"]], [0.1, 0.9], "dataframe annotations' scores")
    eq(set(h["annotator_kind"]), {"LLM"}, "dataframe annotations' kind")

    listed = c.spans.get_span_annotations(span_ids=[ids["root2"]], project_identifier=ctx.project)
    names = {a["name"] for a in listed}
    check({name2, f"async-{ctx.suffix}"} <= names, f"get_span_annotations names {names}")
    excluded = c.spans.get_span_annotations_dataframe(
        span_ids=[ids["llm"]], project_identifier=ctx.project, exclude_annotation_names=[name1]
    )
    check(name1 not in set(excluded.get("annotation_name", [])), "exclude_annotation_names")


# --- datasets ------------------------------------------------------------------------------


def _examples_by_question(ds: Any) -> dict[str, dict[str, Any]]:
    return {ex["input"]["question"]: ex for ex in ds.examples}


def flow_datasets(ctx: Ctx) -> None:
    c = ctx.client
    name = f"capitals-{ctx.suffix}"
    qs = list(QUESTIONS)[:3]
    ds = c.datasets.create_dataset(
        name=name,
        inputs=[{"question": q} for q in qs],
        outputs=[{"answer": QUESTIONS[q]} for q in qs],
        metadata=[{"topic": "geo", "n": i} for i in range(3)],
        dataset_description="capital cities",
    )
    eq(ds.name, name, "dataset name")
    eq(len(ds), 3, "created example count")
    by_q = _examples_by_question(ds)
    eq(set(by_q), set(qs), "example inputs")
    for i, q in enumerate(qs):
        eq(by_q[q]["output"], {"answer": QUESTIONS[q]}, "example output")
        eq(by_q[q]["metadata"], {"topic": "geo", "n": i}, "example metadata")
    eq(ds.description, "capital cities", "dataset description")

    again = c.datasets.get_dataset(dataset=name)
    eq(again.id, ds.id, "get_dataset by name -> id")
    eq(again.version_id, ds.version_id, "latest version")
    eq(_examples_by_question(again), by_q, "examples by name")
    eq(_examples_by_question(c.datasets.get_dataset(dataset=ds.id)), by_q, "examples by id")

    last = list(QUESTIONS)[3]
    grown = c.datasets.add_examples_to_dataset(
        dataset=ds.id, inputs=[{"question": last}], outputs=[{"answer": QUESTIONS[last]}], metadata=[{"topic": "geo"}]
    )
    eq(len(grown), 4, "example count after add_examples_to_dataset")
    check(grown.version_id != ds.version_id, "appending makes a new version")
    versions = c.datasets.get_dataset_versions(dataset=ds.id)
    eq([v["version_id"] for v in versions], [grown.version_id, ds.version_id], "versions, newest first")
    check(all(isinstance(v["created_at"], datetime) for v in versions), "version created_at parsed")
    old = c.datasets.get_dataset(dataset=ds.id, version_id=ds.version_id)
    eq(len(old), 3, "old version still has 3 examples")
    df = grown.to_dataframe()
    eq(len(df), 4, "to_dataframe rows")

    table = pd.DataFrame(
        {"question": ["2+2?", "3*3?"], "answer": ["4", "9"], "source": ["arith", "arith"]}
    )
    tds = c.datasets.create_dataset(
        name=f"arith-{ctx.suffix}", dataframe=table,
        input_keys=["question"], output_keys=["answer"], metadata_keys=["source"],
    )
    eq(len(tds), 2, "dataframe dataset size")
    got = {ex["input"]["question"]: ex for ex in tds.examples}
    eq(got["2+2?"]["output"], {"answer": "4"}, "CSV output")
    eq(got["3*3?"]["metadata"], {"source": "arith"}, "CSV metadata")
    inferred = c.datasets.create_dataset(name=f"inferred-{ctx.suffix}", dataframe=table)
    ex = inferred.examples[0]
    eq((set(ex["input"]), set(ex["output"]), set(ex["metadata"])), ({"question"}, {"answer"}, {"source"}),
       "inferred CSV keys")
    more = c.datasets.add_examples_to_dataset(
        dataset=tds, dataframe=pd.DataFrame({"question": ["5-1?"], "answer": ["4"], "source": ["arith"]}),
        input_keys=["question"], output_keys=["answer"], metadata_keys=["source"],
    )
    eq(len(more), 3, "dataframe append")
    ctx.dataset = grown  # type: ignore[attr-defined]


# --- experiments ---------------------------------------------------------------------------


def task(input: dict[str, Any]) -> str:
    return TASK_ANSWERS[input["question"]]


def exact_match(output: str, expected: dict[str, Any]) -> bool:
    return output == expected["answer"]


def length_ratio(output: str, expected: dict[str, Any]) -> float:
    return len(output) / len(expected["answer"])


def flow_experiments(ctx: Ctx) -> None:
    c = ctx.client
    ds = getattr(ctx, "dataset", None)
    if ds is None:
        qs = list(QUESTIONS)
        ds = c.datasets.create_dataset(
            name=f"exp-capitals-{ctx.suffix}", inputs=[{"question": q} for q in qs],
            outputs=[{"answer": QUESTIONS[q]} for q in qs],
        )
    examples = {ex["id"]: ex for ex in ds.examples}
    node = {ex.get("node_id") or ex["id"]: ex for ex in ds.examples}
    ran = c.experiments.run_experiment(
        dataset=ds, task=task, evaluators=[exact_match, length_ratio],
        experiment_name=f"compat-{ctx.suffix}", experiment_metadata={"suite": "ember"}, print_summary=False,
    )
    exp_id = ran["experiment_id"]
    eq(len(ran["task_runs"]), len(examples), "task runs")
    runs = {}
    for run in ran["task_runs"]:
        ex = node.get(run["dataset_example_id"])
        check(ex is not None, f"run's dataset_example_id {run['dataset_example_id']!r} is an example of the dataset")
        eq(run["output"], task(ex["input"]), "run output")
        check(not run.get("error"), f"run error {run.get('error')!r}")
        runs[run["id"]] = ex
    expected_scores = {}
    for run_id, ex in runs.items():
        out = task(ex["input"])
        expected_scores[(run_id, "exact_match")] = float(exact_match(out, ex["output"]))
        expected_scores[(run_id, "length_ratio")] = length_ratio(out, ex["output"])
    evals = ran["evaluation_runs"]
    eq(len(evals), 2 * len(runs), "evaluation runs")
    for ev in evals:
        eq(ev.result["score"], expected_scores[(ev.experiment_run_id, ev.name)], f"local score {ev.name}")

    fetched = c.experiments.get_experiment(experiment_id=exp_id)
    eq(fetched["dataset_id"], ds.id, "experiment dataset id")
    eq(fetched["experiment_metadata"], {"suite": "ember"}, "experiment metadata")
    eq(len(fetched["task_runs"]), len(runs), "stored task runs")
    eq({r["id"] for r in fetched["task_runs"]}, set(runs), "stored run ids")
    stored = {(ev.experiment_run_id, ev.name): ev for ev in fetched["evaluation_runs"]}
    eq(set(stored), set(expected_scores), "stored evaluations (run, name)")
    for key, score in expected_scores.items():
        check(abs(stored[key].result["score"] - score) < 1e-9, f"stored score {key}: {stored[key].result} != {score}")
        eq(stored[key].annotator_kind, "CODE", "evaluator kind")
    for (run_id, name), ev in stored.items():
        if name == "exact_match":
            eq(ev.result["label"], str(bool(expected_scores[(run_id, name)])), "exact_match label")

    def shouts(output: str) -> float:
        return 1.0 if output.isupper() else 0.0

    more = c.experiments.evaluate_experiment(experiment=fetched, evaluators=[shouts], print_summary=False)
    # The returned experiment carries the earlier evaluations plus the new ones.
    new = [ev for ev in more["evaluation_runs"] if ev.name == "shouts"]
    eq(len(new), len(runs), "evaluate_experiment new runs")
    eq(len(more["evaluation_runs"]), 3 * len(runs), "evaluate_experiment all runs")
    for ev in new:
        eq(ev.result["score"], 0.0, "shouts score (no all-caps capitals)")
    after = c.experiments.get_experiment(experiment_id=exp_id)
    names = [ev.name for ev in after["evaluation_runs"]]
    eq(names.count("shouts"), len(runs), "shouts evaluations stored")
    eq(len(names), 3 * len(runs), "all evaluations stored")


# --- prompts --------------------------------------------------------------------------------


def _capitals_prompt(question: str) -> Any:
    from phoenix.client.types.prompts import PromptVersion

    return PromptVersion.from_openai(
        {
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "You are {{ persona }}."},
                {"role": "user", "content": question},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call-1",
                            "type": "function",
                            "function": {"name": "lookup", "arguments": '{"city": "Paris"}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call-1", "content": "Paris is the capital"},
            ],
            "temperature": 0.2,
            "max_completion_tokens": 32,
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "lookup",
                        "description": "look a city up",
                        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                    },
                }
            ],
            "tool_choice": "auto",
            "response_format": {
                "type": "json_schema",
                "json_schema": {
                    "name": "answer",
                    "schema": {"type": "object", "properties": {"answer": {"type": "string"}}},
                    "strict": True,
                },
            },
        },
        description="capital cities",
    )


def flow_prompts(ctx: Ctx) -> None:
    c = ctx.client
    name = f"capitals-{ctx.suffix}"
    sent = _capitals_prompt("Capital of {{country}}?")
    v1 = c.prompts.create(name=name, version=sent, prompt_description="geo", prompt_metadata={"team": "qa"})
    check(bool(v1.id), f"created version has an id: {v1.id!r}")
    dumped = v1._dumps()
    expected = sent._dumps()
    for key in ["template", "invocation_parameters", "tools", "response_format", "model_name", "template_format"]:
        eq(dumped.get(key), expected.get(key), f"stored {key}")

    eq(c.prompts.get(prompt_identifier=name).id, v1.id, "get latest by name")
    eq(c.prompts.get(prompt_version_id=v1.id)._dumps(), dumped, "get by version id")

    variables = {"persona": "a geographer", "country": "France"}
    formatted = v1.format(variables=variables)
    messages = list(formatted.messages)
    eq(messages[0], {"role": "system", "content": "You are a geographer."}, "formatted system message")
    eq(messages[1], {"role": "user", "content": "Capital of France?"}, "formatted user message")
    eq(messages[2]["tool_calls"][0]["function"]["name"], "lookup", "formatted tool call")
    eq(messages[3]["role"], "tool", "formatted tool message")
    kwargs = dict(formatted.kwargs)
    eq(kwargs["model"], "gpt-4o-mini", "formatted model")
    eq(kwargs["temperature"], 0.2, "formatted temperature")
    eq(kwargs["max_completion_tokens"], 32, "formatted max tokens")
    eq(kwargs["tool_choice"], "auto", "formatted tool choice")
    eq(kwargs["tools"][0]["function"]["name"], "lookup", "formatted tools")
    eq(kwargs["response_format"]["json_schema"]["name"], "answer", "formatted response format")

    c.prompts.tags.create(prompt_version_id=v1.id, name="production", description="live")
    eq(c.prompts.get(prompt_identifier=name, tag="production").id, v1.id, "get by tag")
    tags = c.prompts.tags.list(prompt_version_id=v1.id)
    eq([(t["name"], t.get("description")) for t in tags], [("production", "live")], "tags of v1")

    # A second version becomes latest; moving the tag leaves v1 untagged.
    v2 = c.prompts.create(name=name, version=_capitals_prompt("Capital city of {{country}}?"))
    check(v2.id != v1.id, "second version has its own id")
    eq(c.prompts.get(prompt_identifier=name).id, v2.id, "latest is the second version")
    c.prompts.tags.create(prompt_version_id=v2.id, name="production")
    eq(c.prompts.get(prompt_identifier=name, tag="production").id, v2.id, "tag moved")
    eq(c.prompts.tags.list(prompt_version_id=v1.id), [], "v1 lost the tag")
    second = c.prompts.get(prompt_version_id=v2.id).format(variables=variables)
    eq(list(second.messages)[1]["content"], "Capital city of France?", "second version formats")

    updated = c.prompts.update(prompt_identifier=name, prompt_description="capitals", prompt_metadata={"v": 2})
    eq((updated["name"], updated["description"], updated["metadata"]), (name, "capitals", {"v": 2}), "update")
    c.prompts.delete(prompt_identifier=name)
    try:
        c.prompts.get(prompt_identifier=name)
    except ValueError:
        pass
    else:
        raise AssertionError("a deleted prompt is not found")


FLOWS: dict[str, Callable[[Ctx], None]] = {
    "spans": flow_spans,
    "annotations": flow_annotations,
    "datasets": flow_datasets,
    "experiments": flow_experiments,
    "prompts": flow_prompts,
}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--project", required=True)
    parser.add_argument("--spans", required=True, help="JSON {root1, llm, root2} span ids")
    parser.add_argument("--flows", default=",".join(FLOWS))
    args = parser.parse_args()
    ctx = Ctx(args)
    failures = []
    for name in args.flows.split(","):
        print(f"=== flow {name}", flush=True)
        try:
            FLOWS[name](ctx)
            print(f"PASS {name}", flush=True)
        except Exception:
            failures.append(name)
            print(f"FAIL {name}\n{traceback.format_exc()}", flush=True)
    if failures:
        print(f"phoenix-client compatibility FAILED: {', '.join(failures)}", flush=True)
        return 1
    print("phoenix-client compatibility: all flows passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
