// The GraphQL of the spans table: the project header (with the filter pickers' values) and one
// page of spans.
import { gql } from '../../api';
import { PROJECT_SUMMARY_FIELDS, type ProjectSummary } from '../../components/ProjectHeader';
import { buildFilter, type Applied, type Sort } from './filters';

/** One row of the spans table. */
export interface SpanRow {
  id: string;
  spanId: string;
  traceId: string;
  parentId: string | null;
  name: string;
  spanKind: string;
  statusCode: string;
  statusMessage: string;
  startTime: string;
  latencyMs: number;
  model: string | null;
  tokenPrompt: number | null;
  tokenCompletion: number | null;
  tokenTotal: number | null;
  cost: number | null;
  input: { value: string; mimeType: string | null } | null;
  output: { value: string; mimeType: string | null } | null;
}

/** Relay-style cursor of a span page. */
export interface PageInfo {
  hasNextPage: boolean;
  endCursor: string | null;
}

/** One page of spans; `project` is null when there is no such project. */
export interface SpansPage {
  project: { spans: { nodes: SpanRow[]; pageInfo: PageInfo } } | null;
}

/** The project summary plus the distinct span names and models for the filter pickers. */
export type ProjectWithPickers = ProjectSummary & { spanNames: string[]; models: string[] };

/** Spans per page. */
export const PAGE_SIZE = 50;

export const HEADER_QUERY = `query ProjectHeader($id: ID!) {
  project(id: $id) { ${PROJECT_SUMMARY_FIELDS} spanNames models }
}`;

// The sort is inlined as an enum literal so the query does not depend on the enum's type name.
const spansQuery = (sort: Sort) => `query ProjectSpans($id: ID!, $first: Int, $after: String, $filter: SpanFilter) {
  project(id: $id) {
    id
    spans(first: $first, after: $after, filter: $filter, sort: ${sort === 'START_TIME_ASC' ? 'START_TIME_ASC' : 'START_TIME_DESC'}) {
      nodes {
        id spanId traceId parentId name spanKind statusCode statusMessage startTime latencyMs
        model tokenPrompt tokenCompletion tokenTotal cost
        input { value mimeType } output { value mimeType }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;

/** The page of spans after `after` (null: the first) matching `applied`. */
export function fetchSpansPage(
  projectId: string,
  applied: Applied,
  after: string | null,
  signal?: AbortSignal,
): Promise<SpansPage> {
  return gql<SpansPage>(
    spansQuery(applied.sort),
    { id: projectId, first: PAGE_SIZE, after, filter: buildFilter(applied) },
    { signal },
  );
}
