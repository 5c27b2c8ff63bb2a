import type { ToolsmithEvent } from "../toolsmith/run-toolsmith.ts";

/** One progress line for an event of the pipeline. */
export function describeToolsmithEvent(event: ToolsmithEvent): string {
  const round = (value: number) => (value > 1 ? ` (round ${value})` : "");
  switch (event.type) {
    case "phase-start":
      return `… ${event.phase}${round(event.round)}`;
    case "phase-done":
      return `✓ ${event.phase}${round(event.round)}: ${event.detail}`;
    case "validation-stage":
      return `… validation ${event.index}/${event.total}: ${event.stage}`;
    case "validation-failed":
      return `✗ validation failed at ${event.stage} (back to the ${event.blame}): ${event.message}`;
    case "validation-passed":
      return `✓ validation passed in ${(event.durationMs / 1000).toFixed(1)} s`;
    case "branch-created":
      return `✓ branch ${event.branch} (${event.commit.slice(0, 12)})`;
  }
}
