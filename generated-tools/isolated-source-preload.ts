// Preloaded by `bun test --isolate` in the isolated test runs (isolated-test-runs.ts), which runs one test file once per
// source: bun runs this preload again in each file's fresh global object, and each time it serves /org/tool/tool.ts
// from the next source. Which one comes on descriptor 3, one path a line from the driver; one byte on descriptor 4
// tells the driver this file has begun (its watchdog bounds each file). The tests see the tool at the same path,
// under the same file name, from the same folder and environment as in the tests stage (tool-source-preload.ts),
// stdin an exhausted pipe there as here; the same second layer guards the tool's code.
import { readSync, writeSync } from "node:fs";
import { withholdGlobals } from "./withhold-globals.ts";

const SOURCES_FD = 3;
const PROGRESS_FD = 4;

/** One line from `fd`, read a byte at a time so nothing meant for the next file is taken. */
function readLine(fd: number): string {
  const bytes: number[] = [];
  const byte = Buffer.alloc(1);
  for (;;) {
    let got: number;
    try {
      got = readSync(fd, byte, 0, 1, null);
    } catch (error) {
      // Not errorCode: this file is copied alone (beside withhold-globals.ts) into the sandbox's /org/runner/.
      if (!(error instanceof Error && "code" in error && error.code === "EAGAIN")) throw error;
      Bun.sleepSync(1);
      continue;
    }
    if (got === 0) throw new Error("the driver sent no source for this test file");
    if (byte[0] === 0x0a) return Buffer.from(bytes).toString("utf8");
    bytes.push(byte[0] ?? 0);
    if (bytes.length > 4096) throw new Error("the driver sent a source path longer than 4096 bytes");
  }
}

const toolPath = `${process.cwd()}/tool.ts`;
const sourcePath = readLine(SOURCES_FD);
writeSync(PROGRESS_FD, "\n");
const source = await Bun.file(sourcePath).text();
withholdGlobals(toolPath, async () => source, { deleteGlobals: false });
