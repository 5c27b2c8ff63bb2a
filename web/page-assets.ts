import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { z } from "zod";
import { CHECKOUT_DIR, ORG_DIR } from "../config/workspace-paths.ts";
import { ensurePrivateDir, readPrivateFile, writePrivateFile } from "../security/private-state.ts";
import { OrgError } from "../errors/org-error.ts";

/** One file of the page: its bytes, the same gzipped (made once, for browsers that take it), and its content type. */
export type PageFile = { body: Uint8Array; gzip: Uint8Array; type: string };

/**
 * The web room's page, bundled: the HTML shell and the files it loads, by URL path (`/assets/app-<hash>.js`); `from`
 * says whether this start built it or found it in the cache.
 */
export type PageAssets = { html: string; files: ReadonlyMap<string, PageFile>; bytes: { raw: number; gzip: number }; from: "build" | "cache" };

/** The page's entry; everything it imports (Preact, markdown-it, DOMPurify, zod, its CSS) is bundled from node_modules. */
export const PAGE_ENTRY = join(CHECKOUT_DIR, "web", "page", "main.tsx");

/** Where a bundle is kept between starts, with the hash of every file it was built from: the checkout's own `.org/`. */
export const PAGE_CACHE_DIR = join(CHECKOUT_DIR, ORG_DIR, "web-page");

/** The page could not be bundled (a broken install); the message says what to do. */
export class PageBuildError extends OrgError {
  override name = "PageBuildError";
}

const TYPES: Record<string, string> = { js: "text/javascript; charset=utf-8", css: "text/css; charset=utf-8" };

/** What the cache keeps beside the bundle's files: what it was built from, each file with its hash, and the files made. */
const CacheManifest = z.object({
  version: z.literal(1),
  inputs: z.array(z.tuple([z.string(), z.string()])),
  files: z.array(z.object({ path: z.string().regex(/^\/assets\/app-[0-9a-f]{16}\.(js|css)$/), kind: z.enum(["js", "css"]) })),
});
type CacheManifest = z.infer<typeof CacheManifest>;

const sha256 = (bytes: Uint8Array) => new Bun.CryptoHasher("sha256").update(bytes).digest("hex");

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

/** The page from its files (each named by its content's hash), as the server answers it. */
function assemble(files: { path: string; kind: "js" | "css"; body: Uint8Array<ArrayBuffer> }[], from: PageAssets["from"]): PageAssets {
  const script = files.find((file) => file.kind === "js")?.path;
  if (script === undefined) throw new PageBuildError("the web page's bundle has no script; run 'npm install' in org's checkout and start again.");
  const style = files.find((file) => file.kind === "css")?.path;
  const made = files.map((file) => ({ ...file, gzip: Bun.gzipSync(file.body, { level: 9 }) }));
  return {
    html: shell(script, style),
    files: new Map(made.map((file) => [file.path, { body: file.body, gzip: file.gzip, type: TYPES[file.kind] ?? "application/octet-stream" }])),
    bytes: {
      raw: made.reduce((sum, file) => sum + file.body.length, 0),
      gzip: made.reduce((sum, file) => sum + file.gzip.length, 0),
    },
    from,
  };
}

/**
 * Bundles the page with Bun from the installed packages (nothing is fetched at run time: the page works offline),
 * minified, into memory; each file is named by its content's hash. `inputs` are the files it was built from.
 */
export async function buildPageAssets(entry = PAGE_ENTRY): Promise<PageAssets & { inputs: string[] }> {
  const built = await Bun.build({ entrypoints: [entry], minify: true, target: "browser", sourcemap: "none", metafile: true });
  if (!built.success) {
    const first = built.logs.find((log) => log.level === "error")?.message ?? "unknown error";
    throw new PageBuildError(`the web page could not be bundled (${first}); run 'npm install' in org's checkout and start again.`);
  }
  const files: { path: string; kind: "js" | "css"; body: Uint8Array<ArrayBuffer> }[] = [];
  for (const output of built.outputs) {
    const kind = output.path.endsWith(".css") ? "css" : output.path.endsWith(".js") ? "js" : undefined;
    if (kind === undefined) continue;
    const body = new Uint8Array(await output.arrayBuffer());
    files.push({ path: `/assets/app-${sha256(body).slice(0, 16)}.${kind}`, kind, body });
  }
  const inputs = Object.keys(built.metafile?.inputs ?? {}).map((path) => resolve(path));
  return { ...assemble(files, "build"), inputs };
}

/** The cached bundle when every file it was built from is as it was, and every file of it is whole; else undefined. */
function readCache(cacheDir: string, codeDir: string): PageAssets | undefined {
  let manifest: CacheManifest;
  try {
    manifest = CacheManifest.parse(JSON.parse(readPrivateFile(join(cacheDir, "manifest.json"))));
    for (const [path, hash] of manifest.inputs) if (sha256(readFileSync(resolve(codeDir, path))) !== hash) return undefined;
    // The bundle is UTF-8 text; a file that does not read back to the bytes its name hashes is not taken.
    const files = manifest.files.map((file) => ({
      ...file,
      body: new Uint8Array(Buffer.from(readPrivateFile(join(cacheDir, file.path.slice("/assets/".length))))),
    }));
    if (files.some((file) => !file.path.includes(sha256(file.body).slice(0, 16)))) return undefined;
    return assemble(files, "cache");
  } catch {
    return undefined;
  }
}

/** Keeps a build for the next start: the bundle's files, then the manifest that names them and what they were built from. */
function writeCache(cacheDir: string, codeDir: string, built: PageAssets & { inputs: string[] }): void {
  ensurePrivateDir(cacheDir);
  const files = [...built.files].map(([path, file]) => ({ path, kind: path.endsWith(".css") ? ("css" as const) : ("js" as const), body: file.body }));
  // Each file is written beside its name and renamed there: a start reading meanwhile sees the old one or the new one.
  for (const file of files) writePrivateFile(join(cacheDir, file.path.slice("/assets/".length)), file.body);
  const manifest: CacheManifest = {
    version: 1,
    inputs: built.inputs.map((path) => [relative(codeDir, path), sha256(readFileSync(path))]),
    files: files.map(({ path, kind }) => ({ path, kind })),
  };
  writePrivateFile(join(cacheDir, "manifest.json"), JSON.stringify(manifest));
}

/**
 * The page for a server: from the cache when every file it was built from (the page's code, the schemas it shares, the
 * packages) hashes as it did, so a start after the first does not bundle again and a change to any of them is never
 * served stale; otherwise bundled now and kept. A cache that cannot be written (a read-only install) costs a build at
 * each start, nothing else.
 */
export async function pageAssets(options: { entry?: string; cacheDir?: string } = {}): Promise<PageAssets> {
  const entry = options.entry ?? PAGE_ENTRY;
  const codeDir = dirname(dirname(dirname(entry)));
  const cacheDir = options.cacheDir ?? PAGE_CACHE_DIR;
  const cached = readCache(cacheDir, codeDir);
  if (cached) return cached;
  const built = await buildPageAssets(entry);
  try {
    writeCache(cacheDir, codeDir, built);
  } catch {
    // Not kept: the next start builds again.
  }
  const { inputs: _inputs, ...assets } = built;
  return assets;
}
