import { z } from "zod";

// A span of time as people write it in a config file or on a command line: "1h", "30m", "1h30m", "45s",
// "2d", "500ms", or a bare number of seconds. One parser for `grow.every` and `serve --grow-every`.

const SECOND_MS = 1_000;
const DAY_MS = 86_400_000;
const UNIT_MS: ReadonlyMap<string, number> = new Map([
  ["ms", 1],
  ["s", SECOND_MS],
  ["m", 60_000],
  ["h", 3_600_000],
  ["d", DAY_MS],
]);
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;

/** The longest span org waits between two runs of anything: a year. */
const MAX_DURATION_MS = 365 * DAY_MS;

/** Milliseconds of `text` ("1h30m", "45s", "90" seconds), or undefined when it is not a duration. */
function parseDuration(text: string): number | undefined {
  const trimmed = text.trim().toLowerCase();
  if (/^\d+(?:\.\d+)?$/.test(trimmed)) return Number(trimmed) * SECOND_MS;
  if (!WHOLE.test(trimmed)) return undefined;
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(PART)) total += Number(amount) * (UNIT_MS.get(unit ?? "") ?? 0);
  return total;
}

/** A span as the shortest text that says it: 3600000 → "1h", 5400000 → "1h30m". */
export function formatDuration(ms: number): string {
  if (ms < SECOND_MS) return `${Math.round(ms)}ms`;
  let rest = Math.round(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [
    ["d", 86_400],
    ["h", 3_600],
    ["m", 60],
    ["s", 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join("") || "0s";
}

/** A duration in org.config.json: a text such as "1h" or "30m", or a number of seconds; parsed to milliseconds. */
export const Duration = z.union([z.string(), z.number()]).transform((value, context) => {
  const ms = typeof value === "number" ? value * SECOND_MS : parseDuration(value);
  if (ms === undefined || !Number.isFinite(ms) || ms < SECOND_MS || ms > MAX_DURATION_MS) {
    context.addIssue({
      code: "custom",
      message: `${JSON.stringify(value)} is not a duration from 1s to 365d; write it like "1h", "30m", "1h30m" or a number of seconds`,
    });
    return z.NEVER;
  }
  return ms;
});
