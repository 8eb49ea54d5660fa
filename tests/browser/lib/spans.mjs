// Spans as an instrumented application sends them: the official OpenTelemetry JS SDK and its
// OTLP/HTTP protobuf exporter, OpenInference attributes.
import { context, diag, DiagConsoleLogger, DiagLogLevel, SpanStatusCode, trace } from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';

// Export failures are reported by the SDK through diag; let them show in the test output.
diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.WARN);

/**
 * A tracer provider exporting to `otlpUrl` (OTLP/HTTP protobuf) into the project `project`
 * (resource attribute `openinference.project.name`). The batch processor holds every span of a
 * 10,000-span trace, so none is dropped.
 */
export function tracerProvider(otlpUrl, project) {
  const exporter = new OTLPTraceExporter({ url: otlpUrl, timeoutMillis: 30_000 });
  const processor = new BatchSpanProcessor(exporter, {
    maxQueueSize: 20_000,
    maxExportBatchSize: 1_000,
    scheduledDelayMillis: 100,
    exportTimeoutMillis: 30_000,
  });
  return new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': 'ember-browser-tests',
      'openinference.project.name': project,
    }),
    spanProcessors: [processor],
  });
}

/** Flushes and shuts the provider down. */
export async function flush(provider) {
  await provider.forceFlush();
  await provider.shutdown();
}

const child = (parent) => trace.setSpan(context.active(), parent);

/** What the LLM trace contains, for the assertions. */
export const LLM_TRACE = {
  root: 'agent.run',
  llm: 'ChatCompletion',
  retriever: 'retrieve-docs',
  tool: 'lookup-weather',
  model: 'gpt-4o-mini',
  system: 'You are a terse weather assistant.',
  user: 'What is the weather in Lisbon today?',
  assistant: 'Let me look that up for you.',
  toolName: 'get_weather',
  toolArguments: '{"city": "Lisbon", "unit": "celsius"}',
  documents: ['Lisbon is the capital of Portugal.', 'Lisbon has a Mediterranean climate.'],
  exception: 'weather service unreachable',
};

/**
 * One OpenInference agent trace: a CHAIN root over a RETRIEVER, an LLM (system and user input
 * messages, an assistant message with a tool call, model, token counts) and a TOOL span that
 * records an exception. Returns `{traceId, spanIds: {root, llm, retriever, tool}}`.
 */
export async function sendLlmTrace(otlpUrl, project, names = LLM_TRACE) {
  const provider = tracerProvider(otlpUrl, project);
  const tracer = provider.getTracer('ember-browser-tests');
  const t0 = Date.now() - 5_000;
  const at = (ms) => new Date(t0 + ms);

  const root = tracer.startSpan(names.root, {
    startTime: at(0),
    attributes: {
      'openinference.span.kind': 'CHAIN',
      'input.value': names.user,
      'output.value': 'It is sunny, 24 °C.',
    },
  });
  const retriever = tracer.startSpan(
    names.retriever,
    { startTime: at(10), attributes: { 'openinference.span.kind': 'RETRIEVER', 'input.value': 'Lisbon weather' } },
    child(root),
  );
  names.documents.forEach((text, i) => {
    retriever.setAttribute(`retrieval.documents.${i}.document.id`, `doc-${i}`);
    retriever.setAttribute(`retrieval.documents.${i}.document.content`, text);
    retriever.setAttribute(`retrieval.documents.${i}.document.score`, 0.9 - i / 10);
  });
  retriever.end(at(60));

  const llm = tracer.startSpan(
    names.llm,
    {
      startTime: at(70),
      attributes: {
        'openinference.span.kind': 'LLM',
        'llm.model_name': names.model,
        'llm.provider': 'openai',
        'llm.input_messages.0.message.role': 'system',
        'llm.input_messages.0.message.content': names.system,
        'llm.input_messages.1.message.role': 'user',
        'llm.input_messages.1.message.content': names.user,
        'llm.output_messages.0.message.role': 'assistant',
        'llm.output_messages.0.message.content': names.assistant,
        'llm.output_messages.0.message.tool_calls.0.tool_call.function.name': names.toolName,
        'llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments': names.toolArguments,
        'llm.token_count.prompt': 42,
        'llm.token_count.completion': 17,
        'llm.token_count.total': 59,
        'llm.invocation_parameters': '{"temperature": 0}',
        'input.value': names.user,
        'output.value': names.assistant,
      },
    },
    child(root),
  );
  llm.end(at(900));

  const tool = tracer.startSpan(
    names.tool,
    {
      startTime: at(910),
      attributes: {
        'openinference.span.kind': 'TOOL',
        'tool.name': names.toolName,
        'input.value': names.toolArguments,
      },
    },
    child(root),
  );
  const error = new Error(names.exception);
  error.name = 'ConnectionError';
  tool.recordException(error, at(950));
  tool.setStatus({ code: SpanStatusCode.ERROR, message: names.exception });
  tool.end(at(960));
  root.end(at(1_000));

  await flush(provider);
  const id = (span) => span.spanContext().spanId;
  return {
    traceId: root.spanContext().traceId,
    spanIds: { root: id(root), llm: id(llm), retriever: id(retriever), tool: id(tool) },
  };
}

/** A single CHAIN span named `name` in a trace of its own; returns its trace id. */
export async function sendSpan(otlpUrl, project, name) {
  const provider = tracerProvider(otlpUrl, project);
  const span = provider.getTracer('ember-browser-tests').startSpan(name, {
    attributes: { 'openinference.span.kind': 'CHAIN', 'input.value': `input of ${name}` },
  });
  span.end();
  await flush(provider);
  return span.spanContext().traceId;
}

/**
 * A 10,000-span trace with a realistic fan-out: one root, `children` (99) children with
 * `grandchildren` (100) leaves each, in start-time order. Returns `{traceId, count, lastName}`
 * where `lastName` is the name of the trace's last span in depth-first order.
 */
export async function sendBigTrace(otlpUrl, project, { children = 99, grandchildren = 100 } = {}) {
  const provider = tracerProvider(otlpUrl, project);
  const tracer = provider.getTracer('ember-browser-tests');
  const t0 = Date.now() - 60_000;
  const at = (ms) => new Date(t0 + ms);
  const pad = (n) => String(n).padStart(3, '0');
  const root = tracer.startSpan('big-trace.root', { startTime: at(0), attributes: { 'openinference.span.kind': 'AGENT' } });
  let lastName = '';
  for (let c = 0; c < children; c++) {
    const base = 1 + c * 500;
    const step = tracer.startSpan(
      `step-${pad(c)}`,
      { startTime: at(base), attributes: { 'openinference.span.kind': 'CHAIN' } },
      child(root),
    );
    for (let g = 0; g < grandchildren; g++) {
      lastName = `leaf-${pad(c)}-${pad(g)}`;
      const leaf = tracer.startSpan(
        lastName,
        { startTime: at(base + 1 + g * 4), attributes: { 'openinference.span.kind': g % 2 ? 'TOOL' : 'LLM' } },
        child(step),
      );
      leaf.end(at(base + 4 + g * 4));
    }
    step.end(at(base + 450));
  }
  root.end(at(1 + children * 500));
  await flush(provider);
  return { traceId: root.spanContext().traceId, count: 1 + children * (1 + grandchildren), lastName };
}
