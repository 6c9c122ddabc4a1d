// Which environment and login user an SSH attempt names: by the port it arrived on, or by username on the shared port.
import type { Route } from '@remotegpu/schema';
import type { RouteTable } from '../contracts.ts';

export interface Resolution {
  route: Route | undefined;
  /** Target account: the `<user>.` prefix or the env-port username, else the route's default user. */
  login: string;
  /** Limiter key of the environment (`environment/<id>`, `port/<n>`, `shared/<name>`), also for unknown ones so that they behave like known ones. */
  envKey: string;
}

const ENV_ID = /^[a-z0-9]{16}$/;
const LOGIN = /^[a-z_][a-z0-9_.-]{0,31}$/i;

function split(username: string): { user: string | null; envId: string } | null {
  const dot = username.lastIndexOf('.');
  const envId = dot === -1 ? username : username.slice(dot + 1);
  const user = dot === -1 ? null : username.slice(0, dot);
  if (!ENV_ID.test(envId)) return null;
  if (user !== null && !LOGIN.test(user)) return null;
  return { user, envId };
}

/** `port` is the environment port the connection arrived on, or null for the shared port. */
export function resolve(routes: RouteTable, port: number | null, username: string): Resolution {
  if (port === null) {
    const named = split(username);
    if (!named) return { route: undefined, login: '', envKey: `shared/${username.slice(0, 64)}` };
    const route = routes.byEnv(named.envId);
    return { route, login: named.user ?? defaultLogin(route), envKey: `environment/${named.envId}` };
  }
  const route = routes.byPort(port);
  if (!route) return { route: undefined, login: '', envKey: `port/${port}` };
  // The shared-port forms work on the environment's own port too (people copy one command line).
  const named = split(username);
  if (named && named.envId === route.environment_id) {
    return { route, login: named.user ?? defaultLogin(route), envKey: `environment/${route.environment_id}` };
  }
  if (!LOGIN.test(username)) return { route: undefined, login: '', envKey: `environment/${route.environment_id}` };
  return { route, login: username, envKey: `environment/${route.environment_id}` };
}

function defaultLogin(route: Route | undefined): string {
  return route?.ssh_username || 'root';
}
