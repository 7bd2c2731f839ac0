/**
 * The prom-client bridge: registers a client's metric families into an application's existing
 * prom-client `Registry`, as collectors read at scrape time. prom-client is an optional peer
 * dependency, loaded only when no registry is passed (to use its global `register`).
 */
import { invalid, KazooError } from '../errors';
import { metricFamilies, type MetricFamily } from './exposition';
import type { StatsSource } from './http';

/** The part of a prom-client `Registry` (v13 and later) this bridge uses. */
export interface PromRegistry {
  registerMetric(metric: never): void;
  removeSingleMetric(name: string): void;
  getSingleMetric(name: string): unknown;
}

/** A metric as prom-client's registry reads it (what its own Counter/Gauge/Histogram provide). */
interface CollectedMetric {
  name: string;
  help: string;
  type: MetricFamily['type'];
  aggregator: 'sum';
  get(): Promise<{
    name: string;
    help: string;
    type: MetricFamily['type'];
    aggregator: 'sum';
    values: Array<{ value: number; labels: Record<string, string>; metricName?: string }>;
  }>;
  reset(): void;
}

function defaultRegistry(): PromRegistry {
  try {
    // Lazily: applications that never call this never need prom-client installed.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional peer dependency, loaded only when asked for
    return (require('prom-client') as { register: PromRegistry }).register;
  } catch {
    throw new KazooError(
      'INVALID_ARGUMENT',
      'kazoo: registry must be a prom-client Registry, got undefined (prom-client is not installed, so there is no default registry: npm install prom-client)',
      { param: 'registry' },
    );
  }
}

/**
 * Registers `kazoo`'s metrics (the same families as {@link Kazoo.metrics}) into a prom-client
 * `registry` (default: prom-client's global `register`), so that `registry.metrics()` includes
 * them, read fresh at each scrape. Works with Prometheus and OpenMetrics registries. One client
 * per registry. Returns a function that removes them again.
 * Kamailio: none (the module exports no statistics).
 * @throws KazooError INVALID_ARGUMENT when `registry` is not a prom-client Registry, when it
 * already holds a `kazoo_…` metric (nothing is registered then), or when no registry is passed
 * and prom-client is not installed.
 */
export function registerKazooMetrics(kazoo: StatsSource, registry?: PromRegistry): () => void {
  if (kazoo === null || typeof kazoo !== 'object' || typeof kazoo.stats !== 'function') {
    throw invalid('INVALID_ARGUMENT', 'kazoo', 'a Kazoo client', kazoo);
  }
  const target = registry === undefined ? defaultRegistry() : registry;
  if (
    target === null ||
    typeof target !== 'object' ||
    typeof target.registerMetric !== 'function' ||
    typeof target.removeSingleMetric !== 'function' ||
    typeof target.getSingleMetric !== 'function'
  ) {
    throw invalid('INVALID_ARGUMENT', 'registry', 'a prom-client Registry', target);
  }
  // One snapshot per scrape: the registry calls every metric's get() in the same turn.
  let cached: Map<string, MetricFamily> | null = null;
  const family = (name: string): MetricFamily | undefined => {
    if (cached === null) {
      cached = new Map(metricFamilies(kazoo.stats()).map((f) => [f.name, f]));
      queueMicrotask(() => (cached = null));
    }
    return cached.get(name);
  };
  const names = metricFamilies(kazoo.stats()).map((f) => ({ name: f.name, help: f.help, type: f.type }));
  const taken = names.find((n) => target.getSingleMetric(n.name) !== undefined);
  if (taken) {
    throw new KazooError('INVALID_ARGUMENT', `kazoo: registry must not hold kazoo metrics yet (one client per registry), got one with ${taken.name}`, {
      param: 'registry',
    });
  }
  const registered: CollectedMetric[] = names.map(({ name, help, type }) => {
    const metric: CollectedMetric = {
      name,
      help,
      type,
      aggregator: 'sum',
      async get() {
        const samples = family(name)?.samples ?? [];
        return {
          // An OpenMetrics registry renames counters (drops _total); it reads the name back from here.
          name: metric.name,
          help,
          type,
          aggregator: 'sum',
          values: samples.map((s) => (s.name === name ? { value: s.value, labels: { ...s.labels } } : { value: s.value, labels: { ...s.labels }, metricName: s.name })),
        };
      },
      reset() {
        // Counts belong to the client; a registry reset does not clear them.
      },
    };
    return metric;
  });
  for (const metric of registered) target.registerMetric(metric as never);
  return () => {
    // Keyed by the registered name: an OpenMetrics registry may have renamed the metric since.
    names.forEach(({ name }, i) => {
      if (target.getSingleMetric(name) === registered[i]) target.removeSingleMetric(name);
    });
  };
}
