// In-memory RouteTable backed by the state store: replace-all from `welcome`, upsert, remove, change listeners.
import type { Route } from '@remotegpu/schema';
import type { Logger, RouteTable } from '../contracts.ts';

/** The part of the state store the route table needs. */
export interface RoutePersistence {
  loadRoutes(): Route[];
  replaceRoutes(routes: readonly Route[]): void;
  upsertRoute(route: Route): void;
  removeRoute(environmentId: string): void;
}

type Listener = (upserted: Route[], removed: string[]) => void;

export class MemoryRouteTable implements RouteTable {
  private readonly byId = new Map<string, Route>();
  private readonly ports = new Map<number, string>();
  private readonly listeners = new Set<Listener>();

  constructor(
    private readonly store: RoutePersistence,
    private readonly log: Logger,
  ) {
    for (const r of store.loadRoutes()) this.index(r);
  }

  byPort(port: number): Route | undefined {
    const id = this.ports.get(port);
    return id === undefined ? undefined : this.byId.get(id);
  }

  byEnv(environmentId: string): Route | undefined {
    return this.byId.get(environmentId);
  }

  all(): Route[] {
    return [...this.byId.values()];
  }

  onChange(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** The edge's full set (welcome): persisted, and listeners hear what changed. */
  replaceAll(routes: readonly Route[]): void {
    const next = new Map(routes.map((r) => [r.environment_id, r]));
    const removed = [...this.byId.keys()].filter((id) => !next.has(id));
    const upserted = routes.filter((r) => JSON.stringify(this.byId.get(r.environment_id)) !== JSON.stringify(r));
    this.store.replaceRoutes(routes);
    this.byId.clear();
    this.ports.clear();
    for (const r of routes) this.index(r);
    this.notify(upserted, removed);
  }

  upsert(route: Route): void {
    const old = this.byId.get(route.environment_id);
    if (old) this.unindex(old);
    this.store.upsertRoute(route);
    this.index(route);
    this.notify([route], []);
  }

  remove(environmentId: string): void {
    const old = this.byId.get(environmentId);
    if (!old) return;
    this.unindex(old);
    this.store.removeRoute(environmentId);
    this.notify([], [environmentId]);
  }

  private index(r: Route): void {
    const clash = this.ports.get(r.ssh_port);
    if (clash !== undefined && clash !== r.environment_id) {
      this.log.warn('two routes claim one SSH port: the newer wins', {
        port: r.ssh_port,
        env_id: r.environment_id,
        other_env_id: clash,
      });
    }
    this.byId.set(r.environment_id, r);
    this.ports.set(r.ssh_port, r.environment_id);
  }

  private unindex(r: Route): void {
    this.byId.delete(r.environment_id);
    if (this.ports.get(r.ssh_port) === r.environment_id) this.ports.delete(r.ssh_port);
  }

  private notify(upserted: Route[], removed: string[]): void {
    if (upserted.length === 0 && removed.length === 0) return;
    for (const fn of this.listeners) {
      try {
        fn(upserted, removed);
      } catch (err) {
        this.log.error('route listener failed', { err });
      }
    }
  }
}
