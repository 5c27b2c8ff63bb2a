import { type ToolFigures, webApiSchemas } from "../../web-api.ts";
import { Problem } from "./said-line.tsx";
import { useView } from "./use-view.ts";

const percent = (rate: number | null) => (rate === null ? "–" : `${(rate * 100).toFixed(1)} %`);

/** Calls and failures per day as bars, drawn from the route's JSON; its text alternative says every figure. */
export function DayChart({ tool }: { tool: ToolFigures }) {
  const width = 280;
  const height = 80;
  const most = Math.max(1, ...tool.days.map((day) => day.calls));
  const step = width / tool.days.length;
  const said = tool.days.map((day) => `${day.day}: ${day.calls} calls, ${day.failures} failed`).join("; ");
  return (
    <svg
      class="chart"
      viewBox={`0 0 ${width} ${height + 14}`}
      role="img"
      aria-label={`${tool.name}, calls and failures per day over ${tool.days.length} days: ${said}`}
    >
      <title>{`${tool.name}: calls and failures per day`}</title>
      {tool.days.map((day, index) => {
        const callsHeight = (day.calls / most) * height;
        const failHeight = (day.failures / most) * height;
        return (
          <g key={day.day}>
            <rect class="bar-calls" x={index * step + 1} y={height - callsHeight} width={step - 2} height={callsHeight} />
            <rect class="bar-fails" x={index * step + 1} y={height - failHeight} width={step - 2} height={failHeight} />
          </g>
        );
      })}
      <text x="0" y={height + 12} class="axis">
        {tool.days[0]?.day.slice(5)}
      </text>
      <text x={width} y={height + 12} class="axis" text-anchor="end">
        {tool.days.at(-1)?.day.slice(5)}
      </text>
    </svg>
  );
}

/** The promoted tools with their calls, success rate and trust, and a chart of calls and failures per day. */
export function ToolsView() {
  const { data, problem } = useView("tools", "/v1/tool-usage", webApiSchemas().ToolUsageList);
  return (
    <div class="view">
      <h1>Tools</h1>
      <Problem text={problem} />
      {data && data.tools.length === 0 && <p class="muted">No tool is promoted and none was called yet.</p>}
      <div class="cards">
        {data?.tools.map((tool) => (
          <article key={tool.name} class="card" aria-label={`tool ${tool.name}`}>
            <h2>{tool.name}</h2>
            <div>
              {tool.calls} call{tool.calls === 1 ? "" : "s"} · {tool.ok} ok · {tool.failed} failed · success {percent(tool.successRate)} · trust{" "}
              {percent(tool.trust)}
            </div>
            <div>
              {!tool.promoted
                ? "not promoted now (rolled back, or never promoted)"
                : tool.offeredTo.length === 0
                  ? "offered to no persona"
                : `offered to ${tool.offeredTo.map((entry) => `${entry.persona}${entry.policy === "ask" ? " (asks first)" : ""}`).join(", ")}`}
            </div>
            {tool.origin && (
              <div>
                from a teammate: offered by {tool.origin.signer} ({tool.origin.fingerprint}), offer {tool.origin.offer}
              </div>
            )}
            <div class="muted">last call {tool.lastCall ?? "never"}</div>
            <DayChart tool={tool} />
          </article>
        ))}
      </div>
    </div>
  );
}
