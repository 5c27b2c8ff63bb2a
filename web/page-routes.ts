import { join } from "node:path";
import { SESSIONS_DIR } from "../config/workspace-paths.ts";
import { listSessions } from "../room/transcript.ts";
import { HttpError } from "../serve/http-error.ts";
import { type Route, route } from "../serve/router.ts";
import type { PageAssets } from "./page-assets.ts";
import { ROOM_FIRST_MESSAGES } from "./web-api.ts";
import { VIEW_PATHS } from "./view-paths.ts";

const HTML = { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" };

// Session ids are letters, digits, '.', '_' and '-' (transcript.ts); anything else is left out rather than escaped.
const SESSION_ID = /^[\w.-]{1,200}$/;

/**
 * The page's shell with the newest session named in a meta tag, so the room opens it without asking for the list
 * first, and the room's first read of the session it opens (`?session=`, else the newest) preloaded: it is fetched
 * while the bundle loads, not after.
 */
function withRoomHints(html: string, sessionsDir: string, requested: string | null): string {
  const newest = listSessions(sessionsDir).at(-1);
  const named = newest !== undefined && SESSION_ID.test(newest) ? newest : undefined;
  const opens = requested !== null && SESSION_ID.test(requested) ? requested : named;
  const hints = [
    named === undefined ? "" : `<meta name="org-newest-session" content="${named}">`,
    opens === undefined ? "" : `<link rel="preload" href="/v1/sessions/${opens}?limit=${ROOM_FIRST_MESSAGES}" as="fetch" crossorigin="anonymous">`,
  ].filter((hint) => hint !== "");
  return hints.length === 0 ? html : html.replace("<title>", `${hints.join("\n")}\n<title>`);
}

/**
 * The web room's page at `/` and at each view's path (the page routes itself in the browser), and the bundle's
 * files under `/assets/`. Each asks for the session like any route; opened with `?token=…` it is the login.
 */
export function pageRoutes(assets: () => Promise<PageAssets>, workspaceDir: string): Route[] {
  const sessionsDir = join(workspaceDir, SESSIONS_DIR);
  const page = async ({ request }: { request: Request }) =>
    new Response(withRoomHints((await assets()).html, sessionsDir, new URL(request.url).searchParams.get("session")), { headers: HTML });
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
