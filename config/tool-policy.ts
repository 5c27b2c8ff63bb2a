import { z } from "zod";

/** What a persona may do with a tool: run it, run it after the user approves, or never see it. */
export const ToolPolicy = z.enum(["allow", "ask", "deny"]);
export type ToolPolicy = z.infer<typeof ToolPolicy>;
