// Preloaded by `bun test` inside the sandbox (toolsmith/sandbox-stages.ts): tool.ts is served from stdin, so the
// real tool and each mutant run at the same path, under the same file name, from the same folder and environment.
// Nothing a test can observe about where its code runs tells a mutant from the tool. The tool's code gets the
// same second layer as in the fixed runner, except that the global object keeps what bun test needs.
import { withholdGlobals } from "./withhold-globals.ts";

// tool.ts beside the tests, in the folder bun test runs from (/org/tool for the toolsmith, /org/tools/NAME for the gate).
const toolPath = `${process.cwd()}/tool.ts`;
const source = await Bun.stdin.text();
withholdGlobals(toolPath, async () => source, { deleteGlobals: false });
