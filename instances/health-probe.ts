import { Health } from "../fitness/instance-health.ts";

/** What answers on a port: an org server and its health, something else, or nothing. */
export type Probe = { kind: "org"; health: Health } | { kind: "other"; detail: string } | { kind: "none"; detail: string };

/** Asks `http://127.0.0.1:<port>/health`, at most `timeoutMs`. */
export async function probeHealth(port: number, timeoutMs = 2_000): Promise<Probe> {
  let response: Response;
  try {
    response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    return { kind: "none", detail: error instanceof Error ? error.message : String(error) };
  }
  const text = await response.text().catch(() => "");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const health = Health.safeParse(value);
  if (response.ok && health.success) return { kind: "org", health: health.data };
  return { kind: "other", detail: `HTTP ${response.status}: ${JSON.stringify(text.slice(0, 120))}` };
}
