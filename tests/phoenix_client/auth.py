"""Phoenix's own clients against an Ember with authentication on (issue #15).

Driven by tests/e2e/auth_clients.rs. With a key: `arize-phoenix-client` (`api_key=` and
`PHOENIX_API_KEY`) reads, and `arize-phoenix-otel`'s `register(api_key=...)` exports over
OTLP/HTTP and OTLP/gRPC. Without a key, or with a wrong one, the client gets 401 and the
exporters' spans must not be stored (the Rust side checks the projects). Prints one JSON line.
"""

import argparse
import json
import os
import sys

import httpx
from phoenix.client import Client
from phoenix.otel import register


def status_of(call):
    try:
        call()
        return 200
    except httpx.HTTPStatusError as err:
        return err.response.status_code


def export(project, endpoint, protocol, api_key):
    provider = register(
        project_name=project,
        endpoint=endpoint,
        protocol=protocol,
        api_key=api_key,
        batch=False,
        set_global_tracer_provider=False,
        verbose=False,
    )
    tracer = provider.get_tracer("ember-auth-test")
    with tracer.start_as_current_span(f"{project}-span") as span:
        span.set_attribute("openinference.span.kind", "CHAIN")
        span.set_attribute("input.value", "hello")
    provider.force_flush()
    provider.shutdown()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--grpc", required=True, help="host:port of OTLP/gRPC")
    parser.add_argument("--key", required=True)
    args = parser.parse_args()
    for name in ("PHOENIX_API_KEY", "PHOENIX_CLIENT_HEADERS", "PHOENIX_COLLECTOR_ENDPOINT"):
        os.environ.pop(name, None)

    results = {}
    results["client_with_key"] = status_of(lambda: Client(base_url=args.base_url, api_key=args.key).projects.list())
    results["client_without_key"] = status_of(lambda: Client(base_url=args.base_url).projects.list())
    results["client_wrong_key"] = status_of(
        lambda: Client(base_url=args.base_url, api_key="ember_sk_" + "x" * 43).projects.list()
    )

    http = args.base_url.rstrip("/") + "/v1/traces"
    grpc = "http://" + args.grpc
    export("auth-otel-http", http, "http/protobuf", args.key)
    export("auth-otel-grpc", grpc, "grpc", args.key)
    export("auth-denied-http", http, "http/protobuf", None)
    export("auth-denied-grpc", grpc, "grpc", None)
    export("auth-wrong-grpc", grpc, "grpc", "ember_sk_" + "y" * 43)

    # The environment variable, as a deployed app would set it.
    os.environ["PHOENIX_API_KEY"] = args.key
    results["client_env_key"] = status_of(lambda: Client(base_url=args.base_url).projects.list())
    export("auth-otel-env", http, "http/protobuf", None)

    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
