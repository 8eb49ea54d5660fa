// The evaluators attached to an experiment and their jobs, followed until every job finished.
import { useCallback, useEffect, useState } from 'react';
import { rest } from '../../api';
import { evaluatorsBody, type EvaluatorsBody } from '../lib/evaluation';

/** How often running jobs are polled. */
const POLL_MS = 1000;

/** What `useEvaluatorJobs` gives back. */
export interface EvaluatorJobs {
  /** null until the experiment has loaded */
  evals: EvaluatorsBody | null;
  /** whether any job is queued or running (polling then) */
  active: boolean;
  pollError: unknown;
  /** Fetches the evaluators again, then the experiment (after an evaluator was attached). */
  refresh: () => Promise<void>;
}

function fetchEvaluators(experimentId: string, signal?: AbortSignal): Promise<EvaluatorsBody> {
  return rest<unknown>('GET', `/v1/experiments/${encodeURIComponent(experimentId)}/evaluators`, undefined, {
    signal,
  }).then(evaluatorsBody);
}

/**
 * The evaluator jobs of an experiment: first as the experiment query returned them
 * (`initial`, the `Experiment.evaluators` JSON; undefined until loaded), then polled while any
 * job is queued or running, reloading the experiment (`reloadExperiment`) each time so new
 * scores show.
 */
export function useEvaluatorJobs(
  experimentId: string,
  initial: unknown,
  reloadExperiment: () => Promise<void>,
): EvaluatorJobs {
  const [evals, setEvals] = useState<EvaluatorsBody | null>(null);
  const [pollError, setPollError] = useState<unknown>(undefined);

  useEffect(() => {
    if (initial !== undefined && evals === null) setEvals(evaluatorsBody(initial));
  }, [initial, evals]);

  const active = !!evals && evals.jobs.pending + evals.jobs.running > 0;
  useEffect(() => {
    if (!active) return;
    let stopped = false;
    const ctrl = new AbortController();
    const timer = setTimeout(async () => {
      try {
        const body = await fetchEvaluators(experimentId, ctrl.signal);
        if (stopped) return;
        await reloadExperiment();
        if (stopped) return;
        setPollError(undefined);
        setEvals(body);
      } catch (err) {
        if (!stopped) setPollError(err);
      }
    }, POLL_MS);
    return () => {
      stopped = true;
      clearTimeout(timer);
      ctrl.abort();
    };
  }, [active, evals, experimentId, reloadExperiment]);

  const refresh = useCallback(async () => {
    try {
      setEvals(await fetchEvaluators(experimentId));
      await reloadExperiment();
    } catch (err) {
      setPollError(err);
    }
  }, [experimentId, reloadExperiment]);

  return { evals, active, pollError, refresh };
}
