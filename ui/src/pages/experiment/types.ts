// The experiment page's data: the experiment with its runs and evaluations, the examples of its
// dataset version, and the GraphQL that loads them.

/** One evaluation of a run by an evaluator. */
export interface Evaluation {
  name: string;
  label: string | null;
  score: number | null;
  explanation: string | null;
  error: string | null;
  errorKind: string | null;
  plugin: string | null;
}

/** One run of the experiment on a dataset example. */
export interface Run {
  id: string;
  exampleId: string;
  repetitionNumber: number;
  output: unknown;
  error: string | null;
  startTime: string;
  endTime: string;
  evaluations: Evaluation[];
}

/** The experiment as the page shows it. */
export interface ExperimentDetail {
  id: string;
  name: string | null;
  datasetId: string;
  datasetVersionId: string;
  createdAt: string;
  runCount: number;
  projectName: string | null;
  evaluators: unknown;
  aggregates: unknown;
  runs: Run[];
}

/** A dataset example: the run's input and reference output. */
export interface ExampleLite {
  id: string;
  input: unknown;
  output: unknown;
}

/** The experiment's dataset, with the examples of its version. */
export interface DatasetLite {
  id: string;
  name: string;
  examples: ExampleLite[];
}

export const EXPERIMENT = `query Experiment($id: ID!) {
  experiment(id: $id) {
    id name datasetId datasetVersionId createdAt runCount projectName evaluators aggregates
    runs {
      id exampleId repetitionNumber output error startTime endTime
      evaluations { name label score explanation error errorKind plugin }
    }
  }
}`;

export const DATASET = `query ExperimentDataset($id: ID!, $versionId: ID) {
  dataset(id: $id) { id name examples(versionId: $versionId) { id input output } }
}`;

/** The plugins, for the evaluator picker. */
export const PLUGINS = `query EvaluatorPlugins { plugins { name world version enabled } }`;
