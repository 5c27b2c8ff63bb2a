import { HttpError } from "../serve/http-error.ts";
import { type Route, route } from "../serve/router.ts";
import type { PageAssets } from "./page-assets.ts";
import { VIEW_PATHS } from "./view-paths.ts";

const HTML = { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" };

/**
 * The web room's page at `/` and at each view's path (the page routes itself in the browser), and the bundle's
 * files under `/assets/`. Opened with `?token=…` a page is the login. Each is the same for every session and holds
 * nothing of the room (no session, no transcript): the session cookie alone reads them (a browser cannot send the
 * page's key with a navigation or a script's load), and a listener on another port that replays the cookie gets only
 * this code; the page reads the room with its key.
 */
export function pageRoutes(assets: () => Promise<PageAssets>): Route[] {
  const page = async () => new Response((await assets()).html, { headers: HTML });
  return [
    ...VIEW_PATHS.map((path) => route("GET", path, page, { page: true })),
    // Browsers ask for it by themselves; the page has none.
    route("GET", "/favicon.ico", () => new Response(null, { status: 204 }), { page: true }),
    route(
      "GET",
      "/assets/:file",
      async ({ params, path, request }) => {
        const file = (await assets()).files.get(path ?? "");
        if (file === undefined) throw new HttpError(404, `no file ${String(params.file).slice(0, 80)} in this page's bundle; reload the page.`);
        // Named by their content's hash: kept for good. Gzipped (a third of the bytes) for a browser that says it takes it.
        const headers = { "content-type": file.type, "cache-control": "private, max-age=31536000, immutable", vary: "accept-encoding" };
        if (!/\bgzip\b/.test(request.headers.get("accept-encoding") ?? "")) return new Response(file.body, { headers });
        return new Response(file.gzip, { headers: { ...headers, "content-encoding": "gzip" } });
      },
      { page: true },
    ),
  ];
}
