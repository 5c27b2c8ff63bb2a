import type { CommandAnswer } from "../../room/command-spec.ts";
import { alignColumns } from "../terminal/align-columns.ts";

/**
 * A command's answer as the terminal says it: its lines, but not those the room's stream says too (the console shows
 * the stream), and `/models` as a table whose columns line up.
 */
export function terminalLines(answer: CommandAnswer): string[] {
  if (answer.echoed) return [];
  const view = answer.view;
  if (view?.kind !== "models") return answer.lines;
  const rows = [["persona", "model", "server"], ...view.personas.map((persona) => [persona.name, persona.model, persona.server])];
  return [
    ...alignColumns(rows).map((row) => `  ${row}`),
    ...view.windows,
    ...(view.routes.length > 0 ? [`  routed (models in org.config.json; /use wins for a persona): ${view.routes.join("; ")}`] : []),
    ...view.servers.map((server) =>
      "error" in server
        ? `  ${server.server}: cannot list models (${server.error})`
        : `  ${server.server} has: ${server.models.join(", ") || "(no models)"}`,
    ),
  ];
}
