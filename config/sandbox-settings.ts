import { z } from "zod";
import type { EgressRules } from "./egress-policy.ts";
import { EgressEntry } from "./egress-settings.ts";
import { ToolPolicy } from "./tool-policy.ts";
import { WORKSPACE_VIEWS } from "./workspace-views.ts";

/** How sandboxed commands see the workspace, and what their changes may touch. */
export const SandboxEntry = z.strictObject({
  /** "read": read-only at /workspace (default); "write": a private copy whose changes come back as patches; "none": not at all. */
  workspace: z.enum(WORKSPACE_VIEWS).optional(),
  /** Paths (globs) no workspace change may touch, beside the defaults (.git/**, .org/**, .env*, …). */
  protectedPaths: z.array(z.string().min(1).max(500)).max(500).optional(),
  /**
   * Paths (globs) of secret files the agents never see in either view nor change (default DEFAULT_SECRET_PATHS: .env*,
   * .npmrc, *.pem, *.key, id_*, .netrc, .git-credentials); a list given here replaces the default.
   */
  secretPaths: z.array(z.string().min(1).max(500)).max(500).optional(),
  /** The workspace_write policy in the console: "ask" (default), "allow" or "deny". The web room too; serve's API for programs:
   * serve.tools.workspace_write (default "deny").
   */
  workspaceWrite: ToolPolicy.optional(),
  /** Where sandboxed commands may connect, through org's egress guard; without it they have no network. */
  egress: EgressEntry.optional(),
});
export type SandboxSettings = {
  workspace: (typeof WORKSPACE_VIEWS)[number];
  protectedPaths: string[];
  secretPaths: readonly string[];
  workspaceWrite: ToolPolicy;
  /** The egress guard's rules; undefined: no network. */
  egress?: EgressRules;
};
