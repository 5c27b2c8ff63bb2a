/**
 * `make`'s value, made the first time it is asked for and the same value after. For what every run makes alike (a
 * module's zod schemas): a constant made late, not state, so that a command never pays for what it does not use.
 */
export function onFirstUse<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => {
    made ??= { value: make() };
    return made.value;
  };
}
