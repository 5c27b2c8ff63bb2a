// The worker behind measureTreeOffThread: walks one tree per message and posts the measure back.
import { measureTree, type TreeMeasure } from "./measure-tree.ts";

declare const self: Worker;

type Request = { id: number; root: string; maxBytes: number; maxEntries: number; reuseListings: boolean };

self.addEventListener("message", (event: MessageEvent<Request>) => {
  const { id, root, maxBytes, maxEntries, reuseListings } = event.data;
  const measure: TreeMeasure = measureTree(root, maxBytes, maxEntries, { reuseListings });
  self.postMessage({ id, measure });
});
