// Preloaded by `bun test` inside the sandbox (toolsmith/sandbox-stages.ts): tool.ts is served from stdin, so the
// real tool and each mutant run at the same path, under the same file name, from the same folder and environment.
// Nothing a test can observe about where its code runs tells a mutant from the tool.
const TOOL_PATH = "/org/tool/tool.ts";
const source = await Bun.stdin.text();
Bun.plugin({
  name: "org-tool-source",
  setup(build) {
    build.onLoad({ filter: /^\/org\/tool\/tool\.ts$/ }, (args) => {
      if (args.path !== TOOL_PATH) throw new Error(`unexpected tool path ${args.path}`);
      return { contents: source, loader: "ts" };
    });
  },
});
export {};
