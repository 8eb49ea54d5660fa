// Word-level diff by longest common subsequence, for comparing experiment outputs.

export type DiffOp = 'same' | 'ins' | 'del';
export interface DiffPart {
  op: DiffOp;
  text: string;
}

/** Words, runs of punctuation and the whitespace between them, as tokens (nothing is dropped). */
export function tokenize(text: string): string[] {
  return text.match(/\s+|[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]+/gu) ?? [];
}

/** Largest token product diffed exactly; beyond it the texts are shown as replaced wholesale. */
const MAX_CELLS = 4_000_000;

/**
 * The edit from `before` to `after`: `del` parts are only in `before`, `ins` only in `after`.
 * Adjacent parts of one kind are merged. Returns `null` when the texts are too long to diff.
 */
export function wordDiff(before: string, after: string): DiffPart[] | null {
  const a = tokenize(before);
  const b = tokenize(after);
  // Trim the common prefix and suffix: cheap, and usually most of the text.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const n = endA - start;
  const m = endB - start;
  if (n * m > MAX_CELLS) return null;
  const parts: DiffPart[] = [];
  const push = (op: DiffOp, text: string) => {
    const last = parts[parts.length - 1];
    if (last && last.op === op) last.text += text;
    else parts.push({ op, text });
  };
  for (let i = 0; i < start; i++) push('same', a[i]);
  // lcs[i][j]: LCS length of a[start+i..endA] and b[start+j..endB].
  const width = m + 1;
  const lcs = new Uint32Array((n + 1) * width);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * width + j] =
        a[start + i] === b[start + j]
          ? lcs[(i + 1) * width + j + 1] + 1
          : Math.max(lcs[(i + 1) * width + j], lcs[i * width + j + 1]);
    }
  }
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[start + i] === b[start + j]) {
      push('same', a[start + i]);
      i++;
      j++;
    } else if (lcs[(i + 1) * width + j] >= lcs[i * width + j + 1]) {
      push('del', a[start + i]);
      i++;
    } else {
      push('ins', b[start + j]);
      j++;
    }
  }
  for (; i < n; i++) push('del', a[start + i]);
  for (; j < m; j++) push('ins', b[start + j]);
  for (let k = endA; k < a.length; k++) push('same', a[k]);
  return parts;
}
