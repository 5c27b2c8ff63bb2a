import type { OrgConfig } from "../config/org-config.ts";
import type { MemoryStore } from "../memory/memory-store.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import type { Route } from "../serve/router.ts";
import type { SessionPool } from "../serve/session-pool.ts";
import type { PageAssets } from "./page-assets.ts";
import { pageRoutes } from "./page-routes.ts";

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
};

/** The web room's routes: the page and its assets, and the views' JSON routes (web/README.md lists them). */
export function webRoutes(context: WebContext): Route[] {
  return [...pageRoutes(context.assets)];
}
