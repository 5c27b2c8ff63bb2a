import type { AnyTool } from "../tools/define-tool.ts";

/**
 * Chooses the tools a persona is offered for one message (the registry implements it): undefined offers
 * everything its policy allows; otherwise `tools` replaces them, and `find_tool` in it is always allowed.
 */
export type TurnToolChoice = {
  offer(
    offered: ReadonlyMap<string, AnyTool>,
    message: string,
    signal?: AbortSignal,
  ): Promise<{ tools: Map<string, AnyTool>; chosen: string[]; of: number; method: string } | undefined>;
};
