import { createHash } from "node:crypto";
import { join } from "node:path";

/** One file of the page: its bytes and content type. */
export type PageFile = { body: Uint8Array; type: string };

/** The web room's page, bundled: the HTML shell and the files it loads, by URL path (`/assets/app-<hash>.js`). */
export type PageAssets = { html: string; files: ReadonlyMap<string, PageFile>; bytes: { raw: number; gzip: number } };

/** The page's entry; everything it imports (Preact, markdown-it, DOMPurify, zod, its CSS) is bundled from node_modules. */
export const PAGE_ENTRY = join(import.meta.dir, "page", "main.tsx");

/** The page could not be bundled (a broken install); the message says what to do. */
export class PageBuildError extends Error {
  override name = "PageBuildError";
  readonly userFacing = true;
}

const TYPES: Record<string, string> = { js: "text/javascript; charset=utf-8", css: "text/css; charset=utf-8" };

/** The HTML shell: no inline script or style (the CSP allows none), the bundle by hashed name. */
function shell(script: string, style: string | undefined): string {
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    "<title>org</title>",
    style ? `<link rel="stylesheet" href="${style}">` : "",
    `<script type="module" src="${script}"></script>`,
    "</head>",
    '<body><div id="app"></div></body>',
    "</html>",
    "",
  ].join("\n");
}

/**
 * Bundles the page with Bun from the installed packages (nothing is fetched at run time: the page works offline),
 * minified, into memory. Each file is named by its content's hash.
 */
export async function buildPageAssets(): Promise<PageAssets> {
  const built = await Bun.build({ entrypoints: [PAGE_ENTRY], minify: true, target: "browser", sourcemap: "none" });
  if (!built.success) {
    const first = built.logs.find((log) => log.level === "error")?.message ?? "unknown error";
    throw new PageBuildError(`the web page could not be bundled (${first}); run 'npm install' in org's checkout and start again.`);
  }
  const files = new Map<string, PageFile>();
  let script: string | undefined;
  let style: string | undefined;
  let raw = 0;
  let gzip = 0;
  for (const output of built.outputs) {
    const body = new Uint8Array(await output.arrayBuffer());
    const kind = output.path.endsWith(".css") ? "css" : output.path.endsWith(".js") ? "js" : undefined;
    if (kind === undefined) continue;
    const path = `/assets/app-${createHash("sha256").update(body).digest("hex").slice(0, 16)}.${kind}`;
    files.set(path, { body, type: TYPES[kind] ?? "application/octet-stream" });
    raw += body.length;
    gzip += Bun.gzipSync(body).length;
    if (kind === "js") script = path;
    else style = path;
  }
  if (script === undefined) throw new PageBuildError("the web page's bundle has no script; run 'npm install' in org's checkout and start again.");
  return { html: shell(script, style), files, bytes: { raw, gzip } };
}
