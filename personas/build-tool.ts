import { z } from "zod";
import { defineTool, type Tool } from "../tools/define-tool.ts";

export const BUILD_TOOL = "build_tool";

/** What the toolsmith's model passes when it decides to build a tool. */
export const BuildToolArguments = z.strictObject({
  goal: z
    .string()
    .trim()
    .min(1)
    .max(2_000)
    .describe("What the new tool must do, in one or two sentences: its input, its output, and any rule the user gave."),
});
export type BuildToolArguments = z.infer<typeof BuildToolArguments>;

/**
 * The one tool the toolsmith's model is offered of its own: calling it runs `build` (the pipeline) and ends the
 * reply with what `build` says, so the model decides what is a request for a tool, in any wording.
 */
export function buildTool(build: (goal: string) => Promise<string>): Tool<typeof BuildToolArguments> {
  let called = false;
  return defineTool(BUILD_TOOL, {
    description:
      "Builds a new tool for the room: writes its spec, code and tests, validates them in the sandbox and " +
      "lands it on a candidate branch. Call it only when someone asks for a new tool; answer other messages in text.",
    parameters: BuildToolArguments,
    async execute({ goal }) {
      // One pipeline run per reply: a second call in the same reply gets the first one's answer.
      if (called) return { ok: false, output: "Error: build_tool already ran in this reply; its result above is the answer." };
      called = true;
      return { ok: true, output: await build(goal), endsReply: true };
    },
  });
}
