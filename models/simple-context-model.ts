import { Model } from "./model.ts";

/** A plain conversational persona: no tools, only the room's recent history as context. */
export class SimpleContextModel extends Model {
  protected role(): string {
    return "a participant in a terminal chat room. Answer plainly and briefly.";
  }
}
