// The span detail's data: the full span as `Query.span` returns it, and its annotations.
import type { SpanRow } from '../../pages/project/query';

/** A human or automated judgement attached to a span. */
export interface Annotation {
  id: string;
  name: string;
  annotatorKind: string;
  label: string | null;
  score: number | null;
  explanation: string | null;
  createdAt: string;
}

/** Every field of one span, for the detail pane: a spans-table row and what only the pane shows. */
export interface SpanFull extends SpanRow {
  endTime: string;
  sessionId: string | null;
  attributes: unknown;
  events: unknown;
  annotations: Annotation[];
}

/** The GraphQL selection of an `Annotation`. */
export const ANNOTATION_FIELDS = 'id name annotatorKind label score explanation createdAt';

/** Loads one span by id, with all it carries. */
export const SPAN_QUERY = `query SpanDetail($spanId: String!) {
  span(spanId: $spanId) {
    id spanId traceId parentId name spanKind statusCode statusMessage startTime endTime latencyMs
    model tokenPrompt tokenCompletion tokenTotal cost
    input { value mimeType } output { value mimeType } sessionId
    attributes events annotations { ${ANNOTATION_FIELDS} }
  }
}`;

/** Loads only a span's annotations (after one is added). */
export const ANNOTATIONS_QUERY = `query SpanAnnotations($spanId: String!) {
  span(spanId: $spanId) { id annotations { ${ANNOTATION_FIELDS} } }
}`;

/** Adds an annotation to a span. */
export const ADD_ANNOTATION = `mutation AddSpanAnnotation($spanId: String!, $name: String!, $label: String, $score: Float, $explanation: String) {
  addSpanAnnotation(spanId: $spanId, name: $name, label: $label, score: $score, explanation: $explanation) { ${ANNOTATION_FIELDS} }
}`;
