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

/** Pixels drawn beyond the viewport on each side; and how near the list's start counts as near. */
const OVERSCAN = 600;
const NEAR_START = 1200;

type Props<Item> = {
  items: readonly Item[];
  keyOf: (item: Item) => string;
  /** What an item's height is guessed to be before it was drawn. */
  estimate: number;
  /** The scrolling element the list sits in. */
  scroller: RefObject<HTMLElement | null>;
  children: (item: Item) => ComponentChildren;
  /** Called when the viewport is near the list's first item (to read older items and put them before it). */
  onNearStart?: () => void;
  /** Whether the scroller opens at the list's end (a transcript): then the first draw is of the last items alone. */
  startAtEnd?: boolean;
};

type View = { top: number | undefined; height: number };

/**
 * Where the list's view is in the scroller, read again on a scroll or a resize (a frame later; the first read waits
 * until the first draw's frame is painted). Until the scroller is first read it is guessed: its top, or its end (top
 * undefined) a window high.
 */
function useScrollerView(scroller: RefObject<HTMLElement | null>, list: RefObject<HTMLDivElement | null>, startAtEnd: boolean, onRead: () => void) {
  const [view, setView] = useState<View>(() => ({ top: startAtEnd ? undefined : 0, height: startAtEnd ? innerHeight : 800 }));
  const read = useRef(onRead);
  read.current = onRead;
  useEffect(() => {
    const element = scroller.current;
    if (!element) return;
    let frame = 0;
    let later: ReturnType<typeof setTimeout> | undefined;
    const take = () => {
      setView({ top: element.scrollTop - (list.current?.offsetTop ?? 0), height: element.clientHeight });
      read.current();
    };
    const onScroll = () => {
      cancelAnimationFrame(frame);
      // The first read (most often the scroll to the list's end that the first draw asked for) waits until that frame
      // is painted: what is beyond the view is drawn after it, not in it.
      if (later === undefined) frame = requestAnimationFrame(() => (later = setTimeout(take, 0)));
      else frame = requestAnimationFrame(take);
    };
    // The first draw was of the view alone: what is beyond it is drawn once the browser has time (a scroll draws it too).
    const idle = requestIdleCallback(onScroll, { timeout: 500 });
    element.addEventListener("scroll", onScroll, { passive: true });
    addEventListener("resize", onScroll);
    return () => {
      cancelIdleCallback(idle);
      cancelAnimationFrame(frame);
      clearTimeout(later);
      element.removeEventListener("scroll", onScroll);
      removeEventListener("resize", onScroll);
    };
  }, [scroller]);
  return [view, setView] as const;
}

/** Each item's height (measured, else `estimate`), where each starts, and the whole list's height. */
function layout<Item>(items: readonly Item[], keyOf: (item: Item) => string, heights: ReadonlyMap<string, number>, estimate: number) {
  const sizes = items.map((item) => heights.get(keyOf(item)) ?? estimate);
  const offsets: number[] = [];
  let total = 0;
  for (const size of sizes) {
    offsets.push(total);
    total += size;
  }
  return { sizes, offsets, total };
}

/**
 * After each draw: the drawn items measured, and what is in view kept in place when items were put before the first
 * (an older page) or an item above the view turned out taller or shorter than its guess; the scroller moves by as much.
 * Says whether a height changed.
 */
function measure<Item>(
  element: HTMLElement,
  drawn: HTMLElement,
  list: { items: readonly Item[]; keyOf: (item: Item) => string; estimate: number; sizes: number[]; offsets: number[] },
  known: { heights: Map<string, number>; firstKey: { current: string | undefined } },
): boolean {
  const { items, keyOf, estimate, sizes, offsets } = list;
  const top = element.scrollTop - drawn.offsetTop;
  let shift = 0;
  const first = items[0] === undefined ? undefined : keyOf(items[0]);
  if (known.firstKey.current !== undefined && first !== known.firstKey.current) {
    const index = items.findIndex((item) => keyOf(item) === known.firstKey.current);
    if (index > 0) shift += offsets[index] ?? 0;
  }
  known.firstKey.current = first;
  let changed = false;
  for (const child of Array.from(drawn.children)) {
    if (!(child instanceof HTMLElement)) continue;
    const { key, index } = child.dataset;
    if (key === undefined || index === undefined) continue;
    const height = child.offsetHeight;
    const guessed = sizes[Number(index)] ?? estimate;
    if (height === guessed) continue;
    known.heights.set(key, height);
    changed = true;
    // An item wholly above the view that is taller or shorter than guessed moves what is in view.
    if ((offsets[Number(index)] ?? 0) + guessed <= top + shift) shift += height - guessed;
  }
  if (shift !== 0) element.scrollTop += shift;
  return changed;
}

/**
 * A list that draws only the items in and near the viewport: a session of 10 000 messages opens as fast as one of
 * ten. Each drawn item's height is measured and kept by its key; those not yet drawn count as `estimate`. What is in
 * view stays in place when items are put before the first one or an item above the view turns out taller or shorter
 * than its guess: the scroller moves by as much.
 */
export function VirtualList<Item>({ items, keyOf, estimate, scroller, children, onNearStart, startAtEnd }: Props<Item>) {
  const heights = useRef(new Map<string, number>());
  const list = useRef<HTMLDivElement>(null);
  const firstKey = useRef<string | undefined>(undefined);
  const checkNearStart = () => {
    const element = scroller.current;
    if (element && list.current && element.scrollTop < list.current.offsetTop + NEAR_START) onNearStart?.();
  };
  const [view, setView] = useScrollerView(scroller, list, startAtEnd ?? false, checkNearStart);
  const [, remeasured] = useState(0);
  const { sizes, offsets, total } = layout(items, keyOf, heights.current, estimate);
  // The first draw, before the scroller was read, is of the view alone.
  const viewTop = view.top ?? total - view.height;
  const overscan = view.top === undefined ? 0 : OVERSCAN;
  const start = firstVisible(offsets, sizes, viewTop - overscan);
  let end = start;
  while (end < items.length && (offsets[end] ?? 0) < viewTop + view.height + overscan) end += 1;

  useLayoutEffect(() => {
    const element = scroller.current;
    const drawn = list.current;
    if (!element || !drawn) return;
    const changed = measure(element, drawn, { items, keyOf, estimate, sizes, offsets }, { heights: heights.current, firstKey });
    // Still guessing where the view is: its height at least is known now (less than the window's), so the items drawn
    // again for the heights just measured are those of the view, not of a window's height.
    if (view.top === undefined && element.clientHeight > 0 && element.clientHeight < view.height)
      setView({ top: undefined, height: element.clientHeight });
    if (changed) remeasured((count) => count + 1);
  });
  // After each draw (and once the room has put the view at its end): read older items when the start is near.
  useEffect(checkNearStart);

  return (
    <div class="virtual" ref={list} style={{ height: `${total}px` }}>
      {items.slice(start, end).map((item, index) => (
        <div
          key={keyOf(item)}
          data-key={keyOf(item)}
          data-index={start + index}
          class="virtual-item"
          style={{ top: `${offsets[start + index] ?? 0}px` }}
        >
          {children(item)}
        </div>
      ))}
    </div>
  );
}
