import { expect, test } from "bun:test";
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { orgCodeCopy } from "../testing/org-clone.ts";
import { pageAssets } from "./page-assets.ts";

// The page is bundled from the installed packages; its JavaScript and CSS together stay small (issue 53: ≤ 150 KB
// gzipped). A start after the first takes the bundle from the cache; a change to any file it was built from rebuilds it.
test("the page bundles into one script and one stylesheet, no inline code, under 150 KB gzipped; kept until its code changes", async () => {
  using code = orgCodeCopy("org-page-assets-");
  const cacheDir = mkdtempSync(join(tmpdir(), "org-page-cache-"));
  try {
    const entry = join(code.dir, "web", "page", "main.tsx");
    const assets = await pageAssets({ entry, cacheDir });
    expect(assets.from).toBe("build");
    const paths = [...assets.files.keys()];
    expect(paths.filter((path) => path.endsWith(".js"))).toHaveLength(1);
    expect(paths.filter((path) => path.endsWith(".css"))).toHaveLength(1);
    for (const path of paths) expect(assets.html).toContain(`"${path}"`);
    expect(assets.html).not.toMatch(/<script>|<style>|\son\w+=/);
    expect(assets.bytes.gzip).toBeLessThanOrEqual(150 * 1024);
    // Nothing in the bundle reaches for another origin at run time.
    const script = new TextDecoder().decode([...assets.files.entries()].find(([path]) => path.endsWith(".js"))?.[1].body);
    expect(script).not.toMatch(/https?:\/\/(?!www\.w3\.org)[a-z0-9.-]+\.[a-z]{2,}\/[\w/-]*\.(js|css|woff2?)/i);

    const again = await pageAssets({ entry, cacheDir });
    expect(again.from).toBe("cache");
    expect(again.html).toBe(assets.html);
    expect([...again.files.values()]).toEqual([...assets.files.values()]);
    // A file the page is built from changes (its code, its style, a schema it shares): the next start bundles again.
    appendFileSync(join(code.dir, "web", "page", "styles.css"), "\n.changed-for-the-test {\n  color: red;\n}\n");
    const changed = await pageAssets({ entry, cacheDir });
    expect(changed.from).toBe("build");
    expect(changed.html).not.toBe(assets.html);
    expect((await pageAssets({ entry, cacheDir })).from).toBe("cache");
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
}, 120_000);
