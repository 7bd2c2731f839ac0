/**
 * The router: which handler runs for an event. Event routes registered by name (Kamailio:
 * `event_route[<name>]`), looked up through the module's five candidates, or, when set, one
 * public catch-all handler that takes every consumer event and `kazoo:mod-init` (Kamailio's KEMI
 * `event_callback`; docs/module-behaviour.md#kemi-mode).
 */
import type { ResolvedConfig } from '../config';
import type { EventRouteHandler } from '../event';
import { CONSUMER_EVENT_ROUTE, consumerEventCandidates, normalizeRouteName } from '../route-names';
import type { NormalizedSubscription } from '../subscription';

/** The route that matched: the name given to the handler's event, and the handler. */
export interface RouteMatch {
  name: string;
  handler: EventRouteHandler;
}

/** A delivery's lookup: the match (if any) and the candidate names tried, for NO_ROUTE. */
export interface RouteLookup {
  route?: RouteMatch;
  candidates: string[];
}

/** Route name of the start-up event. */
export const MOD_INIT_ROUTE = 'kazoo:mod-init';
/** Distinct (subscription, category, name) route lookups remembered before the cache starts over. */
const ROUTE_CACHE_LIMIT = 4096;

/** Event routes by normalised name, the optional catch-all, and a lookup cache. */
export class Router {
  private readonly routes = new Map<string, EventRouteHandler>();
  private readonly cache = new Map<string, RouteLookup>();
  private catchAll?: RouteMatch;

  constructor(private readonly config: ResolvedConfig) {}

  /** Registers `handler` for route `name` (normalised as the module does, except `kazoo:mod-init`). */
  setRoute(name: string, handler: EventRouteHandler): void {
    this.routes.set(name === MOD_INIT_ROUTE ? name : normalizeRouteName(name), handler);
    this.cache.clear();
  }

  /** Sets (or with `undefined` removes) the catch-all handler. */
  setCatchAll(handler: EventRouteHandler | undefined): void {
    this.catchAll = handler === undefined ? undefined : { name: CONSUMER_EVENT_ROUTE, handler };
  }

  /** The handler of `kazoo:mod-init`: the catch-all when set, else the registered route. */
  modInit(): RouteMatch | undefined {
    if (this.catchAll) return { name: MOD_INIT_ROUTE, handler: this.catchAll.handler };
    const handler = this.routes.get(MOD_INIT_ROUTE);
    return handler ? { name: MOD_INIT_ROUTE, handler } : undefined;
  }

  /** The route of a connection event (`open`/`closed`) with the global event key and subkey. */
  forConnection(state: 'open' | 'closed'): RouteMatch | undefined {
    if (this.catchAll) return this.catchAll;
    const c = this.config;
    return this.first(
      consumerEventCandidates({ key: c.amqp_consumer_event_key, subkey: c.amqp_consumer_event_subkey, category: 'connection', name: state }),
    );
  }

  /**
   * The route of a delivery of subscription `subId` (0: a late query reply, `sub` undefined)
   * whose payload's category and name fields hold `category` and `name`.
   */
  forDelivery(subId: number, sub: NormalizedSubscription | undefined, category: string, name: string): RouteLookup {
    if (this.catchAll) return { route: this.catchAll, candidates: [CONSUMER_EVENT_ROUTE] };
    // Route lookup per (subscription, category, name) is cached: building and normalizing five
    // candidate names per message showed in the consume profile. Cleared when routes change.
    const cacheKey = `${subId}\u0000${category}\u0000${name}`;
    let resolved = this.cache.get(cacheKey);
    if (resolved === undefined) {
      const c = this.config;
      const candidates = consumerEventCandidates({
        key: sub ? sub.native.eventKey : c.amqp_consumer_event_key,
        subkey: sub ? sub.native.eventSubkey : c.amqp_consumer_event_subkey,
        category,
        name,
        bindingEventKey: sub?.bindingEventKey,
        bindingEventSubkey: sub?.bindingEventSubkey,
      });
      resolved = { route: this.first(candidates), candidates };
      if (this.cache.size >= ROUTE_CACHE_LIMIT) this.cache.clear();
      this.cache.set(cacheKey, resolved);
    }
    return resolved;
  }

  private first(candidates: string[]): RouteMatch | undefined {
    for (const name of candidates) {
      const handler = this.routes.get(name);
      if (handler) return { name, handler };
    }
    return undefined;
  }
}
