import type { ToolStats } from "../usage/tool-stats.ts";

// Prometheus text exposition (format 0.0.4): counters and histograms keyed by their label values.

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

type Labels = Record<string, string>;

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labelText(labels: Labels, extra: Labels = {}): string {
  const entries = Object.entries({ ...labels, ...extra });
  return entries.length === 0 ? "" : `{${entries.map(([name, value]) => `${name}="${escapeLabel(value)}"`).join(",")}}`;
}

const keyOf = (labels: Labels) => JSON.stringify(Object.entries(labels));

class Counter {
  readonly #values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  add(labels: Labels, amount = 1): void {
    const key = keyOf(labels);
    const found = this.#values.get(key);
    if (found) found.value += amount;
    else this.#values.set(key, { labels, value: amount });
  }

  value(labels: Labels): number {
    return this.#values.get(keyOf(labels))?.value ?? 0;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const { labels, value } of this.#values.values()) lines.push(`${this.name}${labelText(labels)} ${value}`);
    return lines;
  }
}

class Histogram {
  readonly #values = new Map<string, { labels: Labels; buckets: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly bounds: number[] = DURATION_BUCKETS,
  ) {}

  observe(labels: Labels, value: number): void {
    const key = keyOf(labels);
    let found = this.#values.get(key);
    if (!found) {
      found = { labels, buckets: this.bounds.map(() => 0), sum: 0, count: 0 };
      this.#values.set(key, found);
    }
    const { buckets } = found;
    for (const [index, bound] of this.bounds.entries()) if (value <= bound) buckets[index] = (buckets[index] ?? 0) + 1;
    found.sum += value;
    found.count += 1;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const { labels, buckets, sum, count } of this.#values.values()) {
      for (const [index, bound] of this.bounds.entries())
        lines.push(`${this.name}_bucket${labelText(labels, { le: String(bound) })} ${buckets[index]}`);
      lines.push(`${this.name}_bucket${labelText(labels, { le: "+Inf" })} ${count}`);
      lines.push(`${this.name}_sum${labelText(labels)} ${Number(sum.toFixed(6))}`);
      lines.push(`${this.name}_count${labelText(labels)} ${count}`);
    }
    return lines;
  }
}

/**
 * Generated tools' calls from the usage record (usage/tool-calls.ts), every process's, not only this server's:
 * `org_tool_calls_total{tool,outcome}` (outcome `ok`, why it failed: tool, timeout, output, sandbox; or the caller's:
 * input refused by the tool's schema, cancelled),
 * `org_tool_duration_seconds{tool}` (a summary: p50, p95, sum, count) and `org_tool_trust{tool}`. The record
 * rotates, so a counter may go down; Prometheus reads that as a reset.
 */
export function toolUsageLines(stats: readonly ToolStats[]): string[] {
  const calls = [
    "# HELP org_tool_calls_total Calls of generated tools by tool and outcome (ok, or why it failed).",
    "# TYPE org_tool_calls_total counter",
  ];
  const seconds = ["# HELP org_tool_duration_seconds Time of a generated tool's calls.", "# TYPE org_tool_duration_seconds summary"];
  const trust = ["# HELP org_tool_trust A generated tool's success weighted by recency (half-life 7 days).", "# TYPE org_tool_trust gauge"];
  for (const entry of stats) {
    const tool = { tool: entry.tool };
    if (entry.ok > 0) calls.push(`org_tool_calls_total${labelText(tool, { outcome: "ok" })} ${entry.ok}`);
    for (const [outcome, count] of Object.entries(entry.failedBy)) calls.push(`org_tool_calls_total${labelText(tool, { outcome })} ${count}`);
    for (const outcome of ["input", "cancelled"] as const)
      if (entry[outcome] > 0) calls.push(`org_tool_calls_total${labelText(tool, { outcome })} ${entry[outcome]}`);
    if (entry.calls === 0) continue;
    seconds.push(`org_tool_duration_seconds${labelText(tool, { quantile: "0.5" })} ${entry.latencyMs.p50 / 1000}`);
    seconds.push(`org_tool_duration_seconds${labelText(tool, { quantile: "0.95" })} ${entry.latencyMs.p95 / 1000}`);
    seconds.push(`org_tool_duration_seconds_sum${labelText(tool)} ${entry.latencyMs.total / 1000}`);
    seconds.push(`org_tool_duration_seconds_count${labelText(tool)} ${entry.calls}`);
    if (entry.trust !== undefined) trust.push(`org_tool_trust${labelText(tool)} ${Number(entry.trust.toFixed(6))}`);
  }
  return [...calls, ...seconds, ...trust];
}

/** What `serve` counts: requests by route and status, tool runs per tool, durations, tokens. */
export class ServeMetrics {
  readonly requests = new Counter("org_http_requests_total", "HTTP requests by route, method and status.");
  readonly requestSeconds = new Histogram("org_http_request_duration_seconds", "Time to the response's headers (SSE: to the first byte), by route.");
  readonly turnSeconds = new Histogram("org_room_turn_duration_seconds", "Time of a whole room turn over POST /v1/messages.");
  readonly toolRuns = new Counter("org_tool_runs_total", "Tool runs by tool and result (ok or failed), from the room and from /v1/tools.");
  readonly toolSeconds = new Histogram("org_tool_run_duration_seconds", "Tool run time by tool.");
  readonly tokens = new Counter("org_tokens_total", "Model tokens by persona and kind (prompt or completion).");
  #turnsInProgress = 0;

  constructor(readonly startedAt = Date.now()) {}

  /** A turn started (+1) or ended (-1). */
  turnsInProgress(delta: number): void {
    this.#turnsInProgress += delta;
  }

  recordRequest(route: string, method: string, status: number, seconds: number): void {
    this.requests.add({ route, method, status: String(status) });
    this.requestSeconds.observe({ route }, seconds);
  }

  recordToolRun(tool: string, ok: boolean, seconds: number): void {
    this.toolRuns.add({ tool, result: ok ? "ok" : "failed" });
    this.toolSeconds.observe({ tool }, seconds);
  }

  /** The whole exposition, ending with a newline as Prometheus expects. */
  render(extra: { sessionsOpen: number; toolUsage?: readonly ToolStats[] }): string {
    const gauge = (name: string, help: string, value: number) => [`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${value}`];
    return [
      ...this.requests.render(),
      ...this.requestSeconds.render(),
      ...this.turnSeconds.render(),
      ...this.toolRuns.render(),
      ...this.toolSeconds.render(),
      ...this.tokens.render(),
      ...(extra.toolUsage ? toolUsageLines(extra.toolUsage) : []),
      ...gauge("org_turns_in_progress", "Room turns running now.", this.#turnsInProgress),
      ...gauge("org_sessions_open", "Room sessions held open in memory.", extra.sessionsOpen),
      ...gauge("org_uptime_seconds", "Seconds since the server started.", Math.round((Date.now() - this.startedAt) / 1000)),
      "",
    ].join("\n");
  }
}
