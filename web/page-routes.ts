import { HttpError } from "../serve/http-error.ts";
import { type Route, route } from "../serve/router.ts";
import type { PageAssets } from "./page-assets.ts";
import { VIEW_PATHS } from "./view-paths.ts";

const HTML = { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" };

/**
 * The web room's page at `/` and at each view's path (the page routes itself in the browser), and the bundle's
 * files under `/assets/`. Each asks for the session like any route; opened with `?token=…` it is the login.
 */
export function pageRoutes(assets: () => Promise<PageAssets>): Route[] {
  const page = async () => new Response((await assets()).html, { headers: HTML });
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
