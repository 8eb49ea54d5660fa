// The spans table's selection: span ids (hex), kept apart from the loaded rows so that it
// survives infinite scroll and live updates, and dropped when `resetKey` (the project and the
// filters) changes.
import { useCallback, useRef, useState } from 'react';

const EMPTY: ReadonlySet<string> = new Set();

/** What `useSpanSelection` gives back. */
export interface SpanSelection {
  /** The selected span ids (`SpanRow.spanId`), in the order they were picked. */
  ids: ReadonlySet<string>;
  /**
   * A row's checkbox changed to `on`. With `shift`, every row of `order` (the loaded rows' span
   * ids, as shown) between the last clicked row and this one changes too.
   */
  click: (spanId: string, on: boolean, shift: boolean, order: readonly string[]) => void;
  /** Selects (or unselects) all of `spanIds`. */
  setMany: (spanIds: readonly string[], on: boolean) => void;
  clear: () => void;
}

/** The selection of the spans table; a new `resetKey` starts with nothing selected. */
export function useSpanSelection(resetKey: string): SpanSelection {
  const [state, setState] = useState<{ key: string; ids: ReadonlySet<string> }>(() => ({ key: resetKey, ids: EMPTY }));
  // A new key drops the selection at once (adjusting state while rendering, not in an effect,
  // so no render shows the old selection under the new filters).
  if (state.key !== resetKey) setState({ key: resetKey, ids: EMPTY });
  const ids = state.key === resetKey ? state.ids : EMPTY;
  const anchorRef = useRef<{ key: string; spanId: string } | null>(null);

  const update = useCallback(
    (fn: (prev: ReadonlySet<string>) => ReadonlySet<string>) =>
      setState((s) => {
        const prev = s.key === resetKey ? s.ids : EMPTY;
        const next = fn(prev);
        return next === prev && s.key === resetKey ? s : { key: resetKey, ids: next };
      }),
    [resetKey],
  );

  const setMany = useCallback(
    (spanIds: readonly string[], on: boolean) =>
      update((prev) => {
        const changes = spanIds.filter((id) => prev.has(id) !== on);
        if (changes.length === 0) return prev;
        const next = new Set(prev);
        for (const id of changes) {
          if (on) next.add(id);
          else next.delete(id);
        }
        return next;
      }),
    [update],
  );

  const click = useCallback(
    (spanId: string, on: boolean, shift: boolean, order: readonly string[]) => {
      const anchor = anchorRef.current;
      anchorRef.current = { key: resetKey, spanId };
      if (shift && anchor && anchor.key === resetKey && anchor.spanId !== spanId) {
        const from = order.indexOf(anchor.spanId);
        const to = order.indexOf(spanId);
        if (from >= 0 && to >= 0) {
          setMany(order.slice(Math.min(from, to), Math.max(from, to) + 1), on);
          return;
        }
      }
      setMany([spanId], on);
    },
    [resetKey, setMany],
  );

  const clear = useCallback(() => update(() => EMPTY), [update]);

  return { ids, click, setMany, clear };
}
