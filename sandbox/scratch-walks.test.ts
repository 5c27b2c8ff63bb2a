import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TreeMeasure, TreeMeasurer } from "./measure-tree.ts";
import { ScratchWalks } from "./scratch-walks.ts";

const dir = mkdtempSync(join(tmpdir(), "org-scratch-walks-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MiB = 1024 * 1024;

/** A measurer whose walks off the thread end when the test says: a worker busy with another sandbox's tree. */
class SlowMeasurer extends TreeMeasurer {
  finish: ((tree: TreeMeasure) => void) | undefined;
  /** The last walk asked for: awaited after the watchdog's own callbacks on it, which were attached first. */
  walking: Promise<TreeMeasure> | undefined;
  override offThread(): Promise<TreeMeasure> {
    this.walking = new Promise((resolve) => {
      this.finish = resolve;
    });
    return this.walking;
  }
}

/**
 * Scratch walks on `dir` over a SlowMeasurer, whose first verdict stops them (as the watchdog's do), every count of
 * what the sandbox holds open finding 8 MiB over: the holds and verdicts they gave, and how often they counted.
 */
function slowWalks() {
  const measurer = new SlowMeasurer();
  const holds: string[] = [];
  const verdicts: string[] = [];
  let counts = 0;
  const walks: ScratchWalks = new ScratchWalks(
    {
      dir,
      maxBytes: MiB,
      maxEntries: 100,
      verdict: () => undefined,
      heldOpen: () => {
        counts += 1;
        return { bytes: 8 * MiB, verdict: "held open" };
      },
    },
    (verdict) => {
      if (verdict === undefined) return;
      verdicts.push(verdict);
      walks.stop();
    },
    { pause: () => holds.push("pause"), resume: () => holds.push("resume") },
    measurer,
  );
  return { walks, measurer, holds, verdicts, counts: () => counts };
}

test("the disk losing scratch's headroom during a slow walk holds the sandbox, and the walk's end counts its deleted files", async () => {
  const { walks, measurer, holds, verdicts } = slowWalks();
  walks.startSentinel();
  walks.walk();
  // The first walk goes off the thread and hangs there while this writes; another writer on a shared disk freeing
  // space meanwhile could hide one file, not all of them.
  for (let file = 0; file < 20 && holds.length === 0; file += 1) {
    writeFileSync(join(dir, `f${file}`), Buffer.alloc(2 * MiB, 1));
    walks.beat();
  }
  expect(holds).toEqual(["pause"]);
  measurer.finish?.({ bytes: 0, entries: 0, directories: 1 });
  await measurer.walking;
  walks.stop();
  expect(verdicts).toEqual(["held open"]);
  expect(holds).toEqual(["pause", "resume"]);
});

test("with the walks' credit spent by a slow walk, the disk losing scratch's headroom counts deleted files without a hold", async () => {
  const { walks, measurer, holds, verdicts, counts } = slowWalks();
  walks.startSentinel();
  walks.walk();
  // The walk's 800 ms are paid from a credit of 250 ms that refills at a third of the time passed: it is spent.
  await Bun.sleep(800);
  measurer.finish?.({ bytes: 0, entries: 0, directories: 1 });
  await measurer.walking;
  for (let file = 0; file < 20 && verdicts.length === 0; file += 1) {
    writeFileSync(join(dir, `g${file}`), Buffer.alloc(2 * MiB, 1));
    walks.beat();
  }
  walks.stop();
  expect(verdicts).toEqual(["held open"]);
  expect(counts()).toBe(1);
  expect(holds).toEqual([]);
});
