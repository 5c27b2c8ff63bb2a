import { expect, test } from "bun:test";
import { buildPageAssets } from "./page-assets.ts";

// The page is bundled from the installed packages; its JavaScript and CSS together stay small (issue 53: ≤ 150 KB gzipped).
test("the page bundles into one script and one stylesheet, no inline code, under 150 KB gzipped", async () => {
  const assets = await buildPageAssets();
  const paths = [...assets.files.keys()];
  expect(paths.filter((path) => path.endsWith(".js"))).toHaveLength(1);
  expect(paths.filter((path) => path.endsWith(".css"))).toHaveLength(1);
  for (const path of paths) expect(assets.html).toContain(`"${path}"`);
  expect(assets.html).not.toMatch(/<script>|<style>|\son\w+=/);
  expect(assets.bytes.gzip).toBeLessThanOrEqual(150 * 1024);
  // Nothing in the bundle reaches for another origin at run time.
  const script = new TextDecoder().decode([...assets.files.entries()].find(([path]) => path.endsWith(".js"))?.[1].body);
  expect(script).not.toMatch(/https?:\/\/(?!www\.w3\.org)[a-z0-9.-]+\.[a-z]{2,}\/[\w/-]*\.(js|css|woff2?)/i);
}, 60_000);
