import type { ToolPolicy } from "../config/tool-policy.ts";
import type { AnyTool } from "../tools/define-tool.ts";

/** A tool from outside the room's assembly (an MCP server's), with the policy agent personas get it under. */
export type FedTool = { tool: AnyTool; policy: ToolPolicy };

/** What a feed says: its tools changed, or a line for whoever is in the room. */
export type FeedChange = { type: "tools" } | { type: "notice"; message: string };

/**
 * Tools that come and go while a room is open (the room's MCP servers: a server's tools are known once it has listed
 * them). The room offers `tools()` when it opens and again after each `tools` change, and says each notice.
 */
export type ToolFeed = {
  tools(): readonly FedTool[];
  /** Returns how to stop listening. */
  subscribe(listener: (change: FeedChange) => void): () => void;
};
