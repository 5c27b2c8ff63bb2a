import type { ToolExample, ToolSpec } from "../generated-tools/tool-metadata.ts";

/** The spec's examples split: about `heldOutShare` of them (at least one, never all) are held out of the prompts. */
export function splitExamples(spec: ToolSpec, heldOutShare: number): { visible: ToolExample[]; heldOut: ToolExample[] } {
  const heldOutCount = Math.min(spec.examples.length - 1, Math.max(1, Math.round(spec.examples.length * heldOutShare)));
  return { visible: spec.examples.slice(0, spec.examples.length - heldOutCount), heldOut: spec.examples.slice(spec.examples.length - heldOutCount) };
}
