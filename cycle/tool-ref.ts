import { isMainOrCandidate } from "../git/ref-names.ts";

/** Whether `ref` is one a command may read tools at: main or a `cand/<UTC second>` branch (loads no git). */
export function isToolRef(ref: string): boolean {
  return isMainOrCandidate(ref);
}
