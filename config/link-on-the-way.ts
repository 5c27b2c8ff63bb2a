import { lstatSync } from "node:fs";
import { join } from "node:path";

/**
 * The first folder on the way to `relative` under `root` (`relative` itself included) that is a link, or undefined
 * when each is a real folder or is not there. org reads `tools/generated/` and `workflows/` only through real
 * folders: a link `tools -> x` would put x/generated/, which no check saw as promoted tools, in their place.
 */
export function linkOnTheWay(root: string, relative: string): string | undefined {
  const parts = relative.split("/");
  for (let count = 1; count <= parts.length; count += 1) {
    const path = parts.slice(0, count).join("/");
    try {
      if (lstatSync(join(root, path)).isSymbolicLink()) return path;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
