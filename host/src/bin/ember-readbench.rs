//! `ember-readbench`: times the read paths of issue #24's scale table against a running server
//! holding a large project (fill one with `ember-loadgen --url`): the UI's GraphQL queries, the
//! REST span list and its status filter, and the span query DSL that `get_spans_dataframe` calls.
//!
//! Each path runs `--rounds` times, one request at a time; the median and the slowest are
//! reported in milliseconds, as a Markdown table and as one JSON line at the end.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use serde_json::{json, Value};

#[derive(Debug, Parser)]
#[command(name = "ember-readbench", about = "Read-path latency benchmark for Ember")]
struct Args {
    /// Base URL of the running server.
    #[arg(long, default_value = "http://127.0.0.1:6006")]
    url: String,
    /// The project to read.
    #[arg(long, default_value = "loadgen")]
    project: String,
    /// Times each path is run.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Only the paths whose name contains this text.
    #[arg(long)]
    only: Option<String>,
}

const PROJECTS: &str = "query Projects { projects { id name description spanCount traceCount latencyP50Ms \
     latencyP99Ms tokenPrompt tokenCompletion tokenTotal costTotal lastSpanTime } }";
const HEADER: &str = "query ProjectHeader($id: ID!) { project(id: $id) { id name description spanCount traceCount \
     latencyP50Ms latencyP99Ms tokenTotal costTotal spanNames models } }";
const SPANS: &str = "query ProjectSpans($id: ID!, $first: Int) { project(id: $id) { id \
     spans(first: $first, sort: START_TIME_DESC) { nodes { id spanId traceId parentId name spanKind \
     statusCode statusMessage startTime latencyMs model tokenPrompt tokenCompletion tokenTotal cost \
     input { value mimeType } output { value mimeType } } pageInfo { hasNextPage endCursor } } } }";
const SESSIONS: &str = "query Sessions($id: ID!, $first: Int) { project(id: $id) { id sessions(first: $first) { \
     nodes { id sessionId startTime endTime tokenTotal traceCount } pageInfo { hasNextPage endCursor } } } }";
const TURNS: &str = "query SessionTurns($sid: String!) { session(sessionId: $sid) { id sessionId \
     turns { traceId startTime latencyMs rootSpanName input output } } }";
const TRACE: &str = "query Trace($traceId: String!) { trace(traceId: $traceId) { traceId projectId projectName \
     sessionId startTime endTime latencyMs tokenTotal spanCount spans { spanId parentId name spanKind statusCode \
     startOffsetMs latencyMs model tokenTotal } annotations { id name } } }";

/// How one read path is sent.
enum Request {
    Graphql(&'static str, Value),
    Get(String),
    Dsl(Value),
}

struct Bench {
    client: reqwest::Client,
    url: String,
}

impl Bench {
    async fn graphql(&self, query: &str, variables: &Value) -> anyhow::Result<Value> {
        let response = self
            .client
            .post(format!("{}/graphql", self.url))
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await?;
        let body: Value = response.json().await?;
        if let Some(errors) = body.get("errors") {
            bail!("GraphQL errors: {errors}");
        }
        Ok(body["data"].clone())
    }

    /// Sends `request` once, failing on an error status; returns the bytes received.
    async fn run(&self, request: &Request, project: &str) -> anyhow::Result<usize> {
        let response = match request {
            Request::Graphql(query, variables) => {
                return Ok(self.graphql(query, variables).await?.to_string().len());
            }
            Request::Get(path) => self.client.get(format!("{}{path}", self.url)).send().await?,
            Request::Dsl(body) => {
                self.client.post(format!("{}/v1/spans?project_name={project}", self.url)).json(body).send().await?
            }
        };
        let status = response.status();
        let bytes = response.bytes().await?;
        if !status.is_success() {
            bail!("{status}: {}", String::from_utf8_lossy(&bytes[..bytes.len().min(300)]));
        }
        Ok(bytes.len())
    }
}

fn dsl(condition: &str, limit: usize) -> Value {
    json!({ "queries": [{ "filter": { "condition": condition } }], "limit": limit, "root_spans_only": false })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bench = Bench { client: reqwest::Client::builder().timeout(Duration::from_secs(600)).build()?, url: args.url };
    let projects = bench.graphql("{ projects { id name spanCount } }", &json!({})).await?;
    let project = projects["projects"]
        .as_array()
        .and_then(|all| all.iter().find(|p| p["name"] == args.project.as_str()))
        .with_context(|| format!("no project {:?}", args.project))?
        .clone();
    let id = project["id"].clone();
    let spans = project["spanCount"].as_i64().unwrap_or(0);
    let first = bench.graphql(SESSIONS, &json!({ "id": id, "first": 1 })).await?;
    let session = first["project"]["sessions"]["nodes"][0]["sessionId"].clone();
    let newest = bench.graphql(SPANS, &json!({ "id": id, "first": 1 })).await?;
    let trace = newest["project"]["spans"]["nodes"][0]["traceId"].clone();
    let p = &args.project;

    let paths: Vec<(&str, Request)> = vec![
        ("UI Projects", Request::Graphql(PROJECTS, json!({}))),
        ("UI ProjectHeader", Request::Graphql(HEADER, json!({ "id": id }))),
        ("UI ProjectSpans, first 50", Request::Graphql(SPANS, json!({ "id": id, "first": 50 }))),
        ("UI Sessions, first 50 with traceCount", Request::Graphql(SESSIONS, json!({ "id": id, "first": 50 }))),
        ("UI SessionTurns, one session", Request::Graphql(TURNS, json!({ "sid": session }))),
        ("UI Trace, one trace", Request::Graphql(TRACE, json!({ "traceId": trace }))),
        ("REST spans?limit=100", Request::Get(format!("/v1/projects/{p}/spans?limit=100"))),
        ("REST spans?status_code=ERROR", Request::Get(format!("/v1/projects/{p}/spans?status_code=ERROR&limit=100"))),
        ("DSL span_kind == 'LLM', limit 1000", Request::Dsl(dsl("span_kind == 'LLM'", 1000))),
        ("DSL status_code == 'ERROR'", Request::Dsl(dsl("status_code == 'ERROR'", 1000))),
        ("DSL llm.model_name == 'none-such'", Request::Dsl(dsl("llm.model_name == 'none-such'", 1000))),
    ];
    println!("{} spans in project {p:?}, {} rounds\n", spans, args.rounds);
    println!("| read path | median ms | slowest ms | bytes |");
    println!("|---|---|---|---|");
    let mut results = serde_json::Map::new();
    for (name, request) in paths {
        if args.only.as_deref().is_some_and(|only| !name.contains(only)) {
            continue;
        }
        let mut times = Vec::with_capacity(args.rounds);
        let mut bytes = 0;
        for _ in 0..args.rounds.max(1) {
            let started = Instant::now();
            match bench.run(&request, p).await {
                Ok(n) => bytes = n,
                Err(err) => {
                    println!("| {name} | failed: {err} | | |");
                    break;
                }
            }
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        if times.is_empty() {
            continue;
        }
        times.sort_by(f64::total_cmp);
        let (median, slowest) = (times[times.len() / 2], times[times.len() - 1]);
        println!("| {name} | {median:.0} | {slowest:.0} | {bytes} |");
        results.insert(name.to_owned(), json!({ "median_ms": median, "slowest_ms": slowest }));
    }
    println!("{}", json!({ "spans": spans, "paths": results }));
    Ok(())
}
