// Watches Docker's event stream for managed containers and reports state changes (start, die, stop, oom, destroy).
import type Dockerode from 'dockerode';
import type { Logger } from '../contracts.ts';
import type { Clock } from '../tunnel/clock.ts';
import { LABEL, ownFilters } from './labels.ts';

export interface ContainerStateChange {
  environment_id: string;
  container_id: string;
  state: string;
  reason: string | null;
}

interface DockerEvent {
  Type?: string;
  Action?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

/** Maps one engine event to the state an environment is in; null for events that change nothing. */
export function stateFromEvent(ev: DockerEvent): ContainerStateChange | null {
  const attrs = ev.Actor?.Attributes ?? {};
  const env = attrs[LABEL.env];
  const id = ev.Actor?.ID ?? ev.id;
  if (ev.Type !== 'container' || !env || !id) return null;
  const base = { environment_id: env, container_id: id };
  switch (ev.Action) {
    case 'start':
      return { ...base, state: 'running', reason: null };
    case 'die':
      return { ...base, state: 'exited', reason: `exit code ${attrs['exitCode'] ?? '?'}` };
    case 'stop':
      return { ...base, state: 'exited', reason: 'stopped' };
    case 'oom':
      return { ...base, state: 'oom', reason: 'out of memory: the container hit its memory limit' };
    case 'destroy':
      return { ...base, state: 'removed', reason: null };
    default:
      return null;
  }
}

/** Follows the event stream until stop(); reconnects after engine restarts. */
export function watchContainerEvents(
  docker: Dockerode,
  onChange: (c: ContainerStateChange) => void,
  log: Logger,
  clock: Clock,
  relayId?: string,
): { stop(): void } {
  const abort = new AbortController();
  const loop = async () => {
    while (!abort.signal.aborted) {
      try {
        const stream = await docker.getEvents({
          filters: {
            type: ['container'],
            label: ownFilters(relayId),
            event: ['start', 'die', 'stop', 'oom', 'destroy'],
          },
          abortSignal: abort.signal,
        } as Dockerode.GetEventsOptions);
        await readLines(stream, abort.signal, (line) => {
          let ev: DockerEvent;
          try {
            ev = JSON.parse(line) as DockerEvent;
          } catch {
            return;
          }
          const change = stateFromEvent(ev);
          if (change) onChange(change);
        });
      } catch (err) {
        if (abort.signal.aborted) return;
        log.warn('Docker event stream failed: retrying', { err });
      }
      await clock.sleep(2000, abort.signal);
    }
  };
  void loop();
  return { stop: () => abort.abort() };
}

function readLines(stream: NodeJS.ReadableStream, signal: AbortSignal, onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onAbort = () => {
      (stream as unknown as { destroy?: () => void }).destroy?.();
      resolve();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    stream.on('data', (chunk: Buffer | string) => {
      buf += chunk.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) onLine(line);
      }
    });
    stream.on('end', () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
    stream.on('error', (err: Error) => {
      signal.removeEventListener('abort', onAbort);
      reject(err);
    });
  });
}
