import type { OrgConfig } from "../config/org-config.ts";
import { RepoGit } from "../git/repo-git.ts";
import type { MemoryStore } from "../memory/memory-store.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import type { Route } from "../serve/router.ts";
import type { SessionPool } from "../serve/session-pool.ts";
import { candidateRoutes } from "./candidate-routes.ts";
import { changesRoutes } from "./changes-routes.ts";
import { GateRuns } from "./gate-runs.ts";
import { growthRoutes } from "./growth-routes.ts";
import { memoryRoutes } from "./memory-routes.ts";
import type { PageAssets } from "./page-assets.ts";
import { pageRoutes } from "./page-routes.ts";
import { sessionCommandRoutes } from "./session-command-routes.ts";
import { supervisorRoutes } from "./supervisor-routes.ts";
import { toolUsageRoutes } from "./tool-usage-routes.ts";
import { ViewUpdates } from "./view-updates.ts";

/** What the web room's routes read and act on: the server's workspace, checkout, config, sandbox, memory and sessions. */
export type WebContext = SandboxAccess & {
  workspaceDir: string;
  /** The checkout org runs from: its candidates, promotions and promoted tools. */
  checkoutDir: string;
  config: OrgConfig;
  memory?: MemoryStore;
  sessions: SessionPool;
  logError: (line: string) => void;
  assets: () => Promise<PageAssets>;
  /** Takes the checkout's HEAD now (after a promotion or rollback from the page), so the rooms offer its tools at once. */
  reloadTools: () => Promise<unknown>;
};

/**
 * The web room's routes: the page and its assets, the views' JSON routes and the stream that says when a view's data
 * changed (web/README.md lists them). Its parts that live as long as the server (the gate runs, the updates) are made
 * here, once per server.
 */
export function webRoutes(context: WebContext): Route[] {
  const git = new RepoGit(context.checkoutDir);
  const updates = new ViewUpdates({ workspaceDir: context.workspaceDir, checkoutDir: context.checkoutDir, git });
  const gates = new GateRuns({ ...context, git, changed: () => updates.changed("candidates") });
  return [
    ...pageRoutes(context.assets, context.workspaceDir, context.sessions),
    ...sessionCommandRoutes(context),
    ...changesRoutes(context),
    ...toolUsageRoutes(context),
    ...candidateRoutes({ ...context, git, gates, changed: () => updates.changed("candidates") }),
    ...growthRoutes(context),
    ...supervisorRoutes(context),
    ...memoryRoutes(context),
    ...updates.routes(),
  ];
}
