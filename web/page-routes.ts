import { join } from "node:path";
import { SESSIONS_DIR } from "../config/workspace-paths.ts";
import { listSessions } from "../room/transcript.ts";
import { HttpError } from "../serve/http-error.ts";
import { type Route, route } from "../serve/router.ts";
import type { PageAssets } from "./page-assets.ts";
import { VIEW_PATHS } from "./view-paths.ts";

const HTML = { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" };

/** The page's shell with the newest session named in a meta tag, so the room opens it without asking for the list first. */
function withNewestSession(html: string, sessionsDir: string): string {
  const newest = listSessions(sessionsDir).at(-1);
  // Session ids are letters, digits, '.', '_' and '-' (transcript.ts); anything else is left out rather than escaped.
  if (newest === undefined || !/^[\w.-]+$/.test(newest)) return html;
  return html.replace("</head>", `<meta name="org-newest-session" content="${newest}">\n</head>`);
}

/**
 * The web room's page at `/` and at each view's path (the page routes itself in the browser), and the bundle's
 * files under `/assets/`. Each asks for the session like any route; opened with `?token=…` it is the login.
 */
export function pageRoutes(assets: () => Promise<PageAssets>, workspaceDir: string): Route[] {
  const sessionsDir = join(workspaceDir, SESSIONS_DIR);
  const page = async () => new Response(withNewestSession((await assets()).html, sessionsDir), { headers: HTML });
  return [
    ...VIEW_PATHS.map((path) => route("GET", path, page, { page: true })),
    // Browsers ask for it by themselves; the page has none.
    route("GET", "/favicon.ico", () => new Response(null, { status: 204 })),
    route("GET", "/assets/:file", async ({ params, path }) => {
      const file = (await assets()).files.get(path ?? "");
      if (file === undefined) throw new HttpError(404, `no file ${String(params.file).slice(0, 80)} in this page's bundle; reload the page.`);
      return new Response(file.body, { headers: { "content-type": file.type, "cache-control": "private, max-age=31536000, immutable" } });
    }),
  ];
}
