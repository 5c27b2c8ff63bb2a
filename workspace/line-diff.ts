/** One step of an edit script: a line kept, removed from the old text, or added from the new. */
export type LineEdit = { op: " " | "-" | "+"; line: string };

// Past this many differences the middle is given as removed then added whole: bounded time, still correct.
const MAX_EDIT_DISTANCE = 2_000;

/** The shortest edit script from `before` to `after` (Myers), common head and tail trimmed first. */
export function diffLines(before: readonly string[], after: readonly string[], maxDistance = MAX_EDIT_DISTANCE): LineEdit[] {
  let start = 0;
  while (start < before.length && start < after.length && before[start] === after[start]) start += 1;
  let endBefore = before.length;
  let endAfter = after.length;
  while (endBefore > start && endAfter > start && before[endBefore - 1] === after[endAfter - 1]) {
    endBefore -= 1;
    endAfter -= 1;
  }
  const head = before.slice(0, start).map((line): LineEdit => ({ op: " ", line }));
  const tail = before.slice(endBefore).map((line): LineEdit => ({ op: " ", line }));
  const middle = myers(before.slice(start, endBefore), after.slice(start, endAfter), maxDistance);
  return [...head, ...middle, ...tail];
}

function myers(a: readonly string[], b: readonly string[], maxDistance: number): LineEdit[] {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return replaceWhole(a, b);
  const max = Math.min(n + m, maxDistance);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= max; d += 1) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && (v[offset + k - 1] ?? 0) < (v[offset + k + 1] ?? 0)) ? (v[offset + k + 1] ?? 0) : (v[offset + k - 1] ?? 0) + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x += 1;
        y += 1;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) return backtrack(trace, a, b, offset, d);
    }
  }
  return replaceWhole(a, b);
}

function backtrack(trace: Int32Array[], a: readonly string[], b: readonly string[], offset: number, last: number): LineEdit[] {
  const edits: LineEdit[] = [];
  let x = a.length;
  let y = b.length;
  for (let d = last; d > 0; d -= 1) {
    const v = trace[d] as Int32Array;
    const k = x - y;
    const down = k === -d || (k !== d && (v[offset + k - 1] ?? 0) < (v[offset + k + 1] ?? 0));
    const previousK = down ? k + 1 : k - 1;
    const previousX = v[offset + previousK] ?? 0;
    const previousY = previousX - previousK;
    while (x > previousX && y > previousY) {
      x -= 1;
      y -= 1;
      edits.push({ op: " ", line: a[x] as string });
    }
    if (down) {
      y -= 1;
      edits.push({ op: "+", line: b[y] as string });
    } else {
      x -= 1;
      edits.push({ op: "-", line: a[x] as string });
    }
  }
  while (x > 0 && y > 0) {
    x -= 1;
    y -= 1;
    edits.push({ op: " ", line: a[x] as string });
  }
  return edits.reverse();
}

function replaceWhole(a: readonly string[], b: readonly string[]): LineEdit[] {
  return [...a.map((line): LineEdit => ({ op: "-", line })), ...b.map((line): LineEdit => ({ op: "+", line }))];
}
