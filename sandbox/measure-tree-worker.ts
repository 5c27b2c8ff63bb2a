// The worker behind measureTreeOffThread: walks one tree per message and posts the measure back.
import { measureTree, type TreeMeasure } from "./measure-tree.ts";

declare const self: Worker;

self.addEventListener("message", (event: MessageEvent<{ id: number; root: string; maxBytes: number; maxEntries: number }>) => {
  const { id, root, maxBytes, maxEntries } = event.data;
  const measure: TreeMeasure = measureTree(root, maxBytes, maxEntries);
  self.postMessage({ id, measure });
});
