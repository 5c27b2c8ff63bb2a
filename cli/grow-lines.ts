// What `org grow` and `serve --grow-every` say of a run as it goes: its own steps, and each build's stages in the
// words `tool new --promote` uses (the toolsmith's phases and branch, then each stage done, with the gate's verdict).
import type { GrowProgress } from "../grow/grow-request.ts";

/** A progress line of a run, or undefined for progress not worth a line (text deltas, notes inside a stage). */
export function growProgressLine(progress: GrowProgress): string | undefined {
  if (progress.type === "line") return progress.text;
  const { proposal } = progress;
  const inner = progress.progress;
  switch (inner.type) {
    case "toolsmith": {
      const event = inner.event;
      if (event.type === "phase-done") return `  ${proposal} ✓ ${event.phase}: ${event.detail}`;
      if (event.type === "validation-failed")
        return `  ${proposal} ✗ validation failed at ${event.stage} (back to the ${event.blame}): ${event.message}`;
      if (event.type === "validation-passed") return `  ${proposal} ✓ validation passed in ${(event.durationMs / 1000).toFixed(1)} s`;
      if (event.type === "branch-created") return `  ${proposal} ✓ branch ${event.branch} (${event.commit.slice(0, 12)})`;
      return undefined;
    }
    case "stage-done":
      return `  ${proposal} ${inner.result.ok ? "✓" : "✗"} ${inner.result.stage}: ${inner.result.detail}`;
    case "note":
      // The gate's trace of a code version (beside the build, or in the gate) takes a while: it says how far it is.
      // The other stages' notes are details.
      return inner.stage === "fitness" || inner.stage === "build" ? `  ${proposal} … ${inner.line}` : undefined;
    case "candidate-left":
      return `  ${proposal} left behind: ${inner.problem}`;
    default:
      return undefined;
  }
}
