import { matchedPattern, type Middleware } from "./router.ts";
import type { ServeMetrics } from "./serve-metrics.ts";

/** Counts every answer by the route pattern it matched ("unmatched" for none), method and status, and times it. */
export function metricsMiddleware(metrics: ServeMetrics): Middleware {
  return async (context, next) => {
    const started = performance.now();
    const response = await next(context);
    metrics.recordRequest(matchedPattern(context.match), context.request.method, response.status, (performance.now() - started) / 1000);
    return response;
  };
}
