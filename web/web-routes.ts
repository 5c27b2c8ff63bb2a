import type { OrgConfig } from "../config/org-config.ts";
import { RepoGit } from "../git/repo-git.ts";
import type { MemoryStore } from "../memory/memory-store.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import { type DeclaredRoute, type Route, routesLoadedOnUse } from "../serve/router.ts";
import type { SessionPool } from "../serve/session-pool.ts";
import type { PageAssets } from "./page-assets.ts";
import { pageRoutes } from "./page-routes.ts";
import { roomOpeningRoute } from "./room-opening-route.ts";
import { sessionCommandRoutes } from "./session-command-routes.ts";
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
  /** A ticket the page opens the room's stream with (serve's, as `POST /v1/stream-tickets` gives it). */
  streamTicket: () => string;
};

/** A view's JSON routes, declared for the router, their module loaded on the first request to one of them. */
export type ViewRoutes = { declared: readonly DeclaredRoute[]; load: () => Promise<Route[]> };

/**
 * The views' routes. Their code (the candidates' gate and promotion, grow's proposals, the supervisor's checks and
 * fixes, the backups) is loaded when a view is first asked for: a server nobody opens a view of never loads it, and
 * every `org serve` start would pay for it. `webRoutes` checks each group serves what it declares; so do the tests.
 */
export function viewRoutes(context: WebContext, git: RepoGit, updates: ViewUpdates): ViewRoutes[] {
  const changed = () => updates.changed("candidates");
  return [
    {
      declared: [
        ["GET", "/v1/changes"],
        ["POST", "/v1/changes/undo"],
      ],
      load: async () => (await import("./changes-routes.ts")).changesRoutes(context),
    },
    { declared: [["GET", "/v1/tool-usage"]], load: async () => (await import("./tool-usage-routes.ts")).toolUsageRoutes(context) },
    {
      declared: [
        ["GET", "/v1/candidates"],
        ["POST", "/v1/candidates/:id/gate"],
        ["POST", "/v1/candidates/:id/promote"],
        ["POST", "/v1/candidates/:id/rebase"],
        ["POST", "/v1/promotions/:id/rollback"],
      ],
      load: async () => {
        const [{ candidateRoutes }, { GateRuns }] = await Promise.all([import("./candidate-routes.ts"), import("./gate-runs.ts")]);
        // The gate runs live as long as the server from the first request on: a list before the first run is empty.
        const gates = new GateRuns({ ...context, git, changed });
        return candidateRoutes({ ...context, git, gates, changed });
      },
    },
    {
      declared: [
        ["GET", "/v1/growth"],
        ["POST", "/v1/growth/proposals/:id/:verb"],
      ],
      load: async () => (await import("./growth-routes.ts")).growthRoutes(context),
    },
    {
      declared: [
        ["GET", "/v1/supervisor"],
        ["POST", "/v1/supervisor/fixes/:id/apply"],
        ["POST", "/v1/supervisor/mutes"],
      ],
      load: async () => (await import("./supervisor-routes.ts")).supervisorRoutes(context),
    },
    {
      declared: [
        ["GET", "/v1/memory/search"],
        ["POST", "/v1/memory/forget"],
      ],
      load: async () => (await import("./memory-routes.ts")).memoryRoutes(context),
    },
  ];
}

/**
 * The web room's routes: the page and its assets, the views' JSON routes and the stream that says when a view's data
 * changed (web/README.md lists them). Its parts that live as long as the server (the updates, and the gate runs from
 * the candidates view's first request) are made once per server.
 */
export function webRoutes(context: WebContext): Route[] {
  const git = new RepoGit(context.checkoutDir);
  const updates = new ViewUpdates({
    workspaceDir: context.workspaceDir,
    checkoutDir: context.checkoutDir,
    maxStreams: context.config.serve.streamsPerSession,
  });
  return [
    ...pageRoutes(context.assets),
    roomOpeningRoute(context),
    ...sessionCommandRoutes(context),
    ...viewRoutes(context, git, updates).flatMap(({ declared, load }) => routesLoadedOnUse(declared, load)),
    ...updates.routes(),
  ];
}
