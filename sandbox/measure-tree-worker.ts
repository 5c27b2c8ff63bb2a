// The worker behind TreeMeasurer.offThread: walks one tree per message and posts the measure back. The listings its
// walks reuse are this thread's own.
import { measureTree, type TreeMeasure, TreeListings } from "./measure-tree.ts";

declare const self: Worker;

type Request = { id: number; root: string; maxBytes: number; maxEntries: number; reuseListings: boolean };

function serveWalks(listings: TreeListings): void {
  self.addEventListener("message", (event: MessageEvent<Request>) => {
    const { id, root, maxBytes, maxEntries, reuseListings } = event.data;
    const measure: TreeMeasure = measureTree(root, maxBytes, maxEntries, reuseListings ? { listings } : {});
    self.postMessage({ id, measure });
  });
}

serveWalks(new TreeListings());
