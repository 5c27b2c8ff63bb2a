import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { RoomEvent } from "./room-event.ts";
import type { RoomStreamFrame } from "./room-stream-frame.ts";
import { RoomStream } from "./room-stream.ts";

const delta = (text: string): RoomEvent => ({ type: "text-delta", replyId: "r1", persona: "agent", text });
const seqs = (frames: readonly RoomStreamFrame[]) => frames.map((frame) => (frame.kind === "event" ? frame.seq : `reset@${frame.seq}`));

describe("RoomStream", () => {
  test("numbers events in order from its first number; every subscriber gets each once, live", () => {
    const stream = new RoomStream({ firstSeq: 100 });
    const a: RoomStreamFrame[] = [];
    const b: RoomStreamFrame[] = [];
    stream.subscribe((frame) => a.push(frame));
    stream.publish(delta("x"));
    const unsubscribe = stream.subscribe((frame) => b.push(frame));
    stream.publish(delta("y"));
    unsubscribe();
    stream.publish(delta("z"));
    expect(seqs(a)).toEqual([100, 101, 102]);
    expect(seqs(b)).toEqual([101]);
    expect(stream.lastSeq).toBe(102);
  });

  test("a subscriber that throws is left out of that event only; the others and the stream go on", () => {
    const stream = new RoomStream({ firstSeq: 1 });
    const seen: number[] = [];
    stream.subscribe(() => {
      throw new Error("broken page");
    });
    stream.subscribe((frame) => seen.push(frame.seq));
    stream.publish(delta("a"));
    stream.publish(delta("b"));
    expect(seen).toEqual([1, 2]);
  });

  test("an event published by a subscriber while it is told of another comes after it, to everyone", () => {
    const stream = new RoomStream({ firstSeq: 1 });
    const first: string[] = [];
    const second: string[] = [];
    stream.subscribe((frame) => {
      if (frame.kind !== "event" || frame.event.type !== "text-delta") return;
      first.push(frame.event.text);
      if (frame.event.text === "a") stream.publish(delta("echo"));
    });
    stream.subscribe((frame) => frame.kind === "event" && frame.event.type === "text-delta" && second.push(frame.event.text));
    stream.publish(delta("a"));
    stream.publish(delta("b"));
    expect(first).toEqual(["a", "echo", "b"]);
    expect(second).toEqual(first);
  });

  test("after: what was missed, then live; beyond what is held, a gap reset; a number it never gave, an unknown reset", () => {
    const stream = new RoomStream({ firstSeq: 10, maxEvents: 3 });
    for (const text of ["a", "b", "c", "d", "e"]) stream.publish(delta(text));
    // Held: 12, 13, 14.
    const back: RoomStreamFrame[] = [];
    stream.subscribe((frame) => back.push(frame), { after: 12 });
    expect(seqs(back)).toEqual([13, 14]);
    stream.publish(delta("f"));
    expect(seqs(back)).toEqual([13, 14, 15]);
    const caughtUp: RoomStreamFrame[] = [];
    stream.subscribe((frame) => caughtUp.push(frame), { after: 15 });
    expect(caughtUp).toEqual([]);
    const late: RoomStreamFrame[] = [];
    stream.subscribe((frame) => late.push(frame), { after: 11 });
    expect(late).toEqual([{ kind: "reset", seq: 15, reason: "gap", message: expect.stringContaining("no longer held") }]);
    const stranger: RoomStreamFrame[] = [];
    stream.subscribe((frame) => stranger.push(frame), { after: 99 });
    expect(stranger[0]).toMatchObject({ kind: "reset", reason: "unknown", seq: 15 });
  });

  test("the characters held are bounded too, keeping at least the newest event", () => {
    const stream = new RoomStream({ firstSeq: 1, maxChars: 500 });
    for (let index = 0; index < 20; index += 1) stream.publish(delta("x".repeat(100)));
    expect(stream.heldChars).toBeLessThanOrEqual(500);
    expect(stream.oldestSeq).toBeGreaterThan(15);
    stream.publish(delta("y".repeat(5_000)));
    expect(stream.oldestSeq).toBe(21);
  });

  test("closing ends every subscription once, and a later subscriber at once", () => {
    const stream = new RoomStream();
    let closed = 0;
    stream.subscribe(() => {}, { onClose: () => (closed += 1) });
    stream.close();
    stream.close();
    stream.subscribe(() => {}, { onClose: () => (closed += 1) });
    expect(closed).toBe(2);
    expect(stream.subscribers).toBe(0);
  });

  // Property: whatever the ring's size and wherever a subscriber leaves and comes back, what it got before leaving and
  // after coming back is exactly the steady subscriber's stream (none twice, none missing), or it was told to reset.
  test("a subscriber that leaves and comes back gets exactly what a steady one got, or a reset (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(fc.constantFrom("publish", "leave", "return"), { maxLength: 60 }), (maxEvents, steps) => {
        const stream = new RoomStream({ firstSeq: 1, maxEvents });
        const steady: RoomStreamFrame[] = [];
        stream.subscribe((frame) => steady.push(frame));
        const roaming: RoomStreamFrame[] = [];
        let unsubscribe: (() => void) | undefined = stream.subscribe((frame) => roaming.push(frame));
        let reset = false;
        for (const [index, step] of steps.entries()) {
          if (step === "publish") stream.publish(delta(String(index)));
          else if (step === "leave") {
            unsubscribe?.();
            unsubscribe = undefined;
          } else if (!unsubscribe) {
            const last = roaming.at(-1)?.seq ?? 0;
            // A reset exactly when more was missed than the stream holds.
            const missedTooMuch = stream.lastSeq - last > maxEvents;
            unsubscribe = stream.subscribe(
              (frame) => {
                if (frame.kind === "reset") reset = true;
                else roaming.push(frame);
              },
              { after: last },
            );
            expect(reset).toBe(missedTooMuch);
          }
          if (reset) return;
        }
        unsubscribe?.();
        const last = roaming.at(-1)?.seq ?? 0;
        expect(roaming).toEqual(steady.filter((frame) => frame.seq <= last));
        expect(new Set(roaming.map((frame) => frame.seq)).size).toBe(roaming.length);
      }),
      { numRuns: 400, seed: 54 },
    );
  });
});
