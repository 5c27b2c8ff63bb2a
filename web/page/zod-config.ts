import { z } from "zod";

// The page's CSP forbids `eval`: zod is told not to compile its parsers, so it never tries `new Function`, which the
// browser refuses with a CSP violation report (about 50 ms of the first load, profiled). Imported first by start.tsx, so
// it runs before any schema is made.
z.config({ jitless: true });
