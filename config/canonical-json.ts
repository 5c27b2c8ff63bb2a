/**
 * A JSON value's one spelling: object keys sorted at every level (by UTF-16 code unit), undefined members left out, an
 * undefined item `null` as JSON.stringify writes it. The bytes a signature, a seal or a cache key covers (the gate's
 * records, the trust store), and how two values compare whatever their key order (the toolsmith's determinism check).
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
