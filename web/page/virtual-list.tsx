import type { ComponentChildren, RefObject } from "preact";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";

/** The first index whose item ends below `y`, over the items' start offsets (a binary search). */
export function firstVisible(offsets: readonly number[], heights: readonly number[], y: number): number {
  let low = 0;
  let high = offsets.length - 1;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((offsets[middle] ?? 0) + (heights[middle] ?? 0) <= y) low = middle + 1;
    else high = middle;
  }
  return Math.max(0, low);
}

type Props<Item> = {
  items: readonly Item[];
  keyOf: (item: Item) => string;
  /** What an item's height is guessed to be before it was drawn. */
  estimate: number;
  /** The scrolling element the list sits in. */
  scroller: RefObject<HTMLElement | null>;
  children: (item: Item) => ComponentChildren;
};

/**
 * A list that draws only the items in and near the viewport: a session of 10 000 messages opens as fast as one of
 * ten. Each drawn item's height is measured and kept by its key; those not yet drawn count as `estimate`.
 */
export function VirtualList<Item>({ items, keyOf, estimate, scroller, children }: Props<Item>) {
  const heights = useRef(new Map<string, number>());
  const list = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 800 });
  const [, remeasured] = useState(0);

  useEffect(() => {
    const element = scroller.current;
    if (!element) return;
    let frame = 0;
    const onScroll = () => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => setView({ top: element.scrollTop - (list.current?.offsetTop ?? 0), height: element.clientHeight }));
    };
    onScroll();
    element.addEventListener("scroll", onScroll, { passive: true });
    addEventListener("resize", onScroll);
    return () => {
      cancelAnimationFrame(frame);
      element.removeEventListener("scroll", onScroll);
      removeEventListener("resize", onScroll);
    };
  }, [scroller]);

  const sizes = items.map((item) => heights.current.get(keyOf(item)) ?? estimate);
  const offsets: number[] = [];
  let total = 0;
  for (const size of sizes) {
    offsets.push(total);
    total += size;
  }
  const overscan = 600;
  const start = firstVisible(offsets, sizes, view.top - overscan);
  let end = start;
  while (end < items.length && (offsets[end] ?? 0) < view.top + view.height + overscan) end += 1;

  useLayoutEffect(() => {
    let changed = false;
    for (const child of Array.from(list.current?.children ?? [])) {
      const key = (child as HTMLElement).dataset.key;
      if (key === undefined) continue;
      const height = (child as HTMLElement).offsetHeight;
      if (heights.current.get(key) !== height) {
        heights.current.set(key, height);
        changed = true;
      }
    }
    if (changed) remeasured((count) => count + 1);
  });

  return (
    <div class="virtual" ref={list} style={{ height: `${total}px` }}>
      {items.slice(start, end).map((item, index) => (
        <div key={keyOf(item)} data-key={keyOf(item)} class="virtual-item" style={{ top: `${offsets[start + index] ?? 0}px` }}>
          {children(item)}
        </div>
      ))}
    </div>
  );
}
