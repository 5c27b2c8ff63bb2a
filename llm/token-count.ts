/** A token count a server may report: a finite, non-negative number (anything else is not usage). */
export function isTokenCount(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0;
}
